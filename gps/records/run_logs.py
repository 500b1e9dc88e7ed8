"""A run's logs: metrics.jsonl and eval.jsonl, which the reports read, mirrored to TensorBoard.

A run resumed from its checkpoint at step L rewinds both to what that state had logged
(steps ≤ L, evaluations < L) and logs the rest again."""

from gps.records import run_folder, tensorboard
from gps.records.jsonl import JsonlLog


class RunLogs:
    def __init__(self, workdir: str, latest_step: int | None):
        self.metrics = JsonlLog(run_folder.path(workdir, run_folder.METRICS))
        self.evals = JsonlLog(run_folder.path(workdir, run_folder.EVALS))
        self.metrics.rewind(latest_step or 0)
        self.evals.rewind((latest_step or 0) - 1)
        self._metrics_board, self._eval_board = tensorboard.run_writers(workdir, latest_step)

    def step(self, record: dict) -> None:
        self.metrics.append(record)
        self._metrics_board.write(record)

    def evaluation(self, record: dict) -> None:
        self.evals.append(record)
        self._eval_board.write(record)

    def __enter__(self) -> "RunLogs":
        return self

    def __exit__(self, *exc) -> None:
        self._metrics_board.close()
        self._eval_board.close()
