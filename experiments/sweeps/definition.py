"""A sweep's definition: config files (one per task) × settings × seeds, expanded to runs.

A sweep file defines `get_sweep()` (or `get_sweep(arg)`, called for "file.py:arg") returning
a `Sweep`, or several run one after the other. Settings are built with `product` / `zip_` /
`chain` / `cross`; a setting's keys are either config-file arguments (`selector`, `smoke`)
or, prefixed `config.`, dotted overrides (`config.rl.lr`), exactly as on the run.py command
line. Each run gets its own workdir, named from its settings (`runner` executes them).
"""

import dataclasses
import fnmatch
import importlib.util
import inspect
import itertools
import os
import re
import sys
from collections.abc import Sequence

from gps.errors import ConfigError

# The repository: run.py and configs/ live here.
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


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
    config_file: str  # relative to the repository, as on the run.py command line
    config_arg: str  # its argument string: the file's fixed arguments, then the setting's
    overrides: tuple[tuple[str, object], ...]  # dotted overrides, seed included
    workdir: str
    method: str  # label for reports: selector name, plus what else the setting changes

    def command(self, python: str = sys.executable) -> list[str]:
        config = self.config_file + (f":{self.config_arg}" if self.config_arg else "")
        cmd = [python, "run.py", f"--config={config}"]
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
        setting_arg = ",".join(f"{k}={_text(v)}" for k, v in args)
        runs.append(
            Run(
                config_file=config_file,
                config_arg=",".join(filter(None, (fixed, setting_arg))),
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
    config = load_config(os.path.join(REPO, run.config_file), run.config_arg)
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
