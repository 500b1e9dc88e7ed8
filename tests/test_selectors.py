"""Selectors: MoPPS posterior, SVI sanity, the GPS predictor, acquisitions, DS accounting."""

import os

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import numpyro
import numpyro.distributions as dist
import optax
import pytest
from numpyro.infer import SVI, Trace_ELBO
from numpyro.optim import optax_to_numpyro

from conftest import ROOT
from gps.errors import ConfigError
from gps.rollout import Rollouts
from gps.sampling import Samples
from gps.selectors import (
    ACQUISITIONS,
    SELECTORS,
    AcquisitionInputs,
    Pool,
    make_selector,
    selector_config,
)
from gps.selectors.diagnostics import spearman
from gps.registry import Registry

B, N_ROLLOUTS = 8, 8


def _pool(size=400, dim=12, seed=0):
    """A synthetic pool whose true success rate is a smooth function of the embedding."""
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(size, dim)).astype(np.float32)
    direction = rng.normal(size=dim) / np.sqrt(dim)
    return embeddings, direction


def _true_rate(embeddings, direction):
    return 1.0 / (1.0 + np.exp(-2.0 * embeddings @ direction))


def _selector(name, embeddings, batch_size=B, **overrides):
    cfg = selector_config(name)
    for dotted, value in overrides.items():
        *path, leaf = dotted.split(".")
        block = cfg
        for part in path:
            block = block[part]
        block[leaf] = value
    pool = Pool(tuple(str(i) for i in range(len(embeddings))), embeddings)
    return make_selector(cfg, pool, batch_size=batch_size, n_rollouts=N_ROLLOUTS)


# --- MoPPS -------------------------------------------------------------------------------------


@pytest.mark.parametrize("decay", [1.0, 0.5])
def test_mopps_posterior_matches_closed_form(decay):
    """After a scripted history, α and β equal the recursion of method.md §2.3 for every prompt."""
    embeddings, _ = _pool(size=20)
    selector = _selector("mopps", embeddings, batch_size=3, **{"model.beta.decay": decay})
    state = selector.init(jax.random.key(0))
    history = [([0, 1, 2], [8, 0, 3]), ([1, 2, 5], [2, 5, 8]), ([2, 7, 0], [4, 4, 1])]
    alpha, beta = np.ones(20), np.ones(20)
    for indices, successes in history:
        state = selector.update(
            state, np.array(indices), np.array(successes), np.full(3, N_ROLLOUTS)
        )
        for i, s in zip(indices, successes):
            alpha[i] = decay * alpha[i] + (1 - decay) * 1.0 + s
            beta[i] = decay * beta[i] + (1 - decay) * 1.0 + (N_ROLLOUTS - s)
    np.testing.assert_allclose(state["model"]["alpha"], alpha, rtol=1e-6)
    np.testing.assert_allclose(state["model"]["beta"], beta, rtol=1e-6)
    assert alpha[3] == beta[3] == 1.0  # never rolled out: still the prior


def test_mopps_thompson_samples_follow_the_posterior():
    """Thompson samples of a prompt seen 80/80 times solved sit near 1, of one never seen spread."""
    embeddings, _ = _pool(size=16)
    selector = _selector("mopps", embeddings, batch_size=2, **{"model.beta.decay": 1.0})
    state = selector.init(jax.random.key(0))
    for _ in range(10):
        state = selector.update(state, np.array([0, 1]), np.array([8, 0]), np.full(2, 8))
    draws = np.stack(
        [
            selector.model.predict(state["model"], jax.random.key(k), jnp.arange(3), None)
            for k in range(200)
        ]
    )
    assert draws[:, 0].mean() > 0.95 and draws[:, 1].mean() < 0.05
    assert 0.35 < draws[:, 2].mean() < 0.65 and draws[:, 2].std() > 0.2


