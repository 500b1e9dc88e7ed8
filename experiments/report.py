"""Paper-style tables and plots for a folder of RL runs, from their files alone.

python -m experiments.report RUNS_DIR [RUNS_DIR ...] [--out=DIR] [--target=0.15]
    [--paired_with=gps]

Every folder below the RUNS_DIRs holding a config.json is a run; unfinished ones (no
summary.json) are skipped, and a run found twice is read once. Runs are grouped by (task,
method), the method being the label its selector's parts give (older runs: sweep.json's label
or else the selector's name); seeds are the replicates. Several RUNS_DIRs are pooled, e.g. an
ablation sweep with the main sweep's uniform runs as the reference. Writes report.md,
report.tex and PNG plots into --out (default: the first RUNS_DIR/report). Each method is also compared seed by seed
with --paired_with (default uniform): a seed fixes the base model every method starts from.
Each seed's cost (steps, rollouts, wall-clock) to reach the target accuracy is interpolated
between the evaluations around its first crossing; speed-ups over the baselines and
--paired_with are geometric means of the per-seed ratios, with a CI on their logs. Each eval
set opens with a main table: a row per method gathering the headline cells of the others.
"""

import dataclasses
import json
import os

import numpy as np
from absl import app, flags
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure

from gps import selectors
from gps.jsonl import JsonlLog
from gps.stats import mean_ci, plus_minus

_OUT = flags.DEFINE_string("out", None, "Output folder (default: the first RUNS_DIR/report).")
_TARGET = flags.DEFINE_float(
    "target", None, "Fixed mean@k target (default: mean final mean@k of the uniform runs)."
)
_PAIRED_WITH = flags.DEFINE_string(
    "paired_with", "uniform", "Method every other is compared with seed by seed."
)

BASELINES = ("uniform", "ds")
SMOOTH = 10  # steps in the moving average of per-step curves
DASH = "—"
COST_KEYS = ("step", "rollouts", "wall_s")
COST_FORMATS = dict(zip(COST_KEYS, (".1f", ".0f", ".1f")))
# eval.jsonl x key, file name part, axis label
X_AXES = (
    ("step", "steps", "RL steps"),
    ("rollouts", "rollouts", "rollouts"),
    ("wall_s", "wall", "training wall-clock (s)"),
)
DIAGNOSTICS = {
    "effective_ratio": "effective ratio",
    "pred_spearman": "pred Spearman (steps)",
    "eval_pred_spearman": "pred Spearman (evals)",
    "selector_overhead": "selector overhead",
    "batch_success": "batch success rate",
    "batch_overlap": "batch share from the last window batches",
}
# The diagnostics in the main table, in its column order.
MAIN_DIAGNOSTICS = ("effective_ratio", "pred_spearman", "eval_pred_spearman", "selector_overhead")
LATEX_ESCAPES = {
    "_": r"\_",
    "%": r"\%",
    "&": r"\&",
    "#": r"\#",
    "$": r"\$",
    "{": r"\{",
    "}": r"\}",
    "—": "---",
    "×": r"$\times$",
    "≥": r"$\geq$",
    "±": r"$\pm$",
}


@dataclasses.dataclass
class Run:
    """One finished run: where it is, how it is grouped, and its logged records."""

    path: str
    task: str
    method: str
    seed: int
    config: dict
    evals: list[dict]
    metrics: list[dict]

    @property
    def k(self) -> int:
        return self.config["eval"]["k"]

    @property
    def eval_sets(self) -> list[str]:
        return list(self.config["task"]["eval_sets"])

    def accuracy(self, record: dict, eval_set: str) -> float:
        """The primary metric, mean@k, of one evaluation on `eval_set`, at the k that evaluation
        took (`eval_k`: evaluations between the first and the last take fewer samples; mean@k
        estimates the same accuracy at any k)."""
        return record[f"{eval_set}/mean@{record.get('eval_k', self.k)}"]

    def accuracies(self, eval_set: str) -> list[float]:
        return [self.accuracy(e, eval_set) for e in self.evals]


