"""The field's selection rules (docs/method.md §2.5) against hand-computed values."""

import itertools
import math

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from gps.selectors import ACQUISITIONS, AcquisitionInputs, Pool, make_selector, selector_config
from gps.errors import ConfigError
from gps.selectors import beta_scores, budgets, dump


def test_beta_entropy_and_information_gain_by_hand():
    """Beta(1, 1) is uniform: entropy 0. One rollout leaves Beta(2, 1) or Beta(1, 2), each
    with probability 1/2, of entropy ln B(2, 1) − ψ(2) + ψ(3) = −ln 2 + 1/2."""
    assert float(beta_scores.beta_entropy(1.0, 1.0)) == pytest.approx(0.0, abs=1e-6)
    h21 = -math.log(2) + 0.5
    assert float(beta_scores.beta_entropy(2.0, 1.0)) == pytest.approx(h21, abs=1e-5)
    gain = beta_scores.information_gain(np.array([1.0]), np.array([1.0]), k=1)
    assert float(gain[0]) == pytest.approx(-h21, abs=1e-5)


def test_information_gain_matches_a_direct_sum():
    """K = 3 from Beta(2, 5): the beta-binomial mixture of posterior entropies, summed by hand."""
    a, b, k = 2.0, 5.0, 3
    pmf = [math.comb(k, s) * math.exp(math.lgamma(a + s) + math.lgamma(b + k - s)
           - math.lgamma(a + b + k) - math.lgamma(a) - math.lgamma(b) + math.lgamma(a + b))
           for s in range(k + 1)]  # fmt: skip
    assert sum(pmf) == pytest.approx(1.0)
    expected = float(beta_scores.beta_entropy(a, b)) - sum(
        q * float(beta_scores.beta_entropy(a + s, b + k - s)) for s, q in enumerate(pmf)
    )
    gain = beta_scores.information_gain(np.array([a]), np.array([b]), k)
    assert float(gain[0]) == pytest.approx(expected, abs=1e-5) and expected > 0


def test_insight_weight_and_informative_probability_by_hand():
    assert float(beta_scores.insight_weight(0.3, eta=3.0, mu=0.3)) == pytest.approx(0.21)
    w = 0.5 * 0.5 * math.exp(-3.0 * 0.04)
    assert float(beta_scores.insight_weight(0.5, eta=3.0, mu=0.3)) == pytest.approx(w)
    # γ ~ U(0, 1): E[1 − γ² − (1 − γ)²] = 1 − 1/3 − 1/3.
    v = beta_scores.informative_probability(np.array([1.0]), np.array([1.0]), g=2)
    assert float(v[0]) == pytest.approx(1 / 3, abs=1e-6)
    # A near-certain prompt is almost never informative.
    v = beta_scores.informative_probability(np.array([500.0]), np.array([1.0]), g=8)
    assert float(v[0]) < 0.02


def test_knapsack_value_by_hand():
    assert budgets.knapsack_value(2, 0.5) == pytest.approx((1 - 0.25 - 0.25) * 0.5 * 0.25)
    assert budgets.knapsack_value(8, 0.0) == 0.0 == budgets.knapsack_value(8, 1.0)


@pytest.mark.parametrize("seed", range(4))
def test_knapsack_dp_equals_brute_force(seed):
    rng = np.random.default_rng(seed)
    p = rng.uniform(0.02, 0.98, size=3)
    total, min_n, max_n = 14, 2, 7
    counts = budgets.knapsack(p, total, min_n=min_n, max_n=max_n)
    assert counts.sum() == total and counts.min() >= min_n and counts.max() <= max_n
    best = max(
        budgets.knapsack_value(np.array(n), p).sum()
        for n in itertools.product(range(min_n, max_n + 1), repeat=3)
        if sum(n) == total
    )
    assert budgets.knapsack_value(counts, p).sum() == pytest.approx(best)


def test_knapsack_gives_valueless_prompts_the_minimum_and_spreads_leftovers():
    # p ∈ {0, 1}: 2 each; p = 0.4 up to max_n = 5; the 3 left over: one more each.
    counts = budgets.knapsack(np.array([0.0, 1.0, 0.4]), total=12, min_n=2, max_n=5)
    np.testing.assert_array_equal(counts, [3, 3, 6])
    # All valueless: an even split.
    np.testing.assert_array_equal(budgets.knapsack(np.array([0.0, 1.0]), 9), [5, 4])


def test_proportional_by_hand():
    np.testing.assert_array_equal(budgets.proportional([1, 3, 0, 0], 16), [4, 8, 2, 2])
    np.testing.assert_array_equal(budgets.proportional([0, 0, 0], 7), [3, 2, 2])
    with pytest.raises(ValueError, match="cannot give"):
        budgets.proportional([1, 1], 3)


def _inputs(alpha, beta, n_rollouts=4):
    c = len(alpha)
    return AcquisitionInputs(
        jnp.arange(c), None, None, None, None, (jnp.asarray(alpha), jnp.asarray(beta)), n_rollouts
    )


def _pick(name, inputs, batch_size, key=0):
    acquisition = ACQUISITIONS.get(name)
    cfg = ml_collections.FrozenConfigDict({"name": name, **acquisition.defaults})
    return np.asarray(acquisition.select(jax.random.key(key), inputs, batch_size, cfg))


