"""Configs that cannot surprise: every part declares its settings once (default, bound, when it
is read), a value never decides which keys exist, a key the chosen mode ignores is refused
unless it is at its default, and a part registered without its settings fails at once."""

import json
import os

import jax
import ml_collections
import pytest

from experiments.sweeps import load_config
from gps.errors import ConfigError
from gps.selectors import (
    ACQUISITIONS,
    DIFFICULTY_MODELS,
    DifficultyModel,
    SELECTORS,
    Pool,
    Selector,
    check_selector_config,
    make_selector,
    method_label,
    selector_config,
)
from gps.selectors.acquisition import register_acquisition
from gps.selectors.presets import upgrade_selector_block
from gps.selectors.registry import Registry
from gps.selectors.settings import Above, AtLeast, Band, Between, OneOf, Setting
from gps.testbed import config as config_lib

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _config(name, acquisition="", **overrides):
    """The block of `name` with dotted `overrides`, as `--config.selector.<key>=` sets them."""
    c = selector_config(name, acquisition=acquisition)
    for dotted, value in overrides.items():
        block, _, key = dotted.rpartition(".")
        (c[block] if block else c)[key] = value
    return c


def test_mopps_with_diverse_at_diversity_zero_is_accepted_and_embeds_nothing():
    """The issue's command: the embedding block exists whatever the diversity, and the pool is
    embedded only when a part reads embeddings (here none: no texts are ever embedded)."""
    c = _config("mopps", "diverse", **{"acquisition.diversity": 0.0})
    check_selector_config(c)
    pool = Pool(
        tuple(f"prompt {i}" for i in range(40))
    )  # texts only: embedding would load WordLlama
    selector = make_selector(c, pool, batch_size=4, n_rollouts=4)
    assert selector.embeddings is None
    selection = selector.select(selector.init(jax.random.key(0)), jax.random.key(1), None)
    assert len(set(selection.indices.tolist())) == 4


def test_the_config_file_and_the_dotted_override_give_the_issues_block():
    """configs/countdown.py:selector=mopps,acquisition=diverse then diversity=0: the block the
    trainer checks (run.py would refuse it before training if the check failed)."""
    c = load_config(
        os.path.join(ROOT, "configs", "countdown.py"), "selector=mopps,acquisition=diverse"
    )
    c.selector.acquisition.diversity = 0.0
    check_selector_config(c.selector)
    assert dict(c.selector.embedding) == {"name": "wordllama", "dim": 256, "cache_dir": ""}


def test_every_preset_holds_the_embedding_block_at_its_defaults():
    for name in ("uniform", "mopps", "gps", "pcl", "cures"):
        assert dict(selector_config(name).embedding) == {
            "name": "wordllama",
            "dim": 256,
            "cache_dir": "",
        }
    assert "embedding" not in selector_config("ds")  # a selector of its own: no parts


def test_an_embedding_setting_no_part_reads_is_refused():
    c = _config("mopps", **{"embedding.dim": 128})
    with pytest.raises(ConfigError) as error:
        check_selector_config(c)
    assert str(error.value) == (
        "config.selector.embedding.dim has no effect: no part of selector 'mopps' reads prompt "
        "embeddings (acquisition 'topk', model 'beta')"
    )
    check_selector_config(_config("gps", **{"embedding.dim": 128}))  # GPS reads them
    # A location, not a behaviour: a sweep may set it for every run.
    check_selector_config(_config("uniform", **{"embedding.cache_dir": "/tmp/embeddings"}))


NO_EFFECT = [
    # (selector, acquisition, the mode, the key and a value other than its default, why)
    ("gps", "", {"model.encoder": "deepsets"}, ("model.heads", 2), "encoder='deepsets'"),
    ("gps", "", {"model.latent": "deterministic"}, ("model.samples", 8), "latent='deterministic'"),
    (
        "gps",
        "",
        {"model.latent": "deterministic"},
        ("model.particles", 2),
        "latent='deterministic'",
    ),
    ("gps", "", {"model.latent": "none"}, ("model.samples", 8), "latent='none'"),
    ("gps", "", {"model.latent": "none"}, ("model.particles", 2), "latent='none'"),
    ("gps", "", {"model.latent": "none"}, ("model.z_dim", 4), "latent='none'"),
    ("gps", "", {"model.latent": "none"}, ("model.encoder", "deepsets"), "latent='none'"),
    ("gps", "", {"model.latent": "none"}, ("model.heads", 2), "latent='none'"),
    ("gps", "", {"model.latent": "none"}, ("model.encoder_layers", 1), "latent='none'"),
    ("gps", "", {"acquisition.diversity": 0.0}, ("acquisition.swaps", 0), "diversity=0.0"),
    ("gps", "", {"acquisition.diversity": 0.0}, ("acquisition.restarts", 1), "diversity=0.0"),
    ("gps", "", {"acquisition.diversity": 0.0}, ("acquisition.shortlist", 0), "diversity=0.0"),
    ("gps", "", {"acquisition.diversity": 0.0}, ("acquisition.scale", "raw"), "diversity=0.0"),
    (
        "gps",
        "",
        {"acquisition.diversity": 0.0},
        ("acquisition.inter_step", "none"),
        "diversity=0.0",
    ),
    ("mopps", "diverse", {"acquisition.diversity": 0.0}, ("acquisition.swaps", 4), "diversity=0.0"),
]


