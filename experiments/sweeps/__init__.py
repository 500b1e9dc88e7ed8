"""Sweeps: many runs of run.py from one definition (`definition`), executed resumably in
parallel worker processes (`runner`); the command is `python -m experiments.sweeps`.
Sweep files import what they build sweeps with from here."""

from experiments.sweeps.definition import (
    Run,
    Sweep,
    chain,
    cross,
    expand,
    load_config,
    load_sweep,
    product,
    run_config,
    select,
    zip_,
)
from experiments.sweeps.runner import archive, execute, is_finished, restore, run_sweep

__all__ = [
    "Run",
    "Sweep",
    "archive",
    "chain",
    "cross",
    "execute",
    "expand",
    "is_finished",
    "load_config",
    "load_sweep",
    "product",
    "restore",
    "run_config",
    "run_sweep",
    "select",
    "zip_",
]
