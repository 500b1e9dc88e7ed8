"""Paper-style tables and plots for a folder of RL runs, from their files alone.

python -m experiments.report RUNS_DIR [RUNS_DIR ...] [--out=DIR] [--target=0.15]
    [--paired_with=gps]

Every folder below the RUNS_DIRs holding a config.json is a run; unfinished ones (no
summary.json) are skipped, and a run found twice is read once. Runs are grouped by (task,
method), the method being the label its selector's parts give (older runs: sweep.json's label
or else the selector's name); seeds are the replicates. Several RUNS_DIRs are pooled, e.g. an
ablation sweep with the main sweep's uniform runs as the reference. Writes report.md,
report.tex and PNG plots into --out (default: the first RUNS_DIR/report). Each method is also
compared seed by seed
with --paired_with (default uniform): a seed fixes the base model every method starts from.
Each seed's cost (steps, rollouts, wall-clock) to reach the target accuracy is interpolated
between the evaluations around its first crossing; speed-ups over the baselines and
--paired_with are geometric means of the per-seed ratios, with a CI on their logs. Each eval
set opens with a main table: a row per method gathering the headline cells of the others.
"""

import os

from absl import app, flags

from experiments.report.document import write_report
from experiments.report.runs import load_runs


_OUT = flags.DEFINE_string("out", None, "Output folder (default: the first RUNS_DIR/report).")


_TARGET = flags.DEFINE_float(
    "target", None, "Fixed mean@k target (default: mean final mean@k of the uniform runs)."
)


_PAIRED_WITH = flags.DEFINE_string(
    "paired_with", "uniform", "Method every other is compared with seed by seed."
)


def main(argv):
    roots = argv[1:]
    if not roots:
        raise app.UsageError("give at least one RUNS_DIR")
    runs = load_runs(*roots)
    if not runs:
        raise app.UsageError(f"no finished runs below {', '.join(roots)}")
    out = _OUT.value or os.path.join(roots[0], "report")
    for path in write_report(roots, runs, out, _TARGET.value, _PAIRED_WITH.value):
        print(f"wrote {path}")


if __name__ == "__main__":
    app.run(main)
