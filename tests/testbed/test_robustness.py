"""Edge cases: ragged rollout chunks, pass-rate reports, damaged logs, the base cache, bad
configs."""

import json
import os
import threading
import time

import jax
import numpy as np
import pytest

from gps.testbed import config as config_lib
from gps.testbed import warmup
from gps.errors import ConfigError
from gps.testbed.evaluation import pass_rate_report
from gps.records.jsonl import JsonlLog
from gps.testbed.model import ModelConfig, init_params
from gps.testbed.rollout import RolloutEngine
from gps.testbed.tasks import Countdown
from gps.testbed.tokenizer import BOS, CharTokenizer
from gps.testbed.trainer import base_model, build

# Rollouts: a sequence count that is not a multiple of the chunk.

TASK = Countdown()
TOK = CharTokenizer()
PROMPT_LEN = TASK.max_prompt_len + 1  # + BOS
MAX_NEW = TASK.max_completion_len + 1  # + EOS
MODEL_CFG = ModelConfig(
    vocab_size=TOK.vocab_size,
    max_len=PROMPT_LEN + MAX_NEW,
    d_model=16,
    n_layers=1,
    n_heads=2,
    d_ff=32,
)
PROBLEMS = TASK.make_split(0, "train", 3)


def _engine(task, chunk=4, prefill=1):
    return RolloutEngine(task, TOK, MODEL_CFG, PROMPT_LEN, MAX_NEW, chunk=chunk, prefill=prefill)


def _reward(problem, completion):
    """Depends on the problem (tenths) and the completion (hundredths): a misrouted row shows."""
    return 0.1 * PROBLEMS.index(problem) + 0.01 * len(completion)


