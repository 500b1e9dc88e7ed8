"""MoPPS temporal decay λ ∈ {0.5 (reference countdown), 0.9, 1.0 (no forgetting)} on countdown."""

from experiments.sweeps import Sweep, cross, product


def get_sweep():
    return Sweep(
        name="mopps_decay",
        configs=("configs/countdown.py",),
        settings=tuple(
            cross(
                [{"selector": "mopps"}],
                product(**{"config.selector.model.beta.decay": [0.5, 0.9, 1.0]}),
            )
        ),
        seeds=(0, 1, 2),
    )
