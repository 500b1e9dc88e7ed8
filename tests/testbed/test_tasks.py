import numpy as np
import pytest

from gps.testbed.tasks import ALPHABET, Problem, Task, get_task, register
from gps.testbed.tasks.arithmetic import Arithmetic
from gps.testbed.tasks.base import is_heldout
from gps.testbed.tasks.countdown import Countdown
from gps.testbed.tasks.expression import evaluate

CD = Countdown()
AR = Arithmetic()
TASKS = {"countdown": CD, "arithmetic": AR}


def cd_problem(numbers, target):
    prompt = " ".join(map(str, numbers)) + f">{target}:"
    return Problem(prompt, "", target, tuple(numbers), f"cd{len(numbers)}")


def ar_problem(expression, answer):
    return Problem(expression + "=", "", answer, (), "arith")


P = cd_problem((3, 7, 25), 46)
P4 = cd_problem((2, 3, 4, 4), 24)


@pytest.mark.parametrize(
    "completion, expected",
    [
        ("7*3+25", 1.0),
        ("25+3*7", 1.0),
        ("(25+21)", 0.0),  # 21 is not a prompt number
        ("7*3+24", 0.0),  # wrong value, number not in the prompt
        ("7*3+25+0", 0.0),  # extra number
        ("7*7-3", 0.0),  # reused number, 25 unused
        ("(7+3)*25", 0.0),  # valid expression, wrong target
        ("25*3-7", 0.0),  # uses the numbers, wrong value
        ("25+21", 0.0),  # too few numbers
        ("07*3+25", 0.0),  # leading zeros are not canonical
        ("7*3+25 ", 0.0),
        ("7*3+25\n", 0.0),
        ("7*3+2٥", 0.0),  # non-ASCII digit
        ("7*3+25=46", 0.0),  # an equation is not an expression
        ("(7*3+25", 0.0),  # unbalanced
        ("7*3+25)", 0.0),
        ("()", 0.0),
        ("", 0.0),
        ("abc", 0.0),
        ("3+", 0.0),
        ("*3+7", 0.0),
        ("25/(7-7)*3", 0.0),  # division by zero
        ("9" * 5000 + "+1", 0.0),
        ("(" * 1000 + "7" + ")" * 1000, 0.0),
        ("=+-*/#:>" * 50, 0.0),
    ],
)
def test_countdown_verify(completion, expected):
    assert CD.verify(P, completion) == expected


def test_countdown_verify_exact_fractions_and_multisets():
    assert (
        CD.verify(cd_problem((3, 7, 25), 29), "25-(3-7)") == 1.0
    )  # negative intermediates are fine
    assert CD.verify(cd_problem((3, 7, 25), 32), "7+25") == 0.0  # 3 left unused
    assert CD.verify(cd_problem((1, 5, 6), 30), "6/(1/5)") == 1.0  # exact fraction arithmetic
    assert CD.verify(cd_problem((3, 4, 8), 3), "8/3*4") == 0.0  # 32/3, not an integer target
    assert CD.verify(P4, "(4-2)*3*4") == 1.0
    assert CD.verify(P4, "4*4+2*3") == 0.0  # 22
    assert CD.verify(P4, "(4+4+4)*2") == 0.0  # a third 4, no 3
    assert CD.verify(P4, "2*3*4*1") == 0.0  # 1 not available


@pytest.mark.parametrize(
    "completion, expected",
    [
        ("48*2=96,37+96=133,133-15=118#118", 1.0),
        ("#118", 1.0),  # only the answer is graded
        ("anything#-5#118", 1.0),  # the last '#' counts
        ("48*2=96,37+96=133,133-15=117#117", 0.0),
        ("#119", 0.0),
        ("118", 0.0),
        ("#0118", 0.0),
        ("#118 ", 0.0),
        ("#+118", 0.0),
        ("#-118", 0.0),
        ("#118#", 0.0),
        ("#", 0.0),
        ("", 0.0),
        ("#" + "1" * 100_000, 0.0),
        ("#１１８", 0.0),  # full-width digits
    ],
)
def test_arithmetic_verify(completion, expected):
    assert AR.verify(ar_problem("37+48*2-15", 118), completion) == expected


def test_arithmetic_negative_answers():
    p = ar_problem("3-10", -7)
    assert AR.solve(p, np.random.default_rng(0)) == "3-10=-7#-7"
    assert AR.verify(p, "3-10=-7#-7") == 1.0
    assert AR.verify(p, "#7") == 0.0
    assert AR.verify(p, "#-0") == 0.0
    assert AR.verify(ar_problem("5-5", 0), "5-5=0#0") == 1.0


def test_arithmetic_human_order():
    p = ar_problem("2*3+4*5-6*7", 2 * 3 + 4 * 5 - 6 * 7)
    assert AR.solve(p, np.random.default_rng(0)) == "2*3=6,4*5=20,6*7=42,6+20=26,26-42=-16#-16"


