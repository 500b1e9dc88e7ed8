"""Problem record, task interface and the deterministic split machinery."""

import abc
import hashlib
from dataclasses import dataclass

import numpy as np

# Every character a prompt or completion may contain.
ALPHABET = "0123456789+-*/=,>:# ()"

HELDOUT_PREFIXES = ("eval", "test")  # splits named like this are held out
HELDOUT_MOD = 10  # prompts with stable_hash(prompt) % HELDOUT_MOD == 0 are held out


@dataclass(frozen=True)
class Problem:
    prompt: str  # model-facing string, e.g. "3 7 25>46:"
    text: str  # natural-language rendering (for sentence embeddings)
    answer: int
    numbers: tuple[int, ...]
    family: str  # sub-family, e.g. "cd3" or "arith-2x1"


def stable_hash(*parts: object) -> int:
    """A 64-bit hash of the parts' str() that, unlike hash(), is stable across runs."""
    data = "\x1f".join(map(str, parts)).encode()
    return int.from_bytes(hashlib.blake2b(data, digest_size=8).digest(), "little")


def is_heldout(prompt: str) -> bool:
    """Whether `prompt` is reserved for held-out splits (about 1 in HELDOUT_MOD)."""
    return stable_hash(prompt) % HELDOUT_MOD == 0


class Task(abc.ABC):
    """A family of verifiable problems with reference and flawed solvers.

    Subclasses set `name`, pass their valid family names to __init__ and
    implement `_sample` plus the abstract methods below.
    """

    name: str

    def __init__(self, families: tuple[str, ...], valid: tuple[str, ...]):
        self.families = self._check_families(tuple(families), valid)

    def _check_families(self, families: tuple[str, ...], valid: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [f for f in families if f not in valid]
        if not families or unknown:
            raise ValueError(
                f"{self.name}: families must be a non-empty subset of {valid}, got {families}"
            )
        return families

    def make_split(self, seed: int, split: str, size: int, families=None) -> list[Problem]:
        """`size` distinct problems, deterministic in (seed, split).

        Held-out splits (names starting with "eval" or "test") only use prompts
        inside the held-out bucket (see `is_heldout`) and all other splits
        ("train", "warmup", ...) only prompts outside it, so no training split
        shares a prompt with a held-out split, whatever the seeds. Splits on
        the same side of that line may overlap each other.
        """
        families = (
            self.families
            if families is None
            else self._check_families(tuple(families), self.families)
        )
        rng = np.random.default_rng(stable_hash(self.name, seed, split))
        heldout = split.startswith(HELDOUT_PREFIXES)
        found: dict[str, Problem] = {}
        max_draws = 20 * size + 10_000
        for _ in range(max_draws):
            if len(found) == size:
                break
            problem = self._sample(families[rng.integers(len(families))], rng)
            if problem is not None and is_heldout(problem.prompt) == heldout:
                found.setdefault(problem.prompt, problem)
        if len(found) < size:
            raise ValueError(
                f"{self.name}: found only {len(found)} distinct {split!r} problems for families "
                f"{families} after {max_draws} draws, fewer than size={size}; use a smaller size or more families"
            )
        return list(found.values())

    @abc.abstractmethod
    def _sample(self, family: str, rng: np.random.Generator) -> Problem | None:
        """One random problem of `family`, or None if this draw is unusable."""

    @abc.abstractmethod
    def verify(self, problem: Problem, completion: str) -> float:
        """1.0 if `completion` solves `problem`, else 0.0; never raises."""

    @abc.abstractmethod
    def solve(self, problem: Problem, rng: np.random.Generator) -> str:
        """A correct completion, chosen at random when several exist."""

    @abc.abstractmethod
    def attempt(self, problem: Problem, rng: np.random.Generator) -> str:
        """A well-formed, plausible, usually wrong completion (weak-model imitation)."""

    @property
    @abc.abstractmethod
    def max_prompt_len(self) -> int:
        """Upper bound on len(prompt) over the configured families."""

    @property
    @abc.abstractmethod
    def max_completion_len(self) -> int:
        """Upper bound on len(solve(...)) and len(attempt(...)) over the configured families."""
