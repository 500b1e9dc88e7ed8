"""DS, Dynamic Sampling (DAPO; docs/method.md §2.2): the exact-evaluation oracle, and `balanced`,
DS with a band (balanced online difficulty filtering, arXiv 2504.03380; docs/method.md §2.5).

Each step draws rounds of `round_size` prompts (default B) the step has not drawn yet,
rolls them out with the current policy, and keeps those with 0 < s < n (balanced: with
lo ≤ s/n ≤ hi) until B are kept.
After `max_rounds` rounds without B, it falls back to filling the batch with the drawn
prompts that were not informative (logged as `ds_fallback`), so a too-hard pool slows it
down but never stops the run. Every rollout generated counts towards the run's cost.
"""

import jax
import numpy as np

from gps.errors import ConfigError
from gps.selectors.acquisition import random_subset
from gps.selectors.settings import AtLeast, Band, Between, Setting
from gps.selectors.base import SELECTORS, Screening, Selection, Selector


@SELECTORS.register("ds")
class DynamicSampling(Selector):
    settings = {
        "round_size": Setting(0, AtLeast(0)),  # 0: B prompts per round
        "max_rounds": Setting(8, AtLeast(1)),
    }
    needs_rollouts = True

    def __init__(self, config, pool, **kwargs):
        super().__init__(config, pool, **kwargs)
        if (config.round_size or self.batch_size) * config.max_rounds < self.batch_size:
            raise ConfigError(
                f"selector round_size × max_rounds must reach the batch size {self.batch_size}"
            )

    def init(self, key):
        return {}

    def keeps(self, successes: np.ndarray, n: int) -> np.ndarray:
        """Which rolled-out prompts go into the batch: the informative ones, 0 < s < n."""
        return (successes > 0) & (successes < n)

    def round_size(self, rounds: int, kept: int, zero_share: float) -> int:
        """Prompts drawn in the next round: `round_size` (B by default) every time."""
        return self.config.round_size or self.batch_size

    def draw_limit(self) -> int:
        """Prompts a step may draw: `max_rounds` rounds' worth."""
        return min(self.round_size(0, 0, 0.0) * self.config.max_rounds, self.pool.size)

    def survivors(self, state, candidates: np.ndarray, key) -> np.ndarray:
        """The drawn prompts that are rolled out: all of them."""
        return candidates

    def screen_rollouts(self) -> int:
        """Rollouts per drawn prompt in a round: n (all of them, trained on when kept)."""
        return self.n_rollouts

    def complete(self, rollouts, indices, key, rollout_fn):
        """The kept prompts' training rollouts from their round's: those, as they are."""
        return rollouts

    def select(self, state, key, rollout_fn):
        b, n = self.batch_size, self.screen_rollouts()
        limit = self.draw_limit()
        order = np.asarray(random_subset(jax.random.fold_in(key, 0), self.pool.size, limit))
        drawn, parts, kept, rounds, position = [], [], [], 0, 0

        def roll_out(indices, stream):
            rollouts = rollout_fn(
                indices, jax.random.fold_in(key, stream), np.full(len(indices), n)
            )
            kept.extend(len(drawn) + i for i in np.flatnonzero(self.keeps(rollouts.successes, n)))
            drawn.extend(indices.tolist())
            parts.append(rollouts)

        while len(kept) < b and rounds < self.config.max_rounds and position < len(order):
            zero_share = 1 - len(kept) / len(drawn) if drawn else 0.0
            size = self.round_size(rounds, len(kept), zero_share)
            candidates = order[position : position + size]
            position += size
            rounds += 1
            indices = self.survivors(state, candidates, jax.random.fold_in(key, 10_000 + rounds))
            if len(indices):
                roll_out(indices, rounds)
        forced = max(b - len(drawn), 0)
        if forced:  # the rounds rolled out fewer than B (GRESO skipped nearly every draw)
            rolled = set(drawn)
            roll_out(np.asarray([i for i in order if i not in rolled][:forced]), 20_001)
        informative = set(kept)
        fallback = len(kept) < b
        if fallback:  # fill with drawn prompts that were all-correct or all-wrong
            kept += [i for i in range(len(drawn)) if i not in informative][: b - len(kept)]
        kept = np.asarray(kept[:b])
        indices = np.asarray(drawn)[kept]
        batch = self.complete(parts[0].take(parts, kept), indices, key, rollout_fn)
        generated = len(drawn) * n + len(batch.rewards) - b * n  # + any continuation
        successes = np.concatenate([p.successes for p in parts])
        return Selection(
            indices,
            screening=Screening(batch, (np.asarray(drawn), successes, np.full(len(drawn), n))),
            info={
                "ds_rounds": rounds,
                "ds_fallback": fallback,
                "ds_drawn": len(drawn),
                "ds_forced": forced,
                "ds_generated": generated,
            },
            note=f"{self.config.name}: {len(informative)} prompts kept in {rounds} rounds; "
            f"batch filled with {b - len(informative)} uninformative ones"
            + (f", {forced} of them rolled out although their draw was skipped" if forced else "")
            if fallback
            else None,
        )


