"""Sweeps: many runs of run.py from one definition, resumable, in parallel worker processes.

The command line is `experiments/sweep.py`. A sweep file defines `get_sweep()` (or
`get_sweep(arg)`, called for "file.py:arg") returning a `Sweep`, or several run one after the
other: config files (one per task) ×
settings (built with `product` / `zip_` / `chain`) × seeds. A setting's keys are either
config-file arguments (`selector`, `smoke`) or, prefixed `config.`, dotted overrides
(`config.rl.lr`), exactly as on the run.py command line. Each run gets its own workdir,
named from its settings. A finished run (summary.json present) is skipped when the sweep
starts again; a half-finished one resumes from its checkpoint (run.py does that). `archive`
copies the finished runs' records and their base models elsewhere (e.g. into results/, to
commit) and `restore` copies them back, so a fresh machine continues the sweep without
rerunning what finished or retraining a base.
"""

import dataclasses
import fnmatch
import importlib.util
import inspect
import itertools
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from gps import progress
from gps.errors import ConfigError

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))  # run.py and configs/ live here


def product(**axes) -> list[dict]:
    """Every combination of the axes' values: product(a=[1, 2], b=[3]) -> [{a:1,b:3}, {a:2,b:3}]."""
    names = list(axes)
    return [dict(zip(names, values)) for values in itertools.product(*axes.values())]


def zip_(**axes) -> list[dict]:
    """The axes' values side by side; all axes must have the same length."""
    lengths = {len(v) for v in axes.values()}
    if len(lengths) > 1:
        raise ConfigError(
            f"zip_ axes have different lengths: {dict((k, len(v)) for k, v in axes.items())}"
        )
    names = list(axes)
    return [dict(zip(names, values)) for values in zip(*axes.values())]


def chain(*settings_lists: list[dict]) -> list[dict]:
    """Concatenation of setting lists (e.g. several ablations, one after the other)."""
    return [s for settings in settings_lists for s in settings]


def cross(*settings_lists: list[dict]) -> list[dict]:
    """The product of setting lists, merging their dicts."""
    return [
        {k: v for part in parts for k, v in part.items()}
        for parts in itertools.product(*settings_lists)
    ]


@dataclasses.dataclass(frozen=True)
class Sweep:
    name: str
    configs: tuple[str, ...]  # config files, one per task; "file:arg" fixes a file argument
    settings: tuple[dict, ...] = ({},)
    seeds: tuple[int, ...] = (0,)


@dataclasses.dataclass(frozen=True)
class Run:
    config: str  # config file
    args: tuple[tuple[str, object], ...]  # config-file arguments
    overrides: tuple[tuple[str, object], ...]  # dotted overrides, seed included
    workdir: str
    method: str  # label for reports: selector name, plus what else the setting changes

    def command(self, python: str = sys.executable) -> list[str]:
        arg = ",".join(f"{k}={_text(v)}" for k, v in self.args)
        separator = "," if ":" in self.config else ":"  # the file may carry fixed arguments
        cmd = [python, "run.py", f"--config={self.config}" + (f"{separator}{arg}" if arg else "")]
        cmd += [f"--config.{k}={_text(v)}" for k, v in self.overrides]
        return cmd + [f"--workdir={self.workdir}"]


def _text(value) -> str:
    if isinstance(value, (tuple, list)):
        return "(" + ",".join(map(str, value)) + (",)" if len(value) == 1 else ")")
    return str(value)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.,=+-]+", "_", text)


