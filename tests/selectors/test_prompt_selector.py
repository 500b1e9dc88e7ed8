"""The stand-alone selector (gps.selectors.PromptSelector): what engines rely on."""

import ast
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from conftest import ROOT
from gps.errors import CheckpointError, ConfigError, OutcomeError
from gps.selectors import PromptSelector, selector_config, successes_from_rewards

B, N = 8, 4


def _embeddings(size=64, dim=12, seed=0):
    return np.random.default_rng(seed).normal(size=(size, dim)).astype(np.float32)


def _small_gps():
    """GPS with a small predictor: the same code paths, compiled in a fraction of the time."""
    config = selector_config("gps")
    config.model.update(hidden=16, z_dim=4, encoder_layers=1, samples=2, replay=2)
    return config


def _gps(**kwargs):
    return PromptSelector(
        config=_small_gps(), batch_size=B, n_rollouts=N, embeddings=_embeddings(), **kwargs
    )


def _observe(selector, indices, rng):
    successes = rng.integers(0, N + 1, size=len(indices))
    selector.update(indices, successes, np.full(len(indices), N))


def _same_state(a, b):
    pairs = zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    return all(np.array_equal(np.asarray(x), np.asarray(y)) for x, y in pairs)


# What the product may import from the rest of the project: the shared error types and the
# orbax wrapper its state is saved with.
ALLOWED_OUTSIDE = {"gps", "gps.errors", "gps.records", "gps.records.checkpoint"}