def test_insight_and_expected_take_the_top_scores():
    alpha = np.array([1.0, 3.0, 30.0, 2.0, 8.0], np.float32)
    beta = np.array([1.0, 7.0, 70.0, 9.0, 2.0], np.float32)
    mean = alpha / (alpha + beta)
    score = np.asarray(
        beta_scores.insight_weight(mean, 3.0, 0.3) * beta_scores.information_gain(alpha, beta, 4)
    )
    assert set(_pick("insight", _inputs(alpha, beta), 2)) == set(np.argsort(-score)[:2])
    # Beta(30, 70) has the same mean as Beta(3, 7) but less to learn: INSIGHT prefers 3/7.
    assert score[1] > score[2]
    # Means 0.5, 0.3, 0.3, 0.18, 0.8: 0.5 first, then one of the two at 0.3.
    first, second = _pick("expected", _inputs(alpha, beta), 2)
    assert first == 0 and second in (1, 2)


def test_mapp_samples_in_proportion_to_the_informative_probability():
    alpha, beta = np.array([1.0, 5.0, 50.0], np.float32), np.array([1.0, 1.0, 1.0], np.float32)
    v = np.asarray(beta_scores.informative_probability(alpha, beta, 4))
    acquisition = ACQUISITIONS.get("mapp")
    draw = jax.vmap(lambda k: acquisition.select(k, _inputs(alpha, beta), 1, None)[0])
    picks = np.asarray(draw(jax.random.split(jax.random.key(0), 4000)))
    frequency = np.bincount(picks, minlength=3) / len(picks)
    np.testing.assert_allclose(frequency, v / v.sum(), atol=0.03)


@pytest.mark.parametrize("name", ["knapsack", "cures", "insight", "mapp"])
@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_all_hard_or_all_easy_pools_still_give_a_batch_and_a_budget(name, rate):
    """After every prompt failed (or succeeded) throughout, each selector still picks B
    distinct prompts, and budgets add up to the step's total."""
    emb = np.zeros((60, 4), np.float32)
    selector = make_selector(
        selector_config(name), Pool(("",) * 60, emb), batch_size=6, n_rollouts=4, rollout_budget=30
    )
    state = selector.init(jax.random.key(0))
    state = selector.update(state, np.arange(6), np.full(6, 4 * rate), np.full(6, 4))
    selection = selector.select(state, jax.random.key(1), None)
    assert len(set(selection.indices.tolist())) == 6
    if selection.budgets is not None:
        assert selection.budgets.sum() == 30 and selection.budgets.min() >= 2


def test_knapsack_selector_budgets_follow_the_posterior_means():
    emb = np.zeros((12, 4), np.float32)
    selector = make_selector(
        selector_config("knapsack"), Pool(("",) * 12, emb), batch_size=12, n_rollouts=4,
        rollout_budget=60,
    )  # fmt: skip
    state = selector.init(jax.random.key(0))
    successes = np.array([0, 4, 2, 1, 3, 0, 4, 2, 2, 1, 3, 0], np.float32)
    state = selector.update(state, np.arange(12), successes, np.full(12, 4))
    selection = selector.select(state, jax.random.key(1), None)
    alpha = 0.5 + 0.5 + successes  # decay 0.5 towards Beta(1, 1)
    mean = alpha / (alpha + 0.5 + 0.5 + 4 - successes)
    expected = budgets.knapsack(mean[selection.indices], 60)
    np.testing.assert_array_equal(selection.budgets, expected)
    assert selection.budgets.sum() == 60 and len(set(selection.budgets.tolist())) > 1


def test_dump_advantages_and_ucb_by_hand():
    sigma = math.sqrt(0.25 * 0.75)  # 1 success of 4
    np.testing.assert_allclose(
        dump.rollout_abs_advantages(1, 4), [0.75 / sigma] + [0.25 / sigma] * 3
    )
    np.testing.assert_array_equal(dump.rollout_abs_advantages(4, 4), 0.0)
    expected = [0.5 + math.sqrt(2 * math.log(5) / 4), 0.2 + math.sqrt(2 * math.log(5) / 2)]
    np.testing.assert_allclose(dump.ucb([0.5, 0.2], [3, 1]), expected)


def test_dump_draws_from_the_better_family_and_keeps_a_window():
    """Family "a" has informative rollouts, "b" all-wrong ones: after some steps the batch
    comes mostly from "a"; a family with too few prompts passes its slots on; the window
    holds the last `window` values only."""
    groups = ("a",) * 30 + ("b",) * 30 + ("c",) * 2
    selector = make_selector(
        selector_config("dump"), Pool(("",) * 62, groups=groups), batch_size=8, n_rollouts=4
    )
    state = selector.init(jax.random.key(0))
    for step in range(40):
        picks = selector.select(state, jax.random.key(step), None).indices
        assert len(set(picks.tolist())) == 8
        successes = np.where(picks < 30, 2, 0)
        state = selector.update(state, picks, successes, np.full(8, 4))
    from_a = [np.mean(selector.select(state, jax.random.key(100 + k), None).indices < 30)
              for k in range(20)]  # fmt: skip
    assert np.mean(from_a) > 0.7
    assert state["filled"].max() <= 300 and state["pulls"].sum() == 40 * 8
    with pytest.raises(ConfigError, match="group"):
        make_selector(selector_config("dump"), Pool(("",) * 10), batch_size=2, n_rollouts=4)
