"""Selectors: MoPPS posterior, SVI sanity, the GPS predictor, acquisitions, DS accounting."""

import functools
import itertools
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
from gps.testbed.rollout import Rollouts
from gps.testbed.sampling import Samples
from gps.selectors import (
    ACQUISITIONS,
    SELECTORS,
    AcquisitionInputs,
    Pool,
    make_selector,
    method_label,
    selector_config,
)
from gps.selectors import acquisition as acquisition_lib
from gps.selectors.diagnostics import spearman
from gps.selectors.dynamic import greso_skip_probability
from gps.selectors.presets import part_block
from gps.selectors.registry import Registry

B, N_ROLLOUTS = 8, 8


def _pool(size=400, dim=12, seed=0):
    """A synthetic pool whose true success rate is a smooth function of the embedding."""
    rng = np.random.default_rng(seed)
    embeddings = rng.normal(size=(size, dim)).astype(np.float32)
    direction = rng.normal(size=dim) / np.sqrt(dim)
    return embeddings, direction


def _true_rate(embeddings, direction):
    return 1.0 / (1.0 + np.exp(-2.0 * embeddings @ direction))


def _selector(name, embeddings, batch_size=B, model="", acquisition="", **overrides):
    cfg = selector_config(name, model, acquisition)
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
    """After a scripted history, α and β equal the recursion of docs/method.md §2.3 for every
    prompt."""
    embeddings, _ = _pool(size=20)
    selector = _selector("mopps", embeddings, batch_size=3, **{"model.decay": decay})
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
    selector = _selector("mopps", embeddings, batch_size=2, **{"model.decay": 1.0})
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
    selector = _selector("gps", pool, batch_size=16, acquisition="uniform")
    state = _train_online(selector, pool, direction, steps=30)
    on_pool = selector.predict_vectors(state, jax.random.key(1), pool)
    on_unseen = selector.predict_vectors(state, jax.random.key(2), unseen)
    assert spearman(on_pool, _true_rate(pool, direction)) >= 0.8
    assert spearman(on_unseen, _true_rate(unseen, direction)) >= 0.8


def test_gps_deterministic_latent_also_learns():
    embeddings, direction = _pool(size=400)
    selector = _selector("gps", embeddings, batch_size=16, **{"model.latent": "deterministic"})
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


def _acquisition_cfg(name="diverse", **overrides):
    cfg = part_block("acquisition", name)
    cfg.update(overrides)
    return ml_collections.FrozenConfigDict(cfg)


def _acquire(name, inputs, batch_size, key=0, **overrides):
    acquisition = ACQUISITIONS.get(name)
    cfg = _acquisition_cfg(name, **overrides)
    return np.asarray(acquisition.select(jax.random.key(key), inputs, batch_size, cfg))


@pytest.mark.parametrize("name", ["uniform", "topk", "threshold", "diverse"])
def test_acquisition_returns_distinct_valid_deterministic_indices(name):
    select = jax.jit(ACQUISITIONS.get(name).select, static_argnums=(2, 3))
    inputs, cfg = _inputs(), _acquisition_cfg(name)
    first = np.asarray(select(jax.random.key(3), inputs, 16, cfg))
    again = np.asarray(select(jax.random.key(3), inputs, 16, cfg))
    assert first.shape == (16,) and len(set(first.tolist())) == 16
    assert first.min() >= 0 and first.max() < 64
    np.testing.assert_array_equal(first, again)


def test_topk_and_threshold_pick_by_predicted_rate():
    inputs = _inputs()
    gamma = np.asarray(inputs.predictions)
    top = _acquire("topk", inputs, 10)
    np.testing.assert_array_equal(np.sort(top), np.sort(np.argsort((gamma - 0.5) ** 2)[:10]))
    picked = _acquire("threshold", inputs, 5)
    assert np.all((gamma[picked] >= 0.3) & (gamma[picked] <= 0.7))  # the band has > 5 prompts
    many = _acquire("threshold", inputs, 60)
    in_band = np.flatnonzero((gamma >= 0.3) & (gamma <= 0.7))
    assert set(in_band) <= set(many.tolist())  # too few in band: all of them, plus the closest


def test_diverse_without_diversity_is_topk():
    inputs = _inputs()
    np.testing.assert_array_equal(
        np.sort(_acquire("diverse", inputs, 10, diversity=0.0)),
        np.sort(_acquire("topk", inputs, 10)),
    )


