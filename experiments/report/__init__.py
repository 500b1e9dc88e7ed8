"""Paper-style reports of run folders (the command: `python -m experiments.report`): runs
are found and grouped (`runs`), measured over seeds (`measures`), laid out as tables
(`tables`), rendered as Markdown and LaTeX (`render`) and plotted (`plots`) into one
document (`document`). `curves` prints one or more runs' evaluation curves."""

from experiments.report.document import write_report
from experiments.report.runs import Run, load_run, load_runs

__all__ = ["Run", "load_run", "load_runs", "write_report"]
