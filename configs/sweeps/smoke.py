"""Two tiny runs (seconds each): checks the sweep machinery end to end."""

from experiments.sweeps import Sweep, product


def get_sweep():
    return Sweep(
        name="smoke",
        configs=("configs/countdown.py",),
        settings=tuple(product(selector=["uniform", "mopps"], smoke=[True])),
        seeds=(0,),
    )
