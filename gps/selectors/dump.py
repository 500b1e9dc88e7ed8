"""DUMP (ZhentingWang/DUMP, verl/utils/curriculum_learning.py; docs/method.md §2.5): a bandit over
data distributions, here the task families. Each family keeps the |advantage| of its last
`window` rollouts and how often it was drawn; UCB_d = mean |Â| + √(2 ln(Σ n + 1)/(n_d + 1)),
and each batch slot draws a family with probability softmax(UCB / temperature), then a
prompt of it uniformly (distinct prompts; a family drawn more often than it has prompts
passes its slots to the others). Host-side numpy over a handful of families.
"""

import jax
import numpy as np

from gps.errors import ConfigError
from gps.selectors.base import SELECTORS, Selection, Selector
from gps.selectors.settings import Above, AtLeast, Setting


def rollout_abs_advantages(successes: float, n: int) -> np.ndarray:
    """|Â| of each of a group's n rollouts (GRPO's group-normalised advantage, population
    std): (1−p)/σ for the s successes, p/σ for the failures; zeros when σ = 0."""
    p = successes / n
    sigma = np.sqrt(p * (1 - p))
    if sigma == 0:
        return np.zeros(n)
    return np.where(np.arange(n) < successes, (1 - p) / sigma, p / sigma)


def ucb(mean_abs_advantage, pulls) -> np.ndarray:
    """UCB_d = mean |Â|_d + √(2 ln(Σ n + 1) / (n_d + 1))."""
    pulls = np.asarray(pulls, np.float64)
    return np.asarray(mean_abs_advantage) + np.sqrt(2 * np.log(pulls.sum() + 1) / (pulls + 1))


@SELECTORS.register("dump")
class Dump(Selector):
    settings = {"window": Setting(300, AtLeast(1)), "temperature": Setting(0.1, Above(0))}

    def __init__(self, config, pool, **kwargs):
        super().__init__(config, pool, **kwargs)
        if pool.groups is None:
            raise ConfigError("selector 'dump' needs each prompt's group (task family)")
        self.arms, self.arm_of = np.unique(np.asarray(pool.groups), return_inverse=True)
        self.members = [np.flatnonzero(self.arm_of == a) for a in range(len(self.arms))]

    def init(self, key):
        a = len(self.arms)
        return {
            "values": np.zeros((a, self.config.window), np.float32),  # a ring of |Â| per arm
            "filled": np.zeros(a, np.int32),  # values held (≤ window)
            "next": np.zeros(a, np.int32),  # where the next value goes
            "pulls": np.zeros(a, np.int32),  # prompts drawn from the arm
        }

    def scores(self, state) -> np.ndarray:
        held = np.arange(self.config.window)[None, :] < state["filled"][:, None]
        sums = np.where(held, state["values"], 0.0).sum(1)
        return ucb(sums / np.maximum(state["filled"], 1), state["pulls"])

    def select(self, state, key, rollout_fn):
        u = self.scores(state) / self.config.temperature
        weights = np.exp(u - u.max())
        k_arms, k_prompts = jax.random.split(key)
        slots = np.asarray(
            jax.random.choice(k_arms, len(self.arms), (self.batch_size,), p=weights / weights.sum())
        )
        wanted = np.bincount(slots, minlength=len(self.arms))
        rng = np.random.default_rng(np.asarray(jax.random.key_data(k_prompts)))
        order = [rng.permutation(m) for m in self.members]
        chosen = [order[a][: wanted[a]] for a in range(len(self.arms))]
        short = self.batch_size - sum(len(c) for c in chosen)  # arms with too few prompts
        if short:
            rest = np.concatenate([order[a][wanted[a] :] for a in range(len(self.arms))])
            chosen.append(rng.permutation(rest)[:short])
        indices = np.concatenate(chosen).astype(np.int64)
        return Selection(indices, info={"dump_arms_drawn": float((wanted > 0).sum())})

    def update(self, state, indices, successes, trials):
        state = {k: np.array(v) for k, v in state.items()}
        window = self.config.window
        for i, s, n in zip(np.asarray(indices), np.asarray(successes), np.asarray(trials)):
            if n <= 0:
                continue
            a = self.arm_of[i]
            for value in rollout_abs_advantages(float(s), int(n)):
                state["values"][a, state["next"][a]] = value
                state["next"][a] = (state["next"][a] + 1) % window
                state["filled"][a] = min(state["filled"][a] + 1, window)
            state["pulls"][a] += 1
        return state
