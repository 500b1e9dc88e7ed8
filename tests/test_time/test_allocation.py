"""Test-time allocation: greedy equals brute force; accuracy from drawn samples; the experiment
end to end on a trained smoke run."""

import itertools
import json
import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT
from scipy.special import expit
from scipy.stats import binom

from gps.test_time import allocation as allocation_module
from gps.testbed import config as config_lib
from gps.test_time.allocation import (
    Belief,
    allocation_report,
    best_of_accuracy,
    best_of_observed,
    expected_solved,
    fit_belief,
    greedy_allocation,
    unsolved_probability,
    validated,
    validated_gain,
)
from gps.test_time.summary import markdown, summarize
from gps.errors import ConfigError
from gps.stats import mean_ci
from gps.testbed.trainer import train


def _brute_force(predicted, budget, minimum, concentration=None):
    best = -1.0
    for counts in itertools.product(range(minimum, budget + 1), repeat=len(predicted)):
        if sum(counts) == budget:
            best = max(best, expected_solved(predicted, np.array(counts), concentration))
    return best


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("minimum", [0, 1])
@pytest.mark.parametrize("concentration", [None, 0.5, 4.0])
def test_greedy_matches_brute_force(seed, minimum, concentration):
    rng = np.random.default_rng(seed)
    predicted = rng.uniform(size=4) ** 2
    budget = int(rng.integers(4, 10))
    counts = greedy_allocation(predicted, budget, minimum, concentration)
    assert counts.sum() == budget and counts.min() >= minimum
    assert expected_solved(predicted, counts, concentration) == pytest.approx(
        _brute_force(predicted, budget, minimum, concentration)
    )


def test_beta_belief_matches_hand_computed_and_monte_carlo():
    """γ ~ Beta(2, 2) (γ̂ = 0.5, c = 4): E[(1 − γ)^2] = B(2, 4)/B(2, 2) = (1/20)/(1/6) = 0.3,
    against (1 − 0.5)^2 = 0.25 for the point prediction; and a Monte Carlo check at c = 1.5."""
    assert unsolved_probability(np.array([0.5]), np.array([2]), 4.0)[0] == pytest.approx(0.3)
    assert unsolved_probability(np.array([0.5]), np.array([2]))[0] == pytest.approx(0.25)
    gamma = np.random.default_rng(0).beta(1.5 * 0.2, 1.5 * 0.8, size=400_000)
    expected = ((1 - gamma) ** 3).mean()
    assert unsolved_probability(np.array([0.2]), np.array([3]), 1.5)[0] == pytest.approx(
        expected, abs=3e-3
    )


def test_uncertain_predictions_spread_the_budget():
    """Trusted predictions starve the prompts predicted hard; an uncertain belief gives every
    prompt a sample before the easy ones get their third."""
    predicted = np.array([0.6, 0.5, 0.05, 0.02])
    point = greedy_allocation(predicted, 8)
    assert point[3] == 0
    assert (greedy_allocation(predicted, 8, concentration=0.3) >= 1).all()
    assert (greedy_allocation(predicted, 8, concentration=1e6) == point).all()  # c → ∞


def test_fit_belief_recovers_how_outcomes_scatter_and_how_predictions_are_biased():
    """Outcomes drawn with γ ~ Beta(c·m, c·(1 − m)), m = σ(0.5·logit γ̂ − 1), give back the
    slope, shift and c; predictions that do not rank at all get slope ≈ 0, under which the
    allocation is uniform."""
    rng = np.random.default_rng(0)
    predicted = rng.uniform(0.05, 0.95, size=6000)
    for c in (2.0, 20.0):
        truth = Belief(0.5, -1.0, c)
        m = truth.mean(predicted)
        belief = fit_belief(predicted, rng.binomial(8, rng.beta(c * m, c * (1 - m))), 8)
        assert belief.slope == pytest.approx(0.5, abs=0.1)
        assert belief.shift == pytest.approx(-1.0, abs=0.1)
        assert belief.concentration == pytest.approx(c, rel=0.3)
    noise = fit_belief(predicted, rng.binomial(8, 0.3, size=predicted.size), 8)
    assert noise.slope == 0.0
    counts = Belief(0.0, 0.0, 5.0).allocation(predicted[:100], 300)
    assert (counts == 3).all()
    # Outcomes all 0 (a hard eval set): the concentration stays in its bounds, and the
    # allocation is not poured into one prompt.
    never = fit_belief(predicted[:200], np.zeros(200, int), 8)
    assert 0.05 <= never.concentration <= 1e5
    assert never.allocation(predicted[:100], 300).max() <= 10


