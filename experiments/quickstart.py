"""`make run`: what the project is for, in one command. Uniform, GPS and DS (Dynamic
Sampling, the paper's main baseline, at ~5x the rollouts) train the same base policy (one
cached warm-up, the same seed) on countdown's `small` testbed, two at a time on the two
cores; then a table paired with Uniform, narrow enough for a terminal, and a PNG of held-out
accuracy against rollouts, where GPS's and DS's costs show.

  python -m experiments.quickstart [--root=workdirs] [--seed=0] [--selectors=uniform,gps,ds]

Runs resume and finished ones are kept (a second call only reports). The full report, with
cost-to-target, the diagnostics and every plot, lands in ROOT/quickstart/report/.
"""

import os
import sys
import textwrap

from absl import app, flags

from experiments.report.document import write_report
from experiments.report.measures import target_for
from experiments.report.render import cell_text
from experiments.report.runs import Run, group_runs, load_runs, mean_k_label, task_eval_sets
from experiments.report.tables import Table, main_table
from experiments.sweeps import Sweep, cross, expand, product, run_sweep

_ROOT = flags.DEFINE_string("root", "workdirs", "Folder for the runs and the report.")
_TESTBED = flags.DEFINE_string(
    "testbed", "configs/countdown.py:small", "Config file (with :args) of the runs."
)
_SEED = flags.DEFINE_integer("seed", 0, "The seed the runs share (base model, pools, keys).")
_SELECTORS = flags.DEFINE_list(
    "selectors", ["uniform", "gps", "ds"], "Selectors, the first the reference."
)

WIDTH = 100  # columns of the printed table and its note


def headline_table(
    task: str, methods: dict[str, list[Run]], eval_set: str, reference: str
) -> Table:
    """The report's main table cut to its headline columns: final accuracy, its difference to
    `reference` on the same seed, rollouts, and the rollouts speed-up to the reference's final
    accuracy; the seeds are in the title."""
    target, _ = target_for(methods, eval_set, None, reference)
    main = main_table(task, methods, eval_set, target, reference)
    mean_k = mean_k_label(methods)
    columns = {  # the main table's header -> this table's
        "method": "method",
        f"final {mean_k}": f"final {mean_k}",
        f"Δ final vs {reference}": f"Δ vs {reference}",
        "rollouts": "rollouts",
        f"reached with {reference}": "reached",
        f"rollouts × {reference}": "speed-up",
    }
    kept = [main.header.index(name) for name in columns]
    note = (
        f"final: held-out {mean_k} at the last evaluation. Δ: minus {reference}'s on the same"
        " seed (bold where its 95% CI excludes 0). rollouts: the run's total. speed-up:"
        f" {reference}'s rollouts to reach its own final {mean_k} over the method's, for the"
        " seeds where both reach it after step 0 (reached: n/N); > 1× means fewer rollouts."
        " Mean ± 95% CI over seeds."
    )
    rows = [[row[i] for i in kept] for row in main.rows]
    seeds = sorted({r.seed for runs in methods.values() for r in runs})
    title = f"{task} — {eval_set}, {'seed' if len(seeds) == 1 else 'seeds'} "
    title += ", ".join(map(str, seeds))
    return Table(title, note, list(columns.values()), rows)


def render_terminal(table: Table, width: int = WIDTH) -> str:
    """The table as Markdown with padded columns (numbers right-aligned), under its title and
    above its note wrapped to `width`: readable in a terminal as it is."""
    cells = [table.header] + [[cell_text(c) for c in row] for row in table.rows]
    widths = [max(map(len, column)) for column in zip(*cells)]

    def line(row):
        padded = [c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths))]
        return "| " + " | ".join(padded) + " |"

    dashes = ["-" * (w + 1) + ("-" if i == 0 else ":") for i, w in enumerate(widths)]
    rule = "|" + "|".join(dashes) + "|"
    lines = [table.title, "", line(cells[0]), rule, *map(line, cells[1:]), ""]
    return "\n".join(lines + [textwrap.fill(table.note, width)])


def quickstart(root, config, selectors, seed, overrides=None, out=print) -> list[str]:
    """Runs (or finishes) the runs, writes the report; returns the printed table and paths."""
    settings = cross(product(selector=selectors), [overrides or {}])
    sweep = Sweep("quickstart", (config,), tuple(settings), seeds=(seed,))
    if run_sweep(expand(sweep, root), workers=2, out=out)["failed"]:
        raise SystemExit(1)
    folder = os.path.join(root, sweep.name)
    report = os.path.join(folder, "report")
    runs = load_runs(folder)
    write_report([folder], runs, report, paired_with=selectors[0])
    ((task, methods),) = group_runs(runs).items()  # one config file: one task
    eval_set = task_eval_sets(methods)[0]  # the first held-out set (countdown: cd34)
    return [
        render_terminal(headline_table(task, methods, eval_set, selectors[0])),
        f"plot: {os.path.join(report, f'{task}_accuracy_vs_rollouts.png')}\n"
        f"full report: {os.path.join(report, 'report.md')}",
    ]


def main(argv):
    del argv
    lines = quickstart(_ROOT.value, _TESTBED.value, _SELECTORS.value, _SEED.value)
    print("\n\n".join(lines))
    sys.stdout.flush()


if __name__ == "__main__":
    app.run(main)
