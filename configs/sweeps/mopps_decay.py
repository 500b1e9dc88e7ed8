"""MoPPS temporal decay λ ∈ {0.5 (reference countdown), 0.9, 1.0 (no forgetting)} on countdown.

Countdown runs on its `small` testbed (2 layers, 200 steps), as the committed results did."""

from experiments.sweeps import Sweep, cross, product


def get_sweep():
    return Sweep(
        name="mopps_decay",
        configs=("configs/countdown.py:small",),
        settings=tuple(
            cross(
                [{"selector": "mopps"}],
                product(**{"config.selector.model.decay": [0.5, 0.9, 1.0]}),
            )
        ),
        seeds=(0, 1, 2),
    )
