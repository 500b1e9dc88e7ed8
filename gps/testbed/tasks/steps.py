"""Step chains "a op b=c,a op b=c,...": Arithmetic writes them, Countdown enumerates them.

Numbers are written canonically: no leading zeros, no "-0", and at most 18
digits, so that `int()` is always cheap and safe on model output.
"""

import re
from collections.abc import Callable, Iterable
from typing import NamedTuple

_NUM = r"0|-?[1-9][0-9]{0,17}"  # [0-9], not \d: \d also matches non-ASCII digits
_NUM_RE = re.compile(_NUM)


class Step(NamedTuple):
    """One written step `a op b=c` (c as written, not necessarily correct)."""

    a: int
    op: str
    b: int
    c: int

    def __str__(self) -> str:
        return f"{self.a}{self.op}{self.b}={self.c}"


def apply_op(a: int, op: str, b: int) -> int | None:
    """Exact integer result of `a op b`; None for division by zero or inexact division."""
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    if b == 0 or a % b:
        return None
    return a // b


def parse_int(text: str) -> int | None:
    """The canonical integer `text`, or None if it is not one."""
    return int(text) if _NUM_RE.fullmatch(text) else None


def format_steps(steps: Iterable[Step]) -> str:
    return ",".join(map(str, steps))


def chain_len_bound(num_inputs: int, width: Callable[[int], int]) -> int:
    """Upper bound on len(format_steps(...)) for a chain reducing `num_inputs` values to one.

    After i steps every value is built from at most i+1 inputs, so step i writes
    a and b built from j and i+1-j inputs and c from i+1; `width(j)` must bound
    the printed width (sign included) of any value built from j inputs.
    """
    total = num_inputs - 2  # commas
    for i in range(1, num_inputs):
        operands = max(width(j) + width(i + 1 - j) for j in range(1, i + 1))
        total += operands + 2 + width(i + 1)  # + op and '='
    return total
