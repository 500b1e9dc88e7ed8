"""End-to-end smoke runs of gps.testbed.trainer.train: logs, resume equivalence, tracing, bad
input."""

import json
import os
import shutil
import subprocess
import sys

import jax
import numpy as np
import pytest

from conftest import CONFIG_FILES, ROOT
from experiments.sweeps import load_config
from gps.testbed import grpo, sampling, warmup
from gps.records.checkpoint import Checkpointer
from gps.errors import ConfigError
from gps.testbed.tasks import Countdown
from gps.selectors import SELECTORS as registered_selectors
from gps.selectors import selector_config
from gps.testbed.trainer import base_model, build, train

COUNTDOWN = os.path.join(ROOT, "configs", "countdown.py")
SELECTORS = ("uniform", "mopps", "gps", "ds")
METRIC_KEYS = {
    "step",
    "rollouts",
    "effective_ratio",
    "train_success",
    "selector_s",
    "selector_rollout_s",
    "step_s",
    "wall_s",
}


def _quiet(*args):
    pass


def _read_jsonl(path):
    with open(path) as f:
        return [json.loads(line) for line in f if line.strip()]


def _untimed(x):
    """Drops every key ending in '_s' (timings), recursively."""
    if isinstance(x, dict):
        return {k: _untimed(v) for k, v in x.items() if not k.endswith("_s")}
    if isinstance(x, list):
        return [_untimed(v) for v in x]
    return x


def _logs(workdir):
    return {
        name: _read_jsonl(os.path.join(workdir, f"{name}.jsonl")) for name in ("metrics", "eval")
    }


def _countdown_smoke(cache_dir, steps=4, selector="uniform"):
    config = load_config(COUNTDOWN, f"smoke,selector={selector}")
    config.base.cache_dir = cache_dir
    if "embedding" in config.selector:
        config.selector.embedding.cache_dir = os.path.join(cache_dir, "embeddings")
    config.steps = steps
    return config


class Preempted(Exception):
    """Stands in for a kill: raised from inside the training loop."""


def _reward_even_length(mp):
    """Patches Countdown.verify to reward even-length completions: the smoke base solves nothing,
    and with all-zero rewards GRPO never moves the params, which would make resume checks
    vacuous."""
    mp.setattr(
        Countdown, "verify", lambda self, problem, completion: float(len(completion) % 2 == 0)
    )


def _record_saves(mp):
    """Patches Checkpointer.save to also keep a host copy of every saved state, by step."""
    saved, original = {}, Checkpointer.save

    def save(self, step, state):
        original(self, step, state)
        saved[step] = jax.device_get(state)

    mp.setattr(Checkpointer, "save", save)
    return saved


def _preempt_update(mp, call):
    """Patches grpo.update to raise Preempted at its `call`-th call (1-based), i.e. in step
    `call`."""
    calls, original = [0], grpo.update

    def update(*args, **kwargs):
        calls[0] += 1
        if calls[0] == call:
            raise Preempted(f"preempted in step {call}")
        return original(*args, **kwargs)

    mp.setattr(grpo, "update", update)


def _interrupted_then_resumed(config, workdir, call):
    """Runs until preempted in step `call`, then reruns to completion; returns (partial logs,
    saves)."""
    with pytest.MonkeyPatch.context() as mp:
        _preempt_update(mp, call)
        with pytest.raises(Preempted):
            train(config, workdir, log=_quiet)
    partial = _logs(workdir)
    with pytest.MonkeyPatch.context() as mp:
        saved = _record_saves(mp)
        train(config, workdir, log=_quiet)
    return partial, saved


def test_base_cache_key(smoke_config, tmp_path):
    """The base cache lives under config.base.cache_dir, keyed by what shapes the base, not by RL
    settings."""
    model_cfg = build(smoke_config).model_cfg
    path, _ = warmup.base_entry(smoke_config, model_cfg)
    assert path.startswith(str(tmp_path))
    other = load_config(COUNTDOWN, "smoke")
    other.base.cache_dir, other.steps, other.rl.lr = "elsewhere", 99, 0.5
    # The RL pool, the base's report and the eval sets do not shape the base.
    other.task.train_size, other.base.report_size = 50, 4
    other.task.eval_sets.cd4.size = 3
    assert os.path.basename(warmup.base_entry(other, model_cfg)[0]) == os.path.basename(path)
    other.model.d_model = 64
    assert os.path.basename(
        warmup.base_entry(other, build(other).model_cfg)[0]
    ) != os.path.basename(path)