_C, _K = 9, 4  # brute force: all 126 batches of 4 among 9 candidates
_SUBSETS = jnp.array(list(itertools.combinations(range(_C), _K)))


@functools.partial(jax.jit, static_argnums=1)
def _best_and_found(inputs, cfg):
    """U of the brute-force best batch, and of the batch `diverse` picks (same U, same key)."""
    key = jax.random.key(0)
    picks = ACQUISITIONS.get("diverse").select(key, inputs, _K, cfg)
    u = acquisition_lib.intermediate_difficulty(inputs.predictions, cfg.target)
    u = u + acquisition_lib._tie_break(key, _C)  # as `diverse` scores them
    emb = inputs.embeddings
    inter = acquisition_lib.inter_step_distance(emb, inputs.history, inputs.history_mask, "nearest")
    unary, pair = acquisition_lib.diversity_weights(u, emb, inter, _K, cfg)
    value = lambda batch: acquisition_lib.batch_value(batch, unary, emb, pair)  # noqa: E731
    return jax.vmap(value)(_SUBSETS).max(), value(picks)


def test_greedy_max_sum_equals_brute_force_on_small_instances():
    """GPS's acquisition (greedy with restarts, then swaps) attains max U(B) over all batches,
    on 100 random instances of 4 prompts out of 9 with history and λ_div in {0.3, 1, 3}."""
    for seed in range(100):
        inputs = _inputs(count=_C, dim=5, seed=seed, history=3)
        cfg = _acquisition_cfg(shortlist=0, diversity=[0.3, 1.0, 3.0][seed % 3])
        best, found = _best_and_found(inputs, cfg)
        assert found >= best - 1e-5, seed


def test_pairwise_distance_std_is_exact():
    emb = np.asarray(_inputs(count=30, dim=5).embeddings)
    distance = (1 - emb @ emb.T)[~np.eye(30, dtype=bool)]
    np.testing.assert_allclose(
        acquisition_lib.pairwise_distance_std(jnp.asarray(emb)), distance.std(), rtol=1e-4
    )


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
        picked = _acquire("diverse", inputs, 20, diversity=diversity, shortlist=0)
        return (1 - emb[picked] @ emb[picked].T)[np.triu_indices(20, 1)].mean()

    assert spread(2.0) > spread(0.0) + 0.1


@pytest.mark.parametrize("form", ["nearest", "centroid"])
def test_inter_step_term_moves_the_batch_away_from_history(form):
    inputs = _inputs(count=200, dim=4, history=20)
    emb = np.asarray(inputs.embeddings)

    def to_history(inter_step):  # the batch's mean distance to the history, as `form` measures it
        picked = _acquire("diverse", inputs, 20, diversity=0.5, shortlist=0, inter_step=inter_step)
        return acquisition_lib.inter_step_distance(
            emb[picked], inputs.history, inputs.history_mask, form
        ).mean()

    assert to_history(form) > to_history("none") + 0.02


def test_inter_step_distance_forms():
    """`nearest` is 1 − the largest similarity to a history row, `centroid` 1 − the similarity
    to their mean; masked rows do not count, and without history the term is 0."""
    inputs = _inputs(count=10, dim=4, history=6)
    emb, hist = np.asarray(inputs.embeddings), np.asarray(inputs.history)
    mask = jnp.array([True, True, True, False, False, False])
    nearest = acquisition_lib.inter_step_distance(
        inputs.embeddings, inputs.history, mask, "nearest"
    )
    np.testing.assert_allclose(nearest, 1 - (emb @ hist[:3].T).max(1), atol=1e-6)
    centroid = acquisition_lib.inter_step_distance(
        inputs.embeddings, inputs.history, mask, "centroid"
    )
    np.testing.assert_allclose(centroid, 1 - emb @ hist[:3].mean(0), atol=1e-6)
    empty = acquisition_lib.inter_step_distance(
        inputs.embeddings, inputs.history, mask & False, "nearest"
    )
    np.testing.assert_array_equal(empty, 0.0)


def test_batch_larger_than_pool_is_a_clear_error():
    embeddings, _ = _pool(size=10)
    for name in SELECTORS.names():
        with pytest.raises(ConfigError, match="larger than the prompt pool"):
            _selector(name, embeddings, batch_size=11)


