"""The code version and machine recorded with every run, base and test-time draw."""

import os

import jax

from gps import provenance


def test_machine_names_this_host_and_its_jax_device():
    here = provenance.machine()
    assert here["cores"] == os.cpu_count()
    assert here["backend"] == jax.default_backend()
    assert here["device"] == f"{len(jax.devices())} x {jax.devices()[0].device_kind}"
    assert here["jax"] == jax.__version__
    if os.path.exists("/proc/cpuinfo"):  # read from the real file, not only the fake below
        assert here["cpu"] != "unknown"


def test_cpuinfo_reads_the_first_processor(tmp_path, monkeypatch):
    text = "processor\t: 0\nmodel name\t: Fast CPU\nflags\t\t: fpu avx2\n\nprocessor\t: 1\n"
    fake = tmp_path / "cpuinfo"
    fake.write_text(text)
    real_open = open
    monkeypatch.setattr(
        "builtins.open",
        lambda path, *a, **k: real_open(fake if path == "/proc/cpuinfo" else path, *a, **k),
    )
    assert provenance._cpuinfo() == {
        "processor": "0",
        "model name": "Fast CPU",
        "flags": "fpu avx2",
    }
    assert provenance.machine()["simd"] == ["avx2"]
    assert provenance.machine()["cpu"] == "Fast CPU"
