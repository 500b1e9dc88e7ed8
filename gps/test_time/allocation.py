"""Test-time allocation of a sample budget by predicted difficulty (docs/method.md §3).

For best-of-k (a prompt counts as solved if any of its k samples is correct),
P(solved) = 1 − (1 − γ)^k. The k-th sample's marginal gain γ(1 − γ)^(k−1) decreases in k,
so handing out samples one at a time to the largest gain (Damani et al. 2024) maximises
Σ_i 1 − (1 − γ̂_i)^(k_i) for the budget exactly.

Taking γ̂ at face value pours the budget into the prompts predicted easiest and leaves those
predicted hard without a sample, which loses to uniform allocation once the predictor's
errors matter (results/test_time). With `concentration` c, γ is instead uncertain around the
prediction, γ ~ Beta(c·γ̂, c·(1 − γ̂)), and the allocation maximises the expected number
solved under that belief: E[(1 − γ)^k] = Π_{j<k} (b + j)/(a + b + j), whose gains still
decrease in k (greedy stays exact) but decay polynomially, not geometrically, so a prompt
predicted hard still gets a sample when the budget allows. `fit_belief` fits c, and a
recalibration of the predictions' mean, to outcomes on held-out prompts; c → ∞ with the
identity recalibration is the point allocation.

A belief can still be wrong about which prompts gain from more samples, and then its allocation
loses a little to uniform at larger budgets (countdown, K = 2 and 4). `validated_gain` scores the
belief's allocation against uniform on held-out prompts by cross-fitting, and the *validated*
allocation uses the belief only at budgets where that gain is shown (one-sided, 5%); elsewhere
it is uniform.
"""

import dataclasses
import heapq

import numpy as np
from scipy.optimize import minimize
from scipy.special import betaln, comb, expit, logit
from scipy.stats import chi2, norm

_EDGE = 1e-3  # predictions are kept off 0 and 1, where a Beta belief degenerates


def _beta_params(predicted, concentration: float):
    p = _clip(predicted)
    return concentration * p, concentration * (1.0 - p)


def unsolved_probability(predicted, counts, concentration: float | None = None) -> np.ndarray:
    """E[(1 − γ_i)^(k_i)] per prompt: (1 − γ̂)^k, or its mean under the Beta belief."""
    counts = np.asarray(counts)
    if concentration is None:
        return (1.0 - np.clip(np.asarray(predicted, float), 0.0, 1.0)) ** counts
    a, b = _beta_params(predicted, concentration)
    return np.exp(betaln(a, b + counts) - betaln(a, b))


def expected_solved(predicted, counts, concentration: float | None = None) -> float:
    """Σ_i 1 − E[(1 − γ_i)^(k_i)]: the expected number of prompts solved under the prediction."""
    return float((1.0 - unsolved_probability(predicted, counts, concentration)).sum())


def greedy_allocation(
    predicted, budget: int, minimum: int = 0, concentration: float | None = None
) -> np.ndarray:
    """Samples per prompt, Σ = budget, each ≥ `minimum`, maximising `expected_solved`."""
    predicted = np.asarray(predicted, float)
    counts = np.full(len(predicted), minimum, int)
    remaining = budget - counts.sum()
    if remaining < 0:
        raise ValueError(f"budget {budget} is below {minimum} sample(s) for each prompt")

    def gain(i):  # expected gain of prompt i's next sample
        now = unsolved_probability(predicted[i], counts[i], concentration)
        return now - unsolved_probability(predicted[i], counts[i] + 1, concentration)

    heap = [(-gain(i), i) for i in range(len(predicted))]
    heapq.heapify(heap)
    for _ in range(remaining):
        _, i = heapq.heappop(heap)
        counts[i] += 1
        heapq.heappush(heap, (-gain(i), i))
    return counts


@dataclasses.dataclass(frozen=True)
class Belief:
    """γ ~ Beta(c·m, c·(1 − m)) around a recalibrated prediction m = σ(slope·logit γ̂ + shift):
    the mean corrects a biased predictor (slope → 0 when it does not rank at all, which makes
    every prompt alike and the allocation uniform), c says how far outcomes scatter around it."""

    slope: float
    shift: float
    concentration: float

    def mean(self, predicted) -> np.ndarray:
        return expit(self.slope * logit(_clip(predicted)) + self.shift)

    def allocation(self, predicted, budget: int, minimum: int = 0) -> np.ndarray:
        return greedy_allocation(self.mean(predicted), budget, minimum, self.concentration)


