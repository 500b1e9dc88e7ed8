"""A run folder: the files one run writes, and the rules for starting, resuming and
continuing a run in it. Every tool that reads or writes a run's record (the trainers, sweeps,
reports, test-time scoring) names its files through this module; the checkpoints and the
TensorBoard events are `checkpoint.py`'s and `tensorboard.py`'s.

    WORKDIR/config.json     the run's config (checked on resume)
    WORKDIR/metrics.jsonl   one record per RL step
    WORKDIR/eval.jsonl      one record per held-out evaluation
    WORKDIR/summary.json    written last: the run is finished
    WORKDIR/sweep.json      the sweep's label and command, when a sweep started it
    WORKDIR/log.txt         the process's output, when a sweep started it
    WORKDIR/checkpoints/    orbax checkpoints; WORKDIR/tensorboard/: event files
"""

import json
import os

import ml_collections

from gps.errors import ConfigError

CONFIG = "config.json"
METRICS = "metrics.jsonl"
EVALS = "eval.jsonl"
SUMMARY = "summary.json"
SWEEP = "sweep.json"
LOG = "log.txt"
# What a run's record is, without its checkpoints or TensorBoard events (what an archive keeps).
RECORDS = (CONFIG, SWEEP, LOG, METRICS, EVALS, SUMMARY)


def path(workdir: str, name: str) -> str:
    return os.path.join(workdir, name)


def read_json(file: str) -> dict:
    with open(file) as f:
        return json.load(f)


def _replace(file: str, text: str) -> None:
    """Written to a temporary file and renamed into place: never half there."""
    with open(f"{file}.tmp", "w") as f:
        f.write(text)
    os.replace(f"{file}.tmp", file)


def write_json(file: str, value: dict) -> None:
    _replace(file, json.dumps(value, indent=1))


def is_run(workdir: str) -> bool:
    return os.path.isfile(path(workdir, CONFIG))


def finished_steps(workdir: str) -> int | None:
    """The steps a finished run reached (its summary's), None while it is unfinished."""
    summary = path(workdir, SUMMARY)
    return read_json(summary)["steps"] if os.path.exists(summary) else None


def load_config(workdir: str, upgrade=lambda recorded: recorded) -> ml_collections.ConfigDict:
    """The run's config, as its config.json holds it, read in today's layout by `upgrade`
    (see `prepare`)."""
    if not is_run(workdir):
        raise ConfigError(f"{workdir} is not a run folder (no {CONFIG})")
    return ml_collections.ConfigDict(upgrade(read_json(path(workdir, CONFIG))))


def _comparable(config: dict) -> dict:
    """A config as far as resuming is concerned: where caches live does not matter, nor the
    devices (a checkpoint restores onto another mesh; numbers agree to float tolerance)."""
    if not isinstance(config, dict):
        return config
    return {k: _comparable(v) for k, v in config.items() if k not in ("cache_dir", "parallel")}


def prepare(workdir: str, config, latest_step: int | None, upgrade=lambda recorded: recorded):
    """Writes the run's config.json, or checks that the folder's run is this one; `upgrade`
    reads an older run's config.json in today's layout (keys added since, at the values the
    older run had implicitly: `gps.testbed.config.upgrade_recorded`).

    A run may be continued to more steps when nothing else changed: nothing in a step
    depends on `steps` except which evaluation is the last, and the trainer redoes the old
    last one as the longer run would have made it, so the numbers equal a run that had the
    larger `steps` from the start. Continuing removes summary.json: the run is unfinished
    again until it reaches the new steps."""
    os.makedirs(workdir, exist_ok=True)
    file = path(workdir, CONFIG)
    wanted = json.loads(config.to_json(sort_keys=True))
    if os.path.exists(file):
        recorded = _comparable(upgrade(read_json(file)))
        if recorded == _comparable(wanted):
            return
        if {**recorded, "steps": wanted["steps"]} != _comparable(wanted):
            raise ConfigError(
                f"{workdir} holds a run with a different config ({file}); use another workdir "
                "(only `steps` may change, to continue a run)"
            )
        if wanted["steps"] < (latest_step or 0):
            raise ConfigError(
                f"{workdir} holds a run already at step {latest_step}, past "
                f"config.steps={wanted['steps']}"
            )
        if os.path.exists(summary := path(workdir, SUMMARY)):
            os.remove(summary)
    _replace(file, config.to_json(indent=1, sort_keys=True))
