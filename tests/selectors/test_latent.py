"""GPS's latent z: the ELBO it is trained on, checked by hand, and a drifting world where
tracking the policy's skill c_t through z is the only way to predict unseen prompts well."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from numpyro import handlers
from numpyro.infer import Trace_ELBO
from scipy import stats

from experiments.studies import drift_study
from gps.selectors.gps_predictor import GenerativePredictor
from gps.selectors.presets import part_block


def _tiny_predictor(**overrides):
    cfg = part_block("model", "gps")
    cfg.update(z_dim=2, hidden=8, replay=3, **overrides)
    embeddings = jax.random.normal(jax.random.key(0), (10, 5))
    embeddings /= jnp.linalg.norm(embeddings, axis=-1, keepdims=True)
    model = GenerativePredictor(
        ml_collections.FrozenConfigDict(cfg), pool_size=10, batch_size=4, embeddings=embeddings
    )
    return model


def _hand_elbo(model, params, prev, cur, z):
    """log p(s | z) + log p(z | H_{t−1}) − log q(z | H_t), summed over the filled replay rows,
    with scipy's densities: the single-particle ELBO at this z."""
    embeddings, successes, trials, mask = (np.asarray(x) for x in cur)
    logits = model.decoder.apply({"params": params["decoder$params"]}, cur[0], z[:, None, :])
    p = np.asarray(jax.nn.sigmoid(logits), np.float64)
    likelihood = stats.binom.logpmf(successes, trials, p)
    total = likelihood[mask].sum()
    prior_mean, prior_scale = model.prior_net.apply({"params": params["prior$params"]}, *prev)
    rates = cur[1] / jnp.maximum(cur[2], 1.0)
    post_mean, post_scale = model.posterior_net.apply(
        {"params": params["posterior$params"]}, cur[0], rates, cur[3]
    )
    rows = mask.any(-1)
    z = np.asarray(z, np.float64)
    total += stats.norm.logpdf(z, prior_mean, prior_scale)[rows].sum()
    total -= stats.norm.logpdf(z, post_mean, post_scale)[rows].sum()
    return total


def test_elbo_at_fixed_parameters_matches_a_hand_computation():
    """NumPyro's Trace_ELBO on the model and guide equals the ELBO written out with scipy, on
    a replay buffer with an empty row and a prompt that got no trials (both masked out)."""
    model = _tiny_predictor()
    state = model.init(jax.random.key(1))
    state = model.update(state, jnp.array([0, 1, 2, 3]), jnp.array([3, 0, 8, 5]), jnp.full(4, 8))
    state = model.update(
        state, jnp.array([4, 5, 6, 7]), jnp.array([1, 2, 0, 7]), jnp.array([8, 8, 0, 8])
    )
    prev, cur, cur_set = model._history(state["replay"], jax.random.key(3))
    assert not bool(cur[3][0].any()) and not bool(cur[3][-1][2])  # the masking is exercised
    params = state["svi"]["params"]
    key = jax.random.key(2)
    loss = Trace_ELBO().loss(key, params, model._model, model._guide, prev, cur, cur_set)
    # Trace_ELBO's single particle: the guide is seeded with the second half of split(key).
    # The guide's flax modules read their parameters from numpyro.param sites: substitute.
    _, guide_key = jax.random.split(key)
    trace = handlers.trace(
        handlers.seed(handlers.substitute(model._guide, data=params), guide_key)
    ).get_trace(prev, cur, cur_set)
    z = trace["z"]["value"]
    assert -float(loss) == pytest.approx(_hand_elbo(model, params, prev, cur, z), rel=1e-4)


def test_deterministic_latent_elbo_is_the_likelihood_at_the_prior_mean():
    """With z = the prior mean there is no guide: the loss is −log p(s | mean)."""
    model = _tiny_predictor(latent="deterministic")
    state = model.update(
        model.init(jax.random.key(1)), jnp.arange(4), jnp.array([3, 0, 8, 5]), jnp.full(4, 8)
    )
    prev, cur, cur_set = model._history(state["replay"], jax.random.key(3))
    params = state["svi"]["params"]
    loss = Trace_ELBO().loss(
        jax.random.key(0), params, model._model, model._guide, prev, cur, cur_set
    )
    mean, _ = model.prior_net.apply({"params": params["prior$params"]}, *prev)
    logits = model.decoder.apply({"params": params["decoder$params"]}, cur[0], mean[:, None, :])
    p = np.asarray(jax.nn.sigmoid(logits), np.float64)
    mask = np.asarray(cur[3])
    expected = stats.binom.logpmf(np.asarray(cur[1]), np.asarray(cur[2]), p)[mask].sum()
    assert -float(loss) == pytest.approx(expected, rel=1e-4)