def _outcomes(successes, n: int) -> np.ndarray:
    successes = np.asarray(successes)
    if successes.max(initial=0) > n or successes.min(initial=0) < 0:
        raise ValueError(f"successes from {successes.min()} to {successes.max()} of {n} samples")
    return successes


def _clip(predicted) -> np.ndarray:
    return np.clip(np.asarray(predicted, float), _EDGE, 1.0 - _EDGE)


LOG_CONCENTRATION = (np.log(0.05), np.log(1e5))


def fit_belief(predicted, successes, n: int, level: float = 0.05) -> Belief:
    """The Belief maximising the beta-binomial likelihood of `successes` out of `n` samples
    per prompt (prompts held out from the ones to allocate on).

    The slope is kept only where a likelihood-ratio test (χ² with one degree of freedom)
    rejects slope = 0 at `level`: a predictor whose ranking the held-out outcomes do not
    establish gets slope 0, every prompt alike, and the uniform allocation, instead of a
    reallocation driven by a slope fitted to noise."""
    successes = _outcomes(successes, n)

    def belief_of(x):  # c kept in [0.05, 1e5]: all-0 (or all-n) outcomes would drive it to 0
        return Belief(float(x[0]), float(x[1]), float(np.exp(np.clip(x[2], *LOG_CONCENTRATION))))

    def negative_log_likelihood(x):
        belief = belief_of(x)
        a, b = _beta_params(belief.mean(predicted), belief.concentration)
        return -(betaln(successes + a, n - successes + b) - betaln(a, b)).sum()  # + const

    def fit(objective, start):
        found = minimize(objective, start, method="Nelder-Mead", options={"maxiter": 2000})
        return found.x, found.fun

    ranked, ranked_nll = fit(negative_log_likelihood, np.array([1.0, 0.0, np.log(10.0)]))
    flat, flat_nll = fit(
        lambda x: negative_log_likelihood([0.0, *x]), np.array([0.0, np.log(10.0)])
    )
    if 2.0 * (flat_nll - ranked_nll) > chi2.ppf(1.0 - level, df=1):
        return belief_of(ranked)
    return belief_of([0.0, *flat])


def best_of_observed(successes, n: int, counts) -> np.ndarray:
    """[N] P(a correct sample among k_i of prompt i's n observed samples, drawn without
    replacement) = 1 − C(n − s_i, k_i) / C(n, k_i). Over the draws of the n samples its mean
    is 1 − (1 − γ_i)^k exactly for k ≤ n; a k above n counts as n, which understates it."""
    successes = _outcomes(successes, n)
    counts = np.minimum(np.asarray(counts), n)
    return 1.0 - comb(n - successes, counts) / comb(n, counts)


VALIDATION_LEVEL = 0.05  # one-sided: the belief's allocation is used where its gain is shown


def validated_gain(
    predicted,
    successes,
    n: int,
    budget_per_prompt: int,
    minimum: int = 0,
    seed: int = 0,
    folds: int = 2,
    repeats: int = 5,
) -> tuple[float, float]:
    """(mean, standard error) over held-out prompts of the fitted belief's allocation's gain
    in best-of accuracy over uniform, at `budget_per_prompt` samples per prompt on average.

    Cross-fitted: the prompts are split into `folds`, and a belief fitted (`fit_belief`) on
    all folds but one allocates K per prompt of the held-out fold, scored by
    `best_of_observed` on its outcomes; each prompt's gain is averaged over `repeats`
    random splits (from `seed`). Allocations above n per prompt are understated, so the
    estimate leans toward uniform."""
    if budget_per_prompt > n:
        raise ValueError(f"a budget of {budget_per_prompt} per prompt exceeds the {n} observed")
    if len(predicted) < 2 * folds:
        raise ValueError(f"{len(predicted)} calibration prompts are too few for {folds} folds")
    predicted, successes = np.asarray(predicted, float), np.asarray(successes)
    rng = np.random.default_rng(seed)
    gains = np.zeros(len(predicted))
    for _ in range(repeats):
        for held_out in np.array_split(rng.permutation(len(predicted)), folds):
            fitted_on = np.setdiff1d(np.arange(len(predicted)), held_out)
            belief = fit_belief(predicted[fitted_on], successes[fitted_on], n)
            counts = belief.allocation(
                predicted[held_out], budget_per_prompt * len(held_out), minimum
            )
            uniform = np.full(len(held_out), budget_per_prompt)
            gains[held_out] += (
                best_of_observed(successes[held_out], n, counts)
                - best_of_observed(successes[held_out], n, uniform)
            ) / repeats
    return float(gains.mean()), float(gains.std(ddof=1) / np.sqrt(len(gains)))