@SELECTORS.register("balanced")
class BalancedSampling(DynamicSampling):
    """DS keeping prompts whose success rate is in a band around 0.5 (its bounds 0.25-0.75
    are not verified in the source: a config value)."""

    settings = {**DynamicSampling.settings, "band": Setting((0.25, 0.75), Band(strict=False))}

    def keeps(self, successes, n):
        lo, hi = self.config.band
        return (successes >= lo * n) & (successes <= hi * n)


EASY, HARD = 0.98, 0.11  # GRESO's mean-reward thresholds of an all-easy / all-hard visit


def greso_skip_probability(easy, hard, p_easy: float, p_hard: float) -> np.ndarray:
    """P(skip) before rollout: 1 − max(p_easy^c_e, 0.01) after c_e > 0 easy visits in a row,
    1 − max(p_hard^c_h, 0.01) after c_h > 0 hard ones, 0 without such a streak."""
    easy, hard = np.asarray(easy), np.asarray(hard)
    skip_easy = np.where(easy > 0, 1 - np.maximum(p_easy ** easy.astype(float), 0.01), 0.0)
    skip_hard = np.where(hard > 0, 1 - np.maximum(p_hard ** hard.astype(float), 0.01), 0.0)
    return np.maximum(skip_easy, skip_hard)


@SELECTORS.register("greso")
class Greso(DynamicSampling):
    """GRESO (Infini-AI-Lab/GRESO, presampling_selector.py; docs/method.md §2.5): DS that skips
    drawn prompts before rollout when their latest visits were all easy or all hard
    (`greso_skip_probability`), with the skip bases p_easy, p_hard moved by ±0.01 per step
    (within [0.05, 0.95]) so that about α/3 of the rolled-out prompts are all-right and 2α/3
    all-wrong. Rounds grow to what is left / (1 − zero-variance share) × 1.25. Every rollout
    counts; skipped prompts cost nothing. The history is every rolled-out prompt's."""

    settings = {**DynamicSampling.settings, "alpha": Setting(0.25, Between(0, 1, closed="right"))}

    def init(self, key):
        zeros = np.zeros(self.pool.size, np.int32)
        return {"easy": zeros, "hard": zeros.copy(), "p": np.array([0.5, 0.5], np.float32)}

    def draw_limit(self) -> int:
        return self.pool.size  # rounds grow as prompts are skipped or filtered

    def round_size(self, rounds, kept, zero_share):
        if rounds == 0:
            return super().round_size(rounds, kept, zero_share)
        left = self.batch_size - kept
        return int(np.ceil(left / max(1 - zero_share, 0.05) * 1.25))

    def survivors(self, state, candidates, key):
        p_easy, p_hard = state["p"]
        skip = greso_skip_probability(
            state["easy"][candidates], state["hard"][candidates], p_easy, p_hard
        )
        draws = np.asarray(jax.random.uniform(key, (len(candidates),)))
        return candidates[draws >= skip]

    def update(self, state, indices, successes, trials):
        observed = np.asarray(trials) > 0
        indices = np.asarray(indices)[observed]
        successes, trials = np.asarray(successes)[observed], np.asarray(trials)[observed]
        mean = successes / trials
        easy, hard = np.array(state["easy"]), np.array(state["hard"])
        easy[indices] = np.where(mean >= EASY, easy[indices] + 1, 0)
        hard[indices] = np.where(mean <= HARD, hard[indices] + 1, 0)
        p_easy, p_hard = np.asarray(state["p"], np.float64)
        if len(indices):  # toward all-right share α/3 and all-wrong share 2α/3
            alpha = self.config.alpha
            p_easy += -0.01 if np.mean(successes == trials) >= alpha / 3 else 0.01
            p_hard += -0.01 if np.mean(successes == 0) >= 2 * alpha / 3 else 0.01
        p = np.clip([p_easy, p_hard], 0.05, 0.95).astype(np.float32)
        return {"easy": easy, "hard": hard, "p": p}


@SELECTORS.register("speed")
class SpeedRL(DynamicSampling):
    """SPEED-RL (Zanette-Labs/speed-rl, data_controller.py; docs/method.md §2.5): DS whose rounds
    screen each drawn prompt with `n_init` rollouts and accept it when 0 < s < n_init; the
    accepted get `n_cont` more and train on all n_init + n_cont. The source's 4 + 20 is
    here n/2 + n/2 by default (4 + 4 at n = 8), so a trained group has n rollouts like every
    other selector's. Screening rollouts count, and are used."""

    settings = {  # 0: n/2 and n − n_init
        **DynamicSampling.settings,
        "n_init": Setting(0, AtLeast(0)),
        "n_cont": Setting(0, AtLeast(0)),
    }

    def __init__(self, config, pool, **kwargs):
        super().__init__(config, pool, **kwargs)
        self.n_init = config.n_init or self.n_rollouts // 2
        self.n_cont = config.n_cont or self.n_rollouts - self.n_init
        if self.n_init < 2 or self.n_cont < 1:
            raise ConfigError(
                f"selector speed needs n_init >= 2 screening and n_cont >= 1 continuation "
                f"rollouts; got {self.n_init} and {self.n_cont}"
            )

    def screen_rollouts(self):
        return self.n_init

    def complete(self, rollouts, indices, key, rollout_fn):
        more = rollout_fn(
            indices, jax.random.fold_in(key, 20_000), np.full(len(indices), self.n_cont)
        )
        return rollouts.join(more)