def _project_imports(path: str) -> set[str]:
    """Every gps.* / experiments.* module a file imports, lazily inside functions too."""
    names = set()
    for node in ast.walk(ast.parse(open(path).read())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return {n for n in names if n.split(".")[0] in ("gps", "experiments")}


def test_the_selectors_import_nothing_of_the_rest_of_the_project():
    """Statically: no module of gps/selectors imports the testbed, the records (but the
    checkpoint wrapper), the engines, test-time code or the experiments."""
    folder = os.path.join(ROOT, "gps", "selectors")
    outside = {
        (name, module)
        for name in sorted(os.listdir(folder))
        if name.endswith(".py")
        for module in _project_imports(os.path.join(folder, name))
        if not module.startswith("gps.selectors") and module not in ALLOWED_OUTSIDE
    }
    assert not outside


def test_a_fresh_process_runs_every_selector_without_the_testbed(tmp_path):
    """Dynamically: a fresh process builds and runs every selector an engine can use, and
    saves and loads one; the project modules it loaded are the selectors' and the allowed
    ones."""
    code = f"""
import sys, numpy as np
from gps.selectors import SELECTORS, PromptSelector, selector_config
emb = np.random.default_rng(0).normal(size=(32, 8)).astype(np.float32)
groups = ["a", "b"] * 16
for name in SELECTORS.names():
    if SELECTORS.get(name).needs_rollouts:
        continue
    config = selector_config(name)
    if name.startswith("gps"):
        config.model.update(hidden=8, z_dim=2, encoder_layers=1, samples=1, replay=1)
    s = PromptSelector(config=config, batch_size=4, n_rollouts=2, embeddings=emb, groups=groups)
    s.update(s.select(), [1, 0, 2, 1], [2, 2, 2, 2])
    if name == "mopps":  # the orbax save and load (GPS's rebuild would recompile for seconds)
        s.save({str(tmp_path)!r} + "/" + name)
        PromptSelector.load({str(tmp_path)!r} + "/" + name, embeddings=emb).select()
print(sorted(m for m in sys.modules if m.split(".")[0] in ("gps", "experiments")))
"""
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    loaded = set(ast.literal_eval(out.stdout.strip().splitlines()[-1]))
    assert "gps.selectors.prompt_selector" in loaded
    assert {m for m in loaded if not m.startswith("gps.selectors")} <= ALLOWED_OUTSIDE


def test_save_and_load_continue_exactly(tmp_path):
    """select/update/save, then load: the next batches and states equal an uninterrupted run."""
    rng_a, rng_b = np.random.default_rng(0), np.random.default_rng(0)
    a, b = _gps(seed=3), _gps(seed=3)
    for _ in range(2):
        _observe(a, a.select(), rng_a)
        _observe(b, b.select(), rng_b)
    # What an engine logs beside its own metrics: the last batch's terms (Σu, D_intra, ...).
    assert {"batch_u", "batch_d_intra"} <= set(a.last_info) and a.last_budgets is None
    b.save(str(tmp_path / "sel"))
    b.save(str(tmp_path / "sel"))  # saving again replaces the earlier save, in a new folder
    names = sorted(os.listdir(tmp_path / "sel"))
    assert len(names) == 2 and names[0] == "selector.json" and names[1].startswith("state-")
    b = PromptSelector.load(str(tmp_path / "sel"), embeddings=_embeddings())
    for _ in range(2):
        batch = a.select()
        np.testing.assert_array_equal(batch, b.select())
        _observe(a, batch, rng_a)
        _observe(b, batch, rng_b)
    assert _same_state(a.state, b.state)


def test_load_refuses_another_pool_or_nothing(tmp_path):
    _gps().save(str(tmp_path / "sel"))
    with pytest.raises(ConfigError, match="saved over 64 prompts; this pool has 32"):
        PromptSelector.load(str(tmp_path / "sel"), embeddings=_embeddings(size=32))
    with pytest.raises(ConfigError, match="other prompts"):  # same size, other prompts
        PromptSelector.load(str(tmp_path / "sel"), embeddings=_embeddings(seed=1))
    with pytest.raises(CheckpointError, match="no saved selector"):
        PromptSelector.load(str(tmp_path / "nothing"), embeddings=_embeddings())


def test_fewer_observed_prompts_leave_the_others_untouched():
    """MoPPS: an update of 3 prompts (one reported twice) changes exactly those posteriors,
    by the summed counts; the padding to B changes nothing."""
    selector = PromptSelector(config="mopps", batch_size=B, n_rollouts=N, embeddings=_embeddings())
    before = {k: np.asarray(v) for k, v in selector.state["model"].items()}
    selector.update([5, 9, 5, 40], [1, 2, 3, 0], [4, 4, 4, 4])
    alpha, beta = (np.asarray(selector.state["model"][k]) for k in ("alpha", "beta"))
    changed = np.flatnonzero((alpha != before["alpha"]) | (beta != before["beta"]))
    np.testing.assert_array_equal(changed, [5, 9, 40])
    # decay 0.5 towards the Beta(1, 1) prior, then + successes (5 has 4 of 8).
    np.testing.assert_allclose(alpha[[5, 9, 40]], [1 + 4, 1 + 2, 1 + 0])
    np.testing.assert_allclose(beta[[5, 9, 40]], [1 + 4, 1 + 2, 1 + 4])


def test_padding_is_invisible_to_gps_history_and_window():
    """GPS: an update of fewer than B prompts gives the same state whatever the padding
    entries hold, and they are neither history nor recent prompts."""
    selector = _gps()
    inner = selector._selector
    observed = np.array([3, 7, 11], np.int32)
    states = []
    for pad_index, pad_successes in ((64, 0.0), (0, 5.0)):
        indices = np.concatenate([observed, np.full(B - 3, pad_index)]).astype(np.int32)
        successes = np.concatenate([[1.0, 2.0, 3.0], np.full(B - 3, pad_successes)])
        trials = np.concatenate([np.full(3, N), np.zeros(B - 3)]).astype(np.float32)
        states.append(inner.update(selector.state, indices, successes.astype(np.float32), trials))
    # The model's fit and the window's mask agree; only the stored pad indices differ.
    assert _same_state(states[0]["model"]["svi"], states[1]["model"]["svi"])
    np.testing.assert_array_equal(
        np.asarray(states[0]["recent_observed"][-1]), [True] * 3 + [False] * (B - 3)
    )
    selector.update(observed, [1, 2, 3], [N] * 3)
    np.testing.assert_array_equal(
        np.asarray(selector.state["model"]["replay"]["trials"][-1]), [N] * 3 + [0] * (B - 3)
    )


def test_more_observed_prompts_than_the_batch_are_split_evenly():
    """20 prompts with B = 8: three near-equal batches (7, 7, 6), in pool order whatever the
    order they were reported in."""
    selector = _gps()
    reported = np.random.default_rng(0).permutation(64)[:20]
    selector.update(reported, np.ones(20), np.full(20, 2))
    order = np.sort(reported)
    replay = {k: np.asarray(v) for k, v in selector.state["model"]["replay"].items()}
    rows = [r[t > 0].tolist() for r, t in zip(replay["indices"][-3:], replay["trials"][-3:])]
    assert rows == [order[:7].tolist(), order[7:14].tolist(), order[14:].tolist()]


def test_an_empty_update_changes_nothing():
    selector = _gps()
    _observe(selector, selector.select(), np.random.default_rng(0))
    before = jax.tree.map(np.asarray, selector.state)
    selector.update([], [], [])
    selector.update([3, 4], [0, 0], [0, 0])  # prompts with no rollouts observed
    assert _same_state(before, selector.state) and selector.updates == 1


@pytest.fixture(scope="module")
def observed_selectors():
    """MoPPS and a small GPS after one observed batch (built once: GPS compiles for seconds)."""
    selectors = []
    for config in ("mopps", _small_gps()):
        selector = PromptSelector(
            config=config, batch_size=B, n_rollouts=N, embeddings=_embeddings()
        )
        _observe(selector, selector.select(), np.random.default_rng(0))
        selectors.append(selector)
    return selectors


@pytest.mark.parametrize(
    "indices, successes, trials, match",
    [
        ([0, 64], [1, 1], [4, 4], r"pool indices must be in \[0, 64\)"),
        ([0, 1], [5, 1], [4, 4], r"successes must be in \[0, trials\]"),
        ([-1, 1], [1, 1], [4, 4], r"pool indices must be in \[0, 64\)"),
        ([0.5, 1], [1, 1], [4, 4], "pool indices must be integers"),
        ([0, 1], [5, 1], [4, 4], r"successes must be in \[0, trials\]"),
        ([0, 1], [-1, 1], [4, 4], r"successes must be in \[0, trials\]"),
        ([0, 1], [1, 1], [-4, 4], "trials must be >= 0"),
        ([0, 1], [np.nan, 1], [4, 4], "successes must be finite, got nan"),
        ([0, 1], [1, 1], [np.inf, 4], "trials must be finite, got inf"),
        ([0, 1], ["one", 1], [4, 4], "successes must be numbers"),
        ([0, 1], [1], [4, 4], "differ in length"),
    ],
)
def test_bad_observations_are_one_clear_error_and_change_nothing(
    observed_selectors, indices, successes, trials, match
):
    """Every selector's update goes through these checks; mopps and gps stand for them (the
    Beta posterior and the generative predictor's history would both be poisoned)."""
    for selector in observed_selectors:
        before = jax.tree.map(np.asarray, selector.state)
        with pytest.raises(OutcomeError, match=match):
            selector.update(indices, successes, trials)
        assert _same_state(before, selector.state) and selector.updates == 1


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(n_rollouts=0), "n_rollouts must be an integer >= 1, got 0"),
        (dict(batch_size=0), "batch_size must be an integer >= 1, got 0"),
        (dict(n_rollouts=2.5), "n_rollouts must be an integer >= 1, got 2.5"),
        (dict(embeddings=np.zeros((0, 4), np.float32)), "the prompt pool is empty"),
        (dict(embeddings=np.zeros(8, np.float32)), r"embeddings must be \[pool, dim\]"),
    ],
)
def test_bad_construction_is_one_clear_error(kwargs, match):
    arguments = dict(config="mopps", batch_size=B, n_rollouts=N, embeddings=_embeddings())
    with pytest.raises(ConfigError, match=match):
        PromptSelector(**{**arguments, **kwargs})
    with pytest.raises(ConfigError, match="the prompt pool is empty"):
        PromptSelector([], "uniform", batch_size=B, n_rollouts=N)


