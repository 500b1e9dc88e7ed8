"""PNG plots of a task's runs: accuracy against steps, rollouts and wall-clock, the gap to a
reference paired by seed, and the per-step diagnostics. Each method is a seed-mean line with
its 95% CI band, the legend says over how many seeds, and accuracy curves have a dot at each
full evaluation (k samples per prompt and greedy: the first and the last; the ones between
take fewer samples and are noisier)."""

import os
from typing import NamedTuple

import numpy as np
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gps.stats import mean_ci
from experiments.report.measures import paired_curve, seed_pairs
from experiments.report.runs import Run, task_eval_sets


SMOOTH = 10  # steps in the moving average of per-step curves

# eval.jsonl x key -> (file name part, axis label)
X_AXES = {
    "step": ("steps", "RL steps"),
    "rollouts": ("rollouts", "rollouts"),
    "wall_s": ("wall", "training wall-clock (s)"),
}

FULL_EVALUATION = "full evaluation: k samples + greedy"  # the dots' legend entry


class Panel(NamedTuple):
    """One subplot: method -> per-seed curves, drawn as seed-mean lines with bands, and
    method -> per-seed points dotted on them (the full evaluations of accuracy curves)."""

    title: str
    curves: dict[str, list[dict]]
    dots: dict[str, list[dict]] | None = None


def moving_average(values, window: int = SMOOTH) -> np.ndarray:
    """Trailing moving average over `window` entries, ignoring NaNs (NaN where all are)."""
    y = np.asarray(values, dtype=float)
    valid = ~np.isnan(y)
    sums = np.concatenate([[0.0], np.cumsum(np.where(valid, y, 0.0))])
    counts = np.concatenate([[0], np.cumsum(valid)])
    hi = np.arange(1, len(y) + 1)
    lo = np.maximum(hi - window, 0)
    n = counts[hi] - counts[lo]
    return np.divide(sums[hi] - sums[lo], n, out=np.full(len(y), np.nan), where=n > 0)


def eval_curve(
    run: Run, eval_set: str, x_key: str, full_only: bool = False
) -> dict[int, tuple[float, float]]:
    """step -> (x, mean@k on `eval_set`) over the run's evaluations, or over its full ones only
    (at the run's k, `eval_k` in eval.jsonl)."""
    return {
        e["step"]: (e[x_key], run.accuracy(e, eval_set))
        for e in run.evals
        if not full_only or e.get("eval_k", run.k) == run.k
    }


def step_curve(run: Run, key: str) -> dict[int, tuple[float, float]]:
    """step -> (step, moving average of `key`) over the run's RL steps; nulls are NaN."""
    smoothed = moving_average([np.nan if m.get(key) is None else m[key] for m in run.metrics])
    return {m["step"]: (m["step"], y) for m, y in zip(run.metrics, smoothed)}


def seed_band(curves: list[dict[int, tuple[float, float]]]) -> tuple[np.ndarray, ...]:
    """Mean x, mean y and 95% CI half-width over seeds, at the steps all seeds share."""
    points = []
    for step in sorted(set.intersection(*(set(c) for c in curves))):
        ys = [c[step][1] for c in curves if not np.isnan(c[step][1])]
        if ys:
            points.append((np.mean([c[step][0] for c in curves]), *mean_ci(ys)))
    return tuple(np.array(column) for column in zip(*points)) if points else ((), (), ())


def seeds_note(curves_by_method: dict[str, list]) -> str:
    """What a line is: 'mean of 3 seeds, band: 95% CI' ('2–3 seeds' where methods differ),
    or '1 seed: no band'."""
    counts = sorted({len(curves) for curves in curves_by_method.values() if curves})
    if counts[-1] == 1:
        return "1 seed: no band"
    seeds = str(counts[0]) if len(counts) == 1 else f"{counts[0]}–{counts[-1]}"
    return f"mean of {seeds} seeds, band: 95% CI"


