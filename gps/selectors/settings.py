"""Selector config blocks: each part (selector, difficulty model, acquisition) owns the keys
it reads; a block holding a key its part does not read, or a value out of range, is an error
that names it (a setting that silently does nothing would make an ablation meaningless)."""

from typing import Callable

from gps.errors import ConfigError


def check(cfg, block: str, key: str, ok: Callable, must: str) -> None:
    """Raises a ConfigError naming `config.selector.<block>.<key>` unless `ok(value)`."""
    value = cfg[key]
    if not ok(value):
        where = f"config.selector.{block}.{key}" if block else f"config.selector.{key}"
        raise ConfigError(f"{where} must be {must}, got {value!r}")


def check_keys(cfg, block: str, part: str, defaults: dict) -> None:
    """The block holds exactly `name` and the keys its part reads."""
    where = f"config.selector.{block}" if block else "config.selector"
    hint = f"; choose parts with the config-file argument {block}=<name>" if block else ""
    keys = set(cfg.keys()) - {"name"}
    read = ", ".join(sorted(defaults)) or "nothing"
    unread, missing = sorted(keys - set(defaults)), sorted(set(defaults) - keys)
    if unread:
        raise ConfigError(f"{where}.{unread[0]} is not read by {part} (it reads: {read}){hint}")
    if missing:
        raise ConfigError(f"{where} lacks {missing[0]!r}, which {part} reads{hint}")
