"""Sweeps: the expander, skip/resume of finished and interrupted runs, a smoke sweep end to end."""

import json
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT
from experiments.quickstart import quickstart
from experiments.report.plots import accuracy_figure
from experiments.report.runs import group_runs, load_runs
from experiments.sweeps import (
    Sweep,
    archive,
    chain,
    cross,
    expand,
    is_finished,
    load_sweep,
    product,
    restore,
    run_config,
    run_sweep,
    select,
    zip_,
)
from gps.testbed.config import REGIMES
from gps.errors import ConfigError
from gps.selectors import SELECTORS


def test_product_zip_chain_cross():
    assert product(a=[1, 2], b=["x"]) == [{"a": 1, "b": "x"}, {"a": 2, "b": "x"}]
    assert zip_(a=[1, 2], b=[3, 4]) == [{"a": 1, "b": 3}, {"a": 2, "b": 4}]
    assert chain([{"a": 1}], [{"b": 2}]) == [{"a": 1}, {"b": 2}]
    assert cross([{"a": 1}, {"a": 2}], [{"b": 3}]) == [{"a": 1, "b": 3}, {"a": 2, "b": 3}]
    with pytest.raises(ConfigError, match="different lengths"):
        zip_(a=[1, 2], b=[3])


def test_expand_names_runs_and_splits_args_from_overrides(tmp_path):
    sweep = Sweep(
        name="s",
        configs=("configs/countdown.py", "configs/arithmetic.py"),
        settings=tuple(product(selector=["gps"], **{"config.rl.lr": [1e-4, 3e-4]})),
        seeds=(0, 1),
    )
    runs = expand(sweep, str(tmp_path))
    assert len(runs) == 2 * 2 * 2
    first = runs[0]
    assert first.config_file == "configs/countdown.py" and first.config_arg == "selector=gps"
    assert first.overrides == (("rl.lr", 1e-4), ("seed", 0))
    assert first.workdir == str(
        tmp_path / "s" / "countdown" / "selector=gps,rl.lr=0.0001" / "seed0"
    )
    assert first.method == "gps-lr=0.0001"
    assert first.command("python")[1:] == [
        "run.py",
        "--config=configs/countdown.py:selector=gps",
        "--config.rl.lr=0.0001",
        "--config.seed=0",
        f"--workdir={first.workdir}",
    ]
    assert len({r.workdir for r in runs}) == len(runs)
    with pytest.raises(ConfigError, match="duplicate"):
        expand(Sweep("d", ("configs/countdown.py",), ({}, {})), str(tmp_path))
    with pytest.raises(ConfigError, match="seeds"):
        expand(Sweep("d", ("configs/countdown.py",), ({"config.seed": 3},)), str(tmp_path))


def test_only_selects_runs_by_workdir_glob_in_the_sweeps_order(tmp_path):
    runs = expand(
        Sweep(
            "s",
            ("configs/countdown.py", "configs/arithmetic.py"),
            tuple(product(selector=["gps", "uniform"])),
            seeds=(0, 1),
        ),
        str(tmp_path),
    )
    chosen = select(runs, str(tmp_path), ["s/arithmetic/*", "*/selector=gps/seed1"])
    assert [os.path.relpath(r.workdir, tmp_path) for r in chosen] == [
        "s/countdown/selector=gps/seed1",
        "s/arithmetic/selector=gps/seed0",
        "s/arithmetic/selector=uniform/seed0",
        "s/arithmetic/selector=gps/seed1",
        "s/arithmetic/selector=uniform/seed1",
    ]
    with pytest.raises(ConfigError, match="'s/countdwn/\\*' matches none of the sweep's 8 runs"):
        select(runs, str(tmp_path), ["s/countdown/*", "s/countdwn/*"])
    with pytest.raises(ConfigError, match="at least one pattern"):
        select(runs, str(tmp_path), [])


def test_a_fixed_file_argument_joins_each_runs_arguments_but_not_its_name(tmp_path):
    sweep = Sweep("s", ("configs/countdown.py:small",), ({"selector": "gps"}, {}))
    with_selector, default = expand(sweep, str(tmp_path))
    assert with_selector.workdir == str(tmp_path / "s" / "countdown" / "selector=gps" / "seed0")
    assert with_selector.command("python")[2] == "--config=configs/countdown.py:small,selector=gps"
    assert default.command("python")[2] == "--config=configs/countdown.py:small"
    with pytest.raises(ConfigError, match="already fixes"):
        expand(Sweep("s", ("configs/countdown.py:small",), ({"small": False},)), str(tmp_path))


