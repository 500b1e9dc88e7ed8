"""Shared fixtures: repo root on sys.path, config loading, a smoke base cached once per session."""

import glob
import os
import sys

import pytest

# XLA's CPU backend optimisations roughly double compile time, which dominates these tiny
# models on a small machine; tests check logic, not speed. An explicit XLA_FLAGS wins.
os.environ.setdefault("XLA_FLAGS", "--xla_backend_optimization_level=0")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)

from experiments.sweeps import load_config  # noqa: E402 (needs ROOT on sys.path)

CONFIG_FILES = sorted(glob.glob(os.path.join(ROOT, "configs", "*.py")))


@pytest.fixture
def smoke_config(tmp_path):
    """configs/countdown.py:smoke with its base cached under this test's tmp_path."""
    config = load_config(os.path.join(ROOT, "configs", "countdown.py"), "smoke")
    config.base.cache_dir = str(tmp_path / "base_cache")
    return config


@pytest.fixture(scope="session")
def shared_base_cache(tmp_path_factory):
    """A base cache folder shared by the whole session: each smoke base is trained at most once.

    The base is keyed by (seed, task, model, base) in gps.testbed.warmup.base_entry, so runs that
    only change RL-side settings (steps, selector, checkpointing) reuse the same entry.
    """
    return str(tmp_path_factory.mktemp("shared_base"))


@pytest.fixture
def cached_smoke_config(shared_base_cache):
    """configs/countdown.py:smoke using the session-wide base cache."""
    config = load_config(os.path.join(ROOT, "configs", "countdown.py"), "smoke")
    config.base.cache_dir = shared_base_cache
    return config
