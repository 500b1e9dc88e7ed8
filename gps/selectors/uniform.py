"""Uniform selection (method.md §2.1): B prompts uniformly without replacement."""

import jax
import numpy as np

from gps.selectors.base import Selection, Selector, register


@register("uniform")
class Uniform(Selector):
    def init(self, key):
        return {}

    def select(self, state, key, batch_size, rollout_fn):
        return Selection(
            np.asarray(jax.random.choice(key, self.pool.size, (batch_size,), replace=False))
        )
