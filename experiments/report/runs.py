"""Finding and loading finished runs below folders, and grouping them by task and method."""

import dataclasses
import os


from gps import selectors
from gps.records import run_folder
from gps.records.jsonl import JsonlLog

BASELINES = ("uniform", "ds")  # the reference methods, first in every table


@dataclasses.dataclass
class Run:
    """One finished run: where it is, how it is grouped, and its logged records."""

    path: str
    task: str
    method: str
    seed: int
    config: dict
    evals: list[dict]
    metrics: list[dict]

    @property
    def k(self) -> int:
        return self.config["eval"]["k"]

    @property
    def eval_sets(self) -> list[str]:
        return list(self.config["task"]["eval_sets"])

    def accuracy(self, record: dict, eval_set: str) -> float:
        """The primary metric, mean@k, of one evaluation on `eval_set`, at the k that evaluation
        took (`eval_k`: evaluations between the first and the last take fewer samples; mean@k
        estimates the same accuracy at any k)."""
        return record[f"{eval_set}/mean@{record.get('eval_k', self.k)}"]

    def accuracies(self, eval_set: str) -> list[float]:
        return [self.accuracy(e, eval_set) for e in self.evals]


def method_label(run_dir: str, config: dict) -> str:
    """The label its selector's parts give (`gps (acquisition.diversity=0.0)`); for runs made
    before the selector blocks had today's layout, sweep.json's label, else the name."""
    label = selectors.method_label(config["selector"])
    if label is not None:
        return label
    sweep = run_folder.path(run_dir, run_folder.SWEEP)
    if os.path.exists(sweep):
        return run_folder.read_json(sweep)["method"]
    return config["selector"]["name"]


def load_run(path: str) -> Run:
    config = run_folder.read_json(run_folder.path(path, run_folder.CONFIG))
    return Run(
        path=path,
        task=config["task"]["name"],
        method=method_label(path, config),
        seed=config["seed"],
        config=config,
        evals=JsonlLog(run_folder.path(path, run_folder.EVALS)).read(),
        metrics=JsonlLog(run_folder.path(path, run_folder.METRICS)).read(),
    )


def load_runs(*roots: str) -> list[Run]:
    """Every finished run at any depth below the roots, once even if two roots hold it;
    unfinished ones are skipped with a note."""
    runs = {}
    for root in roots:
        for path, dirs, files in os.walk(root):
            dirs.sort()
            if run_folder.CONFIG not in files:
                continue
            dirs.clear()  # a run's subfolders (checkpoints) hold no runs
            if run_folder.SUMMARY not in files:
                print(f"skipping unfinished run (no {run_folder.SUMMARY}): {path}")
            elif os.path.realpath(path) not in runs:
                runs[os.path.realpath(path)] = load_run(path)
    return sorted(runs.values(), key=lambda r: (r.task, r.method, r.seed, r.path))


def method_order(method: str) -> tuple:
    """Sort key: the baselines first, then the other methods alphabetically."""
    return (BASELINES.index(method) if method in BASELINES else len(BASELINES), method)


def group_runs(runs: list[Run]) -> dict[str, dict[str, list[Run]]]:
    """task -> method -> its runs (the seeds)."""
    groups = {}
    for run in runs:
        groups.setdefault(run.task, {}).setdefault(run.method, []).append(run)
    return {
        task: dict(sorted(methods.items(), key=lambda item: method_order(item[0])))
        for task, methods in sorted(groups.items())
    }


def mean_k_label(methods: dict[str, list[Run]]) -> str:
    """'mean@8', or 'mean@4/8' when the runs differ in k."""
    return "mean@" + "/".join(str(k) for k in sorted({r.k for rs in methods.values() for r in rs}))


def task_eval_sets(methods: dict[str, list[Run]]) -> list[str]:
    return list(dict.fromkeys(s for runs in methods.values() for r in runs for s in r.eval_sets))
