"""`make run`: what the project is for, in one command. Uniform, GPS and DS (Dynamic
Sampling, the paper's main baseline, at ~5x the rollouts) train the same base policy (one
cached warm-up, the same seed) on countdown's `small` testbed, two at a time on the two
cores; then a table paired with Uniform and a PNG of held-out accuracy against rollouts,
where GPS's and DS's costs show.

  python -m experiments.quickstart [--root=workdirs] [--seed=0] [--selectors=uniform,gps,ds]

Runs resume and finished ones are kept (a second call only reports). The full report, with
cost-to-target and every plot, lands in ROOT/quickstart/report/.
"""

import os
import sys

from absl import app, flags

from experiments import report
from experiments.sweeps import Sweep, cross, expand, product, run_sweep

_ROOT = flags.DEFINE_string("root", "workdirs", "Folder for the runs and the report.")
_TESTBED = flags.DEFINE_string(
    "testbed", "configs/countdown.py:small", "Config file (with :args) of the runs."
)
_SEED = flags.DEFINE_integer("seed", 0, "The seed the runs share (base model, pools, keys).")
_SELECTORS = flags.DEFINE_list(
    "selectors", ["uniform", "gps", "ds"], "Selectors, the first the reference."
)


def quickstart(root, config, selectors, seed, overrides=None, out=print) -> list[str]:
    """Runs (or finishes) the runs, writes the report; returns the printed tables and paths."""
    settings = cross(product(selector=selectors), [overrides or {}])
    sweep = Sweep("quickstart", (config,), tuple(settings), seeds=(seed,))
    if run_sweep(expand(sweep, root), workers=2, out=out)["failed"]:
        raise SystemExit(1)
    folder = os.path.join(root, sweep.name)
    runs = report.load_runs(folder)
    report.write_report([folder], runs, os.path.join(folder, "report"), paired_with=selectors[0])
    ((task, methods),) = report.group_runs(runs).items()  # one config file: one task
    eval_set = report.task_eval_sets(methods)[0]  # the first held-out set (countdown: cd34)
    tables = report.eval_set_tables(task, methods, eval_set, None, selectors[0])
    tables.append(report.diagnostics_table(task, methods))
    lines = [report.render_markdown(table) for table in tables]
    lines.append(f"plot: {os.path.join(folder, 'report', f'{task}_accuracy_vs_rollouts.png')}")
    lines.append(f"full report: {os.path.join(folder, 'report', 'report.md')}")
    return lines


def main(argv):
    del argv
    lines = quickstart(_ROOT.value, _TESTBED.value, _SELECTORS.value, _SEED.value)
    print("\n\n".join(lines))
    sys.stdout.flush()


if __name__ == "__main__":
    app.run(main)