@dataclasses.dataclass(frozen=True)
class Stat:
    """A mean ± 95% CI over seeds: one cell that both table writers render. A paired
    difference is set in bold where its interval excludes 0 (`resolved`)."""

    mean: float
    half: float  # NaN for one seed: no interval
    fmt: str
    paired: bool = False

    @property
    def resolved(self) -> bool:
        return self.paired and abs(self.mean) > self.half  # False for a NaN half-width


@dataclasses.dataclass(frozen=True)
class Ratio:
    """A geometric-mean speed-up and its 95% CI (None with a single seed pair)."""

    value: float
    low: float | None = None
    high: float | None = None


@dataclasses.dataclass
class Table:
    """Row data rendered identically as Markdown and as LaTeX."""

    title: str
    note: str
    header: list[str]
    rows: list[list[str | Stat | Ratio]]


# Loading.


def read_json(path: str) -> dict:
    with open(path) as f:
        return json.load(f)


def method_label(run_dir: str, config: dict) -> str:
    """The label its selector's parts give (`gps (acquisition.diversity=0.0)`); for runs made
    before the selector blocks had today's layout, sweep.json's label, else the name."""
    label = selectors.method_label(config["selector"])
    if label is not None:
        return label
    sweep = os.path.join(run_dir, "sweep.json")
    if os.path.exists(sweep):
        return read_json(sweep)["method"]
    return config["selector"]["name"]


def load_run(path: str) -> Run:
    config = read_json(os.path.join(path, "config.json"))
    return Run(
        path=path,
        task=config["task"]["name"],
        method=method_label(path, config),
        seed=config["seed"],
        config=config,
        evals=JsonlLog(os.path.join(path, "eval.jsonl")).read(),
        metrics=JsonlLog(os.path.join(path, "metrics.jsonl")).read(),
    )


def load_runs(*roots: str) -> list[Run]:
    """Every finished run at any depth below the roots, once even if two roots hold it;
    unfinished ones are skipped with a note."""
    runs = {}
    for root in roots:
        for path, dirs, files in os.walk(root):
            dirs.sort()
            if "config.json" not in files:
                continue
            dirs.clear()  # a run's subfolders (checkpoints) hold no runs
            if "summary.json" not in files:
                print(f"skipping unfinished run (no summary.json): {path}")
            elif os.path.realpath(path) not in runs:
                runs[os.path.realpath(path)] = load_run(path)
    return sorted(runs.values(), key=lambda r: (r.task, r.method, r.seed, r.path))


def method_order(method: str) -> tuple:
    """Sort key: the baselines first, then the other methods alphabetically."""
    return (BASELINES.index(method) if method in BASELINES else len(BASELINES), method)


def group_runs(runs: list[Run]) -> dict[str, dict[str, list[Run]]]:
    """task -> method -> its runs (the seeds)."""
    groups = {}
    for run in runs:
        groups.setdefault(run.task, {}).setdefault(run.method, []).append(run)
    return {
        task: dict(sorted(methods.items(), key=lambda item: method_order(item[0])))
        for task, methods in sorted(groups.items())
    }


def mean_k_label(methods: dict[str, list[Run]]) -> str:
    """'mean@8', or 'mean@4/8' when the runs differ in k."""
    return "mean@" + "/".join(str(k) for k in sorted({r.k for rs in methods.values() for r in rs}))


def task_eval_sets(methods: dict[str, list[Run]]) -> list[str]:
    return list(dict.fromkeys(s for runs in methods.values() for r in runs for s in r.eval_sets))


# Aggregation.


def mean_present(values) -> float | None:
    """Mean of the non-null values; None when all are null."""
    values = [v for v in values if v is not None]
    return float(np.mean(values)) if values else None