def _as_committed(built, committed):
    """`built` on the keys `committed` has (keys added since default to the behaviour the
    run had: devices, rollout budgets, budget rules); where caches live does not matter."""
    if not isinstance(committed, dict):
        return built
    out = {k: _as_committed((built or {}).get(k), v) for k, v in committed.items()}
    if "cache_dir" in committed:
        out["cache_dir"] = committed["cache_dir"]
    return out


def test_sweep_file_still_builds_the_committed_ablation_runs_configs(tmp_path):
    """Every committed run of the GPS ablation sweep has the config.json its sweep file's
    command builds today, so results/ablations/gps's command reproduces it. (The older
    committed sweeps predate the selector blocks' layout or today's evaluation; their
    READMEs name their commits.)"""
    root = os.path.join(ROOT, "results", "ablations", "gps")
    if not os.path.exists(root):
        pytest.skip("no committed runs of today's ablation sweep yet (being rerun)")
    sweep = load_sweep(os.path.join(ROOT, "configs", "sweeps", "gps_ablations.py"))
    checked = 0
    for run in expand(sweep, str(tmp_path)):
        committed = os.path.join(root, os.path.relpath(run.workdir, tmp_path / sweep.name))
        if not os.path.exists(committed):  # settings added after the committed runs
            continue
        config = run_config(run)
        with open(os.path.join(committed, "config.json")) as f:
            recorded = json.load(f)
        assert _as_committed(json.loads(config.to_json()), recorded) == recorded, committed
        checked += 1
    committed_runs = [p for p, _, files in os.walk(root) if "config.json" in files]
    assert checked == len(committed_runs) > 0  # every committed run is one the sweep builds


def test_every_sweep_file_expands(tmp_path):
    folder = os.path.join(ROOT, "configs", "sweeps")
    files = [name for name in os.listdir(folder) if name.endswith(".py")]
    files.remove("regimes.py")  # needs its regime argument
    files += [f"regimes.py:{regime}" for regime in REGIMES]
    counts = {
        name: len(expand(load_sweep(os.path.join(folder, name)), str(tmp_path))) for name in files
    }
    assert counts["main.py"] == 2 * 4 * 3  # tasks × selectors × seeds
    assert counts["gps_ablations.py"] == 11 * 3  # default, uniform + 9 ablated settings
    assert counts["mopps_decay.py"] == 3 * 3
    field = load_sweep(os.path.join(folder, "field.py"))
    assert sorted(s["selector"] for s in field.settings) == SELECTORS.names()  # every one
    core, others = load_sweep(os.path.join(folder, "regimes.py:revisit"))
    assert len(core.settings) == 8 and len(core.seeds) == 5 and len(others.seeds) == 3
    named = [s["selector"] for sweep in (core, others) for s in sweep.settings]
    assert sorted(named) == SELECTORS.names()  # every selector, once
    assert counts["regimes.py:revisit"] == counts["regimes.py:cold"] == 2 * (8 * 5 + 6 * 3)
    ablations = expand(load_sweep(os.path.join(folder, "gps_ablations.py:revisit")), "/tmp")
    assert len(ablations) == 12 * 5  # 9 GPS ablations, the DeepSets encoder, 2 MoPPS decays


def test_regimes_size_the_pool_by_visits_per_prompt():
    for task in ("countdown", "arithmetic"):
        path = os.path.join(ROOT, "configs", "sweeps", "regimes.py")
        for regime, visits in REGIMES.items():
            for run in expand(load_sweep(f"{path}:{regime}"), "/tmp"):
                if f"/{task}/" in run.workdir:
                    config = run_config(run)
                    per_prompt = config.steps * config.batch_size / config.task.train_size
                    assert abs(per_prompt - visits) / visits < 0.01, (run.workdir, per_prompt)
                    break
    with pytest.raises(ConfigError, match="unknown regime 'warm'"):
        load_sweep(f"{path}:warm")
    with pytest.raises(ConfigError, match="needs an argument"):
        load_sweep(path)
    with pytest.raises(ConfigError, match="takes no argument"):
        load_sweep(os.path.join(ROOT, "configs", "sweeps", "field.py:revisit"))
    with pytest.raises(ConfigError, match="unknown regime 'warm'"):
        load_sweep(os.path.join(ROOT, "configs", "sweeps", "gps_ablations.py:warm"))
    with pytest.raises(ConfigError, match="no sweep file"):
        load_sweep(os.path.join(ROOT, "configs", "sweeps", "no_such.py"))