@pytest.mark.parametrize("config_file", CONFIG_FILES, ids=lambda p: os.path.basename(p))
def test_every_config_runs_in_smoke_mode(config_file, shared_base_cache, tmp_path):
    """Each configs/*.py trains end to end in smoke mode and writes complete, consistent logs."""
    config = load_config(config_file, "smoke")
    config.base.cache_dir = shared_base_cache
    summary = train(config, str(tmp_path), log=_quiet)
    per_step = config.batch_size * config.n_rollouts

    with open(tmp_path / "config.json") as f:
        assert json.load(f) == json.loads(config.to_json())
    metrics = _read_jsonl(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in metrics] == list(range(1, config.steps + 1))
    for r in metrics:
        assert METRIC_KEYS <= set(r), METRIC_KEYS - set(r)
        assert r["rollouts"] == r["step"] * per_step
        assert 0.0 <= r["train_success"] <= 1.0 and 0.0 <= r["effective_ratio"] <= 1.0

    evals = _read_jsonl(tmp_path / "eval.jsonl")
    expected_steps = sorted(set(range(0, config.steps, config.eval.every)) | {config.steps})
    assert [r["step"] for r in evals] == expected_steps
    for r in evals:
        assert {"step", "rollouts", "wall_s"} <= set(r)
        assert r["rollouts"] == r["step"] * per_step
        # eval.k samples and greedy at the first and last evaluation, intermediate_k between.
        full = r["step"] in (0, config.steps)
        k = config.eval.k if full else config.eval.intermediate_k
        assert r["eval_k"] == k
        for name in config.task.eval_sets:
            assert (f"{name}/greedy" in r) == full
            for metric in (f"{name}/mean@{k}", f"{name}/pass@{k}"):
                assert 0.0 <= r[metric] <= 1.0, (metric, r)

    with open(tmp_path / "summary.json") as f:
        assert json.load(f) == summary
    assert summary["steps"] == config.steps
    assert summary["rollouts"] == config.steps * per_step
    assert summary["machine"]["backend"] == jax.default_backend()
    assert _untimed(summary["final_eval"]) == _untimed(evals[-1])
    assert _untimed(summary["initial_eval"]) == _untimed(evals[0])


@pytest.mark.parametrize("selector", registered_selectors.names())
def test_every_selector_runs_end_to_end(selector, shared_base_cache, tmp_path):
    """Each selector trains in smoke mode; predictor diagnostics are logged (null without a
    model) and every generated rollout is counted (DS generates more than it trains on)."""
    config = _countdown_smoke(shared_base_cache, steps=3, selector=selector)
    train(config, str(tmp_path), log=_quiet)
    metrics = _read_jsonl(tmp_path / "metrics.jsonl")
    per_step = config.batch_size * config.n_rollouts
    counted = [r["rollouts"] for r in metrics]
    rolls_out = registered_selectors.get(selector).needs_rollouts  # DS and its variants
    for r in metrics:
        assert METRIC_KEYS | {"pred_spearman", "pred_mae"} <= set(r)
        has_model = config.selector.get("model", {}).get("name", "none") != "none"
        assert (r["pred_mae"] is None) == (not has_model)
        # Rollouts a selector generates itself are timed apart from its own work (selector_s).
        assert (r["selector_rollout_s"] > 0) == rolls_out
    if rolls_out:
        assert all(c >= (i + 1) * per_step for i, c in enumerate(counted))
        assert counted[0] == metrics[0]["ds_generated"]  # what it rolled out, all counted
    else:
        assert counted == [(i + 1) * per_step for i in range(config.steps)]
    for r in _read_jsonl(tmp_path / "eval.jsonl"):
        assert {"eval_pred_spearman", "eval_pred_mae"} <= set(r)
        generalises = config.selector.get("model", {}).get("name") in ("gps", "ridge")
        assert (r["eval_pred_mae"] is None) == (not generalises)