def stat(values, fmt: str = ".3f", paired: bool = False) -> str | Stat:
    """A Stat over the non-null values, or a dash when there are none."""
    values = [v for v in values if v is not None]
    return Stat(*mean_ci(values), fmt, paired) if values else DASH


def paired_stats(deltas: list[tuple[float, float | None]]) -> list[str | Stat]:
    """The final and over-the-run cells of `paired_deltas` over seed pairs."""
    return [stat([d[i] for d in deltas], "+.3f", paired=True) for i in (0, 1)]


def cost_to_target(evals: list[dict], accuracies: list[float], target: float) -> dict | None:
    """Steps, rollouts and wall-clock at which the accuracy first reaches `target`, linearly
    interpolated between the evaluation before the first one at or above it and that one (the
    first evaluation's own cost if it already is); None if no evaluation reaches it."""
    points = list(zip(evals, accuracies))
    for before, (record, accuracy) in zip([None, *points], points):
        if accuracy < target:
            continue
        if before is None:
            return {key: float(record[key]) for key in COST_KEYS}
        w = (target - before[1]) / (accuracy - before[1])
        return {key: before[0][key] + w * (record[key] - before[0][key]) for key in COST_KEYS}
    return None


def run_cost(run: Run, eval_set: str, target: float | None) -> dict | None:
    """The run's own cost to reach `target` mean@k on `eval_set` (None without a target)."""
    return None if target is None else cost_to_target(run.evals, run.accuracies(eval_set), target)


def both_reached(baseline: dict | None, method: dict | None) -> bool:
    """Whether a seed pair has a speed-up: both reached the target after step 0 (at step 0 the
    pair shares its base model, so both costs would be zero)."""
    return bool(baseline and method and baseline["step"] > 0 and method["step"] > 0)


def geometric_mean_ci(ratios: list[float]) -> Ratio | str:
    """Geometric mean of per-seed ratios with a 95% Student-t CI on their logs (none for one
    ratio); a dash without any."""
    if not ratios:
        return DASH
    mean, half = mean_ci(np.log(ratios))
    if len(ratios) < 2:
        return Ratio(float(np.exp(mean)))
    return Ratio(*(float(np.exp(x)) for x in (mean, mean - half, mean + half)))


def run_diagnostics(run: Run) -> dict[str, float | None]:
    """Per-run means of the selection diagnostics (nulls ignored)."""
    later = run.metrics[1:]  # the first step includes compilation
    overhead = None
    if later:
        overhead = float(
            np.median([m["selector_s"] for m in later]) / np.median([m["step_s"] for m in later])
        )
    return {
        "effective_ratio": mean_present([m["effective_ratio"] for m in run.metrics]),
        "pred_spearman": mean_present([m.get("pred_spearman") for m in run.metrics]),
        # Against rates from eval.k samples only (a 0/1 outcome per prompt attenuates ρ).
        "eval_pred_spearman": mean_present(
            [
                e.get("eval_pred_spearman")
                for e in run.evals
                if e["step"] > 0 and e.get("eval_k", run.k) == run.k
            ]
        ),
        "selector_overhead": overhead,
        # What the selector trains on: its batches' success rate, and (GPS) the share of each
        # batch already in the last `acquisition.window` batches (re-selection).
        "batch_success": mean_present([m.get("train_success") for m in run.metrics]),
        "batch_overlap": mean_present([m.get("batch_overlap") for m in run.metrics]),
    }


# Tables.


def target_for(methods: dict[str, list[Run]], eval_set: str, fixed: float | None) -> tuple:
    """The --target and its source, else the uniform seeds' mean final mean@k (None without)."""
    if fixed is not None:
        return fixed, "--target"
    finals = [r.accuracies(eval_set)[-1] for r in methods.get("uniform", [])]
    return mean_present(finals), "mean final accuracy of uniform"


