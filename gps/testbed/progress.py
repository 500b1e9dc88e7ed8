"""Progress bars with an ETA for the long stages (warm-up, RL, evaluation, sweeps), on stderr.

Shown on a terminal only (tqdm's `disable=None`): runs writing to a log file keep their plain
log lines. GPS_PROGRESS=0 hides the bars everywhere."""

import os

from tqdm.auto import tqdm


def bar(total: int, desc: str, initial: int = 0, unit: str = "step", show: bool = True) -> tqdm:
    hidden = not show or os.environ.get("GPS_PROGRESS", "1") == "0"
    return tqdm(
        total=total,
        initial=initial,
        desc=desc,
        unit=unit,
        dynamic_ncols=True,
        leave=False,
        disable=True if hidden else None,
    )


def printer(progress: tqdm, log):
    """`log`, or, when it prints to the terminal under a visible bar, tqdm's write (which
    keeps the bar below the printed lines)."""
    return progress.write if log is print and not progress.disable else log
