"""Budget rules: how many rollouts each chosen prompt gets, adding up to the step's budget
(docs/method.md §2.5). Host-side numpy on B prompts; the inputs are success-rate estimates.
"""

import numpy as np

RULES = ("equal", "knapsack", "proportional")  # equal: the trainer's even split of the budget


def allocate(rule: str, estimates: np.ndarray, total: int) -> np.ndarray | None:
    """Rollouts per chosen prompt under `rule` from its estimated success rates (None for
    `equal`): `knapsack` on Value(N, p), `proportional` to √(p(1−p)), CurES's variance proxy
    of the per-prompt gradient's standard deviation (its source estimates that from
    gradient norms)."""
    p = np.clip(np.asarray(estimates, np.float64), 0.0, 1.0)
    if rule == "knapsack":
        return knapsack(p, total)
    if rule == "proportional":
        return proportional(np.sqrt(p * (1 - p)), total)
    return None


def knapsack_value(n, p):
    """Value(N, p) = (1 − p^N − (1−p)^N)·p(1−p)²: the chance that N rollouts give a non-zero
    gradient times Knapsack RL's information gain of a prompt of success rate p."""
    n, p = np.asarray(n, np.float64), np.asarray(p, np.float64)
    return (1 - p**n - (1 - p) ** n) * p * (1 - p) ** 2


def knapsack(p, total: int, *, min_n: int = 2, max_n: int = 128) -> np.ndarray:
    """Knapsack RL's allocation: every prompt gets `min_n`; the rest of `total` goes, by exact
    dynamic programming over (prompt, rollouts), where it maximises Σ Value(n_i, p_i) with
    n_i ≤ max_n. Prompts at p ∈ {0, 1} have no value and keep `min_n`; what no prompt can use
    (every one at max_n, or all valueless) is spread evenly."""
    p = np.asarray(p, np.float64)
    b = len(p)
    if total < min_n * b:
        raise ValueError(f"a budget of {total} cannot give {b} prompts {min_n} rollouts each")
    spare = total - min_n * b
    extra = np.arange(min(spare, max_n - min_n) + 1)
    # gain[i, k]: Value of min_n + k rollouts on prompt i, over the value at min_n.
    gain = knapsack_value(min_n + extra[None, :], p[:, None]) - knapsack_value(min_n, p)[:, None]
    best = np.zeros(spare + 1)  # best[c]: the best total gain of the prompts so far with c extra
    choice = np.zeros((b, spare + 1), np.int64)
    for i in range(b):
        # candidates[c, k] = best[c − k] + gain[i, k] for k ≤ c.
        c = np.arange(spare + 1)[:, None]
        k = extra[None, :]
        candidates = np.where(k <= c, best[np.maximum(c - k, 0)] + gain[i][None, :], -np.inf)
        choice[i] = candidates.argmax(1)
        best = candidates.max(1)
    counts = np.full(b, min_n, np.int64)
    c = int(np.argmax(best))  # spending less than `spare` may be best: the rest is leftover
    for i in reversed(range(b)):
        counts[i] += choice[i, c]
        c -= choice[i, c]
    return _spread(counts, total)


def proportional(weights, total: int, *, min_n: int = 2) -> np.ndarray:
    """CurES's allocation: `min_n` each, the rest in proportion to `weights` (largest
    remainders), or evenly when every weight is 0."""
    w = np.asarray(weights, np.float64)
    b = len(w)
    if total < min_n * b:
        raise ValueError(f"a budget of {total} cannot give {b} prompts {min_n} rollouts each")
    spare = total - min_n * b
    if w.sum() <= 0:
        return _spread(np.full(b, min_n, np.int64), total)
    share = spare * w / w.sum()
    counts = min_n + np.floor(share).astype(np.int64)
    left = total - counts.sum()
    counts[np.argsort(-(share - np.floor(share)), kind="stable")[:left]] += 1
    return counts


def _spread(counts: np.ndarray, total: int) -> np.ndarray:
    """`counts` plus what is left of `total`, spread evenly (first prompts first)."""
    left = total - counts.sum()
    b = len(counts)
    return counts + left // b + (np.arange(b) < left % b)