@pytest.fixture(scope="module", params=(*SELECTORS, "knapsack"))  # and one that allocates
def resume_runs(request, tmp_path_factory, shared_base_cache):
    """Run A: 4 uninterrupted steps. Run B: same config, preempted in step 4 (after the step-2
    checkpoint and step-3 logs), then resumed to completion. Records saved states and jit caches."""
    config = _countdown_smoke(shared_base_cache, steps=4, selector=request.param)
    assert config.checkpoint_every == 2 and config.eval.every == 2
    root = tmp_path_factory.mktemp("resume")
    runs = {"config": config, "a": str(root / "a"), "b": str(root / "b")}
    with pytest.MonkeyPatch.context() as rewards:
        _reward_even_length(rewards)
        with pytest.MonkeyPatch.context() as mp:
            runs["saved_a"] = _record_saves(mp)
            # Count only the RL run's entries: cache the base beforehand, clear earlier tests'.
            base_model(build(config), log=_quiet)
            sampling.sample.clear_cache()
            grpo.update.clear_cache()
            runs["summary_a"] = train(config, runs["a"], log=_quiet)
            runs["update_traces"] = grpo.update._cache_size()
            runs["sample_traces"] = sampling.sample._cache_size()
        runs["partial_b"], runs["saved_b"] = _interrupted_then_resumed(config, runs["b"], call=4)
    with open(os.path.join(runs["b"], "summary.json")) as f:
        runs["summary_b"] = json.load(f)
    return runs


def test_preempted_run_left_partial_state(resume_runs):
    """Precondition of the resume test: B stopped after logging step 3 with only the step-2
    checkpoint."""
    partial = resume_runs["partial_b"]
    assert [r["step"] for r in partial["metrics"]] == [1, 2, 3]
    assert [r["step"] for r in partial["eval"]] == [0, 2]


def test_resume_reproduces_uninterrupted_logs(resume_runs):
    """Resumed B logs exactly what A logged (timings aside): same steps, no duplicates."""
    a, b = _logs(resume_runs["a"]), _logs(resume_runs["b"])
    assert [r["step"] for r in b["metrics"]] == [1, 2, 3, 4]
    assert [r["step"] for r in b["eval"]] == [0, 2, 4]
    assert _untimed(b["metrics"]) == _untimed(a["metrics"])
    assert _untimed(b["eval"]) == _untimed(a["eval"])
    assert _untimed(resume_runs["summary_b"]) == _untimed(resume_runs["summary_a"])


