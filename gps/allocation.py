"""Test-time allocation of a sample budget by predicted difficulty (method.md §3).

For best-of-k (a prompt counts as solved if any of its k samples is correct),
P(solved) = 1 − (1 − γ)^k. The k-th sample's marginal gain γ(1 − γ)^(k−1) decreases in k,
so handing out samples one at a time to the largest gain (Damani et al. 2024) maximises
Σ_i 1 − (1 − γ̂_i)^(k_i) for the budget exactly.
"""

import heapq

import numpy as np


def expected_solved(predicted: np.ndarray, counts: np.ndarray) -> float:
    """Σ_i 1 − (1 − γ̂_i)^(k_i): the expected number of prompts solved under the prediction."""
    return float((1.0 - (1.0 - np.asarray(predicted)) ** np.asarray(counts)).sum())


def greedy_allocation(predicted, budget: int, minimum: int = 0) -> np.ndarray:
    """Samples per prompt, Σ = budget, each ≥ `minimum`, maximising `expected_solved`."""
    predicted = np.clip(np.asarray(predicted, float), 0.0, 1.0)
    counts = np.full(len(predicted), minimum, int)
    remaining = budget - counts.sum()
    if remaining < 0:
        raise ValueError(f"budget {budget} is below {minimum} sample(s) for each prompt")
    gain = lambda i: predicted[i] * (1.0 - predicted[i]) ** counts[i]  # noqa: E731
    heap = [(-gain(i), i) for i in range(len(predicted))]
    heapq.heapify(heap)
    for _ in range(remaining):
        _, i = heapq.heappop(heap)
        counts[i] += 1
        heapq.heappush(heap, (-gain(i), i))
    return counts


def best_of_accuracy(correct: np.ndarray, counts: np.ndarray) -> float:
    """Share of prompts with a correct sample among their first k_i (correct: [N, S] bool)."""
    if counts.max(initial=0) > correct.shape[1]:
        raise ValueError(
            f"an allocation of {counts.max()} exceeds the {correct.shape[1]} samples drawn"
        )
    taken = np.arange(correct.shape[1])[None, :] < counts[:, None]
    return float((correct & taken).any(axis=1).mean())


MATCH_GRID = np.linspace(0.125, 1.0, 8)  # budget fractions searched for equal accuracy


def allocation_report(predicted, correct, budgets, minimum, oracle=None) -> list[dict]:
    """Uniform vs predicted allocation at each budget K, on the same samples `correct`;
    with `oracle` (success rates measured on separate samples), the same allocation driven
    by them, as an upper reference for what a predictor could give."""
    n = len(predicted)
    rows = []
    for k in budgets:
        uniform = best_of_accuracy(correct, np.full(n, k))
        counts = greedy_allocation(predicted, k * n, minimum)
        extra = {}
        if oracle is not None:
            oracle_counts = greedy_allocation(oracle, k * n, minimum)
            extra["oracle_acc"] = best_of_accuracy(correct, oracle_counts)
        matched = [
            f
            for f in MATCH_GRID
            if f * k >= minimum  # budgets below `minimum` per prompt are not allocations
            and best_of_accuracy(correct, greedy_allocation(predicted, int(f * k * n), minimum))
            >= uniform
        ]
        rows.append(
            {
                "budget_per_prompt": k,
                "uniform_acc": uniform,
                "predicted_acc": best_of_accuracy(correct, counts),
                "max_samples_one_prompt": int(counts.max()),
                "prompts_without_samples": int((counts == 0).sum()),
                "budget_to_match_uniform": float(min(matched)) if matched else None,
                **extra,
            }
        )
    return rows
