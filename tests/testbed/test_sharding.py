"""The RL loop on several devices: 4 fake CPU devices log what 1 device logs."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT

# Runs in a fresh process: the device count is fixed when JAX starts. The verifier rewards
# even-length completions (the smoke base solves nothing; all-zero rewards never move the
# policy), and GPS selects, so the selector's update and predictions are compared too.
_RUNS = """
import json, os, sys
sys.path[:0] = [{root!r}, os.path.join({root!r}, "tests")]
from experiments.sweeps import load_config
from gps.testbed.tasks import Countdown
from gps.testbed.trainer import load_run, train
import jax
Countdown.verify = lambda self, problem, completion: float(len(completion) % 2 == 0)
for name, devices, params in (("one", 1, "replicated"), ("four", 4, "replicated"),
                              ("four-sharded", 4, "sharded")):
    config = load_config(os.path.join({root!r}, "configs", "countdown.py"), "smoke,selector=gps")
    config.base.cache_dir = os.path.join({tmp!r}, "base")
    config.selector.embedding.cache_dir = os.path.join({tmp!r}, "embeddings")
    config.parallel.devices, config.parallel.params = devices, params
    workdir = os.path.join({tmp!r}, name)
    train(config, workdir, log=lambda line: line.startswith("policy") and print(line))
    params = jax.tree.leaves(load_run(workdir, log=lambda *a: None).params)  # restored
    devices = {{len(x.sharding.device_set) for x in params}}
    print("restored", name, devices, all(x.sharding.is_fully_replicated for x in params))
"""


def _untimed(records):
    return [{k: v for k, v in r.items() if not k.endswith("_s")} for r in records]


def _close(a, b):
    if isinstance(a, float) or isinstance(b, float):
        return a is not None and b is not None and np.isclose(a, b, rtol=1e-4, atol=1e-5)
    return a == b


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    tmp = str(tmp_path_factory.mktemp("devices"))
    flags = "--xla_force_host_platform_device_count=4 --xla_backend_optimization_level=0"
    code = _RUNS.format(root=ROOT, tmp=tmp)
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=dict(os.environ, XLA_FLAGS=flags),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    lines = out.splitlines()
    devices = [line.split(" on ")[1].split()[0] for line in lines if line.startswith("policy")]
    assert devices == ["1", "4", "4"], out
    # Checkpoints restore onto the mesh: replicated over 4 devices, or split across them.
    restored = [line for line in lines if line.startswith("restored")]
    assert restored == [
        "restored one {1} True",
        "restored four {4} True",
        "restored four-sharded {4} False",
    ], out
    logs = {}
    for name in ("one", "four", "four-sharded"):
        for log in ("metrics", "eval"):
            with open(os.path.join(tmp, name, f"{log}.jsonl")) as f:
                logs[name, log] = _untimed(json.loads(line) for line in f)
    return logs


@pytest.mark.parametrize("layout", ["four", "four-sharded"])
@pytest.mark.parametrize("log", ["metrics", "eval"])
def test_four_devices_log_what_one_logs(runs, layout, log):
    one, four = runs["one", log], runs[layout, log]
    assert [r["step"] for r in one] == [r["step"] for r in four]
    for a, b in zip(one, four):
        assert a.keys() == b.keys()
        differ = {k: (a[k], b[k]) for k in a if not _close(a[k], b[k])}
        assert not differ, (a["step"], differ)


def test_the_run_learnt_something(runs):
    """Precondition: mixed rewards, so GRPO moved the policy on every layout."""
    assert any(r["effective_ratio"] > 0 for r in runs["one", "metrics"])
    assert all(r["grad_norm"] > 0 for r in runs["four", "metrics"] if r["effective_ratio"] > 0)
