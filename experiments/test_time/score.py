"""Test-time allocation (docs/method.md §3) with a trained policy and its GPS predictor.

  python -m experiments.test_time.score WORKDIR [--eval_set=cd34] [--size=512] [--budgets=1,2,4]
  python -m experiments.test_time.score OUT_FOLDER --rescore --out=FOLDER  # today's rules

Unseen test prompts (a fresh held-out split, never in the pool or the eval sets) get a
total of K·N samples, either K each (uniform) or by greedy marginal gain on GPS's
predicted success rates (gps.test_time.allocation). Both are scored on the same drawn samples
(best-of-k: solved if any allocated sample is correct), so the comparison is paired.
Also reports the smallest budget at which the predicted allocation matches uniform's
accuracy; the allocation that treats the predictions as uncertain (a Beta belief fitted on
`--calibration_prompts` other fresh held-out prompts, none a test prompt: `--calibration`
samples each, outside the budget); and the accuracy of the point
allocation driven by success rates measured on separate samples (an oracle, outside the
budget: what a perfect predictor could give). The validated allocation is the calibrated
one at budgets where a cross-fitted check on the calibration prompts shows it beating uniform
(gps.test_time.allocation.validated_gain, one-sided 5%), and uniform elsewhere.
Gains over uniform are paired over prompts (the same samples score every allocation), with
a 95% interval of ±1.96 standard errors of the per-prompt differences. Prints JSON lines
and a Markdown table; --out writes both to files, with samples.npz: the predictions, the
drawn samples' correctness and the calibration outcomes, to compare allocations offline.
"""

import dataclasses
import json
import os
import sys
import zipfile

import numpy as np
from absl import app, flags

from gps.records import run_folder
from gps.test_time.allocation import (
    allocation_report,
    fit_belief,
    greedy_allocation,
    validated_gain,
)
from gps.test_time.summary import load_rows
from gps.errors import ConfigError, GPSError
from gps.records.provenance import code_version, machine
from gps.stats import Z95, plus_minus

_EVAL_SET = flags.DEFINE_string(
    "eval_set", None, "Eval set whose families the test prompts take (default: the run's first)."
)
_SIZE = flags.DEFINE_integer("size", 512, "Test prompts.")
_BUDGETS = flags.DEFINE_list("budgets", ["1", "2", "4"], "Samples per prompt on average (K).")
_MINIMUM = flags.DEFINE_integer("minimum", 0, "Samples every prompt gets at least.")
_ORACLE = flags.DEFINE_integer(
    "oracle",
    8,
    "Separate samples per prompt whose success rate drives an oracle allocation "
    "(not counted in the budget; 0 = none).",
)
_CALIBRATION = flags.DEFINE_integer(
    "calibration",
    8,
    "Samples per calibration prompt that fit the predictions' belief and validate its "
    "allocation (0 = none; at least the largest of --budgets).",
)
_CALIBRATION_PROMPTS = flags.DEFINE_integer(
    "calibration_prompts",
    512,
    "Fresh held-out prompts (none a test prompt) the belief is fitted and validated on: "
    "the validation's standard error shrinks as one over their square root.",
)
_OUT = flags.DEFINE_string("out", None, "Folder for test_time.jsonl and test_time.md.")
_RESCORE = flags.DEFINE_bool(
    "rescore",
    False,
    "WORKDIR is a test_time.score --out folder: score its saved samples with today's allocations "
    "instead of drawing new ones (writes rows to --out, never samples).",
)
_VALIDATION_SEED = flags.DEFINE_integer(
    "validation_seed",
    None,
    "With --rescore, the validation's seed for folders whose header lacks it (the run's seed).",
)