def test_unknown_names_list_the_known_ones():
    embeddings, _ = _pool(size=10)
    with pytest.raises(ConfigError, match="unknown acquisition function 'nope'.*diverse"):
        _selector("gps", embeddings, acquisition="nope")
    with pytest.raises(ConfigError, match="unknown difficulty model 'nope'.*beta"):
        _selector("gps", embeddings, model="nope")
    with pytest.raises(ConfigError, match="unknown selector 'nope'.*mopps"):
        selector_config("nope")
    with pytest.raises(ConfigError, match="selector.embedding.name must be in"):
        _selector("gps", embeddings, **{"embedding.name": "nope"})
    with pytest.raises(ConfigError, match="needs a difficulty model"):
        _selector("uniform", embeddings, acquisition="topk")


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        ("gps", {"model.samples": 0}, "selector.model.samples must be >= 1"),
        ("gps", {"model.latent": "fixed"}, "selector.model.latent must be in"),
        ("gps", {"model.encoder": "rnn"}, "selector.model.encoder must be in"),
        ("gps", {"acquisition.target": 1.5}, r"selector.acquisition.target must be in \(0, 1\)"),
        ("gps", {"acquisition.window": 0}, "selector.acquisition.window must be >= 1"),
        ("gps", {"acquisition.inter_step": "mean"}, "selector.acquisition.inter_step must be in"),
        ("gps", {"candidates": -1}, "selector.candidates must be >= 0"),
        ("mopps", {"model.decay": 1.5}, r"selector.model.decay must be in \[0, 1\]"),
        ("mopps", {"acquisition.target": 0.0}, "selector.acquisition.target must be in"),
        ("ds", {"max_rounds": 0}, "selector.max_rounds must be >= 1"),
    ],
)
def test_out_of_range_selector_values_are_named(name, overrides, message):
    embeddings, _ = _pool(size=40)
    with pytest.raises(ConfigError, match=message):
        _selector(name, embeddings, **overrides)


def test_band_must_be_ordered():
    embeddings, _ = _pool(size=40)
    with pytest.raises(ConfigError, match="selector.acquisition.band must be"):
        _selector("mopps", embeddings, acquisition="threshold", **{"acquisition.band": (0.7, 0.3)})


def test_a_key_the_parts_do_not_read_is_an_error():
    """Each part owns its block: a GPS run holds no MoPPS decay, `topk` reads no diversity, and
    a part renamed by hand leaves the old part's keys behind, which is named."""
    embeddings, _ = _pool(size=40)
    cfg = selector_config("gps")
    assert "decay" not in cfg.model and "band" not in cfg.acquisition
    for name, block, key in [("gps", "model", "decay"), ("gps", "acquisition", "band")] + [
        ("mopps", "model", "samples"),
        ("mopps", "", "window"),
    ]:
        cfg = selector_config(name)
        (cfg[block] if block else cfg)[key] = 0.5
        with pytest.raises(
            ConfigError, match=f"selector.{block + '.' if block else ''}{key} is not read"
        ):
            make_selector(
                cfg, Pool(tuple(map(str, range(40))), embeddings), batch_size=B, n_rollouts=8
            )
    cfg = selector_config("mopps")
    cfg.acquisition.name = "threshold"  # the old part's `target` stays behind
    with pytest.raises(
        ConfigError, match="acquisition.target is not read by acquisition 'threshold'"
    ):
        make_selector(cfg, Pool(tuple(map(str, range(40))), embeddings), batch_size=B, n_rollouts=8)


def test_method_label_comes_from_the_parts():
    assert method_label(selector_config("gps").to_dict()) == "gps"
    cfg = selector_config("gps", model="ridge")
    cfg.acquisition.diversity = 0.0
    assert method_label(cfg.to_dict()) == "gps (model=ridge, acquisition.diversity=0.0)"
    assert method_label(selector_config("mopps", acquisition="threshold").to_dict()) == (
        "mopps (acquisition=threshold)"
    )
    old = {"name": "gps", "candidates": 8, "model": {"name": "gps", "gps": {}}, "acquisition": {}}
    assert method_label(old) is None  # made by older code: the report falls back to sweep.json


def test_duplicate_registration_raises():
    registry = Registry("thing")
    registry.register("a")(object)
    with pytest.raises(ValueError, match="registered twice"):
        registry.register("a")(object)


# --- Dynamic Sampling --------------------------------------------------------------------------


