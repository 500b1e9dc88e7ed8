"""The main table: Uniform, DS, MoPPS and GPS on both task families, 3 seeds.

Countdown runs on its `small` testbed (2 layers, 200 steps), as the committed results did;
drop `:small` for the default 4-layer, 400-step testbed (about twice the CPU time).

python -m experiments.sweeps configs/sweeps/main.py --root=workdirs/sweeps
python -m experiments.report workdirs/sweeps/main
"""

from experiments.sweeps import Sweep, product


def get_sweep():
    return Sweep(
        name="main",
        configs=("configs/countdown.py:small", "configs/arithmetic.py"),
        settings=tuple(product(selector=["uniform", "ds", "mopps", "gps"])),
        seeds=(0, 1, 2),
    )
