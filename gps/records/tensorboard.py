"""TensorBoard copies of a run's JSONL logs: `tensorboard --logdir WORKDIR/tensorboard`.

The JSONL files stay the record the reports read; these are for watching runs. Steps and
evaluations go to the `train` and `eval` subfolders (two TensorBoard runs), each purging
what a resumed run logs again after its checkpoint, as the JSONL logs rewind."""

import os
import time

from tensorboardX import SummaryWriter


class ScalarWriter:
    def __init__(self, logdir: str, purge_step: int | None):
        # A restart within the same second would reuse the file name and overwrite the file.
        suffix = f".{time.time_ns()}"
        self._writer = SummaryWriter(logdir, purge_step=purge_step, filename_suffix=suffix)

    def write(self, record: dict) -> None:
        """Every number of the record (bools and `step` aside) as a scalar at its step."""
        for name, value in record.items():
            if name != "step" and isinstance(value, (int, float)) and not isinstance(value, bool):
                self._writer.add_scalar(name, value, record["step"])

    def close(self) -> None:
        self._writer.close()


def run_writers(workdir: str, latest_step: int | None) -> tuple[ScalarWriter, ScalarWriter]:
    """(train, eval) writers. A run resumed from step L logs steps > L and evaluations >= L
    again; one restarted without a checkpoint logs everything again."""
    root = os.path.join(workdir, "tensorboard")
    last = latest_step or 0
    return (
        ScalarWriter(os.path.join(root, "train"), last + 1 if latest_step else 0),
        ScalarWriter(os.path.join(root, "eval"), last),
    )