def sparse_eval_note(methods: dict[str, list[Run]]) -> str:
    """A sentence when evaluations between the first and the last took fewer samples per
    prompt (eval.jsonl `eval_k`)."""
    runs = [r for rs in methods.values() for r in rs]
    ks = sorted({e["eval_k"] for r in runs for e in r.evals[1:-1] if e.get("eval_k", r.k) < r.k})
    if not ks:
        return ""
    return (
        f" Evaluations between the first and the last sampled {'/'.join(map(str, ks))} per prompt"
        " over the whole sets (eval_k in eval.jsonl): the same accuracy, estimated more noisily;"
        " costs interpolate over every evaluation."
    )


def cost_table(
    task: str, methods: dict[str, list[Run]], eval_set: str, target: float | None, source: str
) -> Table:
    """Final accuracy and each seed's cost to the target on one eval set, a row per method."""
    mean_k = mean_k_label(methods)
    if target is None:
        note = f"No {mean_k} target: no uniform runs; pass --target."
    else:
        note = f"Target: {mean_k} ≥ {target:.3f} ({source})."
    note += (
        " Final accuracy: at the last evaluation, mean ± 95% CI (Student t) over seeds."
        " Reached: seeds whose curve reaches the target. Cost to target: per seed, interpolated"
        " linearly between the two evaluations around its first crossing; mean ± 95% CI over"
        " the seeds that reached it." + sparse_eval_note(methods)
    )
    header = ["method", "seeds", f"final {mean_k}", "final greedy", "reached", "steps to target"]
    header += ["rollouts to target", "wall-clock to target (s)"]
    rows = []
    for method, runs in methods.items():
        costs = [c for c in (run_cost(r, eval_set, target) for r in runs) if c is not None]
        rows.append(
            [
                method,
                str(len(runs)),
                stat([r.accuracies(eval_set)[-1] for r in runs]),
                stat([r.evals[-1][f"{eval_set}/greedy"] for r in runs]),
                f"{len(costs)}/{len(runs)}",
                *(stat([c[key] for c in costs], fmt) for key, fmt in COST_FORMATS.items()),
            ]
        )
    return Table(f"{task} — {eval_set}", note, header, rows)


def speedup_row(pairs: list[tuple[Run, Run]], eval_set: str, target: float) -> list:
    """'n/N' seed pairs where both reached the target, and the geometric-mean speed-up
    (reference's cost / method's, per seed) in steps, rollouts and wall-clock."""
    costs = [(run_cost(ref, eval_set, target), run_cost(r, eval_set, target)) for r, ref in pairs]
    costs = [(b, m) for b, m in costs if both_reached(b, m)]
    ratios = [geometric_mean_ci([b[key] / m[key] for b, m in costs]) for key in COST_KEYS]
    return [f"{len(costs)}/{len(pairs)}", *ratios]


def speedup_table(
    task: str, methods: dict[str, list[Run]], eval_set: str, target: float | None, paired_with: str
) -> Table | None:
    """Each method's speed-up to the target over each baseline (and `paired_with`), paired by
    seed; None without a target or any pair."""
    if target is None:
        return None
    rows = [
        [method, reference, *speedup_row(pairs, eval_set, target)]
        for reference in dict.fromkeys((*BASELINES, paired_with))
        for method, pairs in seed_pairs(methods, eval_set, reference).items()
    ]
    if not rows:
        return None
    note = (
        "Speed-up to the target of the table above: the reference's cost / the method's, per"
        " seed (a seed fixes the base model and pools), over the seeds where both reached it"
        " after step 0 (n/N of the paired seeds). Geometric mean, and 95% CI from a Student t"
        " interval on the log-ratios (none with one pair)."
    )
    header = ["method", "vs", "seeds reaching", "steps", "rollouts", "wall-clock"]
    return Table(f"{task} — {eval_set}, speed-up to target", note, header, rows)