@pytest.mark.parametrize("name, acquisition, mode, setting, why", NO_EFFECT)
def test_a_key_the_mode_leaves_unread_is_refused_with_one_line(
    name, acquisition, mode, setting, why
):
    key, value = setting
    c = _config(name, acquisition, **mode, **{key: value})
    with pytest.raises(ConfigError) as error:
        check_selector_config(c)
    assert str(error.value) == f"config.selector.{key} has no effect with {why}"


@pytest.mark.parametrize("name, acquisition, mode, setting, why", NO_EFFECT)
def test_the_same_key_is_accepted_at_its_default_or_where_it_is_read(
    name, acquisition, mode, setting, why
):
    """ml_collections overrides cannot delete a key: switching the mode leaves it, at its
    default, in the block. Where the mode reads it, any value in range is taken."""
    check_selector_config(_config(name, acquisition, **mode))
    key, value = setting
    check_selector_config(_config(name, acquisition, **{key: value}))


def test_hidden_must_divide_into_heads_only_where_the_transformer_reads_heads():
    with pytest.raises(ConfigError, match=r"model.hidden must be a multiple of heads \(4\)"):
        check_selector_config(_config("gps", **{"model.hidden": 30}))
    check_selector_config(_config("gps", **{"model.hidden": 30, "model.encoder": "deepsets"}))


@pytest.mark.parametrize(
    "name, overrides, message",
    [
        ("mopps", {"model.decay": 1.5}, "config.selector.model.decay must be in [0, 1], got 1.5"),
        ("pcl", {"model.decay": 0.0}, "config.selector.model.decay must be in (0, 1], got 0.0"),
        ("cures", {"acquisition.tau": 0.0}, "config.selector.acquisition.tau must be > 0, got 0.0"),
        ("gps", {"model.samples": 0}, "config.selector.model.samples must be >= 1, got 0"),
        (
            "gps",
            {"acquisition.target": 1.0},
            "config.selector.acquisition.target must be in (0, 1), got 1.0",
        ),
        (
            "gps",
            {"model.encoder": "rnn"},
            "config.selector.model.encoder must be in ('transformer', 'deepsets'), got 'rnn'",
        ),
        (
            "gps",
            {"embedding.dim": 512},
            "config.selector.embedding.dim must be in [1, 256], got 512",
        ),
        ("gps", {"budget": "all"}, "config.selector.budget must be in "),
        ("dump", {"temperature": 0.0}, "config.selector.temperature must be > 0, got 0.0"),
        ("greso", {"alpha": 0.0}, "config.selector.alpha must be in (0, 1], got 0.0"),
        (
            "balanced",
            {"band": (0.8, 0.2)},
            "config.selector.band must be (lo, hi) with 0 <= lo <= hi <= 1, got (0.8, 0.2)",
        ),
    ],
)
def test_a_bound_violated_gives_the_message_derived_from_it(name, overrides, message):
    with pytest.raises(ConfigError) as error:
        check_selector_config(_config(name, **overrides))
    assert str(error.value).startswith(message)


def test_bounds_hold_at_their_ends_as_their_text_says():
    assert [str(b) for b in (AtLeast(1), Above(0), OneOf(("a", "b")))] == [
        ">= 1",
        "> 0",
        "in ('a', 'b')",
    ]
    for closed, text, ends in [
        ("both", "in [0, 1]", (True, True)),
        ("left", "in [0, 1)", (True, False)),
        ("right", "in (0, 1]", (False, True)),
        ("neither", "in (0, 1)", (False, False)),
    ]:
        bound = Between(0, 1, closed=closed)
        assert str(bound) == text
        assert (bound.holds(0), bound.holds(1)) == ends
        assert bound.holds(0.5) and not bound.holds(-0.1) and not bound.holds(1.1)
    assert Band().holds((0.3, 0.7)) and not Band().holds((0.5, 0.5))
    assert Band(strict=False).holds((0.5, 0.5)) and not Band().holds((0.1, 0.2, 0.3))
    assert str(Band()) == "(lo, hi) with 0 <= lo < hi <= 1"


def test_testbed_config_bounds_use_the_same_declarations():
    c = config_lib.base_config()
    config_lib.validate(c, pool_size=10_000)
    for key, value, message in [
        ("steps", 0, "config.steps must be >= 1, got 0"),
        ("n_rollouts", 1, "config.n_rollouts must be >= 2, got 1"),
        ("rl.lr", 0.0, "config.rl.lr must be > 0, got 0.0"),
        ("base.correct_fraction", 1.5, "config.base.correct_fraction must be in [0, 1], got 1.5"),
        ("parallel.params", "tiled", "config.parallel.params must be in ("),
    ]:
        bad = config_lib.base_config()
        block, _, name = key.rpartition(".")
        (bad[block] if block else bad)[name] = value
        with pytest.raises(ConfigError) as error:
            config_lib.validate(bad, pool_size=10_000)
        assert str(error.value).startswith(message)