@pytest.fixture(scope="module")
def drift_result():
    """The drift study at test size: 20 worlds, vmapped, every variant on the same data."""
    sizes = dict(steps=60, pool=256, unseen=128, dim=16, batch=32, rollouts=8)
    return drift_study.run(drift_study.VARIANTS, seeds=20, **sizes)


def test_a_latent_tracks_the_drift_better_than_no_history(drift_result):
    """On unseen prompts, in the second half of the steps, a decoder given z (inferred from the
    previous batch) beats a decoder of the embedding alone, paired over the 20 worlds; so a
    disconnected z would fail. (The deterministic-z ablation is about as good as the paper's
    Bayesian z here: drift_study.md.)"""
    mae = {v: np.array(r["mae"]) for v, r in drift_result["variants"].items()}
    for latent in ("bayesian", "deterministic"):
        gap = mae["none"] - mae[latent]
        assert gap.mean() > 0.01, (latent, gap.mean())  # measured: 0.030 and 0.037
        assert (gap > 0).mean() >= 0.9, (latent, (gap > 0).mean())  # measured: all 20


def test_encoders_read_a_random_subset_of_observed_prompts_of_large_batches():
    """Batches up to ENCODER_SET are read whole; larger ones as ENCODER_SET distinct prompts
    drawn among the observed ones (unobserved ones only fill in, masked, when too few)."""
    from gps.selectors.gps_predictor import ENCODER_SET, encoder_subset

    b = ENCODER_SET + 36
    emb = jnp.arange(b, dtype=jnp.float32)[:, None] * jnp.ones((1, 3))
    rates = jnp.arange(b, dtype=jnp.float32)
    small = encoder_subset(
        jax.random.key(0), emb[:ENCODER_SET], rates[:ENCODER_SET], rates[:ENCODER_SET] >= 0
    )
    np.testing.assert_array_equal(small[1], rates[:ENCODER_SET])
    for observed in (b - 10, 30):
        mask = jnp.arange(b) < observed
        e, r, m = encoder_subset(jax.random.key(1), emb, rates, mask)
        assert r.shape == (ENCODER_SET,) and len(set(np.asarray(r).tolist())) == ENCODER_SET
        np.testing.assert_array_equal(e[:, 0], r)  # rows stay paired
        np.testing.assert_array_equal(m, r < observed)
        assert int(m.sum()) == min(observed, ENCODER_SET)
    other = encoder_subset(jax.random.key(2), emb, rates, jnp.ones(b, bool))[1]
    assert set(np.asarray(other).tolist()) != set(np.asarray(r).tolist())  # drawn at random


@pytest.mark.parametrize("encoder", ["transformer", "deepsets"])
def test_set_encoders_are_permutation_invariant_and_ignore_masked_pairs(encoder):
    model = _tiny_predictor(encoder=encoder)
    params = model.init(jax.random.key(1))["svi"]["params"]["prior$params"]
    emb = model.embeddings[:6]
    rates = jnp.linspace(0.1, 0.9, 6)
    mask = jnp.array([True] * 5 + [False])
    order = jnp.array([3, 0, 4, 1, 2, 5])

    def apply(e, r, m):
        return model.prior_net.apply({"params": params}, e, r, m)

    mean, scale = apply(emb, rates, mask)
    shuffled = apply(emb[order], rates[order], mask[order])
    padding_changed = apply(emb.at[5].set(emb[0]), rates.at[5].set(0.0), mask)
    for other in (shuffled, padding_changed):
        np.testing.assert_allclose(other[0], mean, atol=1e-5)
        np.testing.assert_allclose(other[1], scale, atol=1e-5)
    # ... and they do read the rates: the summary of a set depends on its outcomes.
    assert not np.allclose(apply(emb, 1.0 - rates, mask)[0], mean, atol=1e-4)


def test_prediction_averages_the_success_probability_over_m_prior_draws():
    """Eq. 10: γ̂(e) = (1/M) Σ_m σ(decoder(e, z_m)), z_m ~ p_η(z | H_t): the mean of the
    probabilities over M draws, not the plug-in prediction at the prior mean."""
    model = _tiny_predictor(samples=3)
    state = model.update(
        model.init(jax.random.key(1)), jnp.arange(4), jnp.array([3, 0, 8, 5]), jnp.full(4, 8)
    )
    params = state["svi"]["params"]
    key = jax.random.key(7)
    mean, scale = model._prior_of_latest(state, jax.random.fold_in(key, 1))
    draws = mean + scale * jax.random.normal(key, (3, 2))
    emb = model.embeddings

    def decode(z):
        return jax.nn.sigmoid(model.decoder.apply({"params": params["decoder$params"]}, emb, z))

    predicted = model.predict_unseen(state, key, emb)
    np.testing.assert_allclose(predicted, jnp.stack([decode(z) for z in draws]).mean(0), atol=1e-6)
    assert np.abs(predicted - decode(mean)).max() > 1e-4  # the draws matter
