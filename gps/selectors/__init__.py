"""Prompt selectors behind one interface; importing a module registers its selector."""

from gps.selectors import uniform  # noqa: F401  (registers "uniform")
from gps.selectors.base import (
    Pool,
    Selection,
    Selector,
    check_selector_name,
    make_selector,
    register,
)

__all__ = ["Pool", "Selection", "Selector", "check_selector_name", "make_selector", "register"]