def test_a_finished_run_whose_steps_grew_is_unfinished(tmp_path):
    run = expand(load_sweep(os.path.join(ROOT, "configs", "sweeps", "smoke.py")), str(tmp_path))[0]
    assert not is_finished(run)
    os.makedirs(run.workdir)
    for steps, finished in ((run_config(run).steps, True), (run_config(run).steps - 1, False)):
        with open(os.path.join(run.workdir, "summary.json"), "w") as f:
            json.dump({"steps": steps}, f)
        assert is_finished(run) == finished


def _smoke_runs(root, cache):
    sweep = load_sweep(os.path.join(ROOT, "configs", "sweeps", "smoke.py"))
    settings = cross(list(sweep.settings), [{"config.base.cache_dir": cache}])
    return expand(Sweep(sweep.name, sweep.configs, tuple(settings), sweep.seeds), root)


def test_archive_then_restore_carries_finished_runs_and_bases_to_a_fresh_root(tmp_path):
    cache = tmp_path / "cache"
    runs = _smoke_runs(str(tmp_path / "old"), str(cache))
    finished, unfinished = runs
    base = cache / "countdown-seed0-abc"
    os.makedirs(base / "params")
    (base / "base.json").write_text("{}")
    for run, summary in ((finished, True), (unfinished, False)):
        os.makedirs(os.path.join(run.workdir, "checkpoints", "2"))
        for name in ("config.json", "metrics.jsonl", "log.txt"):
            with open(os.path.join(run.workdir, name), "w") as f:
                f.write(run.method)
        if summary:
            with open(os.path.join(run.workdir, "summary.json"), "w") as f:
                # As the trainer records it: the path relative to the folder it ran in.
                json.dump(
                    {"steps": run_config(run).steps, "base_model": "cache/base/" + base.name}, f
                )
    dest = tmp_path / "archive"
    assert archive(runs, str(tmp_path / "old"), str(dest)) == 1
    archived = dest / os.path.relpath(finished.workdir, tmp_path / "old")
    assert sorted(os.listdir(archived)) == [
        "config.json",
        "log.txt",
        "metrics.jsonl",
        "summary.json",
    ]
    assert not os.path.exists(dest / os.path.relpath(unfinished.workdir, tmp_path / "old"))
    assert os.listdir(dest / "bases") == ["countdown-seed0-abc"]

    shutil.rmtree(cache)  # a fresh machine: neither the runs nor the base
    assert archive(runs, str(tmp_path / "old"), str(dest)) == 1  # the base stays archived
    fresh = _smoke_runs(str(tmp_path / "new"), str(cache))
    assert restore(fresh, str(tmp_path / "new"), str(dest)) == 1
    assert [is_finished(run) for run in fresh] == [True, False]
    with open(os.path.join(fresh[0].workdir, "metrics.jsonl")) as f:
        assert f.read() == finished.method
    assert (cache / "countdown-seed0-abc" / "base.json").exists()
    assert restore(fresh, str(tmp_path / "new"), str(dest)) == 0  # nothing left to restore

    # An archived run with fewer steps than today's config is not restored over a local run
    # continuing past them.
    with open(dest / os.path.relpath(fresh[0].workdir, tmp_path / "new") / "summary.json") as f:
        short = {**json.load(f), "steps": run_config(finished).steps - 1}
    with open(
        dest / os.path.relpath(fresh[0].workdir, tmp_path / "new") / "summary.json", "w"
    ) as f:
        json.dump(short, f)
    os.remove(os.path.join(fresh[0].workdir, "summary.json"))
    with open(os.path.join(fresh[0].workdir, "metrics.jsonl"), "w") as f:
        f.write("local")
    assert restore(fresh, str(tmp_path / "new"), str(dest)) == 0
    with open(os.path.join(fresh[0].workdir, "metrics.jsonl")) as f:
        assert f.read() == "local"


