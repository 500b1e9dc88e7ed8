"""Does GPS's history-anchored diversity change the batch, before and after the predictor learns?

  python -m experiments.studies.diversity_probe [--config=configs/countdown.py:small,selector=gps]
      [--prompts=2000] [--steps=60] [--seeds=3] [--out=results/selectors/diversity_probe.json]

A labelled study of the acquisition alone (outcomes are synthetic, no policy): the config's
countdown pool with its WordLlama embeddings; each prompt's true success rate is
σ(family logit + N(0, 1)) (cd3 easier than cd4). GPS selects with its config and learns from
Binomial(n) outcomes for `steps` steps. At every step the same selector state and key are also
given to the acquisition with λ_div = 0, and the two batches are compared: the share of the
batch that differs, each batch's mean pairwise cosine distance (standardized embeddings, as
the selector sees them) and its Σu (what diversity costs in predicted informativeness).
Reported over steps 1-5 (flat predictions) and 21-`steps` (the predictor has learnt), per
seed.
"""

import json

import jax
import numpy as np
from absl import app, flags
from ml_collections import config_flags

from gps.testbed import trainer
from gps.selectors import ACQUISITIONS, Pool, make_selector

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/countdown.py:small,selector=gps", "Config file (a GPS selector)."
)
_PROMPTS = flags.DEFINE_integer("prompts", 2000, "Pool prompts.")
_STEPS = flags.DEFINE_integer("steps", 60, "Selection steps.")
_SEEDS = flags.DEFINE_integer("seeds", 3, "Seeds (outcomes and selection keys).")
_OUT = flags.DEFINE_string("out", None, "JSON file for the results.")

FAMILY_LOGIT = {"cd3": -0.5, "cd4": -2.5}  # mean logits of the true rates: cd3 easier
PHASES = {"flat (steps 1-5)": (1, 5), "learnt (steps 21+)": (21, None)}


def mean_pairwise_distance(embeddings: np.ndarray, picks: np.ndarray) -> float:
    e = embeddings[picks]
    b = len(picks)
    return float((1 - e @ e.T)[np.triu_indices(b, 1)].mean())


def probe(config, pool: Pool, true_rates: np.ndarray, seed: int, steps: int) -> list[dict]:
    """Per step: share of the batch changed by diversity, and both batches' spread."""
    selector = make_selector(
        config.selector, pool, batch_size=config.batch_size, n_rollouts=config.n_rollouts
    )
    without = config.selector.copy_and_resolve_references()
    without.acquisition.diversity = 0.0  # and what only diversity reads, at its defaults
    for key, setting in ACQUISITIONS.get(without.acquisition.name).settings.items():
        if "diversity" in setting.read_when:
            without.acquisition[key] = setting.default
    plain = make_selector(without, pool, batch_size=config.batch_size, n_rollouts=config.n_rollouts)
    embeddings = np.asarray(selector.embeddings)
    rng = np.random.default_rng(seed)
    state = selector.init(jax.random.key(seed))
    records = []
    for step in range(1, steps + 1):
        key = jax.random.fold_in(jax.random.key(seed), step)
        chosen = selector.select(state, key, None)
        without = plain.select(state, key, None)
        reference = without.indices
        records.append(
            {
                "step": step,
                "changed": 1 - len(np.intersect1d(chosen.indices, reference)) / len(reference),
                "distance": mean_pairwise_distance(embeddings, chosen.indices),
                "distance_without": mean_pairwise_distance(embeddings, reference),
                "u_without": without.info["batch_u"],
                **chosen.info,
            }
        )
        successes = rng.binomial(config.n_rollouts, true_rates[chosen.indices])
        trials = np.full_like(successes, config.n_rollouts)
        state = selector.update(state, chosen.indices, successes, trials)
    return records


def summarise(records: list[dict]) -> dict:
    out = {}
    for phase, (first, last) in PHASES.items():
        rows = [r for r in records if r["step"] >= first and (last is None or r["step"] <= last)]
        out[phase] = {
            key: float(np.mean([r[key] for r in rows]))
            for key in (
                "changed",
                "distance",
                "distance_without",
                "batch_u",
                "u_without",
                "batch_overlap",
            )
        }
    return out


def main(argv):
    del argv
    config, steps, seeds, out = _CONFIG.value, _STEPS.value, _SEEDS.value, _OUT.value
    setup = trainer.build(config)
    problems = setup.pool[: _PROMPTS.value]
    pool = Pool(tuple(p.text for p in problems))
    results = []
    for seed in range(seeds):
        rng = np.random.default_rng(1000 + seed)
        logits = np.array([FAMILY_LOGIT[p.family] for p in problems]) + rng.normal(
            size=len(pool.texts)
        )
        summary = summarise(probe(config, pool, 1 / (1 + np.exp(-logits)), seed, steps))
        results.append({"seed": seed, **summary})
        for phase, numbers in summary.items():
            print(
                f"seed {seed} {phase:20s} changed {numbers['changed']:.3f}  mean pairwise distance "
                f"{numbers['distance']:.4f} (λ_div=0: {numbers['distance_without']:.4f})  "
                f"Σu {numbers['batch_u']:.3f} (λ_div=0: {numbers['u_without']:.3f})  "
                f"overlap with recent batches {numbers['batch_overlap']:.3f}"
            )
    report = {
        "config": {
            "acquisition": config.selector.acquisition.to_dict(),
            "batch_size": config.batch_size,
        },
        "prompts": len(pool.texts),
        "steps": steps,
        "family_logit": FAMILY_LOGIT,
        "seeds": results,
    }
    if out:
        with open(out, "w") as f:
            json.dump(report, f, indent=1)


if __name__ == "__main__":
    app.run(main)
