"""The main table: Uniform, DS, MoPPS and GPS on both task families, 3 seeds.

python -m experiments.sweep configs/sweeps/main.py --root=workdirs/sweeps
python -m experiments.report workdirs/sweeps/main
"""

from experiments.sweeps import Sweep, product


def get_sweep():
    return Sweep(
        name="main",
        configs=("configs/countdown.py", "configs/arithmetic.py"),
        settings=tuple(product(selector=["uniform", "ds", "mopps", "gps"])),
        seeds=(0, 1, 2),
    )