def validated(gain: float, se: float) -> bool:
    """Whether a validated gain is shown: its one-sided lower bound at VALIDATION_LEVEL > 0."""
    return bool(gain - norm.ppf(1.0 - VALIDATION_LEVEL) * se > 0)


def best_of_solved(correct: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """[N] whether prompt i has a correct sample among its first k_i (correct: [N, S] bool)."""
    if counts.max(initial=0) > correct.shape[1]:
        raise ValueError(
            f"an allocation of {counts.max()} exceeds the {correct.shape[1]} samples drawn"
        )
    taken = np.arange(correct.shape[1])[None, :] < counts[:, None]
    return (correct & taken).any(axis=1)


def best_of_accuracy(correct: np.ndarray, counts: np.ndarray) -> float:
    """Share of prompts with a correct sample among their first k_i."""
    return float(best_of_solved(correct, counts).mean())


def paired_gain(solved: np.ndarray, reference: np.ndarray) -> tuple[float, float]:
    """(mean, standard error) over prompts of an allocation's solved-minus-reference: both are
    scored on the same samples, so the per-prompt differences carry the comparison."""
    diff = solved.astype(float) - reference
    return float(diff.mean()), float(diff.std(ddof=1) / np.sqrt(len(diff)))


MATCH_GRID = np.linspace(0.125, 1.0, 8)  # budget fractions searched for equal accuracy


def allocation_report(
    predicted,
    correct,
    budgets,
    minimum,
    oracle=None,
    belief: Belief | None = None,
    validation: dict[int, tuple[float, float]] | None = None,
) -> list[dict]:
    """Uniform vs predicted allocation at each budget K, on the same samples `correct`, with
    each allocation's paired gain over uniform and its standard error (`*_gain`, `*_gain_se`).
    With `belief`, also the allocation under it (`calibrated_*`), and with `validation`
    (K → `validated_gain`) the validated allocation (`validated_*`): the belief's where its
    gain is shown, else uniform. With `oracle` (success rates measured on separate samples),
    the point allocation driven by them, as an upper reference for what a predictor could
    give."""
    if validation is not None and belief is None:
        raise ValueError("a validation needs the belief it validates")
    n = len(predicted)
    rows = []
    for k in budgets:
        uniform = best_of_solved(correct, np.full(n, k))
        counts = greedy_allocation(predicted, k * n, minimum)
        allocations = {"predicted": counts}
        if belief is not None:
            allocations["calibrated"] = belief.allocation(predicted, k * n, minimum)
        if validation is not None:
            shown = validated(*validation[k])
            allocations["validated"] = allocations["calibrated"] if shown else np.full(n, k)
        if oracle is not None:
            allocations["oracle"] = greedy_allocation(oracle, k * n, minimum)
        row = {
            "budget_per_prompt": k,
            "uniform_acc": float(uniform.mean()),
            "max_samples_one_prompt": int(counts.max()),
            "prompts_without_samples": int((counts == 0).sum()),
        }
        for name, allocation in allocations.items():
            solved = best_of_solved(correct, allocation)
            row[f"{name}_acc"] = float(solved.mean())
            row[f"{name}_gain"], row[f"{name}_gain_se"] = paired_gain(solved, uniform)
        if belief is not None:
            row["calibrated_prompts_without_samples"] = int((allocations["calibrated"] == 0).sum())
        if validation is not None:
            row["validation_gain"], row["validation_gain_se"] = validation[k]
            row["validation_shown"] = shown
        matched = [
            f
            for f in MATCH_GRID
            if f * k >= minimum  # budgets below `minimum` per prompt are not allocations
            and best_of_accuracy(correct, greedy_allocation(predicted, int(f * k * n), minimum))
            >= row["uniform_acc"]
        ]
        row["budget_to_match_uniform"] = float(min(matched)) if matched else None
        rows.append(row)
    return rows