def draw_panel(ax, panel: Panel, colors: dict[str, str]) -> None:
    """The panel's lines, bands and dots on `ax`, under a legend that says what a line is."""
    dotted = False
    for method, curves in panel.curves.items():
        x, mean, half = seed_band(curves) if curves else ((), (), ())
        if len(x):
            ax.plot(x, mean, label=method, color=colors[method])
            ax.fill_between(x, mean - half, mean + half, color=colors[method], alpha=0.2, lw=0)
        if panel.dots and panel.dots.get(method):
            x, mean, _ = seed_band(panel.dots[method])
            ax.plot(x, mean, "o", color=colors[method], ms=5)
            dotted = True
    if dotted:
        ax.plot([], [], "o", color="gray", ms=5, label=FULL_EVALUATION)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize="small", title=seeds_note(panel.curves), title_fontsize="small")


def figure(panels: list[Panel], xlabel: str, ylabel: str, colors: dict, zero_line=False) -> Figure:
    """A figure with a subplot per panel, side by side."""
    fig = Figure(figsize=(5 * len(panels), 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    for i, panel in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        draw_panel(ax, panel, colors)
        if zero_line:
            ax.axhline(0.0, color="black", lw=0.8)
        ax.set(title=panel.title, xlabel=xlabel, ylabel=ylabel)
    return fig


def save(fig: Figure, path: str) -> str:
    """Writes the figure as a PNG at `path`; returns the path."""
    fig.savefig(path, dpi=120)
    return path


def method_colors(methods: dict[str, list[Run]]) -> dict[str, str]:
    """The same color for a method in every plot."""
    return {m: f"C{i}" for i, m in enumerate(methods)}


def accuracy_figure(task: str, methods: dict[str, list[Run]], x_key: str) -> Figure:
    """Mean@k against `x_key` (a key of X_AXES), a panel per eval set, with the full
    evaluations dotted."""
    panels = []
    for s in task_eval_sets(methods):
        runs = {m: [r for r in rs if s in r.eval_sets] for m, rs in methods.items()}
        curves = {m: [eval_curve(r, s, x_key) for r in rs] for m, rs in runs.items()}
        dots = {m: [eval_curve(r, s, x_key, full_only=True) for r in rs] for m, rs in runs.items()}
        panels.append(Panel(f"{task}: {s}", curves, dots))
    xlabel = X_AXES[x_key][1]
    return figure(panels, xlabel, "accuracy (mean@k)", method_colors(methods))


def plot_task(task: str, methods: dict[str, list[Run]], out: str, reference: str) -> list[str]:
    """Accuracy vs steps, rollouts and wall-clock; the gap to `reference` paired by seed;
    smoothed effective ratio and pred Spearman."""
    colors = method_colors(methods)
    paths = []
    for x_key, (name, _) in X_AXES.items():
        path = os.path.join(out, f"{task}_accuracy_vs_{name}.png")
        paths.append(save(accuracy_figure(task, methods, x_key), path))
    panels = []
    for s in task_eval_sets(methods):
        pairs = seed_pairs(methods, s, reference)
        curves = {m: [paired_curve(r, ref, s) for r, ref in p] for m, p in pairs.items()}
        panels += [Panel(f"{task}: {s}, paired by seed", curves)] if curves else []
    if panels:
        fig = figure(panels, "RL steps", f"mean@k minus {reference}'s", colors, zero_line=True)
        paths.append(save(fig, os.path.join(out, f"{task}_gap_to_{reference}.png")))
    for key in ("effective_ratio", "pred_spearman"):
        title = f"{task}: {SMOOTH}-step moving average"
        panel = Panel(title, {m: [step_curve(r, key) for r in rs] for m, rs in methods.items()})
        fig = figure([panel], "RL steps", key.replace("_", " "), colors)
        paths.append(save(fig, os.path.join(out, f"{task}_{key}.png")))
    return paths
