"""Config helpers: big_vision-style argument strings, the shared defaults, validation."""

import ml_collections

from gps.testbed import sharding
from gps.errors import ConfigError
from gps.selectors.presets import selector_config, upgrade_selector_block
from gps.selectors.settings import Above, AtLeast, Between, OneOf, check_bound


_BOOLS = {"": True, "1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def parse_arg(arg: str | None, **defaults) -> ml_collections.ConfigDict:
    """Parses 'selector=gps,smoke' against typed defaults; a bare name sets a bool to True."""
    result = ml_collections.ConfigDict(defaults)
    for item in filter(None, (arg or "").split(",")):
        name, _, value = item.partition("=")
        if name not in defaults:
            raise ConfigError(
                f"unknown config argument {name!r}; known: {', '.join(sorted(defaults))}"
            )
        default = defaults[name]
        if isinstance(default, bool):
            if value.lower() not in _BOOLS:
                raise ConfigError(f"config argument {name}={value!r} is not a boolean")
            result[name] = _BOOLS[value.lower()]
        else:
            result[name] = type(default)(value)
    return result


def base_config() -> ml_collections.ConfigDict:
    """Defaults shared by every task; task config files override what differs."""
    c = ml_collections.ConfigDict()
    c.seed = 0  # the one seed: pools, base model, RL sampling and selection all derive from it
    c.steps = 200  # RL steps
    c.batch_size = 32  # prompts per RL step (B)
    c.n_rollouts = 8  # rollouts per prompt (n)
    # Rollouts per RL step, held fixed so methods compare at equal cost: a selector that
    # allocates splits it over its batch, the others give each prompt an equal share.
    # 0 = batch_size × n_rollouts.
    c.rollout_budget = 0

    c.task = ml_collections.ConfigDict()
    c.task.name = "countdown"
    c.task.options = ml_collections.ConfigDict()  # constructor kwargs of the task family
    c.task.train_families = ()  # sub-families of the train pool; () = the task's default
    c.task.train_size = 10_000  # prompts in the RL pool
    c.task.eval_sets = ml_collections.ConfigDict()  # name -> {families, size}

    c.model = ml_collections.ConfigDict()
    c.model.d_model = 128
    c.model.n_layers = 2
    c.model.n_heads = 4
    c.model.d_ff = 512

    c.base = ml_collections.ConfigDict()  # supervised warm-up producing the RL start point
    c.base.steps = 1000
    c.base.batch_size = 256
    c.base.lr = 2e-3
    c.base.warmup_steps = 50
    c.base.weight_decay = 0.01
    c.base.correct_fraction = (
        0.5  # share of demonstrations that are correct (rest: plausible attempts)
    )
    c.base.data_size = 20_000  # distinct warm-up prompts (a split disjoint from the eval sets)
    c.base.report_size = 512  # train-pool prompts used for the base's pass-rate histogram
    c.base.cache_dir = "cache/base"  # shared by runs: one base per (task, model, base, seed)

    c.rl = ml_collections.ConfigDict()
    c.rl.lr = 2e-4
    c.rl.updates_per_batch = 1  # gradient steps on each rollout batch
    c.rl.clip_eps = 0.2
    c.rl.kl_coef = 0.0  # KL to the base model; 0 = off
    c.rl.temperature = 1.0  # sampling temperature for training rollouts
    c.rl.grad_clip = 1.0
    c.rl.weight_decay = 0.0

    c.selector = selector_config("uniform")  # config files replace it with the named preset

    c.eval = ml_collections.ConfigDict()
    c.eval.every = 10  # RL steps between evaluations (also at step 0 and at the end)
    # Samples per prompt of the evaluations between the first and the last (which take eval.k
    # and greedy decoding). They sample the whole sets, so every evaluation estimates the same
    # quantity: mean@k is unbiased for the set's accuracy at any k, only noisier at small k
    # (an earlier fixed 32-prompt prefix had its own level, which biased cost-to-target).
    # Measured on countdown.py:small (2 sets of 256, 2-core CPU): RL step 0.86 s; a whole-set
    # evaluation at k = 8 with greedy 4-5.5 s, at k = 1 without greedy ~1 s, keeping
    # evaluation to ~15% of a 200-step run (k = 8 every time: 37%).
    c.eval.k = 8  # samples per prompt for mean@k at the first and last evaluation
    c.eval.intermediate_k = 1
    c.eval.temperature = 1.0

    c.checkpoint_every = 25

    # Devices the RL loop runs on (gps/testbed/sharding.py): rollouts and GRPO batches split over
    # them.
    c.parallel = ml_collections.ConfigDict()
    c.parallel.devices = 0  # 0 = every visible device; B × n_rollouts must split evenly
    c.parallel.params = "replicated"  # or "sharded": each parameter split along one axis
    return c


# Visits per prompt (steps·B / pool) of the two regimes the prompt-selection papers train in:
# MoPPS's Countdown scripts revisit a 2,000-prompt pool ~15 times (120 steps ×
# 256 prompts); DeepScaleR-style runs see each prompt ~0.6 times.
REGIMES = {"revisit": 15.0, "cold": 0.64}


def apply_regime(c: ml_collections.ConfigDict, regime: str) -> None:
    """Sizes the RL pool for the regime's visits per prompt at the config's steps and B
    (`small` countdown and arithmetic: revisit 427 prompts, cold 10,000); "" keeps it."""
    if not regime:
        return
    if regime not in REGIMES:
        raise ConfigError(f"unknown regime {regime!r}; known: {', '.join(REGIMES)}")
    c.task.train_size = round(c.steps * c.batch_size / REGIMES[regime])


def upgrade_recorded(recorded: dict) -> dict:
    """A run's config.json (a dict) in today's layout: its selector block upgraded."""
    return {**recorded, "selector": upgrade_selector_block(recorded["selector"])}


def apply_smoke(c: ml_collections.ConfigDict) -> None:
    """Shrinks a config so a whole run (base model included) takes seconds."""
    c.steps = 3
    c.batch_size = 4
    c.n_rollouts = 4
    c.task.train_size = 64
    for eval_set in c.task.eval_sets.values():
        eval_set.size = 8
    c.model.update(d_model=32, n_layers=1, n_heads=2, d_ff=64)
    c.base.update(steps=4, batch_size=16, warmup_steps=0, data_size=64, report_size=8)
    c.eval.update(every=2, k=2, intermediate_k=1)
    c.checkpoint_every = 2


def eval_set(families: tuple[str, ...], size: int) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict({"families": families, "size": size})


# The bound of each key whose range no type check can catch; the messages derive from them.
BOUNDS = {
    "steps": AtLeast(1),
    "batch_size": AtLeast(1),
    "n_rollouts": AtLeast(2),  # group-normalised advantages need two rollouts per prompt
    "rollout_budget": AtLeast(0),
    "task.train_size": AtLeast(1),
    "base.steps": AtLeast(1),
    "base.batch_size": AtLeast(1),
    "base.lr": Above(0),
    "base.weight_decay": AtLeast(0),
    "base.correct_fraction": Between(0, 1),
    "base.data_size": AtLeast(1),
    "base.report_size": AtLeast(1),
    "rl.lr": Above(0),
    "rl.updates_per_batch": AtLeast(1),
    "rl.clip_eps": AtLeast(0),
    "rl.kl_coef": AtLeast(0),
    "rl.temperature": Above(0),
    "rl.grad_clip": Above(0),
    "rl.weight_decay": AtLeast(0),
    "eval.every": AtLeast(1),
    "eval.k": AtLeast(1),
    "eval.intermediate_k": AtLeast(1),
    "eval.temperature": Above(0),
    "checkpoint_every": AtLeast(1),
    "parallel.devices": AtLeast(0),  # 0 = every visible device
    "parallel.params": OneOf(sharding.PARAM_LAYOUTS),
}


def _get(c: ml_collections.ConfigDict, dotted: str):
    for part in dotted.split("."):
        c = c[part]
    return c


def validate(c: ml_collections.ConfigDict, pool_size: int) -> None:
    """Checks the values no type check can catch; raises ConfigError naming the problem."""
    for name, bound in BOUNDS.items():
        check_bound(f"config.{name}", _get(c, name), bound)
    for name, spec in c.task.eval_sets.items():
        check_bound(f"config.task.eval_sets.{name}.size", spec.size, AtLeast(1))
    if c.rollout_budget and c.rollout_budget < 2 * c.batch_size:
        raise ConfigError(
            f"config.rollout_budget={c.rollout_budget} leaves some of the {c.batch_size} prompts "
            "fewer than 2 rollouts; use >= 2 × batch_size (or 0: batch_size × n_rollouts)"
        )
    if c.batch_size > pool_size:
        raise ConfigError(
            f"config.batch_size={c.batch_size} is larger than the prompt pool ({pool_size})"
        )
