"""Which code and which machine made a result: the git commit of the checkout (with -dirty for
local edits to the code), and the processor and accelerator. XLA compiles for the host's
instruction set, so the same seed gives the same numbers on one machine but may differ in the
last bits (and, through sampling, beyond them) on another."""

import os
import subprocess

# The instruction-set extensions XLA's CPU code generation depends on most.
_SIMD = ("avx2", "avx512f", "avx512_bf16", "amx_tile")


def code_version(checkout: str | None = None) -> str:
    """The checkout's commit, with "-dirty" when a tracked file outside results/ has changed:
    results/ holds what the code wrote, not the code (rescoring a folder there in place must
    not mark the next folder's code as edited). "unknown" outside a git checkout."""
    checkout = checkout or os.path.dirname(os.path.abspath(__file__))
    head = _git(checkout, "rev-parse", "--short", "HEAD")
    if head is None:
        return "unknown"
    edited = _git(
        checkout, "status", "--porcelain", "--untracked-files=no", ":(top,exclude)results"
    )
    return head if edited == "" else f"{head}-dirty"  # a failed status is no proof of clean


def _git(checkout: str, *arguments: str) -> str | None:
    """git's stripped output in `checkout`, None where git fails or is missing."""
    try:
        out = subprocess.run(
            ["git", *arguments], cwd=checkout, capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _cpuinfo() -> dict[str, str]:
    """The first processor's fields from /proc/cpuinfo ({} where there is none)."""
    try:
        with open("/proc/cpuinfo") as f:
            block = f.read().split("\n\n")[0]
    except OSError:
        return {}
    fields = (line.partition(":") for line in block.splitlines())
    return {key.strip(): value.strip() for key, _, value in fields}


def machine() -> dict:
    """The processor, its core count and SIMD extensions, and JAX's backend and device."""
    import jax  # here, not at the top: reading code_version() should not load JAX

    info = _cpuinfo()
    flags = set(info.get("flags", "").split())
    device = jax.devices()[0]
    return {
        "cpu": info.get("model name", "unknown"),
        "cores": os.cpu_count(),
        "simd": [name for name in _SIMD if name in flags],
        "backend": jax.default_backend(),
        "device": f"{len(jax.devices())} x {device.device_kind}",
        "jax": jax.__version__,
    }
