"""The whole report of a set of runs: report.md, report.tex and the plots."""

import os


from experiments.report.plots import plot_task
from experiments.report.render import render_latex, render_markdown
from experiments.report.runs import Run, group_runs, task_eval_sets
from experiments.report.tables import diagnostics_table, eval_set_tables


def runs_header(roots: list[str], groups: dict[str, dict[str, list[Run]]]) -> str:
    root = os.path.commonpath([os.path.abspath(r) for r in roots])
    title = ", ".join(roots)
    lines = [f"# Report: {title}", "", "Finished runs found, by task and method:", ""]
    for task, methods in groups.items():
        for method, runs in methods.items():
            seeds = ", ".join(str(r.seed) for r in runs)
            paths = ", ".join(f"`{os.path.relpath(r.path, root)}`" for r in runs)
            lines.append(f"- {task} / {method}: seeds {seeds} ({paths})")
            if len({r.seed for r in runs}) < len(runs):
                lines[-1] += " — repeated seeds: label differing configs with sweep.json"
    return "\n".join(lines)


def plots_section(task: str, paths: list[str]) -> str:
    images = [f"![{os.path.basename(p)}]({os.path.basename(p)})" for p in paths]
    return "\n\n".join([f"## {task} — plots", *images])


def write_report(
    roots: list[str],
    runs: list[Run],
    out: str,
    target: float | None = None,
    paired_with: str = "uniform",
) -> list[str]:
    """Writes report.md, report.tex and the plots of `runs` (found below `roots`) into `out`;
    returns the paths."""
    groups = group_runs(runs)
    os.makedirs(out, exist_ok=True)
    tables, plots = [], []
    for task, methods in groups.items():
        for eval_set in task_eval_sets(methods):
            tables += eval_set_tables(task, methods, eval_set, target, paired_with)
        tables.append(diagnostics_table(task, methods))
        plots.append((task, plot_task(task, methods, out, paired_with)))
    markdown = [runs_header(roots, groups), *map(render_markdown, tables)]
    markdown += [plots_section(task, paths) for task, paths in plots]
    written = []
    for name, text in (
        ("report.md", "\n\n".join(markdown)),
        ("report.tex", "\n\n".join(map(render_latex, tables))),
    ):
        written.append(os.path.join(out, name))
        with open(written[-1], "w") as f:
            f.write(text + "\n")
    return written + [p for _, paths in plots for p in paths]
