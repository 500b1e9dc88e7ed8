"""The main table in the papers' two regimes: every registered selector on
countdown `small` and arithmetic, with the RL pool sized for ~15 visits per prompt (`revisit`,
as MoPPS's Countdown scripts) or ~0.64 (`cold`, DeepScaleR-like; the earlier main table's
10,000-prompt pool). The core rows get 5 seeds, every other selector 3.

python -m experiments.sweeps configs/sweeps/regimes.py:revisit --root=workdirs/sweeps --workers=2
python -m experiments.report workdirs/sweeps/revisit --paired_with=uniform
"""

from experiments.sweeps import Sweep, product
from gps.testbed.config import REGIMES
from gps.errors import ConfigError
from gps.selectors import SELECTORS

# Uniform, DS, MoPPS, GPS and the project's gps-alloc, and the three field selectors with the
# highest held-out CD34 mean@8 over the run, paired with Uniform, in the field sweep's first
# evidence (results/field/, one seed): speed, greso, balanced (all DS-like, 3-8× the rollouts).
CORE = ["uniform", "ds", "mopps", "gps", "gps-alloc", "speed", "greso", "balanced"]


def get_sweep(regime: str):
    if regime not in REGIMES:
        raise ConfigError(f"unknown regime {regime!r}; known: {', '.join(REGIMES)}")
    configs = (
        f"configs/countdown.py:small,regime={regime}",
        f"configs/arithmetic.py:regime={regime}",
    )
    others = [name for name in SELECTORS.names() if name not in CORE]
    return (
        Sweep(regime, configs, tuple(product(selector=CORE)), seeds=(0, 1, 2, 3, 4)),
        Sweep(regime, configs, tuple(product(selector=others)), seeds=(0, 1, 2)),
    )