def _fake_rollout_fn(rates, calls):
    """Rollouts whose success counts are fixed per prompt (0, n or mixed), without a policy;
    `calls` gets the number of rollouts of each call."""

    def rollout_fn(indices, key, counts=None):
        """c rollouts of a prompt with s successes of n: the first s·c/n succeed."""
        counts = np.full(len(indices), N_ROLLOUTS) if counts is None else np.asarray(counts)
        calls.append(int(counts.sum()))
        rewards = np.concatenate(
            [np.arange(c) < rates[i] * c / N_ROLLOUTS for i, c in zip(indices, counts)]
        ).astype(np.float32)
        rows = len(rewards)
        samples = Samples(*(np.zeros((rows, 3), np.float32) for _ in range(3)))
        return Rollouts(samples, rewards, counts, [""] * rows)

    return rollout_fn


def test_balanced_keeps_the_band_and_counts_every_rollout():
    """Band [0.25, 0.75] of n = 8: s = 3 and 4 are kept; 0, 1 and 8 are not."""
    rng = np.random.default_rng(0)
    successes = rng.choice([0, 1, 3, 4, 8], size=200)
    selector = _selector("balanced", np.zeros((200, 2), np.float32), batch_size=8)
    calls = []
    selection = selector.select({}, jax.random.key(0), _fake_rollout_fn(successes, calls))
    assert set(selection.screening.rollouts.successes.tolist()) <= {3, 4}
    assert selection.info["ds_generated"] == sum(calls)
    with pytest.raises(ConfigError, match="band"):
        _selector("balanced", np.zeros((20, 2), np.float32), band=(0.8, 0.2))


def test_greso_skip_probability_by_hand():
    p = greso_skip_probability([2, 0, 0, 10], [0, 1, 0, 0], p_easy=0.5, p_hard=0.5)
    np.testing.assert_allclose(p, [1 - 0.25, 1 - 0.5, 0.0, 1 - 0.01])


def test_greso_update_by_hand():
    """Streaks grow on easy (≥ 0.98) or hard (≤ 0.11) visits and reset otherwise; with all-right
    share 1/4 ≥ α/3 p_easy falls, with all-wrong share 1/4 < 2α/3 p_hard rises (α = 0.5)."""
    selector = _selector("greso", np.zeros((10, 2), np.float32), batch_size=4, alpha=0.5)
    state = selector.init(jax.random.key(0))
    state["easy"][0], state["hard"][1], state["hard"][2] = 3, 2, 5
    state = selector.update(state, np.array([0, 1, 2, 3]), np.array([8, 0, 4, 2]), np.full(4, 8))
    np.testing.assert_array_equal(state["easy"][:4], [4, 0, 0, 0])
    np.testing.assert_array_equal(state["hard"][:4], [0, 3, 0, 0])
    np.testing.assert_allclose(state["p"], [0.49, 0.51])


def test_greso_skips_streaks_before_rollout_and_counts_every_rollout():
    """Half the pool has a long all-easy streak (P(skip) = 0.99): almost none of it is rolled
    out, and the rollouts counted are those of the prompts rolled out."""
    rng = np.random.default_rng(0)
    successes = rng.choice([3, 4, 8], size=200)
    selector = _selector("greso", np.zeros((200, 2), np.float32), batch_size=8)
    state = selector.init(jax.random.key(0))
    state["easy"][:100] = 50
    calls = []
    selection = selector.select(state, jax.random.key(1), _fake_rollout_fn(successes, calls))
    drawn = selection.screening.observed[0]
    assert np.mean(drawn < 100) < 0.1 and len(set(selection.indices.tolist())) == 8
    assert sum(calls) == len(drawn) * N_ROLLOUTS and len(drawn) == selection.info["ds_drawn"]


def test_greso_fills_the_batch_when_nearly_every_draw_is_skipped():
    """A small pool whose prompts all have long all-wrong streaks (P(skip) = 0.99 each), as
    late in a revisit-regime run: the rounds roll out fewer than B prompts, so the missing
    ones are rolled out although skipped, counted, and noted; the batch is complete."""
    selector = _selector("greso", np.zeros((40, 2), np.float32), batch_size=8)
    state = selector.init(jax.random.key(0))
    state["hard"][:] = 50
    calls = []
    selection = selector.select(
        state, jax.random.key(1), _fake_rollout_fn(np.zeros(40, int), calls)
    )
    assert len(set(selection.indices.tolist())) == 8 and selection.info["ds_forced"] > 0
    assert sum(calls) == selection.info["ds_drawn"] * N_ROLLOUTS
    assert "rolled out although their draw was skipped" in selection.note