def test_problem_fields():
    cd = CD.make_split(0, "train", 50)
    assert all(p.prompt == " ".join(map(str, p.numbers)) + f">{p.answer}:" for p in cd)
    assert all(
        p.text.startswith("Using the numbers ") and p.text.endswith(f"make {p.answer}.") for p in cd
    )
    assert {p.family for p in cd} == {"cd3", "cd4"}
    ar = AR.make_split(0, "train", 200)
    assert all(eval(p.prompt[:-1]) == p.answer and p.text.startswith("Compute ") for p in ar)
    assert {p.family for p in ar} == set(AR.families) and len(AR.families) == 9
    for p in ar:
        k, d = map(int, p.family.removeprefix("arith-").split("x"))
        assert len(p.numbers) == k and all(len(str(x)) == d for x in p.numbers)
    hash(cd[0])


@pytest.mark.parametrize("name", TASKS)
def test_solve_verifies_and_attempt_mostly_fails(name):
    task, rng = TASKS[name], np.random.default_rng(0)
    problems = task.make_split(1, "train", 300)
    assert all(task.verify(p, task.solve(p, rng)) == 1.0 for p in problems)
    attempts = [task.attempt(p, rng) for p in problems]
    success = np.mean([task.verify(p, a) for p, a in zip(problems, attempts)])
    assert success < (0.5 if name == "countdown" else 1e-9)
    if name == "countdown":  # well-formed: an expression that uses every number once
        assert all(sorted(evaluate(a)[1]) == sorted(p.numbers) for p, a in zip(problems, attempts))
    else:  # same format as solve: n-1 steps and a final answer
        assert all(
            a.count(",") == len(p.numbers) - 2 and a.count("#") == 1
            for p, a in zip(problems, attempts)
        )


def test_countdown_solve_is_diverse():
    p, rng = cd_problem((2, 3, 4, 4), 24), np.random.default_rng(0)
    solutions = {CD.solve(p, rng) for _ in range(200)}
    assert len(solutions) > 10 and all(CD.verify(p, s) == 1.0 for s in solutions)


@pytest.mark.parametrize("name", TASKS)
def test_splits_deterministic_distinct_and_disjoint(name):
    task = TASKS[name]
    train = task.make_split(0, "train", 2000)
    assert train == task.make_split(0, "train", 2000)
    assert [p.prompt for p in train] != [p.prompt for p in task.make_split(1, "train", 2000)]
    evals = task.make_split(0, "eval", 200)
    assert len(train) == 2000 and len(evals) == 200
    assert len({p.prompt for p in train}) == 2000 and len({p.prompt for p in evals}) == 200
    assert not {p.prompt for p in train} & {p.prompt for p in evals}
    assert all(is_heldout(p.prompt) for p in evals) and not any(is_heldout(p.prompt) for p in train)
    assert not any(is_heldout(p.prompt) for p in task.make_split(0, "warmup", 200))
    assert all(is_heldout(p.prompt) for p in task.make_split(0, "test-ood", 50))


def test_split_families_and_sizes():
    cd3 = CD.make_split(0, "train", 100, families=("cd3",))
    assert len(cd3) == 100 and all(p.family == "cd3" and len(p.numbers) == 3 for p in cd3)
    with pytest.raises(ValueError, match="families"):
        CD.make_split(0, "train", 10, families=("cd5",))
    with pytest.raises(ValueError, match="families"):
        Countdown(families=("cd3",)).make_split(0, "train", 10, families=("cd4",))
    with pytest.raises(ValueError, match="size=1000"):  # at most 9*9*3 = 243 such problems exist
        AR.make_split(0, "train", 1000, families=("arith-2x1",))
    with pytest.raises(ValueError, match="size=50"):
        Countdown(max_number=2, families=("cd3",)).make_split(0, "train", 50)


@pytest.mark.parametrize(
    "task",
    [CD, AR, Countdown(max_number=99, max_target=999), Arithmetic(operands=(2,), digits=(1,))],
)
def test_alphabet_and_max_lengths(task):
    rng = np.random.default_rng(0)
    problems = task.make_split(0, "train", 200) + task.make_split(0, "eval", 10)
    lengths = {"prompt": [], "completion": []}
    for p in problems:
        lengths["prompt"].append(len(p.prompt))
        for completion in [task.solve(p, rng) for _ in range(3)] + [
            task.attempt(p, rng) for _ in range(10)
        ]:
            lengths["completion"].append(len(completion))
            assert set(completion) <= set(ALPHABET)
        assert set(p.prompt) <= set(ALPHABET)
    assert max(lengths["prompt"]) <= task.max_prompt_len
    assert max(lengths["completion"]) <= task.max_completion_len


def test_fuzz_verify_never_raises():
    rng = np.random.default_rng(0)
    chars = list(ALPHABET) + ["٣", "é", "\n", "\x00"]
    for _ in range(3000):
        s = "".join(rng.choice(chars, size=rng.integers(0, 40)))
        assert CD.verify(P, s) == 0.0
        assert AR.verify(ar_problem("37+48*2-15", 118), s) in (0.0, 1.0)


def test_registry():
    assert isinstance(get_task("countdown", max_number=10), Countdown)
    assert get_task("countdown", max_number=10).max_number == 10
    assert isinstance(get_task("arithmetic"), Arithmetic) and isinstance(
        get_task("arithmetic"), Task
    )
    with pytest.raises(ValueError, match=r"unknown task 'sudoku'.*arithmetic.*countdown"):
        get_task("sudoku")
    with pytest.raises(ValueError, match="already registered"):
        register("countdown", Countdown)
