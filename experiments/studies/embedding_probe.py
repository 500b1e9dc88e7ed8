"""How much of a policy's per-prompt success rate prompt embeddings can predict at all.

  python -m experiments.studies.embedding_probe [--config=configs/countdown.py] [--prompts=3000]

Rolls out the config's base model n times on the first `prompts` pool prompts, then fits
a ridge regression from the standardized WordLlama embeddings to the success rates on
two thirds and reports Spearman ρ on the rest, next to the ρ of the prompts' family
label alone. An upper-reference for GPS's predictor, which sees the same embeddings.
"""

import json

import jax
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from gps.testbed import trainer
from gps.selectors import embeddings as embeddings_lib
from gps.selectors.diagnostics import spearman

_CONFIG = config_flags.DEFINE_config_file("config", "configs/countdown.py", "Config file.")
_PROMPTS = flags.DEFINE_integer("prompts", 3000, "Pool prompts rolled out.")
_RIDGE = flags.DEFINE_float("ridge", 1.0, "L2 penalty of the regression.")


def ridge_spearman(x, y, train: slice, test: slice, penalty: float) -> float:
    a, target = x[train], y[train] - y[train].mean()
    w = np.linalg.solve(a.T @ a + penalty * np.eye(a.shape[1]), a.T @ target)
    return spearman(x[test] @ w, y[test])


def main(argv):
    del argv
    config = _CONFIG.value
    setup = trainer.build(config)
    params, _ = trainer.base_model(setup, log=lambda *a: None)
    problems = setup.pool[: _PROMPTS.value]
    rollouts = trainer.sample_rollouts(
        setup, params, problems, jax.random.fold_in(setup.keys["eval"], 99)
    )
    rates = rollouts.rewards_table().mean(axis=1)
    raw = embeddings_lib.embed([p.text for p in problems], config.selector.embedding.dim)
    x = embeddings_lib.standardize(raw, raw.mean(0))
    cut = 2 * len(problems) // 3
    train, test = slice(0, cut), slice(cut, None)
    families = sorted({p.family for p in problems})
    family = np.array([-families.index(p.family) for p in problems], float)
    print(
        json.dumps(
            {
                "prompts": len(problems),
                "n": config.n_rollouts,
                "mean_rate": float(rates.mean()),
                "ridge_spearman_test": ridge_spearman(x, rates, train, test, _RIDGE.value),
                "family_spearman_test": spearman(family[test], rates[test]),
                "families": families,
            }
        )
    )


if __name__ == "__main__":
    app.run(main)