def main_table(
    task: str, methods: dict[str, list[Run]], eval_set: str, target: float | None, paired_with: str
) -> Table:
    """A row per method with what a reader of a selection paper looks for first, taken from
    the tables that follow: final accuracy, the paired differences and the rollouts speed-up
    to the target against `paired_with` (and DS), and the selection diagnostics."""
    references = [ref for ref in dict.fromkeys((paired_with, "ds")) if ref in methods]
    pairs = {ref: seed_pairs(methods, eval_set, ref) for ref in references}
    mean_k = mean_k_label(methods)
    rows = []
    for method, runs in methods.items():
        deltas = [
            paired_deltas(r, ref, eval_set) for r, ref in pairs.get(paired_with, {}).get(method, [])
        ]
        row = [method, str(len(runs)), stat([r.accuracies(eval_set)[-1] for r in runs])]
        row += paired_stats(deltas)
        row.append(stat([r.evals[-1]["rollouts"] for r in runs], ",.0f"))
        for ref in references:
            method_pairs = pairs[ref].get(method)
            if method_pairs and target is not None:
                reached, _, rollouts, _ = speedup_row(method_pairs, eval_set, target)
                row += [reached, rollouts]
            else:
                row += [DASH, DASH]
        diagnostics = [run_diagnostics(r) for r in runs]
        row += [stat([d[key] for d in diagnostics]) for key in MAIN_DIAGNOSTICS]
        rows.append(row)
    note = (
        f"Δ: {mean_k} minus {paired_with}'s on the same seed, at the last evaluation and averaged"
        " over the run (the paired table; bold where the 95% CI excludes 0). Rollouts: the run's"
        " total at its last evaluation. Rollouts ×: the reference's rollouts to the target"
        " over the method's, per seed pair where both reached it (n/N), geometric mean and 95%"
        " CI (the speed-up table; > 1× means fewer rollouts). ρ selected: predicted vs observed"
        " success rates of each step's batch; ρ unseen: vs the eval prompts, never trained on;"
        " selector share: of the step's time (the diagnostics table). Mean ± 95% CI over seeds."
    )
    header = ["method", "seeds", f"final {mean_k}", f"Δ final vs {paired_with}"]
    header += [f"Δ over the run vs {paired_with}", "rollouts"]
    for ref in references:
        header += [f"reached with {ref}", f"rollouts × {ref}"]
    header += ["effective ratio", "ρ selected", "ρ unseen", "selector share"]
    return Table(f"{task} — {eval_set}, main table", note, header, rows)


def eval_set_tables(
    task: str, methods: dict[str, list[Run]], eval_set: str, target: float | None, paired_with: str
) -> list[Table]:
    """The main table, cost to target, speed-ups and paired differences on one eval set."""
    methods = {m: [r for r in runs if eval_set in r.eval_sets] for m, runs in methods.items()}
    methods = {m: runs for m, runs in methods.items() if runs}
    target, source = target_for(methods, eval_set, target)
    tables = [
        main_table(task, methods, eval_set, target, paired_with),
        cost_table(task, methods, eval_set, target, source),
        speedup_table(task, methods, eval_set, target, paired_with),
        paired_table(task, methods, eval_set, paired_with),
    ]
    return [t for t in tables if t is not None]


def seed_pairs(
    methods: dict[str, list[Run]], eval_set: str, reference: str
) -> dict[str, list[tuple[Run, Run]]]:
    """method -> its (run, reference run of the same seed) pairs, for every other method that
    has any. A seed fixes the base model and the pools every method starts from, so pairing by
    seed cancels their seed-to-seed spread, usually the largest part of the CIs of finals."""
    by_seed = {r.seed: r for r in methods.get(reference, []) if eval_set in r.eval_sets}
    pairs = {
        m: [(r, by_seed[r.seed]) for r in runs if r.seed in by_seed and eval_set in r.eval_sets]
        for m, runs in methods.items()
        if m != reference
    }
    return {m: p for m, p in pairs.items() if p}


def paired_curve(run: Run, reference: Run, eval_set: str) -> dict[int, tuple[float, float]]:
    """step -> (step, run's mean@k minus the reference's) at the evaluations both logged."""
    ref = {e["step"]: reference.accuracy(e, eval_set) for e in reference.evals}
    return {
        e["step"]: (e["step"], run.accuracy(e, eval_set) - ref[e["step"]])
        for e in run.evals
        if e["step"] in ref
    }