def test_svi_beta_bernoulli_matches_conjugate_posterior():
    """NumPyro SVI (optax Adam) on a Beta-Bernoulli model recovers the conjugate posterior mean."""
    data = jnp.array([1.0] * 6 + [0.0] * 14)

    def model(data):
        p = numpyro.sample("p", dist.Beta(2.0, 2.0))
        with numpyro.plate("data", len(data)):
            numpyro.sample("obs", dist.Bernoulli(p), obs=data)

    def guide(data):
        a = numpyro.param("a", 1.0, constraint=dist.constraints.positive)
        b = numpyro.param("b", 1.0, constraint=dist.constraints.positive)
        numpyro.sample("p", dist.Beta(a, b))

    svi = SVI(model, guide, optax_to_numpyro(optax.adam(0.05)), Trace_ELBO(num_particles=8))
    result = svi.run(jax.random.key(0), 1500, data, progress_bar=False)
    a, b = result.params["a"], result.params["b"]
    assert abs(a / (a + b) - (2 + 6) / (4 + 20)) < 0.02


# --- GPS predictor -----------------------------------------------------------------------------


def _train_online(selector, embeddings, direction, steps, seed=0):
    rng = np.random.default_rng(seed)
    state = selector.init(jax.random.key(seed))
    true = _true_rate(embeddings, direction)
    for step in range(steps):
        selection = selector.select(state, jax.random.key(step), None)
        successes = rng.binomial(N_ROLLOUTS, true[selection.indices])
        state = selector.update(
            state, selection.indices, successes, np.full(len(successes), N_ROLLOUTS)
        )
    return state


def test_gps_learns_a_smooth_difficulty_and_predicts_unseen_prompts():
    """On a pool whose success rate is a smooth function of the embedding, the predictor ranks the
    pool (Spearman ≥ 0.8) and prompts it never saw, from 30 steps of batches of 16."""
    embeddings, direction = _pool(size=600, dim=12)
    pool, unseen = embeddings[:500], embeddings[500:]
    selector = _selector("gps", pool, batch_size=16, **{"acquisition.name": "uniform"})
    state = _train_online(selector, pool, direction, steps=30)
    on_pool = selector.predict_vectors(state, jax.random.key(1), pool)
    on_unseen = selector.predict_vectors(state, jax.random.key(2), unseen)
    assert spearman(on_pool, _true_rate(pool, direction)) >= 0.8
    assert spearman(on_unseen, _true_rate(unseen, direction)) >= 0.8


def test_gps_deterministic_latent_also_learns():
    embeddings, direction = _pool(size=400)
    selector = _selector("gps", embeddings, batch_size=16, **{"model.gps.latent": "deterministic"})
    state = _train_online(selector, embeddings, direction, steps=30)
    predicted = selector.predict_vectors(state, jax.random.key(1), embeddings)
    assert spearman(predicted, _true_rate(embeddings, direction)) >= 0.8


def test_gps_selects_intermediate_difficulty():
    """After learning, GPS's batches are closer to γ* = 0.5 than uniform ones."""
    embeddings, direction = _pool(size=500)
    selector = _selector("gps", embeddings, batch_size=16)
    state = _train_online(selector, embeddings, direction, steps=25)
    true = _true_rate(embeddings, direction)
    picked = [selector.select(state, jax.random.key(k), None).indices for k in range(5)]
    gap = np.mean([np.abs(true[p] - 0.5).mean() for p in picked])
    assert gap < 0.6 * np.abs(true - 0.5).mean()


# --- acquisitions ------------------------------------------------------------------------------