def test_resume_reproduces_final_state(resume_runs):
    """The final checkpointed state (params, optimizer, selector, counters) of B equals A's bit for
    bit."""
    final_a, final_b = (_untimed(resume_runs[k][4]) for k in ("saved_a", "saved_b"))  # not wall_s
    assert set(final_a) == {"params", "opt_state", "selector", "step", "rollouts"}
    assert jax.tree.structure(final_a) == jax.tree.structure(final_b)
    for x, y in zip(jax.tree.leaves(final_a), jax.tree.leaves(final_b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
    changed = [
        not np.array_equal(np.asarray(x), np.asarray(y))
        for x, y in zip(
            jax.tree.leaves(final_a["params"]), jax.tree.leaves(resume_runs["saved_a"][2]["params"])
        )
    ]
    assert any(changed), "params did not move between steps 2 and 4"


def test_update_traced_once_per_run(resume_runs):
    """From an empty jit cache, a 4-step run compiles grpo.update exactly once."""
    assert resume_runs["update_traces"] == 1


def test_sampler_compiled_at_most_twice_per_run(resume_runs):
    """From an empty jit cache, a run compiles the sampler once or twice (sampling, greedy), not per
    step."""
    assert 1 <= resume_runs["sample_traces"] <= 2


def test_rewards_were_mixed(resume_runs):
    """Precondition of the resume tests: some steps had informative (mixed-reward) groups."""
    metrics = _logs(resume_runs["a"])["metrics"]
    assert any(r["effective_ratio"] > 0 for r in metrics)


def test_restart_before_first_checkpoint_matches_uninterrupted(resume_runs, tmp_path, monkeypatch):
    """Preempted in step 2, before any checkpoint: the rerun starts over and logs each step once."""
    _reward_even_length(monkeypatch)
    workdir = str(tmp_path / "c")
    partial, _ = _interrupted_then_resumed(resume_runs["config"], workdir, call=2)
    assert [r["step"] for r in partial["metrics"]] == [1]
    c, a = _logs(workdir), _logs(resume_runs["a"])
    assert [r["step"] for r in c["metrics"]] == [1, 2, 3, 4]
    assert [r["step"] for r in c["eval"]] == [0, 2, 4]
    assert _untimed(c) == _untimed(a)


def test_kl_penalty_run(cached_smoke_config, tmp_path, monkeypatch):
    """With kl_coef > 0, kl is 0 at step 1 (policy == base) and > 0 at step 2, after an update."""
    _reward_even_length(monkeypatch)  # non-zero advantages, so step 1 moves the policy
    config = cached_smoke_config
    config.steps = 2
    config.rl.kl_coef = 0.1
    train(config, str(tmp_path), log=_quiet)
    metrics = _read_jsonl(tmp_path / "metrics.jsonl")
    assert [r["step"] for r in metrics] == [1, 2]
    assert metrics[0]["effective_ratio"] > 0, "step 1 had no informative group: nothing to learn"
    assert abs(metrics[0]["kl"]) < 1e-6
    assert np.isfinite(metrics[1]["kl"]) and metrics[1]["kl"] > 0


def test_fixed_rollout_budget_is_spread_and_counted(cached_smoke_config, tmp_path, monkeypatch):
    """rollout_budget = 10 over a batch of 4: shares 3, 3, 2, 2, so every step costs exactly
    10 rollouts and MoPPS's posterior is updated with those trials."""
    _reward_even_length(monkeypatch)
    config = cached_smoke_config
    config.steps, config.rollout_budget = 2, 10
    config.selector = selector_config("mopps")
    config.selector.model.decay = 1.0  # no forgetting: α + β − 2 is a prompt's total trials
    saved = _record_saves(monkeypatch)
    train(config, str(tmp_path), log=_quiet)
    assert [r["rollouts"] for r in _read_jsonl(tmp_path / "metrics.jsonl")] == [10, 20]
    model = saved[2]["selector"]["model"]
    trials = np.asarray(model["alpha"]) + np.asarray(model["beta"]) - 2
    assert trials.sum() == 20 and set(trials[trials > 0].tolist()) <= {2, 3, 4, 5, 6}


def test_workdir_with_other_config_is_refused(resume_runs):
    """Rerunning a workdir with a different config (other than more steps) fails before
    touching its logs, and so does asking for fewer steps than it has run."""
    config = resume_runs["config"].copy_and_resolve_references()
    config.steps, config.rl.lr = 6, config.rl.lr * 2
    before = _logs(resume_runs["a"])
    with pytest.raises(ConfigError, match="different config"):
        train(config, resume_runs["a"], log=_quiet)
    config = resume_runs["config"].copy_and_resolve_references()
    config.steps = 3
    with pytest.raises(ConfigError, match="already at step 4, past config.steps=3"):
        train(config, resume_runs["a"], log=_quiet)
    assert _logs(resume_runs["a"]) == before


def test_finished_run_continues_to_more_steps(shared_base_cache, tmp_path, monkeypatch):
    """A GPS run finished at 2 steps, then continued to 4, logs and ends exactly as a 4-step
    run: its last evaluation at step 2 (k = eval.k, greedy) is redone as an intermediate one."""
    _reward_even_length(monkeypatch)
    short, long = (_countdown_smoke(shared_base_cache, steps=s, selector="gps") for s in (2, 4))
    train(long, str(tmp_path / "a"), log=_quiet)
    train(short, str(tmp_path / "b"), log=_quiet)
    assert _read_jsonl(tmp_path / "b" / "eval.jsonl")[-1]["eval_k"] == short.eval.k
    summary = train(long, str(tmp_path / "b"), log=_quiet)
    a, b = _logs(tmp_path / "a"), _logs(tmp_path / "b")
    assert [r["step"] for r in b["eval"]] == [0, 2, 4]
    assert _untimed(b) == _untimed(a)
    with open(tmp_path / "a" / "summary.json") as f:
        assert _untimed(summary) == _untimed(json.load(f))
    with open(tmp_path / "b" / "config.json") as f:
        assert json.load(f)["steps"] == 4


# Bad input through the command line: a clear one-line error, a non-zero exit, no traceback.


def _run_cli(config_args, workdir, cache_dir):
    cmd = [
        sys.executable,
        "run.py",
        *config_args,
        f"--config.base.cache_dir={cache_dir}",
        f"--workdir={workdir}",
    ]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300)


def _assert_clean_failure(result, problem):
    assert result.returncode != 0, result.stdout[-2000:]
    # Lines meant for the user (run.py's "error: ...", absl's "FATAL Flags parsing error: ..."),
    # not the E-level log lines libraries may print while failing.
    user_lines = [l for l in result.stderr.splitlines() if l.lower().startswith(("error", "fatal"))]
    assert any(problem in l for l in user_lines), (
        f"no error line naming {problem!r}:\n{result.stderr[-3000:]}"
    )
    assert "Traceback" not in result.stderr, result.stderr[-3000:]


@pytest.mark.parametrize(
    "config_args, problem",
    [
        (["--config=configs/countdown.py:smoke,selector=nope"], "nope"),
        (["--config=configs/countdown.py:smoke", "--config.task.name=nope"], "nope"),
        (["--config=configs/countdown.py:smoke", "--config.batch_size=100000"], "batch_size"),
        (["--config=configs/countdown.py:smoke", "--config.rl.lrr=1e-3"], "lrr"),
        (["--config=configs/countdown.py:smok"], "smok"),
        (["--config=configs/countdown.py:smoke", "--config.rollout_budget=5"], "rollout_budget"),
        (["--config=configs/countdown.py:smoke", "--config.parallel.devices=64"], "devices"),
        (["--config=configs/countdown.py:smoke", "--config.parallel.params=fsdp"], "params"),
    ],
    ids=[
        "unknown-selector",
        "unknown-task",
        "batch-over-pool",
        "config-key-typo",
        "unknown-config-arg",
        "budget-under-2-per-prompt",
        "more-devices-than-visible",
        "unknown-param-layout",
    ],
)
def test_cli_bad_input(config_args, problem, shared_base_cache, tmp_path_factory):
    """run.py rejects bad input with a non-zero exit and an error line naming the problem."""
    result = _run_cli(config_args, tmp_path_factory.mktemp("run"), shared_base_cache)
    _assert_clean_failure(result, problem)


@pytest.mark.parametrize("damage", ["all-files", "array-data"])
def test_cli_corrupt_checkpoint(damage, resume_runs, tmp_path_factory):
    """A damaged checkpoint is reported as such; the logs written before it are left untouched."""
    workdir = tmp_path_factory.mktemp("run") / "wd"
    shutil.copytree(resume_runs["a"], workdir)
    before = {name: (workdir / name).read_bytes() for name in ("metrics.jsonl", "eval.jsonl")}
    damaged = 0
    for folder, _, files in os.walk(workdir / "checkpoints"):
        for name in files:
            if damage == "all-files" or os.path.basename(folder) == "d":
                with open(os.path.join(folder, name), "wb") as f:
                    f.write(b"garbage")
                damaged += 1
    assert damaged
    config = resume_runs["config"]
    args = [f"--config={COUNTDOWN}:smoke,selector={config.selector.name}"]
    if "embedding" in config.selector:
        args.append(f"--config.selector.embedding.cache_dir={config.selector.embedding.cache_dir}")
    result = _run_cli(args + [f"--config.steps={config.steps}"], workdir, config.base.cache_dir)
    _assert_clean_failure(result, "checkpoint")
    assert "different config" not in result.stderr
    for name, content in before.items():
        assert (workdir / name).read_bytes() == content, f"{name} changed"


def test_samples_report_matches_its_listed_rewards(cached_smoke_config):
    """experiments.samples: each family's mean@k is the mean of the rewards it lists."""
    from experiments.samples import samples_report

    setup = build(cached_smoke_config)
    params, _ = base_model(setup, log=lambda *a: None)
    text = samples_report(setup, params, size=12, k=3, show=12)  # lists every prompt
    means, rewards = {}, {}
    for line in text.splitlines():
        if not line.startswith(" "):
            family = line.split(":")[0]
            means[family], rewards[family] = float(line.split()[2]), []
        elif line.startswith("    "):
            rewards[family].append(int(line.split()[0]))
    assert list(means) == list(setup.task.families)
    assert sum(map(len, rewards.values())) == 12 * 3
    for family, listed in rewards.items():
        assert means[family] == pytest.approx(np.mean(listed), abs=5e-4)
