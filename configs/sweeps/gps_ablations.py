"""GPS ablations (method.md §2.4) on countdown `small`, 3 seeds, paired with default GPS.

No diversity (λ_div = 0), no inter-step term, a deterministic latent, M ∈ {1, 16} (4 is the
default), γ* ∈ {0.3, 0.7} (0.5 is the default), the predictor's training that ranked unseen prompts best for a fixed policy (replay 32, lr 1e-3, 4 SVI steps: results/selectors/predictor_tuning.md),
GPS's acquisition over the ridge baseline (`model=ridge`), and Uniform as the reference for
the target.
Countdown runs on its `small` testbed (2 layers, 200 steps); drop `:small` for the default
4-layer, 400-step testbed (about twice the CPU time).

python -m experiments.sweep configs/sweeps/gps_ablations.py --root=workdirs/sweeps
python -m experiments.report workdirs/sweeps/gps_ablations --paired_with=gps
"""

from experiments.sweeps import Sweep, chain, cross, product

_ACQ, _GPS = "config.selector.acquisition", "config.selector.model"


def get_sweep():
    gps = [{"selector": "gps"}]
    return Sweep(
        name="gps_ablations",
        configs=("configs/countdown.py:small",),
        settings=tuple(
            chain(
                gps,
                [{"selector": "uniform"}],
                cross(gps, product(**{f"{_ACQ}.diversity": [0.0]})),
                cross(gps, product(**{f"{_ACQ}.inter_step": ["none"]})),
                cross(gps, product(**{f"{_GPS}.latent": ["deterministic"]})),
                cross(gps, product(**{f"{_GPS}.samples": [1, 16]})),
                cross(gps, product(**{f"{_ACQ}.target": [0.3, 0.7]})),
                [{"selector": "gps", "model": "ridge"}],
                [
                    {
                        "selector": "gps",
                        f"{_GPS}.replay": 32,
                        f"{_GPS}.lr": 1e-3,
                        f"{_GPS}.svi_steps": 4,
                    }
                ],
            )
        ),
        seeds=(0, 1, 2),
    )
