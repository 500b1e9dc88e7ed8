"""How well a selector's difficulty model ranks prompts it has never seen, for a fixed policy.

  python -m experiments.studies.predictor_study --config=configs/countdown.py:small,selector=gps \
      [--config.selector.model.replay=64 ...] [--prompts=3000] [--steps=200] [--seeds=3]

A labelled study of the predictor alone, on real outcomes of a fixed policy (the config's
cached base model): `prompts` pool prompts are rolled out 16 times and the held-out eval
prompts k times, once (cached in --cache). The selector then runs `steps` steps as in the
trainer (its own candidates and acquisition), each selected prompt's outcome being 8 of its
16 rollouts drawn at random; every `every` steps its predictions on the held-out prompts are
compared with their observed rates (Spearman ρ, as `eval_pred_spearman` in a run). What it
leaves out: the policy improving during RL. Real runs measure that (eval.jsonl).
"""

import json
import os

import jax
import numpy as np
from absl import app, flags, logging
from ml_collections import config_flags

from gps.testbed import trainer
from gps.selectors import Pool, make_selector, method_label
from gps.selectors.diagnostics import spearman

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/countdown.py:small,selector=gps", "Config file."
)
_PROMPTS = flags.DEFINE_integer("prompts", 3000, "Pool prompts.")
_STEPS = flags.DEFINE_integer("steps", 200, "Selection steps.")
_EVERY = flags.DEFINE_integer("every", 25, "Steps between held-out measurements.")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Seeds of the selector and of the drawn outcomes.")
_CACHE = flags.DEFINE_string("cache", "cache/predictor_study", "Folder for the rollouts.")
_OUT = flags.DEFINE_string("out", None, "JSON lines file to append the result to.")

POOL_ROLLOUTS = 16


def outcomes(setup, problems, heldout, path: str):
    """Success counts of the base on the pool (of 16) and held-out rates (of eval.k), cached."""
    if os.path.exists(path):
        data = np.load(path)
        return data["pool"], data["heldout"]
    params, _ = trainer.base_model(setup, log=lambda *a: None)
    key = jax.random.fold_in(setup.keys["eval"], 7)
    engine, t = setup.engine, setup.config.rl.temperature
    pool = engine.generate(params, problems, POOL_ROLLOUTS, key, temperature=t).successes
    k = setup.config.eval.k
    rates = engine.generate(params, heldout, k, jax.random.fold_in(key, 1), temperature=t)
    heldout_rates = rates.successes / k
    os.makedirs(os.path.dirname(path), exist_ok=True)
    np.savez(path, pool=pool, heldout=heldout_rates)
    return pool, heldout_rates


def run_seed(
    config, pool, pool_successes, heldout_texts, heldout_rates, seed: int, steps: int, every: int
) -> list:
    """Held-out Spearman every `every` of `steps` steps of one selector run."""
    n = config.n_rollouts
    selector = make_selector(config.selector, pool, batch_size=config.batch_size, n_rollouts=n)
    state = selector.init(jax.random.key(seed))
    rng = np.random.default_rng(seed)
    curve = []
    for step in range(1, steps + 1):
        chosen = selector.select(state, jax.random.fold_in(jax.random.key(seed), step), None)
        good = pool_successes[chosen.indices]
        successes = rng.hypergeometric(good, POOL_ROLLOUTS - good, n)
        state = selector.update(state, chosen.indices, successes, np.full_like(successes, n))
        if step % every == 0:
            predicted = selector.predict_unseen(state, jax.random.key(step), heldout_texts)
            curve.append(spearman(predicted, heldout_rates))
    return curve


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every file it reads at INFO
    config, steps, every, seeds = _CONFIG.value, _STEPS.value, _EVERY.value, _SEEDS.value
    cache, out = _CACHE.value, _OUT.value
    setup = trainer.build(config)
    problems = setup.pool[: _PROMPTS.value]
    heldout = [p for name in sorted(setup.eval_sets) for p in setup.eval_sets[name]]
    name = f"{config.task.name}-seed{config.seed}-{len(problems)}.npz"
    pool_successes, heldout_rates = outcomes(setup, problems, heldout, os.path.join(cache, name))
    pool = Pool(tuple(p.text for p in problems))
    texts = [p.text for p in heldout]
    curves = np.array(
        [
            run_seed(config, pool, pool_successes, texts, heldout_rates, s, steps, every)
            for s in range(seeds)
        ],
        float,
    )
    result = {
        "task": config.task.name,
        "method": method_label(config.selector.to_dict()),
        "selector": config.selector.to_dict(),
        "steps": list(range(every, steps + 1, every)),
        "spearman_mean": np.nanmean(curves, 0).round(3).tolist(),
        "spearman_last_half": float(np.nanmean(curves[:, curves.shape[1] // 2 :])),
        "seeds": seeds,
    }
    print(
        f"{result['method']}: held-out Spearman by step {result['spearman_mean']}; "
        f"mean over the second half {result['spearman_last_half']:.3f} ({seeds} seeds)"
    )
    if out:
        with open(out, "a") as f:
            f.write(json.dumps(result) + "\n")


if __name__ == "__main__":
    app.run(main)
