"""Held-out evaluation: mean@k, pass@k and greedy accuracy per eval set."""

import jax
import numpy as np

from gps.rollout import RolloutEngine
from gps.tasks import Problem


def eval_prefixes(eval_sets: dict[str, list[Problem]], size: int) -> dict[str, list[Problem]]:
    """The first `size` prompts of each eval set (whole sets when `size` is 0 or larger): a
    fixed, deterministic subset for cheaper intermediate evaluations."""
    return {name: problems[: size or None] for name, problems in eval_sets.items()}


def evaluate(
    engine: RolloutEngine,
    params,
    eval_sets: dict[str, list[Problem]],
    *,
    k: int,
    temperature: float,
    key,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metrics per eval set, and each set's per-prompt success rate over the k samples. All sets
    are sampled together, so that small sets share the engine's fixed-size chunks."""
    names = sorted(eval_sets)
    problems = [p for name in names for p in eval_sets[name]]
    sampled = engine.generate(
        params, problems, k, jax.random.fold_in(key, 0), temperature=temperature
    )
    greedy = engine.generate(params, problems, 1, jax.random.fold_in(key, 1), greedy=True)
    results, rates, start = {}, {}, 0
    for name in names:
        rows = slice(start, start + len(eval_sets[name]))
        start = rows.stop
        results[f"{name}/mean@{k}"] = float(sampled.rewards_PxN[rows].mean())
        results[f"{name}/pass@{k}"] = float((sampled.successes[rows] > 0).mean())
        results[f"{name}/greedy"] = float(greedy.rewards_PxN[rows].mean())
        rates[name] = sampled.rewards_PxN[rows].mean(axis=1)
    return results, rates


def pass_rate_report(successes: np.ndarray, n: int) -> dict:
    """Histogram of per-prompt successes out of n, with mean@n and pass@n."""
    counts = np.bincount(successes, minlength=n + 1)
    return {
        "n": n,
        "prompts": int(len(successes)),
        "histogram": counts.tolist(),
        "mean": float(successes.mean() / n),
        "pass": float((successes > 0).mean()),
        "all_wrong": float(counts[0] / len(successes)),
        "all_right": float(counts[n] / len(successes)),
    }