def test_generate_ragged_last_chunk(monkeypatch):
    """3 problems x n=3 with chunk=4: 9 rows in problem-major order, row j verified against problem
    j//n."""
    task, n, calls = Countdown(), 3, []

    def verify(problem, completion):
        calls.append((problem, completion))
        return _reward(problem, completion)

    monkeypatch.setattr(task, "verify", verify)
    params = init_params(MODEL_CFG, jax.random.key(0))
    shortest = min(len(p.prompt) for p in PROBLEMS) + 1  # + BOS
    out = _engine(task, chunk=4, prefill=shortest).generate(
        params, PROBLEMS, n, jax.random.key(1), temperature=1.0
    )

    rows = len(PROBLEMS) * n
    assert out.samples.tokens.shape == (rows, PROMPT_LEN + MAX_NEW)
    assert out.samples.logprobs.shape == out.samples.mask.shape == out.samples.tokens.shape
    assert len(out.completions) == rows
    assert out.rewards_table().shape == (len(PROBLEMS), n)
    assert out.successes.shape == (len(PROBLEMS),)
    for j in range(rows):
        prompt = [BOS] + TOK.encode(PROBLEMS[j // n].prompt)
        assert out.samples.tokens[j, : len(prompt)].tolist() == prompt, j
        assert out.completions[j] == TOK.decode(out.samples.tokens[j, len(prompt) :]), j
    assert calls == [(PROBLEMS[j // n], out.completions[j]) for j in range(rows)]
    expected = np.array(
        [_reward(PROBLEMS[j // n], c) for j, c in enumerate(out.completions)], np.float32
    ).reshape(len(PROBLEMS), n)
    np.testing.assert_array_equal(out.rewards_table(), expected)
    assert (out.rewards_table() > 0).any()


def test_generate_with_a_budget_per_problem(monkeypatch):
    """counts [2, 0, 3] (chunk 4): 5 rows, problem 0's two then problem 2's three, each row
    verified against its own problem; successes and the GRPO groups follow the counts."""
    task, counts = Countdown(), np.array([2, 0, 3])
    monkeypatch.setattr(task, "verify", lambda problem, completion: float(problem is PROBLEMS[2]))
    params = init_params(MODEL_CFG, jax.random.key(0))
    shortest = min(len(p.prompt) for p in PROBLEMS) + 1
    out = _engine(task, chunk=4, prefill=shortest).generate(
        params, PROBLEMS[:3], counts, jax.random.key(1), temperature=1.0
    )
    assert out.samples.tokens.shape[0] == len(out.completions) == 5
    np.testing.assert_array_equal(out.groups, [0, 0, 2, 2, 2])
    np.testing.assert_array_equal(out.rewards, [0, 0, 1, 1, 1])
    np.testing.assert_array_equal(out.successes, [0, 0, 3])
    for j, g in enumerate(out.groups):
        prompt = [BOS] + TOK.encode(PROBLEMS[g].prompt)
        assert out.samples.tokens[j, : len(prompt)].tolist() == prompt, j
    with pytest.raises(ValueError, match="different numbers of rollouts"):
        out.rewards_table()


def test_generate_rejects_prompt_shorter_than_prefill():
    """A prompt shorter than the engine's prefill raises ValueError instead of skipping its
    tokens."""
    too_long = min(len(p.prompt) for p in PROBLEMS) + 2  # one past the shortest prompt + BOS
    params = init_params(MODEL_CFG, jax.random.key(0))
    with pytest.raises(ValueError, match="prefill"):
        _engine(TASK, prefill=too_long).generate(params, PROBLEMS, 2, jax.random.key(1))


# Pass-rate report.


def test_pass_rate_report_exact_values():
    """successes [0, 8, 3, 0] of n=8 give the exact histogram, mean@8, pass@8 and extremes."""
    report = pass_rate_report(np.array([0, 8, 3, 0], np.int32), 8)
    assert report == {
        "n": 8,
        "prompts": 4,
        "histogram": [2, 0, 0, 1, 0, 0, 0, 0, 1],
        "mean": 11 / 32,
        "pass": 0.5,
        "all_wrong": 0.5,
        "all_right": 0.25,
    }


# JSON-lines logs.


def _log_with_steps(tmp_path, steps):
    log = JsonlLog(str(tmp_path / "log.jsonl"))
    for step in steps:
        log.append({"step": step, "loss": step / 10})
    return log


def test_jsonl_round_trip(tmp_path):
    """Appended records read back equal and in order; a missing file reads as empty."""
    assert JsonlLog(str(tmp_path / "missing.jsonl")).read() == []
    log = _log_with_steps(tmp_path, [1, 2, 3])
    assert log.read() == [{"step": s, "loss": s / 10} for s in (1, 2, 3)]


def test_jsonl_rewind_keeps_steps_up_to_last(tmp_path):
    """rewind(2) keeps exactly the records with step <= 2; later appends follow them."""
    log = _log_with_steps(tmp_path, [0, 1, 2, 3, 4])
    log.rewind(2)
    assert [r["step"] for r in log.read()] == [0, 1, 2]
    log.append({"step": 3, "loss": 0.0})
    assert [r["step"] for r in log.read()] == [0, 1, 2, 3]
    assert not os.path.exists(log.path + ".tmp")


def test_jsonl_truncated_last_line_is_dropped(tmp_path):
    """A partial last line (a run killed mid-write) is dropped on read and removed by rewind."""
    log = _log_with_steps(tmp_path, [1, 2])
    with open(log.path, "a") as f:
        f.write('{"step": 3, "lo')
    assert [r["step"] for r in log.read()] == [1, 2]
    log.rewind(5)
    log.append({"step": 3, "loss": 0.3})
    assert [r["step"] for r in log.read()] == [1, 2, 3]


def test_jsonl_corrupt_middle_line_raises(tmp_path):
    """A corrupt line followed by valid ones is real damage: read raises rather than skipping it."""
    log = _log_with_steps(tmp_path, [1])
    with open(log.path, "a") as f:
        f.write('{"step": 2, "lo\n')
    log.append({"step": 3, "loss": 0.3})
    with pytest.raises(json.JSONDecodeError):
        log.read()


# Warm-up cache.


def test_concurrent_runs_train_one_base(smoke_config, monkeypatch):
    """Two runs starting together on one seed train its base once: the second waits, then loads
    it."""
    setup = build(smoke_config)
    trained = []
    train_base = warmup.train_base

    def slow_train_base(*args, **kwargs):
        trained.append(1)
        time.sleep(1.0)  # long enough for the other thread to reach the cache
        return train_base(*args, **kwargs)

    monkeypatch.setattr(warmup, "train_base", slow_train_base)
    logs = [[], []]
    threads = [threading.Thread(target=base_model, args=(setup, log.append)) for log in logs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(trained) == 1
    assert sorted(any(line.startswith("base model: cached") for line in log) for log in logs) == [
        False,
        True,
    ]


def test_base_model_cache_round_trip(smoke_config):
    """A second base_model call loads the cached base: same params, a complete base.json, no temp
    folders."""
    setup = build(smoke_config)
    first_log, second_log = [], []
    trained, path = base_model(setup, log=first_log.append)
    assert any(line.startswith("base model: training") for line in first_log), first_log
    loaded, path_again = base_model(setup, log=second_log.append)
    assert path_again == path
    assert any(line.startswith("base model: cached") for line in second_log), second_log
    assert not any("training" in line or "warm-up" in line for line in second_log), second_log

    assert jax.tree.structure(loaded) == jax.tree.structure(trained)
    for x, y in zip(jax.tree.leaves(loaded), jax.tree.leaves(trained)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))

    entries = sorted(os.listdir(os.path.dirname(path)))  # no .tmp left behind
    assert entries == [os.path.basename(path), os.path.basename(path) + ".lock"]
    with open(os.path.join(path, "base.json")) as f:
        meta = json.load(f)
    assert set(meta) == {"config", "code", "machine", "losses", "train_s", "pass_rates"}
    assert meta["config"]["seed"] == smoke_config.seed
    assert len(meta["losses"]) == smoke_config.base.steps  # logged every max(1, steps // 10)
    assert meta["pass_rates"]["n"] == smoke_config.n_rollouts
    assert meta["pass_rates"]["prompts"] == smoke_config.base.report_size


# Config validation.


def _set(config, dotted, value):
    *parents, leaf = dotted.split(".")
    for part in parents:
        config = config[part]
    config[leaf] = value


@pytest.mark.parametrize(
    "field, value, match",
    [
        ("model.n_heads", 3, "n_heads"),
        ("task.name", "arithmetic", "max_number"),
        ("rl.updates_per_batch", 0, "rl.updates_per_batch"),
        ("rl.temperature", 0.0, "rl.temperature"),
        ("task.eval_sets.cd34.size", 0, "eval_sets.cd34.size"),
        ("base.report_size", 0, "base.report_size"),
        ("batch_size", 65, "batch_size"),
    ],
    ids=[
        "heads-not-dividing-d_model",
        "options-of-another-task",
        "no-updates",
        "zero-temperature",
        "empty-eval-set",
        "empty-base-report",
        "batch-over-pool",
    ],
)
def test_build_rejects_bad_config(smoke_config, field, value, match):
    """build raises ConfigError naming the offending field."""
    assert smoke_config.task.train_size == 64  # batch_size 65 is one over the pool
    _set(smoke_config, field, value)
    with pytest.raises(ConfigError, match=match):
        build(smoke_config)


def test_build_accepts_smoke_config(smoke_config):
    """The unmodified smoke config builds: the rejections above come from the changed field."""
    setup = build(smoke_config)
    assert len(setup.pool) == smoke_config.task.train_size
    assert setup.engine.chunk == smoke_config.batch_size * smoke_config.n_rollouts


@pytest.mark.parametrize(
    "arg, match",
    [("smoke=maybe", "not a boolean"), ("smok", "smok"), ("selector=gps,colour=red", "colour")],
)
def test_parse_arg_rejects(arg, match):
    """parse_arg rejects a non-boolean value for a bool and unknown names with ConfigError."""
    with pytest.raises(ConfigError, match=match):
        config_lib.parse_arg(arg, selector="uniform", smoke=False)


def test_parse_arg_accepts():
    """parse_arg sets strings and booleans ('smoke=no' is False); a bare boolean name sets True."""
    parsed = config_lib.parse_arg("selector=gps,smoke=no", selector="uniform", smoke=True)
    assert parsed.selector == "gps" and parsed.smoke is False
    assert config_lib.parse_arg("smoke", selector="uniform", smoke=False).smoke is True
