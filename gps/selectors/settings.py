"""Declared settings: each part (selector, difficulty model, acquisition, embedder) declares
once, as `Setting`s, the keys it reads, their defaults, the bounds their values keep and the
modes in which it reads them. Its config block, the checks and their messages all derive
from that one declaration, so a block cannot hold a key its part does not read, a value out
of range, or a value the chosen mode ignores (a setting that silently does nothing would make
an ablation meaningless): each is an error naming the key.
"""

import dataclasses
from typing import Any

from gps.errors import ConfigError


class Bound:
    """A rule a value must keep; `str(bound)` is how the error message states it."""

    def holds(self, value) -> bool:
        raise NotImplementedError


@dataclasses.dataclass(frozen=True)
class AtLeast(Bound):
    low: float

    def holds(self, value) -> bool:
        return value >= self.low

    def __str__(self) -> str:
        return f">= {self.low}"


@dataclasses.dataclass(frozen=True)
class Above(Bound):
    low: float

    def holds(self, value) -> bool:
        return value > self.low

    def __str__(self) -> str:
        return f"> {self.low}"


@dataclasses.dataclass(frozen=True)
class Between(Bound):
    """low ≤ value ≤ high, the ends included as `closed` says: both | left | right | neither."""

    low: float
    high: float
    closed: str = "both"

    def holds(self, value) -> bool:
        left, right = self.closed in ("both", "left"), self.closed in ("both", "right")
        above = value >= self.low if left else value > self.low
        below = value <= self.high if right else value < self.high
        return above and below

    def __str__(self) -> str:
        left = "[" if self.closed in ("both", "left") else "("
        right = "]" if self.closed in ("both", "right") else ")"
        return f"in {left}{self.low}, {self.high}{right}"


@dataclasses.dataclass(frozen=True)
class OneOf(Bound):
    options: tuple

    def holds(self, value) -> bool:
        return value in self.options

    def __str__(self) -> str:
        return f"in {self.options}"


@dataclasses.dataclass(frozen=True)
class Band(Bound):
    """A pair (lo, hi) of success rates, lo < hi (`strict`) or lo <= hi."""

    strict: bool = True

    def holds(self, value) -> bool:
        if len(value) != 2:
            return False
        lo, hi = value
        return 0 <= lo and hi <= 1 and (lo < hi if self.strict else lo <= hi)

    def __str__(self) -> str:
        return f"(lo, hi) with 0 <= lo {'<' if self.strict else '<='} hi <= 1"


@dataclasses.dataclass(frozen=True)
class Setting:
    """One key of a part's block. `read_when` maps other keys of the block to the bound their
    value must keep for the part to read this one (all of them; empty: always read).
    `location`: a path, not a behaviour, so it may differ from its default where unread (a
    sweep sets it for every run)."""

    default: Any
    bound: Bound | None = None
    read_when: dict = dataclasses.field(default_factory=dict)
    location: bool = False


def defaults_of(declared: dict, owner: str) -> dict:
    """The block's keys and default values; a value not declared as a `Setting` is a
    TypeError naming `owner` (a part registered without its settings)."""
    for key, setting in declared.items():
        if not isinstance(setting, Setting):
            raise TypeError(
                f"{owner} declares {key!r} as {setting!r}; declare it as Setting(default, bound)"
            )
    return {key: setting.default for key, setting in declared.items()}


def declare_defaults(cls, kind: str) -> None:
    """For a part class's `__init_subclass__`: its `defaults` derive from its `settings`; a
    class that sets `defaults` itself is a TypeError (its bounds would go unchecked)."""
    if "defaults" in vars(cls):
        raise TypeError(
            f"{kind} {cls.__name__} sets `defaults`; declare `settings` "
            "(key -> Setting(default, bound)) instead"
        )
    cls.defaults = defaults_of(cls.settings, f"{kind} {cls.__name__}")


def holds(cfg, conditions: dict) -> bool:
    """Whether each key of `conditions` keeps its bound in `cfg`: with a Setting's
    `read_when`, whether the part reads it in the mode the block chooses."""
    return all(bound.holds(cfg[key]) for key, bound in conditions.items())


def _where(block: str, key: str) -> str:
    return f"config.selector.{block}.{key}" if block else f"config.selector.{key}"


def check_bound(where: str, value, bound: Bound) -> None:
    """Raises a ConfigError naming `where` unless `value` keeps `bound` (a value of the wrong
    type, which cannot be compared, does not)."""
    try:
        ok = bound.holds(value)
    except TypeError:
        ok = False
    if not ok:
        raise ConfigError(f"{where} must be {bound}, got {value!r}")


def check_bounds(cfg, block: str, bounds: dict) -> None:
    """Each `config.selector.<block>.<key>` keeps its bound (`bounds`: key -> Bound)."""
    for key, bound in bounds.items():
        check_bound(_where(block, key), cfg[key], bound)


def check_unread(cfg, block: str, declared: dict, why: str) -> None:
    """Every setting of `declared` at its default (locations aside): none is read, and `why`
    ends the message that names the first that differs."""
    for key, setting in declared.items():
        if not setting.location and cfg[key] != setting.default:
            raise ConfigError(f"{_where(block, key)} has no effect{why}")


def check_values(cfg, block: str, declared: dict) -> None:
    """Every value keeps its bound, and one that the mode leaves unread is at its default
    ("config.selector.model.heads has no effect with encoder='deepsets'")."""
    check_bounds(cfg, block, {k: s.bound for k, s in declared.items() if s.bound is not None})
    for key, setting in declared.items():
        off = [k for k, bound in setting.read_when.items() if not bound.holds(cfg[k])]
        if off:
            check_unread(cfg, block, {key: setting}, f" with {off[0]}={cfg[off[0]]!r}")


def check_keys(cfg, block: str, part: str, defaults: dict) -> None:
    """The block holds exactly `name` and the keys its part reads (`defaults`, which may
    hold `name` too: the embedder's)."""
    where = f"config.selector.{block}" if block else "config.selector"
    parts = block in ("model", "acquisition")
    hint = f"; choose parts with the config-file argument {block}=<name>" if parts else ""
    keys, declared = set(cfg.keys()) - {"name"}, set(defaults) - {"name"}
    read = ", ".join(sorted(declared)) or "nothing"
    unread, missing = sorted(keys - declared), sorted(declared - keys)
    if unread:
        raise ConfigError(f"{where}.{unread[0]} is not read by {part} (it reads: {read}){hint}")
    if missing:
        raise ConfigError(f"{where} lacks {missing[0]!r}, which {part} reads{hint}")