def test_defaults_derive_from_the_declared_settings():
    gps = DIFFICULTY_MODELS.get("gps")
    assert gps.defaults == {key: s.default for key, s in gps.settings.items()}
    diverse = ACQUISITIONS.get("diverse")
    assert diverse.defaults == {key: s.default for key, s in diverse.settings.items()}
    assert dict(selector_config("gps").model) == {"name": "gps", **gps.defaults}


# --- registration ---------------------------------------------------------------------------


def test_a_plain_function_registered_as_an_acquisition_fails_at_registration():
    with pytest.raises(TypeError) as error:

        @ACQUISITIONS.register("plain")
        def plain(key, inputs, batch_size, cfg):
            return inputs.candidates[:batch_size]

    assert str(error.value) == (
        "acquisition function 'plain' is function plain, not of type Acquisition; "
        "use @register_acquisition(name, settings=...)"
    )
    assert "plain" not in ACQUISITIONS.names()


def test_an_acquisition_whose_settings_are_bare_values_fails_at_registration():
    with pytest.raises(TypeError, match=r"declares 'bonus' as 0.1; declare it as Setting"):

        @register_acquisition("bare", settings={"bonus": 0.1})
        def bare(key, inputs, batch_size, cfg):
            return inputs.candidates[:batch_size]

    assert "bare" not in ACQUISITIONS.names()


@pytest.mark.parametrize(
    "registry, base, kind",
    [(DIFFICULTY_MODELS, DifficultyModel, "difficulty model"), (SELECTORS, Selector, "selector")],
)
def test_part_classes_must_subclass_their_base_and_declare_settings(registry, base, kind):
    with pytest.raises(TypeError, match=f"{kind} 'loose' is class Loose, not of type"):

        @registry.register("loose")
        class Loose:
            defaults = {"rate": 0.5}

    with pytest.raises(TypeError, match=f"{kind} Undeclared sets `defaults`; declare `settings`"):

        class Undeclared(base):
            defaults = {"rate": 0.5}

    class Declared(base):
        settings = {"rate": Setting(0.5, Between(0, 1))}

    assert Declared.defaults == {"rate": 0.5}
    assert "loose" not in registry.names()


def test_a_screening_selector_declares_its_settings_and_bounds():
    assert SELECTORS.get("balanced").defaults == {
        "round_size": 0,
        "max_rounds": 8,
        "band": (0.25, 0.75),
    }
    with pytest.raises(ConfigError, match=r"config.selector.max_rounds must be >= 1, got 0"):
        check_selector_config(ml_collections.ConfigDict({**selector_config("ds"), "max_rounds": 0}))


def test_a_typed_registry_takes_instances_and_subclasses_of_its_type():
    registry = Registry("thing", DifficultyModel, hint="subclass DifficultyModel")
    registry.register("model")(DifficultyModel)
    with pytest.raises(TypeError, match="'dict' is a dict, not of type DifficultyModel; subclass"):
        registry.register("dict")({})
    assert registry.names() == ["model"]


# --- old run folders ------------------------------------------------------------------------


def _recorded(folder: str) -> dict:
    with open(os.path.join(ROOT, "results", folder, "config.json")) as f:
        return json.load(f)["selector"]


@pytest.mark.parametrize(
    "folder, label",
    [
        ("regimes/cold/countdown/selector=mopps/seed0", "mopps"),
        ("regimes/cold/countdown/selector=gps/seed0", "gps"),
        (
            "regimes/gps_ablations-revisit/countdown/selector=mopps,selector.model.decay=1.0/seed0",
            "mopps (model.decay=1.0)",
        ),
    ],
)
def test_old_run_folders_keep_their_labels(folder, label):
    """Runs made while `embedding` existed only where a part read it are labelled as before."""
    selector = _recorded(folder)
    assert method_label(selector) == label


def test_upgrading_an_old_block_adds_only_the_default_embedding():
    old = _recorded("regimes/cold/countdown/selector=mopps/seed0")
    assert "embedding" not in old  # the layout this test is about
    upgraded = upgrade_selector_block(old)
    assert "embedding" not in old  # a new dict: the recorded one is untouched
    assert upgraded == {**old, "embedding": {"name": "wordllama", "dim": 256, "cache_dir": ""}}
    assert upgraded == json.loads(selector_config("mopps").to_json())
    gps = _recorded("regimes/cold/countdown/selector=gps/seed0")
    assert upgrade_selector_block(gps) == gps
    before_budgets = {key: value for key, value in old.items() if key != "budget"}
    assert upgrade_selector_block(before_budgets) == upgraded
    assert upgrade_selector_block({"name": "ds", "round_size": 0, "max_rounds": 8}) == {
        "name": "ds",
        "round_size": 0,
        "max_rounds": 8,
    }


def test_a_selector_block_is_the_same_after_a_json_round_trip():
    """What config.json holds checks as the block it was written from (tuples become lists)."""
    for c in (selector_config("mopps"), selector_config("balanced"), _config("gps", "threshold")):
        check_selector_config(ml_collections.ConfigDict(json.loads(c.to_json())))
