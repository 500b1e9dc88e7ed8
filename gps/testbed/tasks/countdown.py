"""Countdown ("CD34"): combine 3 or 4 numbers, each exactly once, with + - * / to hit a target.

Prompt:     sorted numbers, '>' target, ':'      e.g. "3 7 25>46:"
Completion: one arithmetic expression (as in the paper and TinyZero), e.g. "7*3+25"

`verify` parses the expression (numbers, + - * /, parentheses, usual precedence),
evaluates it exactly with fractions, and accepts it iff it uses the prompt's
numbers exactly once each (as a multiset) and equals the target. Problems are
generated so that a solution with positive-integer intermediate values exists;
reference solutions and attempts are written with minimal parentheses.
"""

import functools
from bisect import bisect_right

import numpy as np

from gps.testbed.tasks.base import Problem, Task
from gps.testbed.tasks.expression import evaluate, render_chain
from gps.testbed.tasks.steps import Step, apply_op

SIZES = {"cd3": 3, "cd4": 4}


def _moves(pool: tuple[int, ...]):
    """Yield every distinct valid step on the sorted multiset `pool` (written a >= b)
    together with the sorted pool it leaves."""
    seen = set()
    for i in range(len(pool)):
        for j in range(i + 1, len(pool)):
            b, a = pool[i], pool[j]
            if (a, b) in seen:
                continue
            seen.add((a, b))
            rest = pool[:i] + pool[i + 1 : j] + pool[j + 1 :]
            for op in "+-*/":
                c = apply_op(a, op, b)
                if c is not None and c > 0:
                    yield Step(a, op, b, c), tuple(sorted(rest + (c,)))


@functools.cache
def _reachable(pool: tuple[int, ...]) -> frozenset[int]:
    """Final values reachable from the sorted multiset `pool` using all of it."""
    if len(pool) == 1:
        return frozenset(pool)
    return frozenset().union(*(_reachable(rest) for _, rest in _moves(pool)))


@functools.cache
def _sorted_reachable(numbers: tuple[int, ...]) -> tuple[int, ...]:
    return tuple(sorted(_reachable(numbers)))


@functools.lru_cache(maxsize=4096)
def _solutions(pool: tuple[int, ...], target: int) -> tuple[tuple[Step, ...], ...]:
    """All step chains (commutative operands in canonical order) from `pool` to `target`."""
    if len(pool) == 1:
        return ((),) if pool[0] == target else ()
    return tuple(
        (step, *tail)
        for step, rest in _moves(pool)
        if target in _reachable(rest)
        for tail in _solutions(rest, target)
    )


def _text(numbers: tuple[int, ...], target: int) -> str:
    listed = ", ".join(map(str, numbers[:-1])) + f" and {numbers[-1]}"
    return f"Using the numbers {listed}, each exactly once, with + - * /, make {target}."


class Countdown(Task):
    name = "countdown"

    def __init__(self, max_number: int = 20, max_target: int = 100, families=("cd3", "cd4")):
        if max_number < 1 or max_target < 1:
            raise ValueError(
                f"countdown: max_number and max_target must be >= 1, got {max_number}, {max_target}"
            )
        self.max_number = max_number
        self.max_target = max_target
        super().__init__(families, tuple(SIZES))

    def _sample(self, family: str, rng: np.random.Generator) -> Problem | None:
        """Random numbers, then a target uniform over their reachable values in 1..max_target."""
        draw = rng.integers(1, self.max_number + 1, size=SIZES[family])
        numbers = tuple(sorted(int(x) for x in draw))
        values = _sorted_reachable(numbers)
        count = bisect_right(values, self.max_target)
        if count == 0:
            return None
        target = values[rng.integers(count)]
        prompt = " ".join(map(str, numbers)) + f">{target}:"
        return Problem(prompt, _text(numbers, target), target, numbers, family)

    def verify(self, problem: Problem, completion: str) -> float:
        result = evaluate(completion)
        if result is None:
            return 0.0
        value, numbers = result
        return float(value == problem.answer and sorted(numbers) == sorted(problem.numbers))

    def solve(self, problem: Problem, rng: np.random.Generator) -> str:
        """A uniformly random solution (operand order of + and * itself random), as an
        expression."""
        chains = _solutions(tuple(sorted(problem.numbers)), problem.answer)
        if not chains:
            raise ValueError(f"countdown: no solution for {problem.prompt!r}")
        return render_chain(problem.numbers, chains[rng.integers(len(chains))], rng)

    def attempt(self, problem: Problem, rng: np.random.Generator) -> str:
        """A random expression using every number once, valued wherever it lands."""
        pool, steps = tuple(sorted(problem.numbers)), []
        while len(pool) > 1:
            moves = list(_moves(pool))
            step, pool = moves[rng.integers(len(moves))]
            steps.append(step)
        return render_chain(problem.numbers, steps, rng)

    @property
    def _max_size(self) -> int:
        return max(SIZES[f] for f in self.families)

    @property
    def max_prompt_len(self) -> int:
        n = self._max_size
        return n * len(str(self.max_number)) + (n - 1) + len(str(self.max_target)) + 2

    @property
    def max_completion_len(self) -> int:
        # n numbers, n-1 operators and, with minimal parentheses, at most n-2 pairs.
        n = self._max_size
        return n * len(str(self.max_number)) + (n - 1) + 2 * (n - 2)