def paired_deltas(run: Run, reference: Run, eval_set: str) -> tuple[float, float | None]:
    """The run's mean@k minus its reference's at the last evaluation both logged, and averaged
    over their shared evaluations after step 0 (an area between the curves, per evaluation)."""
    curve = paired_curve(run, reference, eval_set)
    gaps = [gap for step, (_, gap) in curve.items() if step > 0]
    return curve[max(curve)][1], (float(np.mean(gaps)) if gaps else None)


def paired_table(
    task: str, methods: dict[str, list[Run]], eval_set: str, reference: str
) -> Table | None:
    """Each method against `reference` on the same seeds (`seed_pairs`), None without any."""
    rows = []
    for method, pairs in seed_pairs(methods, eval_set, reference).items():
        deltas = [paired_deltas(r, ref, eval_set) for r, ref in pairs]
        rows.append([method, str(len(pairs)), *paired_stats(deltas)])
    if not rows:
        return None
    mean_k = mean_k_label(methods)
    note = (
        f"Method's {mean_k} minus {reference}'s on the same seed, mean ± 95% CI (Student t) over"
        " the paired seeds: at the last evaluation both logged, and averaged over the ones"
        " after step 0. Bold: the CI excludes 0."
    )
    header = ["method", "paired seeds", f"Δ final {mean_k}", f"Δ {mean_k} over the run"]
    return Table(f"{task} — {eval_set}, paired with {reference}", note, header, rows)


def diagnostics_table(task: str, methods: dict[str, list[Run]]) -> Table:
    """Selection diagnostics (independent of the eval set), a row per method."""
    rows = []
    for method, runs in methods.items():
        diagnostics = [run_diagnostics(r) for r in runs]
        rows.append(
            [method, str(len(runs)), *(stat([d[k] for d in diagnostics]) for k in DIAGNOSTICS)]
        )
    note = (
        "Means over RL steps (effective ratio, pred Spearman, batch success rate and share)"
        " and over evaluations after step 0"
        " (eval pred Spearman), nulls ignored; selector overhead = median selector_s /"
        " median step_s over steps after the first, selector_s leaving out the rollouts a"
        " selector generates itself (DS's rounds, counted in sample_s like every method's)."
        " Mean ± 95% CI (Student t) over seeds."
    )
    return Table(
        f"{task} — training diagnostics", note, ["method", "seeds", *DIAGNOSTICS.values()], rows
    )


def latex_escape(text: str) -> str:
    return "".join(LATEX_ESCAPES.get(c, c) for c in text)


def ratio_text(cell: Ratio, latex: bool = False) -> str:
    """'1.41× [1.02, 1.95]', or '1.41×' without a CI."""
    text = f"{cell.value:.2f}" + (r"$\times$" if latex else "×")
    return text if cell.low is None else text + f" [{cell.low:.2f}, {cell.high:.2f}]"


def cell_text(cell: str | Stat | Ratio, latex: bool = False) -> str:
    """A cell as Markdown, or as LaTeX (a Stat in math mode, text escaped)."""
    if isinstance(cell, Ratio):
        return ratio_text(cell, latex)
    if not isinstance(cell, Stat):
        return latex_escape(cell) if latex else cell
    text = plus_minus(cell.mean, cell.half, cell.fmt, r" \pm " if latex else " ± ")
    if latex:
        return rf"$\mathbf{{{text}}}$" if cell.resolved else f"${text}$"
    return f"**{text}**" if cell.resolved else text


