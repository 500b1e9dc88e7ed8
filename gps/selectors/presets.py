"""Config blocks of the named selectors, built from the settings each part declares.

A predictive selector's block holds `name`, `candidates`, `budget` (the rule that sets each
chosen prompt's rollouts: `budgets.py`), `model` (the difficulty model's name and only the
keys it reads), `acquisition` (likewise) and `embedding` (the prompt embedder's settings,
always there: which parts read embeddings depends on values, `needs_embeddings`, and a
value must never decide which keys exist). Parts are swapped with config-file arguments
(`configs/countdown.py:selector=mopps,acquisition=threshold`), which rebuild the blocks, not
with `--config.selector.model.name=...`, which would leave the old part's keys behind (an
error naming them).
"""

import dataclasses

import ml_collections

from gps.errors import ConfigError
from gps.selectors import embeddings
from gps.selectors.acquisition import ACQUISITIONS
from gps.selectors.base import SELECTORS
from gps.selectors.difficulty import DIFFICULTY_MODELS


@dataclasses.dataclass(frozen=True)
class Preset:
    """A named selector's parts: candidates per step (0 = the whole pool, k = k·B drawn
    uniformly, MoPPS's ts_ratio), difficulty model, acquisition and budget rule, with the
    settings where the method's source differs from the parts' defaults."""

    candidates: int
    model: str
    acquisition: str
    budget: str = "equal"
    model_settings: tuple = ()
    acquisition_settings: tuple = ()


PRESETS = {
    "uniform": Preset(0, "none", "uniform"),
    "mopps": Preset(8, "beta", "topk"),  # ts_ratio of the reference countdown scripts
    # Fresh random candidates each step, as MoPPS: over the whole pool the greedy picks the
    # same prompts step after step and the policy memorises them (measured, results/selectors).
    "gps": Preset(8, "gps", "diverse"),
    # The field (docs/method.md §2.5): INSIGHT keeps the whole history (λ = 1).
    "insight": Preset(16, "beta", "insight", model_settings=(("decay", 1.0),)),
    "mapp": Preset(8, "beta", "mapp"),
    "cures": Preset(8, "beta", "cures", "proportional", model_settings=(("decay", 1.0),)),
    "knapsack": Preset(1, "beta", "uniform", "knapsack"),
    # PCL's value model V(x): the project's choice (docs/method.md: not verified) is online ridge
    # regression of p̂ on the prompt's embedding, forgetting old steps (λ = 0.9) as V follows
    # the policy; it generalises to unseen prompts. |V − τ| smallest among 4·B candidates.
    "pcl": Preset(4, "ridge", "topk", model_settings=(("decay", 0.9),)),
    # The project's own: GPS's predictions, for prompts never rolled out too, set the budgets.
    "gps-alloc": Preset(8, "gps", "diverse", "knapsack"),
}


def part_block(kind: str, name: str) -> ml_collections.ConfigDict:
    """The config block of a difficulty model (`kind="model"`) or acquisition: its defaults."""
    if kind == "model":
        defaults = DIFFICULTY_MODELS.get(name).defaults
    else:
        defaults = ACQUISITIONS.get(name).defaults
    return ml_collections.ConfigDict({"name": name, **defaults})


def needs_embeddings(c) -> bool:
    """Whether a part of the selector block `c` reads prompt embeddings in the mode its values
    choose (else the pool is never embedded, and `c.embedding` must keep its defaults)."""
    model = DIFFICULTY_MODELS.get(c.model.name)
    return model.needs_embeddings or ACQUISITIONS.get(c.acquisition.name).needs_embeddings(
        c.acquisition
    )


def selector_config(name: str, model: str = "", acquisition: str = "") -> ml_collections.ConfigDict:
    """The config block of selector `name` with its paper defaults; `model` / `acquisition`
    replace the preset's parts (with their own defaults)."""
    selector = SELECTORS.get(name)  # unknown names: a ConfigError listing the known ones
    if name not in PRESETS:
        if model or acquisition:
            raise ConfigError(f"selector {name!r} is not made of a model and an acquisition")
        return ml_collections.ConfigDict({"name": name, **selector.defaults})
    preset = PRESETS[name]
    c = ml_collections.ConfigDict()
    c.name = name
    c.candidates = preset.candidates
    c.budget = preset.budget
    c.model = part_block("model", model or preset.model)
    if c.model.name == preset.model:  # the method's own settings of its own part
        c.model.update(dict(preset.model_settings))
    c.acquisition = part_block("acquisition", acquisition or preset.acquisition)
    if c.acquisition.name == preset.acquisition:
        c.acquisition.update(dict(preset.acquisition_settings))
    c.embedding = ml_collections.ConfigDict(embeddings.DEFAULTS)
    return c


def upgrade_selector_block(selector: dict) -> dict:
    """A selector block as a run's config.json holds it, in today's layout (a new dict): a
    preset's block made before budget rules gets `budget` "equal" (its even shares), and one
    made while `embedding` existed only where a part read it gets the embedder's defaults
    (which its parts never read). Nothing else changes: the same run either way."""
    block = dict(selector)
    if block.get("name") in PRESETS:
        block.setdefault("budget", "equal")
        block.setdefault("embedding", dict(embeddings.DEFAULTS))
    return block


def check_selector_config(c) -> None:
    """Every key of the selector block is read by its parts and every value is in range."""
    SELECTORS.get(c.name).check_config(c)


def _leaves(block, prefix: str = "") -> dict:
    out = {}
    for key, value in block.items():
        if isinstance(value, (dict, ml_collections.ConfigDict)):
            out.update(_leaves(value, f"{prefix}{key}."))
        elif key != "cache_dir":
            out[prefix + key] = tuple(value) if isinstance(value, list) else value
    return out


def method_label(selector: dict) -> str | None:
    """A run's method as its parts say: the selector's name, then what differs from its
    preset (`gps (acquisition.diversity=0)`, `mopps (acquisition=threshold)`); None when the
    block is not in today's layout (runs made by older code)."""
    c = ml_collections.ConfigDict(upgrade_selector_block(selector))
    try:
        check_selector_config(c)
    except (ConfigError, KeyError, AttributeError):  # an older layout, or missing parts
        return None
    changed = []
    if c.name in PRESETS:
        preset = PRESETS[c.name]
        changed += [f"model={c.model.name}"] * (c.model.name != preset.model)
        changed += [f"acquisition={c.acquisition.name}"] * (
            c.acquisition.name != preset.acquisition
        )
        preset = _leaves(selector_config(c.name, c.model.name, c.acquisition.name))
    else:
        preset = _leaves(selector_config(c.name))
    changed += [f"{k}={_text(v)}" for k, v in _leaves(c).items() if preset.get(k) != v]
    return f"{c.name} ({', '.join(changed)})" if changed else c.name


def _text(value) -> str:
    return ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
