"""Runs a sweep (definition: experiments/sweeps.py) or prints its commands.

python -m experiments.sweep configs/sweeps/main.py --root=workdirs/sweeps [--workers=2]
python -m experiments.sweep configs/sweeps/main.py --root=... --print_commands  # for a cluster
python -m experiments.sweep configs/sweeps/regimes.py:revisit  # a sweep file's argument
"""

import sys

from absl import app, flags

from experiments.sweeps import expand, load_sweep, run_sweep
from gps.errors import GPSError

_ROOT = flags.DEFINE_string("root", "workdirs/sweeps", "Folder holding the sweeps' workdirs.")
_WORKERS = flags.DEFINE_integer("workers", 1, "Runs executed in parallel.")
_PRINT = flags.DEFINE_boolean("print_commands", False, "Print the runs' commands, run nothing.")


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("usage: python -m experiments.sweep SWEEP_FILE [--root=...]")
    try:
        runs = expand(load_sweep(argv[1]), _ROOT.value)
    except GPSError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if _PRINT.value:
        for run in runs:
            print(" ".join(run.command("python")))
        return
    counts = run_sweep(runs, _WORKERS.value)
    if counts["failed"]:
        sys.exit(1)


if __name__ == "__main__":
    app.run(main)
