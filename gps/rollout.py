"""Rollouts: sample completions for problems with the policy, decode and verify them.

Sampling runs in fixed-size chunks (`chunk` sequences, the RL batch size times the
rollouts per prompt), so one compiled sampler serves RL steps and evaluation.
"""

import dataclasses
import time

import jax
import numpy as np

from gps.model import ModelConfig
from gps.sampling import Samples, sample
from gps.tasks import Problem, Task
from gps.tokenizer import CharTokenizer


@dataclasses.dataclass
class Rollouts:
    """n rollouts for each of P problems, as numpy arrays (rows ordered problem-major)."""

    samples: Samples  # arrays [P*n, L]
    rewards_PxN: np.ndarray
    completions: list[str]
    sample_s: float = 0.0  # time in the jitted sampler (device work included)
    verify_s: float = 0.0  # time decoding and verifying on the host

    @property
    def successes(self) -> np.ndarray:
        return self.rewards_PxN.sum(axis=1).astype(np.int32)


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
        n: int,
        key,
        *,
        temperature: float = 1.0,
        greedy: bool = False,
    ) -> Rollouts:
        prompts = [p.prompt for p in problems for _ in range(n)]
        tokens, lengths = self.tokenizer.encode_prompts(prompts, self.prompt_len)
        if lengths.min() < self.prefill:
            raise ValueError(f"a prompt is shorter than the engine's prefill ({self.prefill})")
        parts, start = [], time.time()
        for i, offset in enumerate(range(0, len(prompts), self.chunk)):
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
        samples = Samples(*(np.concatenate(xs) for xs in zip(*parts)))
        sampled_at = time.time()
        completions = [self.tokenizer.decode(row[l:]) for row, l in zip(samples.tokens, lengths)]
        rewards = np.array(
            [self.task.verify(problems[j // n], c) for j, c in enumerate(completions)], np.float32
        )
        return Rollouts(
            samples,
            rewards.reshape(len(problems), n),
            completions,
            sample_s=sampled_at - start,
            verify_s=time.time() - sampled_at,
        )


def _pad_rows(x: np.ndarray, rows: int) -> np.ndarray:
    """Pads the leading axis to `rows` by repeating the first row (keeps the shape static)."""
    return x if len(x) == rows else np.concatenate([x, np.repeat(x[:1], rows - len(x), axis=0)])


def take_prompts(parts: list[Rollouts], prompts: np.ndarray) -> Rollouts:
    """The rollouts of the given prompts (rows of the concatenated `parts`), in that order."""
    n = parts[0].rewards_PxN.shape[1]
    rewards = np.concatenate([p.rewards_PxN for p in parts])
    rows = (np.asarray(prompts)[:, None] * n + np.arange(n)).reshape(-1)
    samples = Samples(*(np.concatenate(xs)[rows] for xs in zip(*(p.samples for p in parts))))
    completions = sum((p.completions for p in parts), [])
    return Rollouts(
        samples,
        rewards[prompts],
        [completions[r] for r in rows],
        sample_s=sum(p.sample_s for p in parts),
        verify_s=sum(p.verify_s for p in parts),
    )
