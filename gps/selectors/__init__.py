"""Prompt selectors behind one interface; importing a module registers what it defines."""

from gps.selectors import (  # noqa: F401  (registration)
    dump,
    dynamic,
    gps_predictor,
    posterior_acquisitions,
    predictive,
)
from gps.selectors.acquisition import ACQUISITIONS, AcquisitionInputs
from gps.selectors.base import SELECTORS, Pool, Selection, Selector, make_selector
from gps.selectors.difficulty import DIFFICULTY_MODELS, DifficultyModel
from gps.selectors.presets import check_selector_config, method_label, selector_config
from gps.selectors.prompt_selector import PromptSelector, successes_from_rewards

__all__ = [
    "ACQUISITIONS",
    "DIFFICULTY_MODELS",
    "SELECTORS",
    "AcquisitionInputs",
    "DifficultyModel",
    "Pool",
    "PromptSelector",
    "Selection",
    "Selector",
    "check_selector_config",
    "make_selector",
    "method_label",
    "selector_config",
    "successes_from_rewards",
]