def test_rewards_become_outcomes_and_non_finite_ones_are_refused():
    np.testing.assert_array_equal(successes_from_rewards([1.0, 0.0, 0.5], 0.0), [1, 0, 1])
    with pytest.raises(OutcomeError, match="1 rollout rewards are not finite"):
        successes_from_rewards([1.0, np.nan], 0.0)


def test_selectors_that_roll_out_are_refused():
    with pytest.raises(ConfigError, match="rolls prompts out itself"):
        PromptSelector(config="ds", batch_size=B, n_rollouts=N, embeddings=_embeddings())


def test_embedding_cache_does_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("GPS_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)
    texts = [f"Use {i} and {i + 1} to make {2 * i + 1}" for i in range(16)]
    selector = PromptSelector(texts, _small_gps(), batch_size=4, n_rollouts=N)
    assert os.listdir(tmp_path / "cache" / "embeddings")  # not ./cache of the cwd
    assert sorted(os.listdir(tmp_path)) == ["cache"]
    assert selector.predict(["Use 2 and 3 to make 5"]).shape == (1,)
    assert len(set(selector.select())) == 4


def test_state_dict_round_trip_continues_exactly():
    """An engine's own checkpoint (numpy state and counters) continues the run exactly."""
    rng = np.random.default_rng(1)
    make = lambda: PromptSelector(
        config="mopps", batch_size=B, n_rollouts=N, embeddings=_embeddings()
    )
    a = make()
    _observe(a, a.select(), rng)
    saved = a.state_dict()
    b = make()
    b.load_state_dict(saved)
    np.testing.assert_array_equal(a.select(), b.select())
    assert _same_state(a.state, b.state)
    with pytest.raises(ConfigError, match="saved over 64 prompts"):
        PromptSelector(
            config="mopps", batch_size=B, n_rollouts=N, embeddings=_embeddings(size=32)
        ).load_state_dict(saved)
