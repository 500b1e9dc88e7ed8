"""Name -> component registries (selectors, difficulty models, acquisition functions)."""

from typing import Generic, TypeVar

from gps.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Components chosen by name in a config: duplicates raise, unknown names list the known."""

    def __init__(self, kind: str):
        self.kind = kind
        self._entries: dict[str, T] = {}

    def register(self, name: str):
        """Decorator: `@REGISTRY.register("name")` on a function or class."""

        def wrap(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = entry
            return entry

        return wrap

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> list[str]:
        return sorted(self._entries)
