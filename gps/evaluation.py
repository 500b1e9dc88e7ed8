"""Held-out evaluation: mean@k, pass@k and greedy accuracy per eval set."""

import jax
import numpy as np

from gps.rollout import RolloutEngine
from gps.tasks import Problem


def evaluate(
    engine: RolloutEngine,
    params,
    eval_sets: dict[str, list[Problem]],
    *,
    k: int,
    temperature: float,
    key,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metrics per eval set, and each set's per-prompt success rate over the k samples."""
    results, rates = {}, {}
    for i, (name, problems) in enumerate(sorted(eval_sets.items())):
        sampled = engine.generate(
            params, problems, k, jax.random.fold_in(key, 2 * i), temperature=temperature
        )
        greedy = engine.generate(
            params, problems, 1, jax.random.fold_in(key, 2 * i + 1), greedy=True
        )
        results[f"{name}/mean@{k}"] = float(sampled.rewards_PxN.mean())
        results[f"{name}/pass@{k}"] = float((sampled.successes > 0).mean())
        results[f"{name}/greedy"] = float(greedy.rewards_PxN.mean())
        rates[name] = sampled.rewards_PxN.mean(axis=1)
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
