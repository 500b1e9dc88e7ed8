"""The report's tables, as data (`Table`): per eval set a main table (a row per method), cost
to target, speed-ups, paired differences; per task the diagnostics."""

import dataclasses


from experiments.report.measures import (
    COST_KEYS,
    DASH,
    Ratio,
    Stat,
    both_reached,
    geometric_mean_ci,
    paired_deltas,
    paired_stats,
    run_cost,
    run_diagnostics,
    seed_pairs,
    stat,
    target_for,
)
from experiments.report.runs import BASELINES, Run, mean_k_label


COST_FORMATS = dict(zip(COST_KEYS, (".1f", ".0f", ".1f")))


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


@dataclasses.dataclass
class Table:
    """Row data rendered identically as Markdown and as LaTeX."""

    title: str
    note: str
    header: list[str]
    rows: list[list[str | Stat | Ratio]]


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
