"""Evaluation curves of one or more run workdirs, as a Markdown table, from their files alone.

python -m experiments.curves workdirs/run-a workdirs/run-b [--metric=cd34/mean@8]
"""

import os

import numpy as np

from absl import app, flags

from gps.jsonl import JsonlLog

_METRIC = flags.DEFINE_string("metric", "cd34/mean@8", "eval.jsonl key to tabulate.")


def read_jsonl(path: str) -> list[dict]:
    return JsonlLog(path).read()


def cell(record: dict, metric: str, whole: dict | None) -> str:
    """The metric, starred when the evaluation used fewer prompts than the run's last one."""
    return f"{record[metric]:.3f}" + ("*" if record.get("eval_size") != whole else "")


def curve_table(workdirs: list[str], metric: str) -> str:
    curves = {
        w: {r["step"]: r for r in read_jsonl(os.path.join(w, "eval.jsonl"))} for w in workdirs
    }
    steps = sorted({s for c in curves.values() for s in c})
    rows = [
        "| step | " + " | ".join(os.path.basename(w.rstrip("/")) for w in workdirs) + " |",
        "|---" * (len(workdirs) + 1) + "|",
    ]
    starred = False
    for step in steps:
        cells = [
            cell(c[step], metric, c[max(c)].get("eval_size")) if step in c else ""
            for c in curves.values()
        ]
        starred |= any(text.endswith("*") for text in cells)
        rows.append(f"| {step} | " + " | ".join(cells) + " |")
    note = "\n\n\\* evaluated on the first `eval_size` prompts of each set" if starred else ""
    return f"{metric}\n\n" + "\n".join(rows) + note


def gain_table(workdirs: list[str], metric: str) -> str:
    """Per run: the metric at step 0, at the last evaluation and the change; then mean ± std."""
    rows = ["| run | step 0 | last | last step | change |", "|---|---|---|---|---|"]
    gains = []
    for w in workdirs:
        records = read_jsonl(os.path.join(w, "eval.jsonl"))
        first, last = records[0], records[-1]
        gains.append(last[metric] - first[metric])
        rows.append(
            f"| {os.path.basename(w.rstrip('/'))} | {first[metric]:.3f} | {last[metric]:.3f} "
            f"| {last['step']} | {gains[-1]:+.3f} |"
        )
    rows.append(f"| mean ± std over runs | | | | {np.mean(gains):+.3f} ± {np.std(gains):.3f} |")
    return "\n".join(rows)


def main(argv):
    if len(argv) < 2:
        raise app.UsageError("give one or more workdirs")
    print(curve_table(argv[1:], _METRIC.value))
    print()
    print(gain_table(argv[1:], _METRIC.value))


if __name__ == "__main__":
    app.run(main)
