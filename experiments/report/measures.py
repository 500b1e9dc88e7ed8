"""What the tables report, computed from runs: means with 95% CIs over seeds, each seed's
interpolated cost to a target accuracy, geometric-mean speed-ups with CIs on their logs,
seed-paired differences, and the per-step diagnostics."""

import dataclasses

import numpy as np

from gps.stats import mean_ci
from experiments.report.runs import Run


DASH = "—"  # a cell with nothing to show


COST_KEYS = ("step", "rollouts", "wall_s")


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


def target_for(
    methods: dict[str, list[Run]], eval_set: str, fixed: float | None, reference: str = "uniform"
) -> tuple:
    """The --target and its source, else the `reference` seeds' mean final mean@k (None
    without)."""
    if fixed is not None:
        return fixed, "--target"
    finals = [r.accuracies(eval_set)[-1] for r in methods.get(reference, [])]
    return mean_present(finals), f"mean final accuracy of {reference}"


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