def markdown(rows: list[dict]) -> str:
    lines = [
        "| K (samples/prompt) | uniform best-of-K | predicted allocation "
        "| gain (points, 95% paired CI) | budget to match uniform | calibrated allocation "
        "| gain (points, 95% paired CI) | check: cross-fitted gain (SE), points "
        "| validated allocation | gain (points, 95% paired CI) | oracle-rate allocation |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]

    def gain(r, name):  # paired over prompts, with its 95% interval
        if f"{name}_gain" not in r:
            return "—"
        return plus_minus(100 * r[f"{name}_gain"], 100 * Z95 * r[f"{name}_gain_se"], "+.1f")

    def check(r):  # validated_gain's cross-fitted estimate on the calibration prompts
        if "validation_gain" not in r:
            return "—"
        return f"{100 * r['validation_gain']:+.1f} ({100 * r['validation_gain_se']:.1f})"

    value = lambda r, key: f"{r[key]:.3f}" if key in r else "—"  # noqa: E731
    for r in rows:
        match = r["budget_to_match_uniform"]
        lines.append(
            f"| {r['budget_per_prompt']} | {r['uniform_acc']:.3f} | {r['predicted_acc']:.3f} "
            f"| {gain(r, 'predicted')} "
            f"| {'> 100%' if match is None else f'{100 * match:.1f}%'} "
            f"| {value(r, 'calibrated_acc')} | {gain(r, 'calibrated')} | {check(r)} "
            f"| {value(r, 'validated_acc')} | {gain(r, 'validated')} "
            f"| {value(r, 'oracle_acc')} |"
        )
    return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class Options:
    """The command's flags, read once in main."""

    eval_set: str | None
    size: int
    budgets: tuple[str, ...]
    budgets_given: bool  # with --rescore and none given, the saved rows' budgets
    minimum: int
    oracle: int
    calibration: int
    calibration_prompts: int
    out: str | None
    rescore: bool
    validation_seed: int | None


def main(argv):
    if len(argv) != 2:
        raise app.UsageError("usage: python -m experiments.test_time.score WORKDIR")
    options = Options(
        eval_set=_EVAL_SET.value,
        size=_SIZE.value,
        budgets=tuple(_BUDGETS.value),
        budgets_given=flags.FLAGS["budgets"].present,
        minimum=_MINIMUM.value,
        oracle=_ORACLE.value,
        calibration=_CALIBRATION.value,
        calibration_prompts=_CALIBRATION_PROMPTS.value,
        out=_OUT.value,
        rescore=_RESCORE.value,
        validation_seed=_VALIDATION_SEED.value,
    )
    try:
        if options.rescore:
            samples, header, saved_budgets = saved_samples(argv[1], options)
            header["rescored_with"] = code_version()  # "code" made the samples
            budgets = _budgets(options, header, saved_budgets)
        else:
            settings = {"minimum": options.minimum, "calibration_samples": options.calibration}
            budgets = _budgets(options, settings, None)
            samples, header = draw_samples(argv[1], budgets, options)
        rows, header = score(samples, header, budgets)
        write(options.out, header, rows, None if options.rescore else samples)
    except GPSError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


def _budgets(options: Options, header: dict, saved: list[int] | None) -> list[int]:
    """--budgets (with --rescore and none given, the saved rows' budgets), checked against
    the minimum and the calibration samples the header names."""
    if saved is not None and not options.budgets_given:
        return saved
    try:
        budgets = [int(b) for b in options.budgets]
    except ValueError:
        raise ConfigError(f"--budgets must be integers, not {','.join(options.budgets)}") from None
    minimum, n = header["minimum"], header["calibration_samples"]
    if min(budgets) < max(minimum, 1):
        raise ConfigError(f"--budgets must be ≥ 1 and ≥ the minimum {minimum}")
    if n and max(budgets) > n:
        raise ConfigError(
            f"--budgets up to {max(budgets)} need ≥ {max(budgets)} calibration samples "
            f"(not {n}) to validate the calibrated allocation"
        )
    return budgets


def score(samples: dict, header: dict, budgets: list[int]) -> tuple[list[dict], dict]:
    """allocation_report's rows on `samples` (the arrays samples.npz holds), and the header
    with the fitted belief: the one place the allocations are made, for drawn and for saved
    samples alike."""
    minimum, n = header["minimum"], header["calibration_samples"]
    validation = None
    try:  # the allocations' ValueErrors are about their input: budgets, samples, calibration
        if belief := calibrated_belief(samples, n):
            calibration = samples["calibration_predicted"], samples["calibration_successes"], n
            seed = header["validation_seed"]
            validation = {k: validated_gain(*calibration, k, minimum, seed) for k in budgets}
        rows = allocation_report(
            samples["predicted"],
            samples["correct"],
            budgets,
            minimum,
            samples.get("oracle_rates"),
            belief,
            validation,
        )
    except ValueError as e:
        raise ConfigError(f"cannot allocate on these samples: {e}") from None
    return rows, {**header, "belief": dataclasses.asdict(belief) if belief else None}


def calibrated_belief(samples: dict, n: int):
    """The belief fitted to the calibration outcomes `samples` holds (None without them)."""
    if "calibration_successes" not in samples:
        return None
    return fit_belief(samples["calibration_predicted"], samples["calibration_successes"], n)


def draw_samples(workdir: str, budgets: list[int], options: Options) -> tuple[dict, dict]:
    """Test prompts' predictions and drawn samples (and the calibration and oracle outcomes)
    from the run in `workdir`, with the header that says how they were made."""
    if min(options.size, options.calibration_prompts) < 1:
        raise ConfigError("--size and --calibration_prompts must be ≥ 1")
    if not run_folder.is_run(workdir):
        raise ConfigError(f"{workdir} is not a run workdir (no {run_folder.CONFIG})")
    import jax  # here, not at the top: rescoring and refusing bad input need no JAX

    from gps.testbed import trainer

    code = code_version()  # what this process runs, read before the long sampling
    run = trainer.load_run(workdir, log=lambda *a: None)
    config, setup = run.setup.config, run.setup
    name = options.eval_set or sorted(config.task.eval_sets)[0]
    if name not in config.task.eval_sets:
        raise ConfigError(
            f"unknown --eval_set {name!r}; the run has {sorted(config.task.eval_sets)}"
        )
    families = tuple(config.task.eval_sets[name].families)

    def split(kind: str, size: int, flag: str) -> list:
        try:  # a held-out split of `size` distinct prompts
            return setup.task.make_split(config.seed, f"{kind}-{name}", size, families)
        except ValueError as e:
            raise ConfigError(f"{flag} is too large: {e}") from None

    problems = split("test", options.size, "--size")
    key = jax.random.fold_in(jax.random.key(config.seed), 7)
    predicted = run.selector.predict_unseen(
        run.selector_state, jax.random.fold_in(key, 0), [p.text for p in problems]
    )
    if predicted is None:
        raise ConfigError(f"selector {config.selector.name!r} cannot predict unseen prompts")

    def draw(prompts, samples_per_prompt: int, stream: int) -> np.ndarray:
        """[N, samples] correctness of fresh samples from the trained policy."""
        return (
            setup.engine.generate(
                run.params,
                prompts,
                samples_per_prompt,
                jax.random.fold_in(key, stream),
                temperature=config.eval.temperature,
                progress_desc="samples",
            ).rewards_table()
            > 0
        )

    samples = {"predicted": np.asarray(predicted)}
    if options.oracle:
        samples["oracle_rates"] = draw(problems, options.oracle, 2).mean(axis=1)
    if options.calibration:
        tested = {p.text for p in problems}  # held-out splits may share prompts
        wanted = options.calibration_prompts
        candidates = split("test-calibration", wanted + len(tested), "--calibration_prompts")
        held_out = [p for p in candidates if p.text not in tested][:wanted]
        samples["calibration_predicted"] = np.asarray(
            run.selector.predict_unseen(
                run.selector_state, jax.random.fold_in(key, 3), [p.text for p in held_out]
            )
        )
        samples["calibration_successes"] = draw(held_out, options.calibration, 4).sum(axis=1)
    # Enough samples per prompt for the largest allocation any rule makes.
    minimum = options.minimum
    allocators = [lambda budget: greedy_allocation(predicted, budget, minimum)]
    if belief := calibrated_belief(samples, options.calibration):  # score() refits it: ~30 ms
        allocators.append(lambda budget: belief.allocation(predicted, budget, minimum))
    if options.oracle:
        allocators.append(
            lambda budget: greedy_allocation(samples["oracle_rates"], budget, minimum)
        )
    most = max(int(allocate(k * len(problems)).max()) for allocate in allocators for k in budgets)
    samples["correct"] = draw(problems, max(most, *budgets), 1)
    header = {
        "code": code,
        "machine": machine(),
        "run": workdir,
        "step": run.step,
        "eval_set": name,
        "prompts": len(problems),
        "samples_drawn_per_prompt": samples["correct"].shape[1],
        "minimum": options.minimum,
        "calibration_samples": options.calibration,
        "calibration_prompts": len(samples.get("calibration_predicted", ())),
        "validation_seed": config.seed,
    }
    return samples, header


def saved_samples(folder: str, options: Options) -> tuple[dict, dict, list[int]]:
    """The samples, header and budgets a `test_time --out` folder holds. Headers written
    before these fields were recorded take --minimum, --calibration and --validation_seed."""
    try:
        with np.load(os.path.join(folder, "samples.npz")) as saved:
            samples = dict(saved)
        with open(os.path.join(folder, "test_time.md")) as f:
            header = json.loads(f.readline())
    except (ValueError, OSError, zipfile.BadZipFile) as e:
        raise ConfigError(
            f"{folder} is not a test_time.score --out folder with samples: {e}"
        ) from None
    budgets = [row["budget_per_prompt"] for row in load_rows(folder)]
    if missing := {"predicted", "correct"} - set(samples):
        raise ConfigError(f"{folder}/samples.npz lacks {sorted(missing)}")
    header.pop("belief", None)  # score fits it again
    header.setdefault("minimum", options.minimum)
    header.setdefault("calibration_samples", options.calibration)
    header.setdefault("calibration_prompts", len(samples.get("calibration_predicted", ())))
    if "validation_seed" not in header:
        if options.validation_seed is None:
            raise ConfigError(f"{folder}'s header has no validation_seed: give --validation_seed")
        header["validation_seed"] = options.validation_seed
    return samples, header, budgets


def write(out: str | None, header: dict, rows: list[dict], samples: dict | None):
    """Prints the rows; with `out`, writes test_time.jsonl, test_time.md and the samples."""
    lines = [json.dumps({**header, **r}) for r in rows]
    table = markdown(rows)
    print("\n".join(lines) + "\n\n" + table)
    if out is None:
        return
    try:
        os.makedirs(out, exist_ok=True)
        with open(os.path.join(out, "test_time.jsonl"), "w") as f:
            f.write("\n".join(lines) + "\n")
        with open(os.path.join(out, "test_time.md"), "w") as f:
            f.write(f"{json.dumps(header)}\n\n{table}\n")
        if samples is not None:  # what the allocations are scored on, to study others offline
            np.savez_compressed(os.path.join(out, "samples.npz"), **samples)
    except OSError as e:
        raise ConfigError(f"cannot write --out={out}: {e}") from None


if __name__ == "__main__":
    app.run(main)
