"""Verifiable reasoning tasks (countdown, arithmetic) and their registry."""

from gps.testbed.tasks.arithmetic import Arithmetic
from gps.testbed.tasks.base import ALPHABET, Problem, Task
from gps.testbed.tasks.countdown import Countdown

__all__ = ["ALPHABET", "Arithmetic", "Countdown", "Problem", "Task", "get_task", "register"]

_REGISTRY: dict[str, type[Task]] = {}


def register(name: str, cls: type[Task]) -> None:
    """Make `cls` available to get_task under `name`."""
    if name in _REGISTRY:
        raise ValueError(f"task {name!r} is already registered")
    _REGISTRY[name] = cls


def get_task(name: str, **kwargs) -> Task:
    """Instantiate the task registered as `name` with constructor `kwargs`."""
    if name not in _REGISTRY:
        raise ValueError(f"unknown task {name!r}; known tasks: {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](**kwargs)


register(Countdown.name, Countdown)
register(Arithmetic.name, Arithmetic)
