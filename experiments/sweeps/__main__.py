"""Runs a sweep (definition: experiments/sweeps/definition.py) or prints its commands.

python -m experiments.sweeps configs/sweeps/main.py --root=workdirs/sweeps [--workers=2]
python -m experiments.sweeps configs/sweeps/main.py --root=... --print_commands  # for a cluster
python -m experiments.sweeps configs/sweeps/regimes.py:revisit  # a sweep file's argument
python -m experiments.sweeps SWEEP_FILE --root=... --archive_to=results/x   # finished runs, bases
python -m experiments.sweeps SWEEP_FILE --root=... --restore_from=results/x  # then rerun
python -m experiments.sweeps SWEEP_FILE --only='revisit/countdown/*'  # a part of it, first
"""

import os
import sys

from absl import app, flags

from experiments.sweeps import archive, expand, load_sweep, restore, run_sweep, select
from gps.errors import ConfigError, GPSError

_ROOT = flags.DEFINE_string("root", "workdirs/sweeps", "Folder holding the sweeps' workdirs.")
_WORKERS = flags.DEFINE_integer("workers", 1, "Runs executed in parallel.")
_PRINT = flags.DEFINE_boolean("print_commands", False, "Print the runs' commands, run nothing.")
_ONLY = flags.DEFINE_list(
    "only",
    None,
    "Only the runs whose workdir under --root matches one of these globs "
    "(comma-separated, e.g. 'revisit/countdown/*,*/selector=gps/*'); every run when unset.",
)
_ARCHIVE = flags.DEFINE_string(
    "archive_to", None, "Copy the finished runs' records and bases to this folder, run nothing."
)
_RESTORE = flags.DEFINE_string(
    "restore_from", None, "Copy the finished runs and bases archived there back, run nothing."
)


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("usage: python -m experiments.sweeps SWEEP_FILE [--root=...]")
    try:
        runs = expand(load_sweep(argv[1]), _ROOT.value)
        if _ONLY.value is not None:
            runs = select(runs, _ROOT.value, _ONLY.value)
    except GPSError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if _ARCHIVE.value and _RESTORE.value:
        print("error: give --archive_to or --restore_from, not both", file=sys.stderr)
        sys.exit(2)
    try:
        if _ARCHIVE.value:
            print(f"archived {archive(runs, _ROOT.value, _ARCHIVE.value)} finished runs")
            return
        if _RESTORE.value:
            if not os.path.isdir(_RESTORE.value):
                raise ConfigError(f"no archive folder {_RESTORE.value}")
            print(f"restored {restore(runs, _ROOT.value, _RESTORE.value)} finished runs")
            return
    except (GPSError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    if _PRINT.value:
        try:
            for run in runs:
                print(" ".join(run.command("python")), flush=True)
        except BrokenPipeError:  # the reader stopped early (`| head`): not an error
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return
    counts = run_sweep(runs, _WORKERS.value)
    if counts["failed"]:
        sys.exit(1)


if __name__ == "__main__":
    app.run(main)
