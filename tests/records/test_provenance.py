"""The code version and machine recorded with every run, base and test-time draw."""

import os
import subprocess

import jax

from gps.records import provenance


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


def test_code_version_marks_edited_code_but_not_edited_results(tmp_path):
    def git(*arguments):
        subprocess.run(["git", *arguments], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "results").mkdir()
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "results" / "table.md").write_text("| 0.1 |\n")
    git("init", "-q")
    git("add", ".")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "first")
    head = provenance.code_version(str(tmp_path))
    assert head and "dirty" not in head and head != "unknown"
    (tmp_path / "results" / "table.md").write_text("| 0.2 |\n")  # a result rewritten in place
    assert provenance.code_version(str(tmp_path)) == head
    (tmp_path / "code.py").write_text("x = 2\n")
    assert provenance.code_version(str(tmp_path)) == f"{head}-dirty"
    assert provenance.code_version(str(tmp_path.parent)) == "unknown"  # not a checkout
