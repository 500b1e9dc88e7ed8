"""Rollouts: sample completions for problems with the policy, decode and verify them.

Each problem gets its own number of rollouts (a selection's per-prompt budget; n for all by
default). Sampling runs in fixed-size chunks (`chunk` sequences, the RL batch size times
the rollouts per prompt), so one compiled sampler serves RL steps and evaluation.
"""

import dataclasses
import time

import jax
import numpy as np

from gps.testbed import progress
from gps.testbed.model import ModelConfig
from gps.testbed.sampling import Samples, sample
from gps.testbed.tasks import Problem, Task
from gps.testbed.tokenizer import CharTokenizer


@dataclasses.dataclass
class Rollouts:
    """`counts[i]` rollouts of each of P problems, as numpy arrays: R = Σ counts rows,
    problem-major (problem i's group follows problem i−1's)."""

    samples: Samples  # arrays [R, L]
    rewards: np.ndarray  # [R]
    counts: np.ndarray  # [P] rollouts per problem
    completions: list[str]
    sample_s: float = 0.0  # time in the jitted sampler (device work included)
    verify_s: float = 0.0  # time decoding and verifying on the host

    @property
    def groups(self) -> np.ndarray:
        """[R] the problem (position) each row belongs to."""
        return np.repeat(np.arange(len(self.counts)), self.counts)

    def rewards_table(self) -> np.ndarray:
        """[P, n] rewards, when every problem has the same n rollouts."""
        if len(set(self.counts.tolist())) > 1:
            raise ValueError("the problems have different numbers of rollouts")
        return self.rewards.reshape(len(self.counts), -1)

    @property
    def successes(self) -> np.ndarray:
        """[P] successes per problem (the verifiers' rewards are 0 or 1)."""
        sums = np.bincount(self.groups, self.rewards, minlength=len(self.counts))
        return np.rint(sums).astype(np.int32)

    @staticmethod
    def take(parts: list["Rollouts"], prompts: np.ndarray) -> "Rollouts":
        """The rollouts of the given prompts (positions in the concatenated `parts`), in order."""
        counts = np.concatenate([p.counts for p in parts])
        starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
        rows = np.concatenate([np.arange(starts[i], starts[i] + counts[i]) for i in prompts])
        samples = Samples(*(np.concatenate(xs)[rows] for xs in zip(*(p.samples for p in parts))))
        completions = sum((p.completions for p in parts), [])
        return Rollouts(
            samples,
            np.concatenate([p.rewards for p in parts])[rows],
            counts[np.asarray(prompts)],
            [completions[r] for r in rows],
            sample_s=sum(p.sample_s for p in parts),
            verify_s=sum(p.verify_s for p in parts),
        )

    def join(self, second: "Rollouts") -> "Rollouts":
        """Per problem, its rollouts then `second`'s (the same problems, in order)."""
        starts = [np.concatenate([[0], np.cumsum(r.counts)[:-1]]) for r in (self, second)]
        offset = len(self.rewards)  # rows of `second` follow `self`'s in the concatenation
        rows = np.concatenate(
            [
                np.concatenate([np.arange(a, a + m), offset + np.arange(c, c + k)])
                for a, m, c, k in zip(starts[0], self.counts, starts[1], second.counts)
            ]
        )
        samples = Samples(*(np.concatenate(xs)[rows] for xs in zip(self.samples, second.samples)))
        completions = self.completions + second.completions
        return Rollouts(
            samples,
            np.concatenate([self.rewards, second.rewards])[rows],
            self.counts + second.counts,
            [completions[r] for r in rows],
            sample_s=self.sample_s + second.sample_s,
            verify_s=self.verify_s + second.verify_s,
        )


@dataclasses.dataclass(frozen=True)
class RolloutEngine:
    task: Task
    tokenizer: CharTokenizer
    model_cfg: ModelConfig
    prompt_len: int  # prompt buffer, BOS included
    max_new: int
    chunk: int
    prefill: int = 1  # every prompt is at least this long (BOS included): decoded in one pass
    row_sharding: jax.sharding.Sharding | None = None  # how a chunk's rows split over devices

    def generate(
        self,
        params,
        problems: list[Problem],
        n: int | np.ndarray,
        key,
        *,
        temperature: float = 1.0,
        greedy: bool = False,
        progress_desc: str = "",
    ) -> Rollouts:
        """`n` rollouts of every problem, or n[i] of problem i; with `progress_desc`, a
        progress bar over the sampled chunks (long evaluations)."""
        counts = np.broadcast_to(np.asarray(n, np.int64), (len(problems),)).copy()
        groups = np.repeat(np.arange(len(problems)), counts)
        prompts = [problems[g].prompt for g in groups]
        if not prompts:
            raise ValueError("no rollouts requested")
        tokens, lengths = self.tokenizer.encode_prompts(prompts, self.prompt_len)
        if lengths.min() < self.prefill:
            raise ValueError(f"a prompt is shorter than the engine's prefill ({self.prefill})")
        parts, start = [], time.time()
        offsets = range(0, len(prompts), self.chunk)
        chunks_bar = progress.bar(
            len(offsets), progress_desc, unit="chunk", show=bool(progress_desc)
        )
        for i, offset in enumerate(offsets):
            rows = slice(offset, offset + self.chunk)
            t, l = _pad_rows(tokens[rows], self.chunk), _pad_rows(lengths[rows], self.chunk)
            if self.row_sharding is not None:
                t, l = jax.device_put((t, l), self.row_sharding)
            out = sample(
                params,
                self.model_cfg,
                t,
                l,
                jax.random.fold_in(key, i),
                max_new=self.max_new,
                temperature=temperature,
                greedy=greedy,
                prefill=self.prefill,
            )
            parts.append(
                jax.tree.map(lambda x: np.asarray(x)[: min(self.chunk, len(prompts) - offset)], out)
            )
            chunks_bar.update()
        chunks_bar.close()
        samples = Samples(*(np.concatenate(xs) for xs in zip(*parts)))
        sampled_at = time.time()
        completions = [self.tokenizer.decode(row[l:]) for row, l in zip(samples.tokens, lengths)]
        rewards = np.array(
            [self.task.verify(problems[g], c) for g, c in zip(groups, completions)], np.float32
        )
        return Rollouts(
            samples,
            rewards,
            counts,
            completions,
            sample_s=sampled_at - start,
            verify_s=time.time() - sampled_at,
        )


def _pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    """Pads the leading axis to `rows` by repeating the first row (keeps the shape static)."""
    return x if len(x) == rows else np.concatenate([x, np.repeat(x[:1], rows - len(x), axis=0)])