def expand(sweeps: Sweep | Sequence[Sweep], root: str) -> list[Run]:
    """All runs of a sweep (or of several, one after the other: e.g. the same methods at
    different seed counts), in a stable order (config, seed, setting: a sweep cut short has
    every method at the first seeds); workdirs are absolute."""
    root, runs = os.path.abspath(root), []
    sweeps = (sweeps,) if isinstance(sweeps, Sweep) else tuple(sweeps)
    for sweep, config, seed, setting in (
        (sweep, *combination)
        for sweep in sweeps
        for combination in itertools.product(sweep.configs, sweep.seeds, sweep.settings)
    ):
        args = tuple((k, v) for k, v in setting.items() if not k.startswith("config."))
        changed = tuple(
            (k[len("config.") :], v) for k, v in setting.items() if k.startswith("config.")
        )
        if any(k == "seed" for k, _ in changed):
            raise ConfigError("set seeds with Sweep(seeds=...), not as a setting")
        config_file, _, fixed = config.partition(":")
        refixed = {k for k, _ in args} & {item.partition("=")[0] for item in fixed.split(",")}
        if refixed:
            raise ConfigError(f"settings set {sorted(refixed)}, which {config} already fixes")
        task = os.path.splitext(os.path.basename(config_file))[0]
        parts = [f"{k}={_text(v)}" for k, v in args + changed]
        name = _slug(",".join(parts) or "default")
        method = _slug(
            "-".join(
                [dict(args).get("selector", "default")]
                + [f"{k.split('.')[-1]}={_text(v)}" for k, v in changed]
            )
        )
        runs.append(
            Run(
                config=config,
                args=args,
                overrides=changed + (("seed", seed),),
                workdir=os.path.join(root, sweep.name, task, name, f"seed{seed}"),
                method=method,
            )
        )
    workdirs = [r.workdir for r in runs]
    if len(set(workdirs)) != len(workdirs):
        raise ConfigError(f"sweep {', '.join(sorted({s.name for s in sweeps}))} has duplicate runs")
    return runs


def select(runs: list[Run], root: str, patterns: Sequence[str]) -> list[Run]:
    """The runs whose workdir, relative to `root` (e.g. `revisit/countdown/selector=gps/seed0`),
    matches any of the glob `patterns`, in the sweep's order: a part of a sweep run first, or
    handed to another machine. A pattern that matches no run is refused (a typo would
    otherwise select nothing, silently)."""
    if not patterns:
        raise ConfigError("--only needs at least one pattern")
    relative = [os.path.relpath(r.workdir, os.path.abspath(root)) for r in runs]
    for pattern in patterns:
        if not fnmatch.filter(relative, pattern):
            raise ConfigError(
                f"--only pattern {pattern!r} matches none of the sweep's {len(runs)} runs"
                + (f" (workdirs like {relative[0]!r})" if relative else "")
            )
    return [r for r, path in zip(runs, relative) if any(fnmatch.fnmatch(path, p) for p in patterns)]


def load_module(path: str, name: str):
    """A Python file as a module (configs/ and configs/sweeps/ are not packages)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def load_config(path: str, arg: str | None = None):
    """`get_config(arg)` of a config file."""
    return load_module(path, "_config_" + os.path.splitext(os.path.basename(path))[0]).get_config(
        arg
    )


def run_config(run: Run):
    """The config a run's command builds: its file's `get_config(arg)` with the overrides."""
    config_file, _, arg = run.command()[2].removeprefix("--config=").partition(":")
    config = load_config(os.path.join(REPO, config_file), arg)
    config.update_from_flattened_dict(dict(run.overrides))
    return config


def load_sweep(path: str) -> Sweep | tuple[Sweep, ...]:
    """`get_sweep()` of a sweep file, or `get_sweep(arg)` for "file.py:arg" (as config files)."""
    path, _, arg = path.partition(":")
    if not os.path.isfile(path):
        raise ConfigError(f"no sweep file {path}")
    module = load_module(path, "_sweep")
    parameters = list(inspect.signature(module.get_sweep).parameters.values())
    if arg and not parameters:
        raise ConfigError(f"{path} takes no argument (got {arg!r})")
    if not arg and parameters and parameters[0].default is inspect.Parameter.empty:
        raise ConfigError(f"{path} needs an argument: {path}:ARG")
    return module.get_sweep(arg) if arg else module.get_sweep()


def is_finished(run: Run) -> bool:
    """Whether the run finished the steps its config asks for today: a finished run whose
    config's `steps` has grown since is continued (the trainer resumes it from its last
    checkpoint with the same numbers as a longer run from the start)."""
    summary = os.path.join(run.workdir, "summary.json")
    if not os.path.exists(summary):
        return False
    with open(summary) as f:
        return json.load(f)["steps"] >= run_config(run).steps


RECORDS = ("config.json", "sweep.json", "log.txt", "metrics.jsonl", "eval.jsonl", "summary.json")
BASES = "bases"  # the archive's folder of base models, beside the sweeps' folders


def _base_cache(run: Run) -> str:
    """The folder of the run's cached base models, as gps.warmup resolves it."""
    return os.path.join(REPO, os.path.expanduser(run_config(run).base.cache_dir))


