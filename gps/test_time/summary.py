"""Test-time allocation results over seeds: each allocation's gain over uniform, averaged
across `experiments.test_time.score` runs with a 95% t-interval (docs/method.md §3)."""

import json
import os

from gps.errors import ConfigError
from gps.stats import Z95, mean_ci, plus_minus

ALLOCATIONS = ("predicted", "calibrated", "validated", "oracle")
LABELS = {
    "predicted": "point",
    "calibrated": "calibrated",
    "validated": "validated",
    "oracle": "oracle-rate",
}


def load_rows(folder: str) -> list[dict]:
    path = os.path.join(folder, "test_time.jsonl")
    if not os.path.isfile(path):
        raise ConfigError(f"no test_time.jsonl in {folder}")
    try:
        with open(path) as f:
            rows = [json.loads(line) for line in f if line.strip()]
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ConfigError(f"{path} is not JSON lines: {e}") from None
    if not rows or not all(
        isinstance(r, dict) and isinstance(r.get("budget_per_prompt"), int) and "uniform_acc" in r
        for r in rows
    ):
        raise ConfigError(f"{path} has no test-time rows (budget_per_prompt, uniform_acc)")
    return rows


def summarize(runs: list[list[dict]]) -> list[dict]:
    """One row per budget K that every run has: mean ± CI of each allocation's gain
    (points) over the runs that report it, and how many runs' own CIs lie below 0."""
    eval_sets = {r.get("eval_set") for rows in runs for r in rows}
    if len(eval_sets) > 1:  # e.g. a countdown run averaged with an arithmetic one
        raise ConfigError(f"the runs test different eval sets: {sorted(map(str, eval_sets))}")
    by_budget = [{r["budget_per_prompt"]: r for r in rows} for rows in runs]
    shared = set.intersection(*(set(b) for b in by_budget))
    if not shared:
        raise ConfigError("the runs share no budget K")
    summary = []
    for k in sorted(shared):
        rows = [b[k] for b in by_budget]
        uniform, uniform_ci = mean_ci([r["uniform_acc"] for r in rows])
        entry = {"budget_per_prompt": k, "runs": len(rows), "uniform_acc": uniform}
        entry["uniform_acc_ci"] = uniform_ci
        for name in ALLOCATIONS:
            reported = [r for r in rows if f"{name}_acc" in r]
            if not reported:
                continue
            gain, ci = mean_ci([100 * (r[f"{name}_acc"] - r["uniform_acc"]) for r in reported])
            # Runs made before the paired intervals (the first test-time runs) have none.
            paired = [r for r in reported if f"{name}_gain_se" in r]
            below = sum(r[f"{name}_gain"] + Z95 * r[f"{name}_gain_se"] < 0 for r in paired)
            entry |= {f"{name}_gain": gain, f"{name}_gain_ci": ci, f"{name}_runs": len(reported)}
            entry |= {f"{name}_runs_paired": len(paired), f"{name}_runs_below": below}
        summary.append(entry)
    return summary


def markdown(summary: list[dict]) -> str:
    names = [n for n in ALLOCATIONS if any(f"{n}_gain" in s for s in summary)]
    lines = [
        "| K | runs | uniform best-of-K | "
        + " | ".join(f"{LABELS[n]}: gain (points) | paired CI below 0" for n in names)
        + " |",
        "|---|---|---|" + "---|---|" * len(names),
    ]
    for s in summary:
        cells = [str(s["budget_per_prompt"]), str(s["runs"])]
        cells.append(plus_minus(s["uniform_acc"], s["uniform_acc_ci"]))
        for n in names:
            if f"{n}_gain" not in s:
                cells += ["—", "—"]
                continue
            runs = "" if s[f"{n}_runs"] == s["runs"] else f" ({s[f'{n}_runs']} runs)"
            cells.append(plus_minus(s[f"{n}_gain"], s[f"{n}_gain_ci"], "+.1f") + runs)
            paired = s[f"{n}_runs_paired"]
            cells.append(f"{s[f'{n}_runs_below']} of {paired}" if paired else "—")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
