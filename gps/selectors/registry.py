"""Name -> component registries (selectors, difficulty models, acquisition functions)."""

from typing import Generic, TypeVar

from gps.errors import ConfigError

T = TypeVar("T")


class Registry(Generic[T]):
    """Components chosen by name in a config: duplicates raise, unknown names list the known.
    With `entry_type`, an entry that is neither an instance nor a subclass of it is a
    TypeError at registration, ending with `hint` (how to register one), rather than an
    AttributeError when a config first reads it."""

    def __init__(self, kind: str, entry_type: type | None = None, hint: str = ""):
        self.kind = kind
        self.entry_type = entry_type
        self.hint = hint
        self._entries: dict[str, T] = {}

    def register(self, name: str):
        """Decorator: `@REGISTRY.register("name")` on a function or class."""

        def wrap(entry: T) -> T:
            if name in self._entries:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            if self.entry_type is not None and not self._fits(entry):
                raise TypeError(
                    f"{self.kind} {name!r} is {_describe(entry)}, not of type "
                    f"{self.entry_type.__name__}; {self.hint}"
                )
            self._entries[name] = entry
            return entry

        return wrap

    def _fits(self, entry) -> bool:
        if isinstance(entry, type):
            return issubclass(entry, self.entry_type)
        return isinstance(entry, self.entry_type)

    def get(self, name: str) -> T:
        if name not in self._entries:
            raise ConfigError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        return self._entries[name]

    def names(self) -> list[str]:
        return sorted(self._entries)


def _describe(entry) -> str:
    """'class Foo', 'function foo' or 'a dict', for an error message."""
    if isinstance(entry, type):
        return f"class {entry.__name__}"
    if hasattr(entry, "__name__"):
        return f"function {entry.__name__}"
    return f"a {type(entry).__name__}"