def test_fit_belief_keeps_a_slope_only_where_held_out_outcomes_establish_it():
    """On 250 held-out prompts (an eval set's size), predictions that do not rank get slope 0
    (the uniform allocation) on at least 90 of 100 draws (the test's level is 5%), while a
    ranking as strong as arithmetic's (slope 0.6, c = 2.5) is kept on every draw."""
    rng = np.random.default_rng(1)
    flat, kept = 0, 0
    for _ in range(100):
        predicted = rng.uniform(0.05, 0.95, size=250)
        flat += fit_belief(predicted, rng.binomial(8, rng.beta(0.4, 2.0, size=250)), 8).slope == 0
        m = Belief(0.6, -0.4, 2.5).mean(predicted)
        kept += (
            fit_belief(predicted, rng.binomial(8, rng.beta(2.5 * m, 2.5 * (1 - m))), 8).slope > 0
        )
    assert flat >= 90 and kept == 100


def test_best_of_observed_is_drawing_without_replacement_from_the_observed_samples():
    """2 successes of 4: a pair of the 4 samples misses only if it is the pair of failures
    (1 of 6); k above n counts as n. Over the binomial draws of the n samples, the mean is
    the best-of-k probability 1 − (1 − γ)^k for k ≤ n, and below it for k > n."""
    observed = best_of_observed(np.array([2, 2, 0, 4, 1]), 4, np.array([2, 0, 3, 1, 9]))
    assert observed == pytest.approx([5 / 6, 0.0, 0.0, 1.0, 1.0])
    n, gamma, s = 8, 0.3, np.arange(9)
    weights = binom.pmf(s, n, gamma)
    for k in (1, 3, 8):
        mean = (weights * best_of_observed(s, n, np.full(9, k))).sum()
        assert mean == pytest.approx(1 - (1 - gamma) ** k)
    assert (weights * best_of_observed(s, n, np.full(9, 12))).sum() < 1 - (1 - gamma) ** 12
    with pytest.raises(ValueError, match="successes"):
        best_of_observed(np.array([9]), 8, np.array([1]))


def test_validated_gain_shows_a_real_ranking_and_not_noise():
    """On 250 held-out prompts: where predictions rank as on arithmetic (slope 0.8, c = 2.5,
    predictions spread over the logit scale; the belief's allocation gains about 3 points
    at K = 1) the cross-fitted gain is shown on every draw; where they do not rank (outcomes
    independent of them) it is shown on at most 1 of 10 draws, whatever K."""
    rng = np.random.default_rng(2)
    ranked, noise = 0, 0
    for _ in range(10):
        predicted = expit(rng.normal(-1.5, 1.5, size=250))
        m = Belief(0.8, -0.4, 2.5).mean(predicted)
        successes = rng.binomial(8, rng.beta(2.5 * m, 2.5 * (1 - m)))
        ranked += validated(*validated_gain(predicted, successes, 8, 1, seed=0))
        unrelated = rng.binomial(8, rng.beta(0.3, 1.5, size=250))
        noise += max(
            validated(*validated_gain(predicted, unrelated, 8, k, repeats=2)) for k in (1, 2, 4)
        )
    assert ranked == 10 and noise <= 1
    with pytest.raises(ValueError, match="exceeds"):
        validated_gain(predicted, successes, 8, 16)
    # Shown means the one-sided 95% lower bound (gain − 1.645 SE) lies above 0.
    assert validated(0.02, 0.01) and not validated(0.015, 0.01) and not validated(0.0, 0.0)


