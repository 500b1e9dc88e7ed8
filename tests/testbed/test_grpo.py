"""GRPO advantages, the clipped token-level objective and the jitted update."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gps.testbed import grpo
from gps.testbed.model import ModelConfig, init_params, token_logprobs
from gps.testbed.optimizer import make_optimizer
from gps.testbed.tokenizer import BOS, CharTokenizer

CFG = ModelConfig(
    vocab_size=CharTokenizer().vocab_size, max_len=16, d_model=16, n_layers=1, n_heads=2, d_ff=32
)
N, L, PROMPT = 8, 12, 4
OPT = make_optimizer(3e-3)  # one optimizer object: update's jit cache is keyed by it
_token_logprobs = jax.jit(token_logprobs, static_argnums=1)
_grpo_loss = jax.jit(grpo.grpo_loss, static_argnames=("cfg", "clip_eps", "kl_coef"))


def _params(seed=0):
    return init_params(CFG, jax.random.key(seed))


def _copy(tree):
    """Host copy of a pytree (grpo.update donates its params and optimizer state)."""
    return jax.tree.map(np.array, tree)


def _batch(params, advantages=None, logprob_shift=0.0):
    """N sequences of random alphabet tokens; completion mask after a 4-token prompt, ragged
    ends."""
    rng = np.random.default_rng(0)
    tokens = rng.integers(3, CFG.vocab_size, (N, L)).astype(np.int32)
    tokens[:, 0] = BOS
    mask = np.zeros((N, L), np.float32)
    for row in range(N):
        mask[row, PROMPT : PROMPT + 2 + row % 6] = 1.0
    if advantages is None:
        advantages = np.tile([1.0, -1.0], N // 2)
    logp = np.asarray(_token_logprobs(params, CFG, jnp.asarray(tokens))) * mask
    return grpo.RolloutBatch(
        tokens,
        (logp - logprob_shift * mask).astype(np.float32),
        mask,
        np.asarray(advantages, np.float32),
    )


def _loss(params, batch, clip_eps=0.2, kl_coef=0.0, ref_params=None):
    return _grpo_loss(
        params, batch, ref_params, cfg=CFG, clip_eps=clip_eps, kl_coef=kl_coef, temperature=1.0
    )


def test_group_advantages_hand_computed():
    """Per-group (r - mean) / (population std + 1e-6); an all-equal group gives zeros."""
    rewards = np.array([[1, 0, 0, 1], [1, 1, 1, 1], [0, 0, 0, 1]], np.float32)
    std2 = np.sqrt(0.25 * 0.75)
    expected = np.array(
        [
            [0.5, -0.5, -0.5, 0.5] / np.float32(0.5 + 1e-6),
            [0, 0, 0, 0],
            [-0.25, -0.25, -0.25, 0.75] / (std2 + 1e-6),
        ]
    )
    advantages = grpo.group_advantages(rewards.reshape(-1), np.full(3, 4))
    np.testing.assert_allclose(advantages, expected.reshape(-1), rtol=1e-6)
    np.testing.assert_array_equal(grpo.group_advantages(np.zeros(6, np.float32), [3, 3]), 0.0)


def test_group_advantages_of_unequal_groups():
    """Groups of 2, 5 and 1 rollouts, each normalised by its own mean and std."""
    rewards = np.array([1, 0, 1, 1, 1, 0, 0, 1], np.float32)
    std5 = np.sqrt(0.6 * 0.4)
    expected = [0.5 / 0.5, -0.5 / 0.5, *((np.array([1, 1, 1, 0, 0]) - 0.6) / std5), 0.0]
    advantages = grpo.group_advantages(rewards, np.array([2, 5, 1]))
    np.testing.assert_allclose(advantages, expected, rtol=1e-5)


def test_loss_on_policy_is_minus_token_mean_advantage():
    """With old == current logprobs the ratio is 1: loss = -(token-weighted mean A), no clipping."""
    params = _params()
    advantages = np.array([2.0, -1.0, 0.5, 0.0, 1.0, -3.0, 0.25, 1.5], np.float32)
    batch = _batch(params, advantages)
    loss, metrics = _loss(params, batch)
    lengths = batch.mask.sum(1)
    np.testing.assert_allclose(
        float(loss), -(advantages * lengths).sum() / lengths.sum(), rtol=1e-5
    )
    assert float(metrics["clip_frac"]) == 0.0
    assert "kl" not in metrics


def test_loss_clips_only_in_the_pessimistic_direction():
    """Ratio e^0.5 > 1 + eps: positive advantages are clipped to (1+eps)A, negative ones are not."""
    params = _params()
    advantages = np.tile([1.0, -1.0], N // 2).astype(np.float32)
    batch = _batch(params, advantages, logprob_shift=0.5)
    loss, metrics = _loss(params, batch, clip_eps=0.2)
    lengths = batch.mask.sum(1)
    per_token = np.where(advantages > 0, 1.2 * advantages, np.exp(0.5) * advantages)
    np.testing.assert_allclose(float(loss), -(per_token * lengths).sum() / lengths.sum(), rtol=1e-4)
    np.testing.assert_allclose(float(metrics["clip_frac"]), 1.0)


def _update(params, opt_state, batch, ref_params=None, kl_coef=0.0, optimizer=OPT):
    return grpo.update(
        params,
        opt_state,
        batch,
        ref_params,
        cfg=CFG,
        optimizer=optimizer,
        updates=1,
        clip_eps=0.2,
        kl_coef=kl_coef,
        temperature=1.0,
    )


def test_update_changes_params_and_lowers_loss():
    """Repeated updates on one batch with nonzero advantages move the params and lower the loss."""
    params = _params()
    batch = _batch(params)
    initial = _copy(params)
    initial_loss = float(_loss(initial, batch)[0])
    opt_state = OPT.init(params)
    losses = []
    for _ in range(5):
        params, opt_state, metrics = _update(params, opt_state, batch)
        losses.append(float(metrics["loss"]))
    assert losses[0] == pytest.approx(initial_loss, abs=1e-5)  # metrics are taken before the step
    assert losses[1] < losses[0]
    assert float(_loss(params, batch)[0]) <= losses[-1] < losses[0]  # may plateau once all clip
    changed = jax.tree.map(lambda a, b: not np.array_equal(np.asarray(a), b), params, initial)
    assert all(jax.tree.leaves(changed))
    assert set(metrics) >= {"loss", "clip_frac", "neg_logp", "grad_norm"}


def test_kl_metric_zero_at_reference_and_positive_after():
    """With kl_coef > 0 the kl metric is reported, 0 at the reference params and > 0 once moved."""
    params = _params()
    ref = _copy(params)
    batch = _batch(params)
    opt_state = OPT.init(params)
    params, opt_state, metrics = _update(params, opt_state, batch, ref, kl_coef=0.1)
    assert "kl" in metrics
    assert abs(float(metrics["kl"])) < 1e-7
    params, opt_state, metrics = _update(params, opt_state, batch, ref, kl_coef=0.1)
    assert float(metrics["kl"]) > 0.0


def test_update_traced_once_for_repeated_calls():
    """Repeated calls with the same shapes and static args reuse one compiled update."""
    params = _params()
    optimizer = make_optimizer(1e-3)  # a fresh optimizer object: the first call must trace
    opt_state = optimizer.init(params)
    before = grpo.update._cache_size()
    for seed in range(3):
        batch = _batch(_params(seed + 1))  # new arrays, same shapes and dtypes
        params, opt_state, _ = _update(params, opt_state, batch, optimizer=optimizer)
    assert grpo.update._cache_size() - before == 1
