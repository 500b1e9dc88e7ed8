"""Selector benchmark: `select` + `update` time per step over large pools, for every selector.

  python -m experiments.benchmarks.selectors [--pools=10000,100000,1000000] [--batch=256]

Pools are synthetic: random 256-d embeddings stand in for precomputed WordLlama ones, and
success counts are drawn at random (the selectors' work does not depend on their values).
DS's timing covers its selection logic only, with a stand-in rollout function; its real
cost is the rollouts it generates, which runs count in `rollouts`. One JSON object per line.
A selector's share of the step time in real runs is in `experiments.report`'s diagnostics.
Each pool size also times the reference a selector's cost is judged against: one jitted
[pool, 256] × [256, 64] float32 matmul (`"bench": "matmul"`), the least work a predictor
with a 64-wide first layer must do to score every prompt.
"""

import json
import time

import jax
import numpy as np
from absl import app, flags

from gps.testbed.rollout import Rollouts
from gps.testbed.sampling import Samples
from gps.selectors import SELECTORS, Pool, make_selector, selector_config

_POOLS = flags.DEFINE_list("pools", ["10000", "100000", "1000000"], "Pool sizes.")
flags.register_validator(
    "pools", lambda v: all(p.isdigit() and int(p) > 0 for p in v), "must be positive integers"
)
_BATCH = flags.DEFINE_integer("batch", 256, "Prompts per step (B).")
_STEPS = flags.DEFINE_integer("steps", 5, "Timed steps (after 2 warm-up steps).")
_SELECTORS = flags.DEFINE_list(
    "selectors", None, "Selectors (default: all registered, and gps-whole-pool)."
)
N_ROLLOUTS, DIM = 8, 256


def _stand_in_rollouts(rng):
    def rollout_fn(indices, key, counts=None):
        counts = np.full(len(indices), N_ROLLOUTS) if counts is None else np.asarray(counts)
        rewards = (rng.uniform(size=int(counts.sum())) < 0.3).astype(np.float32)
        samples = Samples(*(np.zeros((len(rewards), 1), np.float32) for _ in range(3)))
        return Rollouts(samples, rewards, counts, [""] * len(rewards))

    return rollout_fn


VARIANTS = {  # GPS scoring every prompt per step, with its default M = 4 draws of z and with 1
    "gps-whole-pool": ("gps", {"candidates": 0}),
    "gps-whole-pool-m1": ("gps", {"candidates": 0, "model.samples": 1}),
}


def _config(label: str):
    name, overrides = VARIANTS.get(label, (label, {}))
    config = selector_config(name)
    config.update_from_flattened_dict(overrides)
    return config


def time_selector(label: str, pool: Pool, batch: int, steps: int) -> dict:
    rng = np.random.default_rng(0)
    start = time.time()
    selector = make_selector(_config(label), pool, batch_size=batch, n_rollouts=N_ROLLOUTS)
    state = jax.block_until_ready(selector.init(jax.random.key(0)))
    build_s = time.time() - start
    rollout_fn, times = _stand_in_rollouts(rng), []
    for step in range(steps + 2):
        start = time.time()
        selection = selector.select(state, jax.random.key(step), rollout_fn)
        successes = rng.binomial(N_ROLLOUTS, 0.3, size=batch)
        state = selector.update(state, selection.indices, successes, np.full(batch, N_ROLLOUTS))
        jax.block_until_ready(state)
        times.append(time.time() - start)
    timed = np.array(times[2:])
    return {
        "bench": "selector",
        "selector": label,
        "pool": pool.size,
        "batch": batch,
        "select_update_s": float(np.median(timed)),
        "max_s": float(timed.max()),
        "build_s": build_s,
        "device": jax.devices()[0].device_kind,
    }


def time_matmul(embeddings: np.ndarray, steps: int, hidden: int = 64) -> dict:
    """Median time of one [N, D] × [D, hidden] float32 matmul, jitted, on the same machine."""
    x = jax.device_put(embeddings)
    w = jax.device_put(
        np.random.default_rng(1).normal(size=(x.shape[1], hidden)).astype(np.float32)
    )
    matmul = jax.jit(lambda a, b: a @ b)
    times = []
    for _ in range(steps + 2):
        start = time.time()
        jax.block_until_ready(matmul(x, w))
        times.append(time.time() - start)
    return {"bench": "matmul", "shape": [*x.shape, hidden], "s": float(np.median(times[2:]))}


def main(argv):
    del argv
    pools, batch, steps = [int(p) for p in _POOLS.value], _BATCH.value, _STEPS.value
    names = _SELECTORS.value or SELECTORS.names() + list(VARIANTS)
    rng = np.random.default_rng(0)
    for size in pools:
        embeddings = rng.normal(size=(size, DIM)).astype(np.float32)
        pool = Pool(tuple(map(str, range(size))), embeddings)
        print(json.dumps(time_matmul(embeddings, steps)), flush=True)
        for name in names:
            print(json.dumps(time_selector(name, pool, batch, steps)), flush=True)


if __name__ == "__main__":
    app.run(main)