def test_validated_gain_allocates_only_on_prompts_its_belief_was_not_fitted_on(monkeypatch):
    fitted, allocated = [], []
    fit = allocation_module.fit_belief

    def recording_fit(predicted, successes, n):
        fitted.append(set(predicted))
        return fit(predicted, successes, n)

    def recording_allocation(self, predicted, budget, minimum=0):
        allocated.append(set(predicted))
        return np.full(len(predicted), budget // len(predicted))

    monkeypatch.setattr(allocation_module, "fit_belief", recording_fit)
    monkeypatch.setattr(Belief, "allocation", recording_allocation)
    predicted = np.linspace(0.01, 0.99, 30)
    gain = validated_gain(predicted, np.arange(30) % 9, 8, 2, folds=3, repeats=2)
    assert gain == (0.0, 0.0)  # the recorded allocation is uniform
    assert len(fitted) == len(allocated) == 6
    for fit_on, allocate_on in zip(fitted, allocated, strict=True):
        assert len(allocate_on) == 10 and not fit_on & allocate_on
        assert fit_on | allocate_on == set(predicted)


def test_best_of_accuracy_counts_only_the_allocated_samples():
    correct = np.array([[False, True], [True, False], [False, False]])
    assert best_of_accuracy(correct, np.array([1, 1, 2])) == pytest.approx(1 / 3)
    assert best_of_accuracy(correct, np.array([2, 1, 0])) == pytest.approx(2 / 3)
    with pytest.raises(ValueError, match="exceeds"):
        best_of_accuracy(correct, np.array([3, 0, 0]))
    with pytest.raises(ValueError, match="below"):
        greedy_allocation(np.array([0.5, 0.5]), budget=1, minimum=1)


def test_allocation_report_on_hand_checked_samples():
    """Prompt 0 is predicted easy and solved by its 1st sample; prompt 1 only by its 4th."""
    correct = np.array([[True, False, False, False], [False, False, False, True]])
    rows = allocation_report(np.array([0.9, 0.1]), correct, [1, 2], minimum=0, oracle=None)
    assert [r["uniform_acc"] for r in rows] == [0.5, 0.5]
    # K=1: one sample each by gain (0.9, then 0.1 > 0.09); K=2: prompt 1 gets samples 2 and 3.
    assert [r["predicted_acc"] for r in rows] == [0.5, 0.5]
    assert rows[0]["budget_to_match_uniform"] == 0.5  # one sample, on prompt 0, already matches
    assert "oracle_acc" not in rows[0]
    # The validated allocation is the belief's where its held-out gain is shown, else uniform.
    # Prompt 0 is now solved only by its 4th sample, prompt 1 by its 1st; a near-point belief
    # on predictions 0.9 / 0.01 gives K=1's both samples to prompt 0 and solves neither.
    correct = np.array([[False, False, False, True], [True, False, False, False]])
    point_like, predicted = Belief(1.0, 0.0, 1e5), np.array([0.9, 0.01])
    for validation, shown, accuracy in (((0.1, 0.01), True, 0.0), ((0.1, 0.1), False, 0.5)):
        (row,) = allocation_report(predicted, correct, [1], 0, None, point_like, {1: validation})
        assert (row["calibrated_acc"], row["uniform_acc"]) == (0.0, 0.5)
        assert (row["validation_shown"], row["validated_acc"]) == (shown, accuracy)
    with pytest.raises(ValueError, match="belief"):
        allocation_report(predicted, correct, [1], 0, None, None, {1: (0.1, 0.01)})


def test_allocation_report_oracle_and_minimum():
    correct = np.array([[True, False, False, False], [False, False, False, True]])
    # Oracle rates 0.2 / 0.6: gains 0.6, 0.24 (prompt 1) beat 0.2, so K=1 gives prompt 1 both
    # samples (neither correct); K=2 then adds 0.2 and 0.16 on prompt 0, whose first is correct.
    rows = allocation_report(np.array([0.9, 0.1]), correct, [1, 2], 0, np.array([0.2, 0.6]))
    assert [r["oracle_acc"] for r in rows] == [0.0, 0.5]
    # Paired with uniform (prompt 0 solved, prompt 1 not): K=1 loses prompt 0, differences
    # (-1, 0): mean -0.5, standard error 0.5; K=2 solves the same prompts as uniform.
    assert [(r["oracle_gain"], r["oracle_gain_se"]) for r in rows] == [(-0.5, 0.5), (0.0, 0.0)]
    # With one sample per prompt at least, budgets below 1 per prompt are never tried (they
    # would be an error); half of K=2 already matches uniform.
    rows = allocation_report(np.array([0.9, 0.1]), correct, [2], minimum=1)
    assert rows[0]["budget_to_match_uniform"] == 0.5


def test_test_time_experiment_on_a_trained_gps_run(tmp_path, cached_smoke_config):
    """`experiments.test_time.score` end to end on a smoke GPS run: the saved samples and the
    header's settings rebuild every row (the allocations can be studied offline)."""
    config = cached_smoke_config
    config.selector = config_lib.selector_config("gps", "", "")
    workdir, out = str(tmp_path / "run"), str(tmp_path / "test_time")
    train(config, workdir, log=lambda *a: None)
    command = [sys.executable, "-m", "experiments.test_time.score", workdir, "--size=24"]
    command += ["--budgets=1,2", "--calibration=4", "--calibration_prompts=12", "--oracle=2"]
    command += [f"--out={out}"]
    subprocess.run(command, check=True, cwd=ROOT, capture_output=True)
    with open(os.path.join(out, "test_time.jsonl")) as f:
        rows = [json.loads(line) for line in f]
    saved = np.load(os.path.join(out, "samples.npz"))
    assert saved["correct"].shape[0] == len(saved["predicted"]) == 24
    calibrated_on = len(saved["calibration_predicted"])
    assert calibrated_on == len(saved["calibration_successes"]) == rows[0]["calibration_prompts"]
    assert calibrated_on == 12  # fresh held-out prompts, as many as asked for
    # Today's allocations on the saved samples (--rescore) rebuild every row.
    rescored = str(tmp_path / "rescored")
    command = [sys.executable, "-m", "experiments.test_time.score", out, "--rescore"]
    subprocess.run(command + [f"--out={rescored}"], check=True, cwd=ROOT)  # the saved budgets
    with open(os.path.join(rescored, "test_time.jsonl")) as f:
        again = [json.loads(line) for line in f]
    assert all(r.pop("rescored_with") and r["code"] for r in again)  # who drew, who scored
    assert again == rows  # the same arrays, the same numbers
    assert not os.path.exists(os.path.join(rescored, "samples.npz"))
    assert {"validated_acc", "validation_gain", "validation_shown"} <= set(rows[0])
    with open(os.path.join(out, "test_time.md")) as f:  # the check behind "validated" is shown
        table = f.read()
    for r in rows:
        check = f"{100 * r['validation_gain']:+.1f} ({100 * r['validation_gain_se']:.1f})"
        assert f"| {check} |" in table


def test_test_time_summary_averages_gains_over_runs():
    """Gains are each run's accuracy minus uniform's, averaged with a t-interval; a run counts
    as below 0 when its own paired CI (±1.96 SE) lies wholly below 0, and only when it has
    one (the first runs logged none)."""

    def row(k, uniform, calibrated, se=None):
        r = {"budget_per_prompt": k, "uniform_acc": uniform, "calibrated_acc": calibrated}
        if se is not None:
            r |= {"calibrated_gain": calibrated - uniform, "calibrated_gain_se": se}
        return r

    runs = [
        [row(1, 0.10, 0.12, se=0.005), row(2, 0.20, 0.19, se=0.004)],  # K=2: below
        [row(1, 0.20, 0.21, se=0.02), row(2, 0.30, 0.295, se=0.004), row(4, 0.4, 0.4)],
        [row(1, 0.30, 0.33), row(2, 0.40, 0.40, se=0.0)],  # 0 ± 0 is not below
        [row(1, 0.40, 0.42), row(2, 0.50, 0.48)],  # no CI: not counted either way
    ]
    by_k = {s["budget_per_prompt"]: s for s in summarize(runs)}
    assert set(by_k) == {1, 2}  # only the budgets every run has
    mean, ci = mean_ci([2.0, 1.0, 3.0, 2.0])
    assert (by_k[1]["calibrated_gain"], by_k[1]["calibrated_gain_ci"]) == pytest.approx((mean, ci))
    assert by_k[1]["uniform_acc"] == pytest.approx(0.25)
    assert by_k[1]["calibrated_runs_paired"] == 2 and by_k[1]["calibrated_runs_below"] == 0
    # −1 point ± 0.8 lies below 0; −0.5 ± 0.8 and 0 ± 0 do not.
    assert (by_k[2]["calibrated_runs_paired"], by_k[2]["calibrated_runs_below"]) == (3, 1)
    assert "predicted_gain" not in by_k[1]
    table = markdown(summarize(runs)).splitlines()
    assert table[2] == "| 1 | 4 | 0.250 ± 0.205 | +2.0 ± 1.3 | 0 of 2 |"
    assert table[3] == "| 2 | 4 | 0.350 ± 0.205 | -0.9 ± 1.4 | 1 of 3 |"
    one_run = markdown(summarize(runs[:1])).splitlines()
    assert one_run[2] == "| 1 | 1 | 0.100 | +2.0 | 0 of 1 |"  # one run: no interval
    with pytest.raises(ConfigError, match="eval sets"):
        summarize([[{**row(1, 0.1, 0.1), "eval_set": "cd34"}], [row(1, 0.1, 0.1)]])


def test_test_time_summary_bad_input_is_one_line(tmp_path):
    good = tmp_path / "good"
    good.mkdir()
    (good / "test_time.jsonl").write_text('{"budget_per_prompt": 1, "uniform_acc": 0.1}\n')
    (tmp_path / "test_time.jsonl").write_text("1\n")
    for arguments in (
        [str(tmp_path / "missing")],
        [str(tmp_path)],  # a JSON line that is not a row
        [str(good), str(good)],
        [str(good), f"--out={tmp_path}"],  # a folder, not a file
    ):
        command = [sys.executable, "-m", "experiments.test_time.summary", *arguments]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 2, arguments
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: ")


def test_test_time_bad_input_is_one_line(tmp_path):
    saved = tmp_path / "saved"  # a test_time --out folder made by hand, its header old-style
    saved.mkdir()
    rng = np.random.default_rng(0)
    np.savez(
        saved / "samples.npz",
        predicted=rng.uniform(size=20),
        correct=rng.uniform(size=(20, 4)) < 0.3,
        calibration_predicted=rng.uniform(size=20),
        calibration_successes=rng.integers(0, 9, size=20),
    )
    (saved / "test_time.md").write_text('{"run": "r", "minimum": 0}\n\n| table |\n')
    rows = [{"budget_per_prompt": k, "uniform_acc": 0.3} for k in (1, 2)]
    (saved / "test_time.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    corrupt = tmp_path / "corrupt"
    corrupt.mkdir()
    for name in ("test_time.md", "test_time.jsonl"):
        (corrupt / name).write_text((saved / name).read_text())
    (corrupt / "samples.npz").write_bytes((saved / "samples.npz").read_bytes()[:100])
    for arguments in (
        [str(tmp_path / "missing")],
        [str(tmp_path), "--budgets=1,16"],  # more than the 8 calibration samples validate
        [str(tmp_path), "--budgets=1,x"],
        [str(tmp_path), "--budgets=1,2", "--minimum=2"],
        [str(tmp_path), "--rescore"],  # no saved samples
        [str(corrupt), "--rescore", "--validation_seed=0"],
        [str(saved), "--rescore"],  # an old header: the validation's seed must be given
        [str(saved), "--rescore", "--validation_seed=0", "--budgets=8"],  # above 4 drawn
        [str(saved), "--rescore", "--validation_seed=0", "--calibration=4"],  # 8 successes of 4
        [str(saved), "--rescore", "--validation_seed=0", f"--out={saved / 'test_time.md'}"],
    ):
        command = [sys.executable, "-m", "experiments.test_time.score", *arguments]
        done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True)
        assert done.returncode == 2, arguments
        assert done.stderr.count("\n") == 1 and done.stderr.startswith("error: "), done.stderr
    command = [sys.executable, "-m", "experiments.test_time.score", str(tmp_path)]
    done = subprocess.run(command + ["--calibration_prompts=0"], cwd=ROOT, capture_output=True)
    assert done.returncode == 2 and b"--calibration_prompts must be" in done.stderr
    command = [sys.executable, "-m", "experiments.test_time.score", str(saved), "--rescore"]
    done = subprocess.run(command + ["--validation_seed=0"], cwd=ROOT, capture_output=True)
    assert done.returncode == 0  # the same folder, its seed given, rescores