def _copy_whole(source: str, target: str) -> None:
    """Copies a folder to a temporary name and renames it into place: never half there."""
    shutil.copytree(source, f"{target}.tmp{os.getpid()}")
    os.replace(f"{target}.tmp{os.getpid()}", target)


def archive(runs: list[Run], root: str, dest: str) -> int:
    """Copies each finished run's records (not its checkpoints or TensorBoard events) to
    `dest`, laid out as under `root`, and its base model, where cached, to dest/bases;
    returns the number of runs copied. Only finished runs' records overwrite what `dest` holds."""
    root, copied = os.path.abspath(root), 0
    for run in filter(is_finished, runs):
        target = os.path.join(dest, os.path.relpath(run.workdir, root))
        os.makedirs(target, exist_ok=True)
        for name in RECORDS:
            if os.path.exists(source := os.path.join(run.workdir, name)):
                shutil.copy2(source, target)
        with open(os.path.join(run.workdir, "summary.json")) as f:
            name = os.path.basename(json.load(f).get("base_model", ""))
        base, archived = os.path.join(_base_cache(run), name), os.path.join(dest, BASES, name)
        # Absent where the run was restored and its base never loaded; copied once.
        if (
            name
            and os.path.exists(os.path.join(base, "base.json"))
            and not os.path.exists(archived)
        ):
            _copy_whole(base, archived)
        copied += 1
    return copied


def restore(runs: list[Run], root: str, source: str) -> int:
    """The inverse of `archive`: copies archived finished runs that `root` has not finished
    into it, and every archived base its runs' base cache lacks; returns the runs copied."""
    root, copied = os.path.abspath(root), 0
    for run in runs:
        archived = dataclasses.replace(
            run, workdir=os.path.join(source, os.path.relpath(run.workdir, root))
        )
        # Only what is finished for today's config: an archived run with fewer steps would
        # overwrite the logs of a local run continuing past them.
        if is_finished(archived) and not is_finished(run):
            shutil.copytree(archived.workdir, run.workdir, dirs_exist_ok=True)
            copied += 1
    bases = os.path.join(source, BASES)
    whole = [
        n
        for n in (os.listdir(bases) if os.path.isdir(bases) else ())
        if os.path.exists(os.path.join(bases, n, "base.json"))
    ]
    for cache, name in itertools.product({_base_cache(r) for r in runs}, whole):
        if not os.path.exists(path := os.path.join(cache, name)):
            _copy_whole(os.path.join(bases, name), path)
    return copied


def execute(run: Run, python: str = sys.executable) -> int:
    """Runs (or resumes) one run, its output appended to WORKDIR/log.txt; returns the exit code."""
    os.makedirs(run.workdir, exist_ok=True)
    with open(os.path.join(run.workdir, "sweep.json"), "w") as f:
        json.dump({"method": run.method, "command": run.command(python)}, f)
    with open(os.path.join(run.workdir, "log.txt"), "a") as log:
        return subprocess.call(run.command(python), stdout=log, stderr=subprocess.STDOUT, cwd=REPO)


def run_sweep(runs: list[Run], workers: int, python: str = sys.executable, out=print) -> dict:
    """Executes the unfinished runs with `workers` in parallel; prints progress; returns counts."""
    todo = [r for r in runs if not is_finished(r)]
    out(f"{len(runs)} runs: {len(runs) - len(todo)} finished, {len(todo)} to run")
    failed, start = [], time.time()
    with (
        ThreadPoolExecutor(max_workers=workers) as pool,  # threads waiting on subprocesses
        progress.bar(len(todo), "sweep", unit="run") as runs_bar,
    ):
        say = progress.printer(runs_bar, out)
        futures = {pool.submit(execute, r, python): r for r in todo}
        for done, future in enumerate(as_completed(futures), 1):
            run, code = futures[future], future.result()
            if code != 0:
                failed.append(run)
            runs_bar.update()
            status = "ok" if code == 0 else f"FAILED (exit {code}; see {run.workdir}/log.txt)"
            say(f"[{done}/{len(todo)} {time.time() - start:.0f}s] {run.workdir}: {status}")
    return {"runs": len(runs), "ran": len(todo), "failed": len(failed)}
