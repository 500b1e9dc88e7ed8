"""Whether two runs logged the same numbers: the check that a refactoring changed no number.

python -m experiments.report.compare RUN_A RUN_B [--steps=20]

Compares metrics.jsonl and eval.jsonl record by record up to --steps (default: the steps both
runs have), every field but the timings (`*_s`) and the final evaluation of a run cut short
(a run of S steps ends on a whole-set evaluation where a longer run had an intermediate one).
Prints the first difference, or how many records agree to the last digit; exits 1 on a
difference, or when either run logged fewer than --steps steps.
"""

import sys

from absl import app, flags

from gps.records import run_folder
from gps.records.jsonl import JsonlLog

_STEPS = flags.DEFINE_integer("steps", None, "Compare records up to this step (default: all).")


LOGS = (run_folder.METRICS, run_folder.EVALS)


def _numbers(record: dict) -> dict:
    return {k: v for k, v in record.items() if not k.endswith("_s")}


def compare(a: str, b: str, steps: int | None) -> tuple[int, str | None]:
    """(records that agree, the first difference or None) over both runs' first `steps`."""
    logs = {n: [JsonlLog(run_folder.path(w, n)).read() for w in (a, b)] for n in LOGS}
    logged = [len(records) for records in logs[run_folder.METRICS]]
    steps = min(logged) if steps is None else steps
    if min(logged) < max(steps, 1):
        return 0, f"the runs logged {logged[0]} and {logged[1]} steps; comparing needs {steps}"
    agreed = 0
    for name, upto in ((run_folder.METRICS, steps), (run_folder.EVALS, steps - 1)):
        xs, ys = ([r for r in records if r["step"] <= upto] for records in logs[name])
        if len(xs) != len(ys):
            return agreed, f"{name}: {len(xs)} records up to step {upto} against {len(ys)}"
        for x, y in zip(xs, ys):
            if _numbers(x) != _numbers(y):
                keys = sorted(k for k in {**_numbers(x), **_numbers(y)} if x.get(k) != y.get(k))
                return (
                    agreed,
                    f"{name} step {x['step']}: {keys[0]} {x.get(keys[0])} != {y.get(keys[0])}",
                )
            agreed += 1
    return agreed, None


def main(argv):
    if len(argv) != 3:
        raise app.UsageError("usage: python -m experiments.report.compare RUN_A RUN_B [--steps=N]")
    for workdir in argv[1:]:
        if not run_folder.is_run(workdir):
            print(f"error: {workdir} is not a run folder (no {run_folder.CONFIG})", file=sys.stderr)
            sys.exit(2)
    agreed, difference = compare(argv[1], argv[2], _STEPS.value)
    if difference:
        print(f"differ after {agreed} equal records: {difference}")
        sys.exit(1)
    print(f"{agreed} records equal to the last digit (timings aside)")


if __name__ == "__main__":
    app.run(main)
