"""The field side by side (docs/method.md §2.5): every registered selector on one testbed.

First evidence: one seed of each on countdown `small` (2 layers, 200 steps, pool
10,000, B = 32, n = 8: about 0.6 visits per prompt). Uniform, DS, MoPPS and GPS run too,
so the report has its reference and target. The full comparison (more seeds, both tasks,
both regimes) reuses this list of selectors.

python -m experiments.sweeps configs/sweeps/field.py --root=workdirs/sweeps --workers=2
python -m experiments.report workdirs/sweeps/field --paired_with=uniform
"""

from experiments.sweeps import Sweep, product

BASELINES = ["uniform", "ds", "mopps", "gps"]
FIELD = ["balanced", "greso", "speed", "pcl", "insight", "mapp", "knapsack", "cures", "dump"]
OURS = ["gps-alloc"]


def get_sweep():
    return Sweep(
        name="field",
        configs=("configs/countdown.py:small",),
        settings=tuple(product(selector=BASELINES + FIELD + OURS)),
        seeds=(0,),
    )