def test_smoke_sweep_runs_then_skips_finished_and_resumes_interrupted(tmp_path, shared_base_cache):
    runs = _smoke_runs(str(tmp_path), shared_base_cache)
    lines = []
    counts = run_sweep(runs, workers=2, python=sys.executable, out=lines.append)
    assert counts == {"runs": 2, "ran": 2, "failed": 0}, lines
    for run in runs:
        assert os.path.exists(os.path.join(run.workdir, "summary.json"))
        with open(os.path.join(run.workdir, "sweep.json")) as f:
            assert json.load(f)["method"] == run.method
    # Interrupt the second run: its summary and last checkpoint are gone, step 2's remains.
    finished, interrupted = runs
    untouched = os.path.getmtime(os.path.join(finished.workdir, "summary.json"))
    os.remove(os.path.join(interrupted.workdir, "summary.json"))
    checkpoints = os.path.join(interrupted.workdir, "checkpoints")
    shutil.rmtree(os.path.join(checkpoints, max(os.listdir(checkpoints), key=int)))
    counts = run_sweep(runs, workers=2, python=sys.executable, out=lines.append)
    assert counts == {"runs": 2, "ran": 1, "failed": 0}
    assert os.path.getmtime(os.path.join(finished.workdir, "summary.json")) == untouched
    with open(os.path.join(interrupted.workdir, "log.txt")) as f:
        assert "resumed from step 2" in f.read()
    assert os.path.exists(os.path.join(interrupted.workdir, "summary.json"))


def test_quickstart_runs_both_from_one_base_and_reports_them(tmp_path):
    """`make run`'s job on the smoke config: both runs finish from one base; what it prints (a
    table paired with uniform, the plot's and the report's paths) fits in 100 columns; the plot
    dots the full evaluations of its one seed and says it has no band."""
    overrides = {"config.base.cache_dir": str(tmp_path / "cache")}  # empty: a base to train
    lines = quickstart(
        str(tmp_path), "configs/countdown.py:smoke", ["uniform", "gps"], 0, overrides
    )
    printed = "\n\n".join(lines).replace(str(tmp_path), "workdirs")  # main, --root=workdirs
    assert max(len(line) for line in printed.splitlines()) <= 100, printed
    assert printed.startswith("countdown — cd34, seed 0\n") and "| Δ vs uniform |" in printed
    assert "plot: workdirs/quickstart/report/countdown_accuracy_vs_rollouts.png" in printed
    assert "full report: workdirs/quickstart/report/report.md" in printed
    report = tmp_path / "quickstart" / "report"
    assert "training diagnostics" in (report / "report.md").read_text()  # the details stay there
    logs = [p.read_text() for p in (tmp_path / "quickstart" / "countdown").glob("*/seed0/log.txt")]
    # One base for both: exactly one run trained it, the other loaded it from the cache.
    assert len(logs) == 2 and sum("base model: training" in log for log in logs) == 1
    assert os.path.exists(report / "countdown_accuracy_vs_rollouts.png")
    methods = group_runs(load_runs(str(tmp_path / "quickstart")))["countdown"]
    ax = accuracy_figure("countdown", methods, "rollouts").axes[0]
    assert ax.get_legend().get_title().get_text() == "1 seed: no band"
    # Smoke evaluates at steps 0, 2 and 3, at k = 1 between: dots at the first and the last.
    full = [[e["rollouts"] for e in (r.evals[0], r.evals[-1])] for (r,) in methods.values()]
    assert [len(r.evals) for (r,) in methods.values()] == [3, 3]
    dots = [list(line.get_xdata()) for line in ax.lines if line.get_marker() == "o"]
    assert dots == [*full, []]  # the last: the legend's entry for the dots


def test_printed_commands_piped_into_a_reader_that_stops_early_end_quietly(tmp_path):
    """`--print_commands | head -1`: the closed pipe is not an error (no traceback)."""
    root = tmp_path / ("long" * 100)  # more output than a pipe buffers (64 KiB)
    command = [sys.executable, "-m", "experiments.sweeps", "configs/sweeps/regimes.py:cold"]
    command += ["--print_commands", f"--root={root}"]
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout.readline().startswith("python run.py")
    process.stdout.close()  # like `head -1` exiting before the last command is printed
    stderr = process.stderr.read()
    assert process.wait() == 0 and stderr == ""
