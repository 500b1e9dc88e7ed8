"""Held-out evaluation: mean@k, pass@k and greedy accuracy per eval set."""

import jax
import numpy as np

from gps.testbed.rollout import RolloutEngine
from gps.testbed.tasks import Problem


def evaluate(
    engine: RolloutEngine,
    params,
    eval_sets: dict[str, list[Problem]],
    *,
    k: int,
    temperature: float,
    key,
    greedy: bool = True,
) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Metrics per eval set (greedy accuracy too when `greedy`), and each set's per-prompt
    success rate over the k samples. All sets are sampled together, so that small sets share the
    engine's fixed-size chunks."""
    names = sorted(eval_sets)
    problems = [p for name in names for p in eval_sets[name]]
    sampled = engine.generate(
        params,
        problems,
        k,
        jax.random.fold_in(key, 0),
        temperature=temperature,
        progress_desc="eval",
    )
    if greedy:
        greedy_rewards = engine.generate(
            params,
            problems,
            1,
            jax.random.fold_in(key, 1),
            greedy=True,
            progress_desc="eval greedy",
        ).rewards
    results, rates, start = {}, {}, 0
    for name in names:
        rows = slice(start, start + len(eval_sets[name]))
        start = rows.stop
        rates[name] = sampled.successes[rows] / k
        results[f"{name}/mean@{k}"] = float(rates[name].mean())
        results[f"{name}/pass@{k}"] = float((sampled.successes[rows] > 0).mean())
        if greedy:
            results[f"{name}/greedy"] = float(greedy_rewards[rows].mean())
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
