"""Executing a sweep's runs: each run.py process resumable, several in parallel, and the
archive of finished runs (records and base models) that a fresh machine restores from."""

import dataclasses
import itertools
import json
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor, as_completed

from experiments.sweeps.definition import REPO, Run, run_config
from gps.records import run_folder
from gps.testbed import progress


def is_finished(run: Run) -> bool:
    """Whether the run finished the steps its config asks for today: a finished run whose
    config's `steps` has grown since is continued (the trainer resumes it from its last
    checkpoint with the same numbers as a longer run from the start)."""
    steps = run_folder.finished_steps(run.workdir)
    return steps is not None and steps >= run_config(run).steps


BASES = "bases"  # the archive's folder of base models, beside the sweeps' folders


def _base_cache(run: Run) -> str:
    """The folder of the run's cached base models, as gps.testbed.warmup resolves it."""
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
        for name in run_folder.RECORDS:
            if os.path.exists(source := os.path.join(run.workdir, name)):
                shutil.copy2(source, target)
        summary = run_folder.read_json(run_folder.path(run.workdir, run_folder.SUMMARY))
        name = os.path.basename(summary.get("base_model", ""))
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
    with open(run_folder.path(run.workdir, run_folder.SWEEP), "w") as f:
        json.dump({"method": run.method, "command": run.command(python)}, f)
    with open(run_folder.path(run.workdir, run_folder.LOG), "a") as log:
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