def _inputs(count=64, dim=6, seed=0, history=4):
    rng = np.random.default_rng(seed)
    emb = rng.normal(size=(count, dim)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    return AcquisitionInputs(
        candidates=jnp.arange(count),
        predictions=jnp.asarray(rng.uniform(size=count), jnp.float32),
        embeddings=jnp.asarray(emb),
        history=jnp.asarray(emb[:history]),
        history_mask=jnp.ones(history, bool),
    )


def _acquisition_cfg(**overrides):
    cfg = selector_config("gps").acquisition
    cfg.update({"diversity": 0.2, **overrides})
    return ml_collections.FrozenConfigDict(cfg)


@pytest.mark.parametrize("name", ["uniform", "topk", "threshold", "diverse"])
def test_acquisition_returns_distinct_valid_deterministic_indices(name):
    acquire = jax.jit(ACQUISITIONS.get(name), static_argnums=(2, 3))
    inputs, cfg = _inputs(), _acquisition_cfg()
    first = np.asarray(acquire(jax.random.key(3), inputs, 16, cfg))
    again = np.asarray(acquire(jax.random.key(3), inputs, 16, cfg))
    assert first.shape == (16,) and len(set(first.tolist())) == 16
    assert first.min() >= 0 and first.max() < 64
    np.testing.assert_array_equal(first, again)


def test_topk_and_threshold_pick_by_predicted_rate():
    inputs, cfg = _inputs(), _acquisition_cfg()
    gamma = np.asarray(inputs.predictions)
    top = np.asarray(ACQUISITIONS.get("topk")(jax.random.key(0), inputs, 10, cfg))
    np.testing.assert_array_equal(np.sort(top), np.sort(np.argsort((gamma - 0.5) ** 2)[:10]))
    picked = np.asarray(ACQUISITIONS.get("threshold")(jax.random.key(0), inputs, 5, cfg))
    assert np.all((gamma[picked] >= 0.3) & (gamma[picked] <= 0.7))  # the band has > 5 prompts
    many = np.asarray(ACQUISITIONS.get("threshold")(jax.random.key(0), inputs, 60, cfg))
    in_band = np.flatnonzero((gamma >= 0.3) & (gamma <= 0.7))
    assert set(in_band) <= set(many.tolist())  # too few in band: all of them, plus the closest


def test_diversity_spreads_the_batch():
    """λ_div > 0 raises the batch's mean pairwise embedding distance over λ_div = 0 (intra-batch
    term alone). The prompts closest to γ* all sit in one tight cluster; slightly worse ones in
    a second cluster elsewhere."""
    rng = np.random.default_rng(0)
    centres = np.eye(4, dtype=np.float32)[:2]
    emb = centres[np.repeat([0, 1], 100)] + 0.05 * rng.normal(size=(200, 4)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    gamma = np.where(np.arange(200) < 100, 0.5, 0.35) + 0.01 * rng.normal(size=200)
    inputs = AcquisitionInputs(
        jnp.arange(200), jnp.asarray(gamma, jnp.float32), jnp.asarray(emb), None, None
    )

    def spread(diversity):
        cfg = _acquisition_cfg(diversity=diversity, shortlist=0, inter_step=False)
        picked = np.asarray(ACQUISITIONS.get("diverse")(jax.random.key(0), inputs, 20, cfg))
        return (1 - emb[picked] @ emb[picked].T)[np.triu_indices(20, 1)].mean()

    assert spread(0.5) > spread(0.0) + 0.1


def test_inter_step_term_moves_the_batch_away_from_history():
    inputs = _inputs(count=200, dim=4, history=20)

    def distance_to_history(inter_step):
        cfg = _acquisition_cfg(diversity=0.5, shortlist=0, inter_step=inter_step)
        picked = np.asarray(ACQUISITIONS.get("diverse")(jax.random.key(0), inputs, 20, cfg))
        emb = np.asarray(inputs.embeddings)
        return (1 - emb[picked] @ emb[:20].T).mean()

    assert distance_to_history(True) > distance_to_history(False) + 0.05


def test_batch_larger_than_pool_is_a_clear_error():
    embeddings, _ = _pool(size=10)
    for name in SELECTORS.names():
        with pytest.raises(ConfigError, match="larger than the prompt pool"):
            _selector(name, embeddings, batch_size=11)


def test_unknown_names_list_the_known_ones():
    embeddings, _ = _pool(size=10)
    with pytest.raises(ConfigError, match="unknown acquisition function 'nope'.*diverse"):
        _selector("gps", embeddings, **{"acquisition.name": "nope"})
    with pytest.raises(ConfigError, match="unknown difficulty model 'nope'.*beta"):
        _selector("gps", embeddings, **{"model.name": "nope"})
    with pytest.raises(ConfigError, match="unknown selector 'nope'.*mopps"):
        selector_config("nope")
    with pytest.raises(ConfigError, match="unknown selector.embedding.name 'nope'"):
        _selector("gps", embeddings, **{"embedding.name": "nope"})
    with pytest.raises(ConfigError, match="needs a difficulty model"):
        _selector("uniform", embeddings, **{"acquisition.name": "topk"})


def test_duplicate_registration_raises():
    registry = Registry("thing")
    registry.register("a")(object)
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("a")(object)


# --- Dynamic Sampling --------------------------------------------------------------------------


def _fake_rollout_fn(rates, calls):
    """Rollouts whose success counts are fixed per prompt (0, n or mixed), without a policy."""

    def rollout_fn(indices, key):
        calls.append(len(indices))
        successes = rates[indices]
        rewards = (np.arange(N_ROLLOUTS)[None] < successes[:, None]).astype(np.float32)
        rows = len(indices) * N_ROLLOUTS
        samples = Samples(*(np.zeros((rows, 3), np.float32) for _ in range(3)))
        return Rollouts(samples, rewards, [""] * rows)

    return rollout_fn


def test_ds_keeps_informative_prompts_and_counts_every_rollout():
    rng = np.random.default_rng(0)
    successes = rng.choice([0, 0, 0, 3, 8], size=200)  # ~20% informative
    selector = _selector("ds", np.zeros((200, 2), np.float32), batch_size=8)
    calls = []
    selection = selector.select({}, jax.random.key(0), _fake_rollout_fn(successes, calls))
    s = selection.rollouts.successes
    assert np.all((s > 0) & (s < N_ROLLOUTS)) and len(set(selection.indices.tolist())) == 8
    np.testing.assert_array_equal(s, successes[selection.indices])
    assert selection.extra_rollouts == sum(calls) * N_ROLLOUTS - 8 * N_ROLLOUTS
    assert not selection.info["ds_fallback"] and selection.info["ds_rounds"] == len(calls)


def test_ds_falls_back_when_the_pool_is_too_hard():
    selector = _selector("ds", np.zeros((100, 2), np.float32), batch_size=8)
    calls = []
    selection = selector.select({}, jax.random.key(0), _fake_rollout_fn(np.zeros(100, int), calls))
    assert selection.info["ds_fallback"] and "uninformative" in selection.note
    assert len(calls) == selector.config.max_rounds and len(set(selection.indices.tolist())) == 8
    assert selection.extra_rollouts == (sum(calls) - 8) * N_ROLLOUTS


def test_readme_acquisition_example_runs():
    """The README's "Adding an acquisition function" example registers and selects as described."""
    readme = open(os.path.join(ROOT, "README.md")).read()
    section = readme[readme.index("### Adding an acquisition function") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n", 10)]
    if "uncertain" not in ACQUISITIONS.names():
        exec(code, {})
    embeddings, direction = _pool(size=200)
    cfg = selector_config("gps")
    cfg.acquisition.power = 1.0
    cfg.acquisition.name = "uncertain"
    pool = Pool(tuple(map(str, range(200))), embeddings)
    selector = make_selector(cfg, pool, batch_size=B, n_rollouts=N_ROLLOUTS)
    state = selector.init(jax.random.key(0))
    selection = selector.select(state, jax.random.key(1), None)
    assert len(set(selection.indices.tolist())) == B and selection.predictions.shape == (B,)
