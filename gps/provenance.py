"""Which code and which machine made a result: the git commit of the checkout (with -dirty for
local edits), and the processor and accelerator. XLA compiles for the host's instruction set,
so the same seed gives the same numbers on one machine but may differ in the last bits (and,
through sampling, beyond them) on another."""

import os
import subprocess

# The instruction-set extensions XLA's CPU code generation depends on most.
_SIMD = ("avx2", "avx512f", "avx512_bf16", "amx_tile")


def code_version() -> str:
    try:
        out = subprocess.run(
            ["git", "describe", "--always", "--dirty"],
            cwd=os.path.dirname(os.path.abspath(__file__)),
            capture_output=True,
            text=True,
            timeout=10,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return out.stdout.strip() or "unknown"


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
