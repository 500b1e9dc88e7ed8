"""Countdown RL (train pool CD34; eval sets CD34 and CD4), one selector.

  python run.py --config=configs/countdown.py --workdir=workdirs/cd
  python run.py --config=configs/countdown.py:selector=uniform,smoke --workdir=/tmp/cd  # seconds

The default policy has 4 layers and RL runs 400 steps: the smallest budget tried on which
Uniform selection lifts held-out CD34 mean@8 by 10 points over the base, averaged over 3
seeds (+9.7 to +10.8; results/testbed/README.md, tuneN). `small` is the earlier 2-layer, 200-step
testbed (about half the CPU time, RL gain ≈ 7 points) on which the committed selector
comparisons were run.

Arguments: selector=<name> (default uniform), model=<name> and acquisition=<name> (replace
the selector's parts, with their defaults), regime=revisit|cold (the pool sized for ~15 or
~0.64 visits per prompt at the config's steps: gps/testbed/config.py REGIMES; default: 10,000
prompts), small (2 layers, 200 steps), smoke (shrinks everything).
"""

from gps.testbed import config as config_lib


def get_config(arg=None):
    arg = config_lib.parse_arg(
        arg,
        selector="uniform",
        model="",
        acquisition="",
        regime="",
        small=False,
        smoke=False,
    )
    c = config_lib.base_config()
    c.task.name = "countdown"
    c.task.options.max_number = 20  # operands are drawn from 1..max_number
    c.task.options.max_target = 100  # targets are reachable values in 1..max_target
    c.task.train_families = ("cd3", "cd4")
    c.task.eval_sets.cd34 = config_lib.eval_set(("cd3", "cd4"), 256)
    c.task.eval_sets.cd4 = config_lib.eval_set(("cd4",), 256)
    c.model.n_layers = 2 if arg.small else 4
    c.steps = 200 if arg.small else 400
    config_lib.apply_regime(c, arg.regime)
    c.selector = config_lib.selector_config(arg.selector, arg.model, arg.acquisition)
    if arg.smoke:
        config_lib.apply_smoke(c)
    return c
