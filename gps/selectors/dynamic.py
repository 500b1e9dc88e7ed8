"""DS, Dynamic Sampling (DAPO; method.md §2.2): the exact-evaluation oracle.

Each step draws rounds of `round_size` prompts (default B) the step has not drawn yet,
rolls them out with the current policy, and keeps those with 0 < s < n until B are kept.
After `max_rounds` rounds without B, it falls back to filling the batch with the drawn
prompts that were not informative (logged as `ds_fallback`), so a too-hard pool slows it
down but never stops the run. Every rollout generated counts towards the run's cost.
"""

import time

import jax
import numpy as np

from gps.errors import ConfigError
from gps.selectors.acquisition import random_subset
from gps.selectors import settings
from gps.selectors.base import SELECTORS, Selection, Selector


@SELECTORS.register("ds")
class DynamicSampling(Selector):
    defaults = {"round_size": 0, "max_rounds": 8}  # round_size 0: B prompts per round
    needs_rollouts = True

    @classmethod
    def check_config(cls, config):
        super().check_config(config)
        settings.check(config, "", "round_size", lambda v: v >= 0, ">= 0")
        settings.check(config, "", "max_rounds", lambda v: v >= 1, ">= 1")

    def __init__(self, config, pool, **kwargs):
        super().__init__(config, pool, **kwargs)
        if (config.round_size or self.batch_size) * config.max_rounds < self.batch_size:
            raise ConfigError(
                f"selector round_size × max_rounds must reach the batch size {self.batch_size}"
            )

    def init(self, key):
        return {}

    def select(self, state, key, rollout_fn):
        b, n = self.batch_size, self.n_rollouts
        round_size = min(self.config.round_size or b, self.pool.size)
        most = min(round_size * self.config.max_rounds, self.pool.size)  # prompts it may draw
        order = np.asarray(random_subset(jax.random.fold_in(key, 0), self.pool.size, most))
        drawn, parts, kept, rounds, rollout_s = [], [], [], 0, 0.0
        while len(kept) < b and rounds < self.config.max_rounds:
            start = rounds * round_size
            if start >= most:
                break
            indices = order[start : start + round_size]
            start_s = time.time()
            rollouts = rollout_fn(indices, jax.random.fold_in(key, rounds + 1))
            rollout_s += time.time() - start_s
            s = rollouts.successes
            kept += [len(drawn) + i for i in np.flatnonzero((s > 0) & (s < n))]
            drawn += indices.tolist()
            parts.append(rollouts)
            rounds += 1
        informative = set(kept)
        fallback = len(kept) < b
        if fallback:  # fill with drawn prompts that were all-correct or all-wrong
            kept += [i for i in range(len(drawn)) if i not in informative][: b - len(kept)]
        kept = np.asarray(kept[:b])
        from gps.rollout import take_prompts  # the policy stack: loaded only where DS runs

        generated = len(drawn) * n
        return Selection(
            np.asarray(drawn)[kept],
            rollouts=take_prompts(parts, kept),
            extra_rollouts=generated - b * n,
            rollout_s=rollout_s,
            info={"ds_rounds": rounds, "ds_fallback": fallback},
            note=f"dynamic sampling: {len(informative)} informative prompts in {rounds} rounds; "
            f"batch filled with {b - len(informative)} uninformative ones"
            if fallback
            else None,
        )
