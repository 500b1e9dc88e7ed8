"""Multi-step arithmetic RL with graded difficulty (2-4 operands of 1-2 digits).

Not tuned yet: it uses the countdown defaults for model, warm-up and RL. Its sequences are
up to ~2x countdown's (up to 3 written steps), so expect up to ~2x the time per step.

  python run.py --config=configs/arithmetic.py --workdir=workdirs/arith
  python run.py --config=configs/arithmetic.py:smoke --workdir=/tmp/arith  # seconds

Arguments: selector=<name> (default uniform), smoke (shrinks everything).
"""

from gps import config as config_lib


def get_config(arg=None):
    arg = config_lib.parse_arg(arg, selector="uniform", smoke=False)
    c = config_lib.base_config()
    c.task.name = "arithmetic"
    c.task.options.operands = (2, 3, 4)
    c.task.options.digits = (1, 2)  # 3-digit operands make sequences ~2x longer
    c.task.eval_sets.all = config_lib.eval_set(
        tuple(f"arith-{k}x{d}" for k in (2, 3, 4) for d in (1, 2)), 256
    )
    c.task.eval_sets.hard = config_lib.eval_set(("arith-4x2", "arith-3x2"), 256)
    c.selector = config_lib.selector_config(arg.selector)
    if arg.smoke:
        config_lib.apply_smoke(c)
    return c
