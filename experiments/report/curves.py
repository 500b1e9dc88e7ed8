"""Evaluation curves of one or more run workdirs, as a Markdown table, from their files alone.

python -m experiments.report.curves workdirs/run-a workdirs/run-b [--eval_set=cd34] \
    [--metric=greedy]
"""

import os

import numpy as np

from absl import app, flags

from experiments.report import Run, load_run
from gps.records import run_folder

_EVAL_SET = flags.DEFINE_string("eval_set", "cd34", "Eval set to tabulate.")
_METRIC = flags.DEFINE_enum(
    "metric", "mean", ["mean", "pass", "greedy"], "mean@k, pass@k or greedy accuracy."
)


def name(run: Run) -> str:
    return os.path.basename(run.path.rstrip("/"))


def value(run: Run, record: dict, eval_set: str, metric: str) -> float | None:
    """The evaluation's mean@k or pass@k (at the k it took), or its greedy accuracy (None
    where it has none: evaluations between the first and the last sample only)."""
    if metric == "mean":
        return run.accuracy(record, eval_set)
    key = "greedy" if metric == "greedy" else f"pass@{record.get('eval_k', run.k)}"
    return record.get(f"{eval_set}/{key}")


def cell(run: Run, record: dict, eval_set: str, metric: str) -> str:
    """The value, starred when the evaluation took fewer samples than the run's last one."""
    result = value(run, record, eval_set, metric)
    if result is None:
        return ""
    sparse = record.get("eval_k", run.k) != run.evals[-1].get("eval_k", run.k)
    return f"{result:.3f}" + ("*" if sparse else "")


def curve_table(runs: list[Run], eval_set: str, metric: str = "mean") -> str:
    curves = {name(r): (r, {e["step"]: e for e in r.evals}) for r in runs}
    steps = sorted({s for _, c in curves.values() for s in c})
    rows = [
        "| step | " + " | ".join(curves) + " |",
        "|---" * (len(curves) + 1) + "|",
    ]
    starred = False
    for step in steps:
        cells = [
            cell(r, c[step], eval_set, metric) if step in c else "" for r, c in curves.values()
        ]
        starred |= any(text.endswith("*") for text in cells)
        rows.append(f"| {step} | " + " | ".join(cells) + " |")
    note = "\n\n\\* fewer samples per prompt (`eval_k` in eval.jsonl), same sets" if starred else ""
    return f"{eval_set} {metric}\n\n" + "\n".join(rows) + note


def gain_table(runs: list[Run], eval_set: str, metric: str = "mean") -> str:
    """Per run: the metric at step 0, at the last evaluation and the change; then the mean ±
    std of the last values and of the changes."""
    rows = ["| run | step 0 | last | last step | change |", "|---|---|---|---|---|"]
    lasts, gains = [], []
    for r in runs:
        first, last = (value(r, r.evals[i], eval_set, metric) for i in (0, -1))
        lasts.append(last)
        gains.append(last - first)
        rows.append(
            f"| {name(r)} | {first:.3f} | {last:.3f} | {r.evals[-1]['step']} | {gains[-1]:+.3f} |"
        )
    rows.append(
        f"| mean ± std over runs | | {np.mean(lasts):.3f} ± {np.std(lasts):.3f} | |"
        f" {np.mean(gains):+.3f} ± {np.std(gains):.3f} |"
    )
    return "\n".join(rows)


def main(argv):
    if len(argv) < 2:
        raise app.UsageError("give one or more workdirs")
    missing = [p for p in argv[1:] if not os.path.exists(run_folder.path(p, run_folder.EVALS))]
    if missing:
        raise app.UsageError(f"not a run workdir (no eval.jsonl): {', '.join(missing)}")
    eval_set, metric = _EVAL_SET.value, _METRIC.value
    runs = [load_run(path) for path in argv[1:]]
    print(curve_table(runs, eval_set, metric))
    print()
    print(gain_table(runs, eval_set, metric))


if __name__ == "__main__":
    app.run(main)
