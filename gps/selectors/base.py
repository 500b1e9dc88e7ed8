"""The selector interface (method.md §2) and its registry.

A selector is stateless code over explicit state: `init` makes the state (a pytree
of arrays, checkpointed with the run), `select` returns B distinct pool indices
(and, when it has a difficulty model, the predicted success rate of each, made
before any rollout), `update` folds in the observed (indices, successes, trials).
Selectors that must look at the policy (Dynamic Sampling) call `rollout_fn`; the
rollouts they return are used for the update and counted in the run's cost.
"""

import abc
import dataclasses
from typing import Any, Callable

import numpy as np

from gps.errors import ConfigError

State = Any  # a pytree of arrays
RolloutFn = Callable[[np.ndarray, Any], Any]  # (pool indices, key) -> gps.rollout.Rollouts


@dataclasses.dataclass
class Selection:
    indices: np.ndarray  # [B] distinct pool indices
    predictions: np.ndarray | None = None  # [B] predicted success rate, None without a model
    rollouts: Any = None  # Rollouts of `indices` when the selector already generated them
    extra_rollouts: int = 0  # rollouts generated while selecting and not used for the update


@dataclasses.dataclass(frozen=True)
class Pool:
    """What a selector may know about the prompts: their count and texts (for embeddings)."""

    texts: tuple[str, ...]

    @property
    def size(self) -> int:
        return len(self.texts)


class Selector(abc.ABC):
    def __init__(self, config, pool: Pool):
        self.config = config
        self.pool = pool

    @abc.abstractmethod
    def init(self, key) -> State: ...

    @abc.abstractmethod
    def select(self, state: State, key, batch_size: int, rollout_fn: RolloutFn) -> Selection: ...

    def update(
        self, state: State, indices: np.ndarray, successes: np.ndarray, trials: np.ndarray
    ) -> State:
        """Default: nothing to learn."""
        return state


_REGISTRY: dict[str, type[Selector]] = {}


def register(name: str):
    def wrap(cls):
        if name in _REGISTRY:
            raise ValueError(f"selector {name!r} is registered twice")
        _REGISTRY[name] = cls
        return cls

    return wrap


def check_selector_name(name: str) -> None:
    if name not in _REGISTRY:
        raise ConfigError(f"unknown selector {name!r}; known: {', '.join(sorted(_REGISTRY))}")


def make_selector(config, pool: Pool) -> Selector:
    """Builds the selector named by `config.name`; unknown names list the known ones."""
    check_selector_name(config.name)
    return _REGISTRY[config.name](config, pool)
