"""What a policy writes: sampled completions and per-family success rates on held-out prompts.

  python -m experiments.samples --config=configs/arithmetic.py [--show=6]   # the base model
  python -m experiments.samples --workdir=WORKDIR                            # a run's policy

Draws `--size` fresh held-out prompts over the task's families (a "samples" split, disjoint
from every train split), `--k` samples each at the config's evaluation temperature, and
prints each family's mean@k and pass@k, then `--show` prompts per family with their
completions and rewards. The config's seed fixes prompts and samples.
"""

import sys

import jax
from absl import app, flags
from ml_collections import config_flags

from gps.errors import GPSError
from gps.testbed import trainer
from gps.testbed.evaluation import pass_rate_report

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Config file (its cached base model is sampled).", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", None, "A run whose latest checkpoint is sampled.")
_SIZE = flags.DEFINE_integer("size", 512, "Held-out prompts, over all families.")
_K = flags.DEFINE_integer("k", 8, "Samples per prompt.")
_SHOW = flags.DEFINE_integer("show", 4, "Prompts per family printed with their completions.")

SAMPLES_STREAM = 1  # folded into the config's eval key: not the stream evaluations use


def policy(config, workdir: str | None):
    """(setup, params) of `workdir`'s latest checkpoint, or of `config`'s base model."""
    if (workdir is None) == (config is None):
        raise app.UsageError("give exactly one of --config and --workdir")
    if workdir is not None:
        run = trainer.load_run(workdir, log=lambda *a: None)
        return run.setup, run.params
    setup = trainer.build(config)
    params, _ = trainer.base_model(setup)
    return setup, params


def samples_report(setup, params, size: int, k: int, show: int) -> str:
    """Per family: mean@k and pass@k over `size` fresh held-out prompts, then `show` of the
    prompts with their k completions, each prefixed by its reward."""
    config = setup.config
    problems = setup.task.make_split(config.seed, "eval-samples", size)
    rollouts = setup.engine.generate(
        params,
        problems,
        k,
        jax.random.fold_in(setup.keys["eval"], SAMPLES_STREAM),
        temperature=config.eval.temperature,
    )
    lines = []
    for family in setup.task.families:
        rows = [i for i, p in enumerate(problems) if p.family == family]
        if not rows:
            continue
        rates = pass_rate_report(rollouts.successes[rows], k)
        lines.append(
            f"{family}: mean@{k} {rates['mean']:.3f} pass@{k} {rates['pass']:.3f} "
            f"over {len(rows)} prompts"
        )
        for i in rows[:show]:
            lines.append(f"  {problems[i].prompt}  answer {problems[i].answer}")
            completions = rollouts.completions[i * k : (i + 1) * k]
            lines += [
                f"    {int(r)} {c!r}" for c, r in zip(completions, rollouts.rewards_table()[i])
            ]
    return "\n".join(lines)


def main(argv):
    del argv
    try:
        setup, params = policy(_CONFIG.value, _WORKDIR.value)
    except GPSError as e:
        sys.exit(f"error: {e}")
    print(samples_report(setup, params, _SIZE.value, _K.value, _SHOW.value))


if __name__ == "__main__":
    app.run(main)
