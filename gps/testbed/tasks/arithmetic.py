"""Arithmetic: evaluate k operands joined by + - * (usual precedence, no parentheses).

Family "arith-{k}x{d}": k operands of exactly d digits each (1..9 for d=1),
so families are disjoint and difficulty grows with k and d.

Prompt:     the expression and '='               e.g. "37+48*2-15="
Completion: the k-1 steps a human takes (every * left to right, then + and -
            left to right), '#', the answer      e.g. "48*2=96,37+96=133,133-15=118#118"
Negative values carry a leading '-' ("3-10=-7#-7"). Only the answer after the
last '#' is graded; the chain is free-form reasoning.
"""

import re
from collections.abc import Callable

import numpy as np

from gps.testbed.tasks.base import Problem, Task
from gps.testbed.tasks.steps import Step, apply_op, chain_len_bound, format_steps, parse_int

_OPS = "+-*"
_TOKEN_RE = re.compile(r"[0-9]+|[-+*]")


def _shape(family: str) -> tuple[int, int]:
    """(operands, digits) of "arith-{k}x{d}"."""
    k, d = family.removeprefix("arith-").split("x")
    return int(k), int(d)


def _chain(
    operands, ops, slip_at: int = -1, slip: Callable[[int], int] | None = None
) -> tuple[list[Step], int]:
    """The human-order steps and final value; step `slip_at` writes slip(c) instead of c
    and later steps carry the wrong value on."""
    steps: list[Step] = []

    def step(a: int, op: str, b: int) -> int:
        c = apply_op(a, op, b)
        if len(steps) == slip_at:
            c = slip(c)
        steps.append(Step(a, op, b, c))
        return c

    terms, term_ops = [operands[0]], []
    for op, x in zip(ops, operands[1:]):
        if op == "*":
            terms[-1] = step(terms[-1], op, x)
        else:
            terms.append(x)
            term_ops.append(op)
    value = terms[0]
    for op, x in zip(term_ops, terms[1:]):
        value = step(value, op, x)
    return steps, value


def _parse_expression(prompt: str) -> tuple[list[int], list[str]]:
    tokens = _TOKEN_RE.findall(prompt)
    return [int(t) for t in tokens[::2]], tokens[1::2]


def _slip(c: int, rng: np.random.Generator) -> int:
    """A plausible wrong value for c: two adjacent digits swapped, or off by 1..10.
    A positive value stays positive."""
    digits = str(abs(c))
    if len(digits) > 1 and rng.random() < 0.5:
        i = rng.integers(len(digits) - 1)
        swapped = digits[:i] + digits[i + 1] + digits[i] + digits[i + 2 :]
        if swapped != digits:
            return int(swapped) if c > 0 else -int(swapped)
    delta = int(rng.integers(1, 11)) * (1 if rng.random() < 0.5 else -1)
    if c > 0 and c + delta <= 0:
        delta = -delta
    return c + delta


class Arithmetic(Task):
    name = "arithmetic"

    def __init__(self, operands=(2, 3, 4), digits=(1, 2, 3), families=None):
        if not operands or not digits or min(operands) < 2 or min(digits) < 1:
            raise ValueError(
                f"arithmetic: need operands >= 2 and digits >= 1, got {operands}, {digits}"
            )
        valid = tuple(f"arith-{k}x{d}" for k in operands for d in digits)
        super().__init__(valid if families is None else families, valid)

    def _sample(self, family: str, rng: np.random.Generator) -> Problem:
        k, d = _shape(family)
        low = 1 if d == 1 else 10 ** (d - 1)
        operands = [int(x) for x in rng.integers(low, 10**d, size=k)]
        ops = [_OPS[i] for i in rng.integers(len(_OPS), size=k - 1)]
        tokens = [str(operands[0])] + [t for op, x in zip(ops, operands[1:]) for t in (op, str(x))]
        _, answer = _chain(operands, ops)
        text = f"Compute {' '.join(tokens)}."
        return Problem("".join(tokens) + "=", text, answer, tuple(operands), family)

    def verify(self, problem: Problem, completion: str) -> float:
        _, hash_sign, answer = completion.rpartition("#")
        return float(bool(hash_sign) and parse_int(answer) == problem.answer)

    def solve(self, problem: Problem, rng: np.random.Generator) -> str:
        """The unique human-order solution (rng unused: there is one order)."""
        steps, value = _chain(*_parse_expression(problem.prompt))
        return f"{format_steps(steps)}#{value}"

    def attempt(self, problem: Problem, rng: np.random.Generator) -> str:
        """The solution with one slip in a random step, carried to the answer (always wrong:
        later steps only add, subtract or multiply by positive operands)."""
        operands, ops = _parse_expression(problem.prompt)
        steps, value = _chain(operands, ops, int(rng.integers(len(ops))), lambda c: _slip(c, rng))
        return f"{format_steps(steps)}#{value}"

    @property
    def max_prompt_len(self) -> int:
        return max(k * (d + 1) for k, d in map(_shape, self.families))

    @property
    def max_completion_len(self) -> int:
        # A value built from j operands (even with one slip) has at most j*d digits plus a sign.
        return max(
            chain_len_bound(k, lambda j, d=d: j * d + 1) + 1 + k * d + 1
            for k, d in map(_shape, self.families)
        )