def render_markdown(table: Table) -> str:
    lines = [f"## {table.title}", "", table.note, ""]
    lines.append("| " + " | ".join(table.header) + " |")
    lines.append("|" + "---|" * len(table.header))
    lines += ["| " + " | ".join(cell_text(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def render_latex(table: Table) -> str:
    def row_line(cells):
        return " & ".join(cells) + r" \\"

    lines = [rf"\paragraph{{{latex_escape(table.title)}}} {latex_escape(table.note)}", ""]
    lines += [r"\noindent", rf"\begin{{tabular}}{{l{'r' * (len(table.header) - 1)}}}", r"\hline"]
    lines += [row_line(latex_escape(h) for h in table.header), r"\hline"]
    lines += [row_line(cell_text(c, latex=True) for c in row) for row in table.rows]
    lines += [r"\hline", r"\end{tabular}"]
    return "\n".join(lines)


# Plots.


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


def eval_curve(run: Run, eval_set: str, x_key: str) -> dict[int, tuple[float, float]]:
    """step -> (x, mean@k on `eval_set`) over the run's evaluations."""
    return {e["step"]: (e[x_key], run.accuracy(e, eval_set)) for e in run.evals}


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


def draw_bands(ax, curves_by_method: dict[str, list], colors: dict[str, str]) -> None:
    for method, curves in curves_by_method.items():
        x, mean, half = seed_band(curves) if curves else ((), (), ())
        if len(x):
            ax.plot(x, mean, label=method, color=colors[method])
            ax.fill_between(x, mean - half, mean + half, color=colors[method], alpha=0.2, lw=0)
    ax.grid(alpha=0.3)
    if ax.lines:
        ax.legend(fontsize="small")


def plot_panels(
    path: str, panels: list[tuple], xlabel: str, ylabel: str, colors: dict, zero_line=False
) -> str:
    """One PNG with a panel per (title, method -> per-seed curves)."""
    fig = Figure(figsize=(5 * len(panels), 3.6), layout="constrained")
    FigureCanvasAgg(fig)
    for i, (title, curves_by_method) in enumerate(panels):
        ax = fig.add_subplot(1, len(panels), i + 1)
        draw_bands(ax, curves_by_method, colors)
        if zero_line:
            ax.axhline(0.0, color="black", lw=0.8)
        ax.set(title=title, xlabel=xlabel, ylabel=ylabel)
    fig.savefig(path, dpi=120)
    return path


def plot_task(task: str, methods: dict[str, list[Run]], out: str, reference: str) -> list[str]:
    """Accuracy vs steps, rollouts and wall-clock; the gap to `reference` paired by seed;
    smoothed effective ratio and pred Spearman."""
    colors = {m: f"C{i}" for i, m in enumerate(methods)}
    paths = []
    for x_key, name, xlabel in X_AXES:
        panels = [
            (
                f"{task}: {s}",
                {
                    m: [eval_curve(r, s, x_key) for r in rs if s in r.eval_sets]
                    for m, rs in methods.items()
                },
            )
            for s in task_eval_sets(methods)
        ]
        path = os.path.join(out, f"{task}_accuracy_vs_{name}.png")
        paths.append(plot_panels(path, panels, xlabel, "accuracy (mean@k)", colors))
    panels = []
    for s in task_eval_sets(methods):
        pairs = seed_pairs(methods, s, reference)
        curves = {m: [paired_curve(r, ref, s) for r, ref in p] for m, p in pairs.items()}
        panels += [(f"{task}: {s}, paired by seed", curves)] if curves else []
    if panels:
        path = os.path.join(out, f"{task}_gap_to_{reference}.png")
        ylabel = f"mean@k minus {reference}'s"
        paths.append(plot_panels(path, panels, "RL steps", ylabel, colors, zero_line=True))
    for key in ("effective_ratio", "pred_spearman"):
        title = f"{task}: {SMOOTH}-step moving average"
        panels = [(title, {m: [step_curve(r, key) for r in rs] for m, rs in methods.items()})]
        path = os.path.join(out, f"{task}_{key}.png")
        paths.append(plot_panels(path, panels, "RL steps", key.replace("_", " "), colors))
    return paths


# Report.


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
