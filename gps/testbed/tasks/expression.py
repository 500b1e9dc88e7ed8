"""Arithmetic expressions for Countdown: exact evaluation of model output, and
rendering of a step chain as one expression with minimal parentheses."""

import operator
import re
from fractions import Fraction

import numpy as np

from gps.testbed.tasks.steps import Step

MAX_LENGTH = 200  # longer strings are rejected before parsing (bounds recursion depth)
_TOKEN_RE = re.compile(r"0|[1-9][0-9]{0,17}|[-+*/()]")  # canonical numbers, ops, parentheses
_PRECEDENCE = {"+": 1, "-": 1, "*": 2, "/": 2}
_ATOM = 3  # precedence of a number or a parenthesised expression
_APPLY = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.truediv}


def _tokenize(text: str) -> list[str] | None:
    tokens, pos = [], 0
    while pos < len(text):
        match = _TOKEN_RE.match(text, pos)
        if match is None:
            return None
        tokens.append(match.group())
        pos = match.end()
    return tokens


def evaluate(text: str) -> tuple[Fraction, list[int]] | None:
    """(exact value, numbers used) of `text`, or None if malformed or dividing by zero."""
    if not text or len(text) > MAX_LENGTH:
        return None
    tokens = _tokenize(text)
    if tokens is None:
        return None
    numbers: list[int] = []
    pos = 0

    def peek():
        return tokens[pos] if pos < len(tokens) else None

    def take():
        nonlocal pos
        token = peek()
        pos += 1
        return token

    def expr(level: int) -> Fraction:  # precedence climbing over the two levels
        if level > 2:
            return atom()
        value = expr(level + 1)
        while peek() in _PRECEDENCE and _PRECEDENCE[peek()] == level:
            op = take()
            value = _APPLY[op](value, expr(level + 1))  # Fraction / 0 raises ZeroDivisionError
        return value

    def atom() -> Fraction:
        token = take()
        if token == "(":
            value = expr(1)
            if take() != ")":
                raise SyntaxError
            return value
        if token is None or not token.isdigit():
            raise SyntaxError
        numbers.append(int(token))
        return Fraction(int(token))

    try:
        value = expr(1)
    except (SyntaxError, ZeroDivisionError):
        return None
    return (value, numbers) if pos == len(tokens) else None


def _combine(left: tuple[str, int], op: str, right: tuple[str, int]) -> tuple[str, int]:
    """Joins two (text, precedence) operands with minimal parentheses."""
    level = _PRECEDENCE[op]
    left_text = f"({left[0]})" if left[1] < level else left[0]
    needs = right[1] < level or (right[1] == level and op in "-/")
    right_text = f"({right[0]})" if needs else right[0]
    return left_text + op + right_text, level


def render_chain(numbers: tuple[int, ...], steps: list[Step], rng: np.random.Generator) -> str:
    """Writes a chain of steps over `numbers` as one expression; + and * operands in random
    order."""
    pool: list[tuple[int, tuple[str, int]]] = [(x, (str(x), _ATOM)) for x in numbers]

    def pop(value: int) -> tuple[str, int]:
        index = next(i for i, (v, _) in enumerate(pool) if v == value)
        return pool.pop(index)[1]

    for step in steps:
        left, right = pop(step.a), pop(step.b)
        if step.op in "+*" and rng.random() < 0.5:
            left, right = right, left
        pool.append((step.c, _combine(left, step.op, right)))
    ((_, (text, _)),) = pool
    return text