def test_ds_keeps_informative_prompts_and_counts_every_rollout():
    rng = np.random.default_rng(0)
    successes = rng.choice([0, 0, 0, 3, 8], size=200)  # ~20% informative
    selector = _selector("ds", np.zeros((200, 2), np.float32), batch_size=8)
    calls = []
    selection = selector.select({}, jax.random.key(0), _fake_rollout_fn(successes, calls))
    s = selection.screening.rollouts.successes
    assert np.all((s > 0) & (s < N_ROLLOUTS)) and len(set(selection.indices.tolist())) == 8
    np.testing.assert_array_equal(s, successes[selection.indices])
    assert selection.info["ds_generated"] == sum(calls)
    assert not selection.info["ds_fallback"] and selection.info["ds_rounds"] == len(calls)


def test_ds_falls_back_when_the_pool_is_too_hard():
    selector = _selector("ds", np.zeros((100, 2), np.float32), batch_size=8)
    calls = []
    selection = selector.select({}, jax.random.key(0), _fake_rollout_fn(np.zeros(100, int), calls))
    assert selection.info["ds_fallback"] and "uninformative" in selection.note
    assert len(calls) == selector.config.max_rounds and len(set(selection.indices.tolist())) == 8
    assert selection.info["ds_generated"] == sum(calls)


def test_speed_screens_then_continues_and_counts_every_rollout():
    """n_init = 4 screening rollouts (accept 0 < s < 4), then 4 more for the accepted: groups
    of 8, screening rows first; s = 0 and 8 of 8 are never accepted."""
    rng = np.random.default_rng(0)
    successes = rng.choice([0, 4, 8], size=200)
    selector = _selector("speed", np.zeros((200, 2), np.float32), batch_size=8)
    calls = []
    selection = selector.select({}, jax.random.key(0), _fake_rollout_fn(successes, calls))
    batch = selection.screening.rollouts
    np.testing.assert_array_equal(batch.counts, np.full(8, 8))
    np.testing.assert_array_equal(batch.successes, 4)  # 2 of 4 screening + 2 of 4 more
    drawn = selection.info["ds_drawn"]
    assert calls[-1] == 8 * 4 and sum(calls) == drawn * 4 + 8 * 4
    assert selection.info["ds_generated"] == sum(calls) == len(batch.rewards) + (drawn - 8) * 4
    with pytest.raises(ConfigError, match="n_init >= 2"):
        _selector("speed", np.zeros((20, 2), np.float32), n_init=8)


def test_docs_acquisition_example_runs():
    """docs/selectors.md's "Adding an acquisition function" example registers and selects as
    described."""
    doc = open(os.path.join(ROOT, "docs", "selectors.md")).read()
    section = doc[doc.index("## Adding an acquisition function") :]
    code = section[section.index("```python") + len("```python") : section.index("```\n", 10)]
    if "uncertain" not in ACQUISITIONS.names():
        exec(code, {})
    embeddings, direction = _pool(size=200)
    cfg = selector_config("gps", acquisition="uncertain")
    pool = Pool(tuple(map(str, range(200))), embeddings)
    selector = make_selector(cfg, pool, batch_size=B, n_rollouts=N_ROLLOUTS)
    state = selector.init(jax.random.key(0))
    selection = selector.select(state, jax.random.key(1), None)
    assert len(set(selection.indices.tolist())) == B and selection.predictions.shape == (B,)


def test_default_diversity_changes_a_learnt_batch_and_spreads_it():
    """At the default λ_div, once the predictor has learnt, diversity changes at least a quarter
    of the batch against λ_div = 0 from the same state and key, and the batch spreads out
    (256-d embeddings, as WordLlama's; experiments/studies/diversity_probe.py measures it on
    countdown)."""
    embeddings, direction = _pool(size=500, dim=256)
    selector = _selector("gps", embeddings, batch_size=16)
    plain = _selector("gps", embeddings, batch_size=16, **{"acquisition.diversity": 0.0})
    state = _train_online(selector, embeddings, direction, steps=25)
    unit = np.asarray(selector.embeddings)
    changed, spread, spread_plain = [], [], []
    for k in range(5):
        picked = selector.select(state, jax.random.key(100 + k), None).indices
        reference = plain.select(state, jax.random.key(100 + k), None).indices
        changed.append(1 - len(np.intersect1d(picked, reference)) / 16)
        spread.append((1 - unit[picked] @ unit[picked].T).mean())
        spread_plain.append((1 - unit[reference] @ unit[reference].T).mean())
    assert np.mean(changed) >= 0.25
    assert np.mean(spread) > np.mean(spread_plain)
