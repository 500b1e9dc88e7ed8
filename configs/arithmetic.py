"""Multi-step arithmetic RL with graded difficulty (2-3 operands of 1-2 digits).

Tuned in results/testbed/README.md ("Arithmetic tuning"): 2-3 operands keep completions at
<= 39 tokens; RL at countdown's learning rate (2e-4) lowers accuracy here, 5e-5 raises it.
Even an all-correct warm-up leaves 2-digit products beyond the 2-layer policy, so the
noisy-demonstration base (the default) is kept: it leaves RL more room.

  python run.py --config=configs/arithmetic.py --workdir=workdirs/arith
  python run.py --config=configs/arithmetic.py:smoke --workdir=/tmp/arith  # seconds

Arguments: selector=<name> (default uniform), model=<name> and acquisition=<name> (replace
the selector's parts, with their defaults), regime=revisit|cold (the pool sized for ~15 or
~0.64 visits per prompt: gps/testbed/config.py REGIMES; default: 10,000 prompts), smoke (shrinks
everything).
"""

from gps.testbed import config as config_lib

_FAMILIES = tuple(f"arith-{k}x{d}" for k in (2, 3) for d in (1, 2))


def get_config(arg=None):
    arg = config_lib.parse_arg(
        arg, selector="uniform", model="", acquisition="", regime="", smoke=False
    )
    c = config_lib.base_config()
    c.task.name = "arithmetic"
    c.task.options.operands = (2, 3)
    c.task.options.digits = (1, 2)
    c.task.eval_sets.all = config_lib.eval_set(_FAMILIES, 256)
    c.task.eval_sets.hard = config_lib.eval_set(("arith-3x2",), 256)
    c.rl.lr = 5e-5
    config_lib.apply_regime(c, arg.regime)
    c.selector = config_lib.selector_config(arg.selector, arg.model, arg.acquisition)
    if arg.smoke:
        config_lib.apply_smoke(c)
    return c
