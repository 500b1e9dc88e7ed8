"""The selector interface (docs/method.md §2) and its registry.

A selector is code over explicit state: `init` makes the state (a pytree of arrays,
checkpointed with the run), `select` returns B distinct pool indices (and, when it has a
difficulty model, the success rate it predicted for each, before any rollout; when it
allocates, each prompt's rollout budget, adding up to `rollout_budget`), `update` folds in
the observed (indices, successes, trials). Selectors that must look at the policy (Dynamic
Sampling and its family) call `rollout_fn` while selecting and hand back a `Screening`: the
batch's training rollouts and every screened prompt's outcome. The caller counts every
rollout `rollout_fn` generates in the run's cost.

`rollout_fn(indices, key, counts)` returns a batch of rollouts with, per prompt, `successes`
and `counts`, and two operations the screening selectors combine batches with:
`batch.take(parts, positions)` (the given prompts of the concatenated `parts`, in order) and
`batch.join(more)` (per prompt, its rollouts then `more`'s). The testbed's
`gps.testbed.rollout.Rollouts` is one; the selectors never import it.
"""

import abc
import dataclasses
import hashlib
import json
from typing import Any, Callable

import numpy as np

from gps.errors import ConfigError
from gps.selectors.registry import Registry
from gps.selectors.settings import check_keys, check_values, declare_defaults

State = Any  # a pytree of arrays
# (pool indices, key, rollouts per prompt) -> a batch of rollouts (see the module docstring)
RolloutFn = Callable[..., Any]


@dataclasses.dataclass(frozen=True)
class Screening:
    """What a selector that rolled prompts out while selecting hands back."""

    rollouts: Any  # the chosen prompts' training rollouts, in the order of `indices`
    # (indices, successes, trials) of every prompt rolled out while selecting, which the
    # selector's update reads instead of the batch's (a screening selector's history)
    observed: tuple


@dataclasses.dataclass
class Selection:
    indices: np.ndarray  # [B] distinct pool indices
    predictions: np.ndarray | None = None  # [B] predicted success rates; None without a model
    budgets: np.ndarray | None = None  # [B] rollouts per chosen prompt; None: the run's default
    info: dict = dataclasses.field(default_factory=dict)  # per-step numbers for metrics.jsonl
    note: str | None = None  # a message for the run's log (e.g. a fallback was taken)
    screening: Screening | None = None  # set by selectors that roll out while selecting

    def training_rollouts(self, rollout_fn: RolloutFn, key, budgets: np.ndarray):
        """The batch to train on: the screened rollouts, or `budgets` fresh ones of `indices`."""
        if self.screening is not None:
            return self.screening.rollouts
        return rollout_fn(self.indices, key, budgets)

    def outcomes(self, rollouts) -> tuple:
        """(indices, successes, trials) for the selector's update: every screened prompt's,
        else the training batch's."""
        if self.screening is not None:
            return self.screening.observed
        return self.indices, rollouts.successes, rollouts.counts


@dataclasses.dataclass(frozen=True)
class Pool:
    """What a selector may know about the prompts: their texts, optionally precomputed
    embeddings (else the selector embeds the texts if it needs to) and each prompt's group
    (its task family, for selectors over data distributions)."""

    texts: tuple[str, ...]
    embeddings: np.ndarray | None = None
    groups: tuple[str, ...] | None = None

    @property
    def size(self) -> int:
        return len(self.texts) if self.embeddings is None else len(self.embeddings)

    def digest(self) -> dict:
        """What identifies the pool in a saved state: its size and a hash of its prompts."""
        if self.embeddings is not None:
            content = np.ascontiguousarray(self.embeddings, np.float32).tobytes()
        else:
            content = json.dumps(list(self.texts)).encode()
        return {"size": self.size, "digest": hashlib.sha256(content).hexdigest()[:16]}


class Selector(abc.ABC):
    settings: dict = {}  # key -> Setting: the keys of its config block besides `name`
    defaults: dict = {}  # key -> default, derived from `settings`
    needs_rollouts = False  # whether `select` calls rollout_fn (only the project's trainer has one)

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declare_defaults(cls, "selector")

    def __init__(
        self,
        config,
        pool: Pool,
        *,
        batch_size: int,
        n_rollouts: int,
        rollout_budget: int | None = None,
    ):
        self.check_config(config)
        if batch_size > pool.size:
            raise ConfigError(
                f"batch size {batch_size} is larger than the prompt pool ({pool.size})"
            )
        self.config = config
        self.pool = pool
        self.batch_size = batch_size
        self.n_rollouts = n_rollouts
        # Rollouts per step that `budgets` must add up to (None: batch_size × n_rollouts).
        if rollout_budget is not None and rollout_budget < batch_size:
            raise ConfigError(
                f"a rollout budget of {rollout_budget} cannot give {batch_size} prompts one each"
            )
        self.rollout_budget = batch_size * n_rollouts if rollout_budget is None else rollout_budget

    @classmethod
    def check_config(cls, config) -> None:
        """Raises ConfigError on a key the selector does not read, a value out of its bound,
        or one its mode leaves unread."""
        check_keys(config, "", f"selector {config.name!r}", cls.defaults)
        check_values(config, "", cls.settings)

    @abc.abstractmethod
    def init(self, key) -> State: ...

    @abc.abstractmethod
    def select(self, state: State, key, rollout_fn: RolloutFn) -> Selection: ...

    def update(
        self, state: State, indices: np.ndarray, successes: np.ndarray, trials: np.ndarray
    ) -> State:
        """Default: nothing to learn."""
        return state

    def predict_unseen(self, state: State, key, texts) -> np.ndarray | None:
        """Predicted success rates of prompts outside the pool; None if it cannot say."""
        return None

    def predict_vectors(self, state: State, key, vectors) -> np.ndarray | None:
        """`predict_unseen` for prompts given by raw embeddings (as the pool's)."""
        return None


SELECTORS = Registry("selector", Selector, hint="subclass gps.selectors.Selector")


def make_selector(config, pool: Pool, **sizes) -> Selector:
    """Builds the selector named by `config.name` (`sizes`: batch_size, n_rollouts and
    optionally rollout_budget, the rollouts per step: batch_size × n_rollouts when left
    out); unknown names list the known ones."""
    return SELECTORS.get(config.name)(config, pool, **sizes)
