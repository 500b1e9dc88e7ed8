"""GPS ablations (docs/method.md §2.4) on countdown `small`, 3 seeds, paired with default GPS.

No diversity (λ_div = 0), no inter-step term, a deterministic latent, M ∈ {1, 16} (4 is the
default), γ* ∈ {0.3, 0.7} (0.5 is the default), the predictor's training that ranked unseen prompts
best for a fixed policy (replay 32, lr 1e-3, 4 SVI steps: results/selectors/predictor_tuning.md),
GPS's acquisition over the ridge baseline (`model=ridge`), and Uniform as the reference for
the target.
Countdown runs on its `small` testbed (2 layers, 200 steps); drop `:small` for the default
4-layer, 400-step testbed (about twice the CPU time).

python -m experiments.sweeps configs/sweeps/gps_ablations.py --root=workdirs/sweeps
python -m experiments.report workdirs/sweeps/gps_ablations --paired_with=gps

With a regime (`gps_ablations.py:revisit`): the same ablations and the set encoder
(`encoder=deepsets`) and MoPPS's decay λ ∈ {0.9, 1.0}, 5 seeds, in that regime. Default GPS,
Uniform and MoPPS (λ = 0.5) are left out: they are the regime sweep's own runs (same
configs), which the report takes beside this sweep's:

python -m experiments.sweeps configs/sweeps/gps_ablations.py:revisit --root=workdirs/sweeps
python -m experiments.report workdirs/sweeps/gps_ablations-revisit \
    workdirs/sweeps/revisit/countdown/selector=gps \
    workdirs/sweeps/revisit/countdown/selector=uniform \
    workdirs/sweeps/revisit/countdown/selector=mopps --paired_with=gps
"""

from experiments.sweeps import Sweep, chain, cross, product
from gps.testbed.config import REGIMES
from gps.errors import ConfigError

_ACQ, _GPS = "config.selector.acquisition", "config.selector.model"


def get_sweep(regime: str = ""):
    gps = [{"selector": "gps"}]
    ablations = chain(
        cross(gps, product(**{f"{_ACQ}.diversity": [0.0]})),
        cross(gps, product(**{f"{_ACQ}.inter_step": ["none"]})),
        cross(gps, product(**{f"{_GPS}.latent": ["deterministic"]})),
        cross(gps, product(**{f"{_GPS}.samples": [1, 16]})),
        cross(gps, product(**{f"{_ACQ}.target": [0.3, 0.7]})),
        [{"selector": "gps", "model": "ridge"}],
        [{"selector": "gps", f"{_GPS}.replay": 32, f"{_GPS}.lr": 1e-3, f"{_GPS}.svi_steps": 4}],
    )
    if regime and regime not in REGIMES:
        raise ConfigError(f"unknown regime {regime!r}; known: {', '.join(REGIMES)}")
    if not regime:
        return Sweep(
            name="gps_ablations",
            configs=("configs/countdown.py:small",),
            settings=tuple(chain(gps, [{"selector": "uniform"}], ablations)),
            seeds=(0, 1, 2),
        )
    return Sweep(
        name=f"gps_ablations-{regime}",
        configs=(f"configs/countdown.py:small,regime={regime}",),
        settings=tuple(
            chain(
                ablations,
                cross(gps, product(**{f"{_GPS}.encoder": ["deepsets"]})),
                cross([{"selector": "mopps"}], product(**{f"{_GPS}.decay": [0.9, 1.0]})),
            )
        ),
        seeds=(0, 1, 2, 3, 4),
    )
