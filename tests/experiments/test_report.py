"""experiments/report/ on a hand-written results folder: hand-checked numbers, files written."""

import json
import math
import os

import numpy as np
import pytest
from absl import flags
from scipy import stats

from experiments.report import __main__ as report_main
from experiments.quickstart import headline_table, render_terminal
from experiments.report import curves
from gps.stats import mean_ci, plus_minus

STEPS = [0, 10, 20, 30]
# cd34 mean@8 at STEPS; the cd4 curve is half of it, greedy is 0.01 above.
CURVES = {
    ("uniform", 0): [0.05, 0.10, 0.15, 0.20],
    ("uniform", 1): [0.05, 0.08, 0.12, 0.16],
    ("gps", 0): [0.05, 0.19, 0.25, 0.30],
    ("gps", 1): [0.05, 0.12, 0.20, 0.28],
    ("gps", 2): [0.05, 0.10, 0.15, 0.17],
}
from experiments.report.document import write_report
from experiments.report.measures import (
    DASH,
    Stat,
    both_reached,
    cost_to_target,
    geometric_mean_ci,
    run_diagnostics,
)
from experiments.report.plots import FULL_EVALUATION, accuracy_figure, moving_average, seed_band
from experiments.report.render import cell_text
from experiments.report.runs import group_runs, load_run, load_runs, method_label


def t_half(values):
    return stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values))


def eval_metrics(acc: float, k: int) -> dict:
    """An evaluation's record at k samples per prompt (greedy only at full k)."""
    full = k == 8
    return {
        "eval_k": k,
        f"cd34/mean@{k}": acc,
        f"cd34/pass@{k}": min(1.0, 2 * acc),
        f"cd4/mean@{k}": acc / 2,
        f"cd4/pass@{k}": acc,
        **({"cd34/greedy": acc + 0.01, "cd4/greedy": acc / 2 + 0.01} if full else {}),
    }


def write_run(
    path,
    selector,
    seed,
    curve,
    rollouts_per_step=100,
    finished=True,
    label=None,
    wall_per_step=2.0,
    intermediate_k=8,
):
    """A run folder as the trainer writes it: config, eval and metrics logs, summary when done;
    evaluations between the first and the last take `intermediate_k` samples per prompt."""
    os.makedirs(path)
    config = {
        "seed": seed,
        "eval": {"k": 8},
        "selector": {"name": selector},
        "task": {"name": "countdown", "eval_sets": {"cd34": {}, "cd4": {}}},
    }
    has_predictor = selector != "uniform"
    evals = [
        {
            "step": step,
            "rollouts": step * rollouts_per_step,
            "wall_s": wall_per_step * step,
            **eval_metrics(acc, 8 if step in (STEPS[0], STEPS[-1]) else intermediate_k),
            # step 0 is left out of the mean: 0.9 there must not count.
            **({"eval_pred_spearman": [0.9, 0.3, 0.4, 0.5][i]} if has_predictor else {}),
        }
        for i, (step, acc) in enumerate(zip(STEPS, curve))
    ]
    metrics = [
        {
            "step": step,
            "rollouts": step * rollouts_per_step,
            "effective_ratio": 0.2 * step,  # mean 0.6
            "train_success": 0.1 * step,  # mean 0.3
            **({"batch_overlap": [None, 0.5, 0.5, 1.0, 1.0][step - 1]} if has_predictor else {}),
            "pred_spearman": [None, 0.1, 0.2, 0.3, None][step - 1] if has_predictor else None,
            "selector_s": [5.0, 0.1, 0.1, 0.2, 0.1][step - 1],  # median after step 1: 0.1
            "step_s": [10.0, 1.0, 1.0, 1.0, 2.0][step - 1],  # median after step 1: 1.0
            "wall_s": float(step),
            "loss": 0.0,
        }
        for step in range(1, 6)
    ]
    with open(os.path.join(path, "config.json"), "w") as f:
        json.dump(config, f)
    for name, records in (("eval.jsonl", evals), ("metrics.jsonl", metrics)):
        with open(os.path.join(path, name), "w") as f:
            f.writelines(json.dumps(r) + "\n" for r in records)
    if finished:
        with open(os.path.join(path, "summary.json"), "w") as f:
            json.dump({"steps": 30}, f)
    if label:
        with open(os.path.join(path, "sweep.json"), "w") as f:
            json.dump({"method": label}, f)


@pytest.fixture
def runs_dir(tmp_path):
    """2 uniform and 3 gps seeds, a gps-nodiv ablation two levels down, an unfinished gps run."""
    root = tmp_path / "runs"
    for (selector, seed), curve in CURVES.items():
        rollouts_per_step = 120 if (selector, seed) == ("gps", 1) else 100
        write_run(root / selector / f"seed{seed}", selector, seed, curve, rollouts_per_step)
    write_run(
        root / "sweep" / "ablation" / "nodiv-seed0",
        "gps",
        0,
        [0.05, 0.1, 0.1, 0.1],
        label="gps-nodiv",
    )
    write_run(root / "gps" / "seed3", "gps", 3, [0.9] * 4, finished=False)
    return str(root)


def test_mean_ci_is_student_t():
    mean, half = mean_ci([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2)
    assert half == pytest.approx(stats.t.ppf(0.975, 2) * 0.1 / math.sqrt(3))
    mean, half = mean_ci([0.4])  # one replicate: no interval, rather than a zero-width one
    assert mean == 0.4 and math.isnan(half)
    assert plus_minus(0.4, half) == "0.400" and plus_minus(-0.25, 0.0312, "+.2f") == "-0.25 ± 0.03"


def test_cost_to_target_interpolates_the_first_crossing():
    evals = [
        {"step": 0, "rollouts": 0, "wall_s": 0.0},
        {"step": 5, "rollouts": 50, "wall_s": 1.5},
        {"step": 10, "rollouts": 100, "wall_s": 3.0},
    ]
    accuracies = [0.1, 0.3, 0.2]
    # 0.2 is halfway from 0.1 (step 0) to 0.3 (step 5).
    assert cost_to_target(evals, accuracies, 0.2) == pytest.approx(
        {"step": 2.5, "rollouts": 25, "wall_s": 0.75}
    )
    assert cost_to_target(evals, accuracies, 0.3)["step"] == 5  # equal counts as reached
    assert cost_to_target(evals, accuracies, 0.1)["step"] == 0
    assert cost_to_target(evals, accuracies, 0.5) is None


def test_speedup_needs_both_to_reach_after_step_0():
    reached, at_start = {"step": 4.0}, {"step": 0.0}
    assert both_reached(reached, reached)
    assert not both_reached(reached, None) and not both_reached(None, reached)
    assert not both_reached(at_start, at_start)


def test_geometric_mean_ci_is_t_interval_on_logs():
    logs = np.log([3.0, 2.5, 4.0])
    half = t_half(logs)
    ratio = geometric_mean_ci([3.0, 2.5, 4.0])
    assert ratio.value == pytest.approx(30 ** (1 / 3))
    assert (ratio.low, ratio.high) == pytest.approx(
        np.exp([logs.mean() - half, logs.mean() + half])
    )
    single = geometric_mean_ci([2.0])
    assert single.value == pytest.approx(2.0) and single.low is None  # no CI from one pair
    assert geometric_mean_ci([]) == DASH


def test_moving_average_ignores_nans():
    smoothed = moving_average([1.0, 2.0, 3.0, np.nan, np.nan, np.nan], window=2)
    np.testing.assert_allclose(smoothed, [1.0, 1.5, 2.5, 3.0, np.nan, np.nan])


def test_seed_band_aligns_on_shared_steps():
    curves = [{0: (0, 0.1), 10: (100, 0.2), 20: (200, 0.3)}, {0: (0, 0.3), 10: (120, 0.4)}]
    x, mean, half = seed_band(curves)
    np.testing.assert_allclose(x, [0, 110])
    np.testing.assert_allclose(mean, [0.2, 0.3])
    np.testing.assert_allclose(half, [t_half([0.1, 0.3]), t_half([0.2, 0.4])])


def test_load_runs_skips_unfinished_and_uses_sweep_label(runs_dir, capsys):
    runs = load_runs(runs_dir)
    assert "skipping unfinished run" in capsys.readouterr().out
    groups = group_runs(runs)
    assert list(groups) == ["countdown"]
    assert list(groups["countdown"]) == ["uniform", "gps", "gps-nodiv"]
    assert [r.seed for r in groups["countdown"]["gps"]] == [0, 1, 2]
    (nodiv,) = groups["countdown"]["gps-nodiv"]
    assert nodiv.config["selector"]["name"] == "gps"
    assert nodiv.path.endswith(os.path.join("sweep", "ablation", "nodiv-seed0"))


def test_run_diagnostics(runs_dir):
    gps = next(r for r in load_runs(runs_dir) if r.method == "gps")
    assert run_diagnostics(gps) == pytest.approx(
        {
            "effective_ratio": 0.6,
            "pred_spearman": 0.2,
            "eval_pred_spearman": 0.4,
            "selector_overhead": 0.1,
            "batch_success": 0.3,
            "batch_overlap": 0.75,
        }
    )


def test_report_tables_and_plots(runs_dir, tmp_path):
    out = str(tmp_path / "out")
    written = write_report([runs_dir], load_runs(runs_dir), out)
    assert all(os.path.getsize(p) > 0 for p in written)
    pngs = sorted(os.path.basename(p) for p in written if p.endswith(".png"))
    assert pngs == [
        "countdown_accuracy_vs_rollouts.png",
        "countdown_accuracy_vs_steps.png",
        "countdown_accuracy_vs_wall.png",
        "countdown_effective_ratio.png",
        "countdown_gap_to_uniform.png",
        "countdown_pred_spearman.png",
    ]
    with open(os.path.join(out, "report.md")) as f:
        md = f.read()
    # Target: uniform's mean final cd34 mean@8, (0.20 + 0.16) / 2. Seeds reaching it, costs
    # interpolated: uniform seed 0 at 20 + 10 * 0.03 / 0.05 = 26 steps (2600 rollouts, 52 s);
    # gps seed 0 at 10 * 0.13 / 0.14 = 9.29 steps (929 rollouts, 18.6 s), seed 1 at
    # 10 + 10 * 0.06 / 0.08 = 17.5 steps (120 rollouts a step: 2100, 35 s).
    assert "- countdown / gps: seeds 0, 1, 2" in md
    assert "Target: mean@8 ≥ 0.180 (mean final accuracy of uniform)" in md
    final = f"0.250 ± {t_half([0.30, 0.28, 0.17]):.3f}"
    assert final == "0.250 ± 0.174"
    gps_steps = f"13.4 ± {t_half([130 / 14, 17.5]):.1f}"
    assert f"| gps | 3 | {final} | 0.260 ± 0.174 | 2/3 | {gps_steps} | 1514 ± " in md
    assert "| uniform | 2 | 0.180 ± 0.254 | 0.190 ± 0.254 | 1/2 | 26.0 | 2600 | 52.0 |" in md
    assert "| gps-nodiv | 1 | 0.100 | 0.110 | 0/1 | — | — | — |" in md
    # Speed-up on seed 0 only (uniform seed 1 never reached): 26 / 9.29 in every cost.
    assert "| gps | uniform | 1/2 | 2.80× | 2.80× | 2.80× |" in md
    assert "| gps-nodiv | uniform | 0/1 | — | — | — |" in md
    assert "| uniform | 2 | 0.600 ± 0.000 | — | — | 0.100 ± 0.000 |" in md
    assert "| gps | 3 | 0.600 ± 0.000 | 0.200 ± 0.000 | 0.400 ± 0.000 | 0.100 ± 0.000 |" in md
    assert "## countdown — cd4" in md and "seed3" not in md
    # Paired with uniform on seeds 0 and 1 (gps seed 2 has no partner): final 0.30 - 0.20 and
    # 0.28 - 0.16; over the run (0.09 + 0.10 + 0.10) / 3 and (0.04 + 0.08 + 0.12) / 3.
    paired_final = f"+0.110 ± {t_half([0.10, 0.12]):.3f}"
    paired_run = f"+0.088 ± {t_half([0.29 / 3, 0.08]):.3f}"
    assert f"| gps | 2 | {paired_final} | {paired_run} |" in md
    assert "| gps-nodiv | 1 | -0.100 | -0.050 |" in md
    assert "| gps | 2 | +0.055 ± " in md  # cd4: half the cd34 gaps
    assert md.count("paired with uniform") == 2
    # The main table gathers the cells above, a row per method, with each run's total
    # rollouts at its last evaluation (30 steps of 100; gps seed 1: of 120).
    assert "| rollouts | reached with uniform | rollouts × uniform | effective ratio |" in md
    uniform_main = "| uniform | 2 | 0.180 ± 0.254 | — | — | 3,000 ± 0 | — | — |"
    assert uniform_main + " 0.600 ± 0.000 | — | — | 0.100 ± 0.000 |" in md
    gps_rollouts = f"3,200 ± {t_half([3000, 3600, 3000]):,.0f}"
    gps_main = f"| gps | 3 | {final} | {paired_final} | {paired_run} | {gps_rollouts} |"
    gps_main += " 1/2 | 2.80× | 0.600 ± 0.000 |"
    assert gps_main + " 0.200 ± 0.000 | 0.400 ± 0.000 | 0.100 ± 0.000 |" in md
    with open(os.path.join(out, "report.tex")) as f:
        tex = f.read()
    assert tex.count(r"\begin{tabular}") == 9
    assert r"gps & 3 & $0.250 \pm 0.174$" in tex
    assert r"gps-nodiv & 1 & $0.100$" in tex
    assert r"gps & uniform & 1/2 & 2.80$\times$ & 2.80$\times$ & 2.80$\times$ \\" in tex
    assert r"gps-nodiv & uniform & 0/1 & --- & --- & --- \\" in tex


# Hand-checked costs at target 0.15, interpolated between the evaluations at STEPS around the
# first crossing. Uniform: 100 rollouts and 2 s per step; gps: 200 rollouts and 1 s per step.
SPEEDUP_CURVES = {
    ("uniform", 0): [0.05, 0.10, 0.20, 0.25],  # 10 + 10 * 0.05 / 0.10 = 15 steps
    ("uniform", 1): [0.05, 0.10, 0.13, 0.17],  # 20 + 10 * 0.02 / 0.04 = 25 steps
    ("uniform", 2): [0.05, 0.15, 0.20, 0.20],  # exactly at step 10
    ("uniform", 3): [0.05, 0.08, 0.10, 0.12],  # never
    ("gps", 0): [0.05, 0.25, 0.30, 0.30],  # 10 * 0.10 / 0.20 = 5 steps
    ("gps", 1): [0.05, 0.15, 0.20, 0.25],  # 10 steps
    ("gps", 2): [0.05, 0.45, 0.50, 0.50],  # 10 * 0.10 / 0.40 = 2.5 steps
    ("gps", 3): [0.05, 0.25, 0.30, 0.30],  # 5 steps, but uniform seed 3 never gets there
}


@pytest.fixture
def speedup_dir(tmp_path):
    """4 uniform and 4 gps seeds (SPEEDUP_CURVES); intermediate evaluations at k = 1."""
    root = tmp_path / "speedup"
    for (selector, seed), curve in SPEEDUP_CURVES.items():
        gps = selector == "gps"
        per_step = {"rollouts_per_step": 200 if gps else 100, "wall_per_step": 1.0 if gps else 2.0}
        write_run(
            root / selector / f"seed{seed}", selector, seed, curve, **per_step, intermediate_k=1
        )
    return str(root)


def test_accuracy_plot_dots_full_evaluations_and_says_how_many_seeds(tmp_path):
    """Evaluations between the first and the last at k = 1: the seed-mean lines go through
    every evaluation, dots mark the first and the last (k = 8 and greedy), and the legend says
    what a line is: a mean over seeds with a 95% CI band, or one seed without a band."""
    for (selector, seed), curve in CURVES.items():
        write_run(tmp_path / selector / f"seed{seed}", selector, seed, curve, intermediate_k=1)
    methods = group_runs(load_runs(str(tmp_path)))["countdown"]
    ax = accuracy_figure("countdown", methods, "step").axes[0]
    assert ax.get_title() == "countdown: cd34"
    legend = ax.get_legend()
    assert legend.get_title().get_text() == "mean of 2–3 seeds, band: 95% CI"
    assert [t.get_text() for t in legend.get_texts()] == ["uniform", "gps", FULL_EVALUATION]
    lines = [line for line in ax.lines if line.get_marker() == "None"]
    dots = [line for line in ax.lines if line.get_marker() == "o"]
    assert [list(line.get_xdata()) for line in lines] == [STEPS, STEPS]
    assert [list(line.get_xdata()) for line in dots] == [[0, 30], [0, 30], []]  # and the legend's
    assert dots[1].get_ydata() == pytest.approx([0.05, np.mean([0.30, 0.28, 0.17])])
    first_seeds = {method: runs[:1] for method, runs in methods.items()}
    legend = accuracy_figure("countdown", first_seeds, "step").axes[0].get_legend()
    assert legend.get_title().get_text() == "1 seed: no band"


def test_quickstart_table_is_the_main_tables_headline_in_100_columns(runs_dir):
    """`make run`'s printed table: the main table's final accuracy, Δ final, rollouts and
    rollouts speed-up to uniform's final accuracy (0.18: the report's target), padded and at
    most 100 characters a line with its note."""
    methods = group_runs(load_runs(runs_dir))["countdown"]
    text = render_terminal(headline_table("countdown", methods, "cd34", "uniform"))
    lines = text.splitlines()
    assert max(map(len, lines)) <= 100
    assert lines[0] == "countdown — cd34, seeds 0, 1, 2"
    table = [line for line in lines if line.startswith("|")]
    assert len({len(line) for line in table}) == 1  # padded to one width
    cells = [[cell.strip() for cell in line.split("|")[1:-1]] for line in table]
    rows = {row[0]: row for row in cells}
    header = ["method", "final mean@8", "Δ vs uniform", "rollouts", "reached", "speed-up"]
    assert rows["method"] == header
    paired_final = f"+0.110 ± {t_half([0.10, 0.12]):.3f}"
    gps_rollouts = f"3,200 ± {t_half([3000, 3600, 3000]):,.0f}"
    assert rows["gps"] == ["gps", "0.250 ± 0.174", paired_final, gps_rollouts, "1/2", "2.80×"]
    assert rows["uniform"] == ["uniform", "0.180 ± 0.254", "—", "3,000 ± 0", "—", "—"]
    assert rows["gps-nodiv"] == ["gps-nodiv", "0.100", "-0.100", "3,000", "0/1", "—"]


def test_paired_differences_are_bold_where_their_interval_excludes_0():
    resolved = Stat(0.02, 0.01, "+.3f", paired=True)
    assert cell_text(resolved) == "**+0.020 ± 0.010**"
    assert cell_text(resolved, latex=True) == r"$\mathbf{+0.020 \pm 0.010}$"
    assert cell_text(Stat(-0.02, 0.03, "+.3f", paired=True)) == "-0.020 ± 0.030"
    assert cell_text(Stat(0.02, float("nan"), "+.3f", paired=True)) == "+0.020"
    assert cell_text(Stat(0.5, 0.01, ".3f")) == "0.500 ± 0.010"  # not a difference


def test_main_table_compares_with_ds_when_it_ran(runs_dir, tmp_path):
    # DS seed 0: uniform seed 0's curve at 4x the rollouts, so it reaches the 0.18 target at
    # 26 steps = 10400 rollouts; gps seed 0 at 928.6 (test above), uniform seed 0 at 2600.
    write_run(tmp_path / "runs" / "ds" / "seed0", "ds", 0, CURVES[("uniform", 0)], 400)
    out = str(tmp_path / "out")
    write_report([runs_dir], load_runs(runs_dir), out)
    with open(os.path.join(out, "report.md")) as f:
        md = f.read()
    assert "| reached with uniform | rollouts × uniform | reached with ds | rollouts × ds |" in md
    assert "| ds | 1 | 0.200 | +0.000 | +0.000 | 12,000 | 1/1 | 0.25× | — | — |" in md
    assert "| 1/2 | 2.80× | 1/1 | 11.20× |" in md  # gps: against uniform, then DS


def test_cost_and_speedup_tables_are_per_seed_and_interpolated(speedup_dir, tmp_path):
    out = str(tmp_path / "out")
    write_report([speedup_dir], load_runs(speedup_dir), out, target=0.15)
    with open(os.path.join(out, "report.md")) as f:
        md = f.read()
    assert "between the first and the last sampled 1 per prompt over the whole sets" in md
    # Costs over the seeds that reached 0.15: uniform 15, 25, 10 steps; gps 5, 10, 2.5, 5.
    uniform_steps = f"16.7 ± {t_half([15, 25, 10]):.1f}"
    assert uniform_steps == "16.7 ± 19.0"
    uniform_cost = f"| 3/4 | {uniform_steps} | 1667 ± {t_half([1500, 2500, 1000]):.0f} | "
    assert uniform_cost + f"33.3 ± {t_half([30, 50, 20]):.1f} |" in md
    assert f"| 4/4 | 5.6 ± {t_half([5, 10, 2.5, 5]):.1f} | 1125 ± " in md
    # Speed-ups on seeds 0, 1, 2 (seed 3: uniform never reached): steps 15 / 5, 25 / 10,
    # 10 / 2.5, i.e. 3, 2.5 and 4; rollouts half of these, wall-clock twice.
    logs = np.log([3.0, 2.5, 4.0])
    half = t_half(logs)
    cells = [
        f"{math.exp(logs.mean() + shift):.2f}× [{math.exp(logs.mean() + shift - half):.2f}, "
        f"{math.exp(logs.mean() + shift + half):.2f}]"
        for shift in (0.0, -math.log(2), math.log(2))
    ]
    assert cells[0] == "3.11× [1.72, 5.60]"  # exp(1.134 ∓ 4.303 · 0.237 / √3)
    assert f"| gps | uniform | 3/4 | {' | '.join(cells)} |" in md
    assert "| uniform | gps | 3/4 | " not in md  # --paired_with is uniform


def run_main(out, dirs, *extra_flags) -> str:
    """`python -m experiments.report DIRS --out=OUT EXTRA_FLAGS`; returns report.md."""
    flags.FLAGS(["report", f"--out={out}", *extra_flags])
    try:
        report_main.main(["report", *dirs])
    finally:
        flags.FLAGS.unparse_flags()
    return (out / "report.md").read_text()


def test_main_with_fixed_target(runs_dir, tmp_path):
    md = run_main(tmp_path / "cli", [runs_dir], "--target=0.15", "--paired_with=gps")
    assert "Target: mean@8 ≥ 0.150 (--target)" in md
    # With 0.15 every seed's curve reaches it: uniform at 20 and 20 + 10 * 0.03 / 0.04 steps,
    # gps at 10 * 0.10 / 0.14, 10 + 10 * 0.03 / 0.08 and 20.
    uniform_steps = f"23.8 ± {t_half([20, 27.5]):.1f}"
    assert f"| uniform | 2 | 0.180 ± 0.254 | 0.190 ± 0.254 | 2/2 | {uniform_steps} |" in md
    gps_steps = f"13.6 ± {t_half([100 / 14, 13.75, 20]):.1f}"
    assert f"| gps | 3 | 0.250 ± 0.174 | 0.260 ± 0.174 | 3/3 | {gps_steps} |" in md
    # Speed-ups over uniform and over --paired_with (gps); seed 0: 20 / 7.14, seed 1: 27.5 / 13.75.
    logs = np.log([2.8, 2.0])
    ci = np.exp([logs.mean() - t_half(logs), logs.mean() + t_half(logs)])
    assert f"| gps | uniform | 2/2 | {math.sqrt(5.6):.2f}× [{ci[0]:.2f}, {ci[1]:.2f}] |" in md
    assert f"| uniform | gps | 2/2 | {1 / math.sqrt(5.6):.2f}× [{1 / ci[1]:.2f}, " in md
    # Paired with gps instead of uniform: gps-nodiv seed 0 is 0.1 - 0.30 at the end and
    # ((0.1 - 0.19) + (0.1 - 0.25) + (0.1 - 0.30)) / 3 over the run.
    assert "## countdown — cd34, paired with gps" in md and "paired with uniform" not in md
    assert "| gps-nodiv | 1 | -0.200 | -0.147 |" in md
    assert f"| uniform | 2 | -0.110 ± {t_half([0.10, 0.12]):.3f} |" in md


def test_main_pools_several_folders(runs_dir, tmp_path):
    """An ablation folder reported against the uniform runs of another folder (given twice:
    read once)."""
    ablation = tmp_path / "ablation"
    write_run(ablation / "seed0", "gps", 0, [0.05, 0.2, 0.3, 0.4], label="gps-x")
    uniform = os.path.join(runs_dir, "uniform")
    md = run_main(tmp_path / "pooled", [str(ablation), uniform, uniform + "/"])
    assert "- countdown / uniform: seeds 0, 1 (`runs/uniform/seed0`, `runs/uniform/seed1`)" in md
    assert "- countdown / gps-x: seeds 0 (`ablation/seed0`)" in md
    assert "Target: mean@8 ≥ 0.180 (mean final accuracy of uniform)" in md
    assert "| gps-x | 1 | 0.400 | 0.410 | 1/1 | 8.7 | 867 | 17.3 |" in md  # 10 * 0.13 / 0.15
    assert "| gps-x | uniform | 1/1 | 3.00× | 3.00× | 3.00× |" in md  # one pair: no CI; 26 / 8.67


def test_curve_table_stars_sparse_evaluations(tmp_path):
    write_run(tmp_path / "a", "uniform", 0, [0.05, 0.10, 0.20, 0.25], intermediate_k=1)
    table = curves.curve_table([load_run(str(tmp_path / "a"))], "cd4")
    assert "| 0 | 0.025 |" in table and "| 10 | 0.050* |" in table and "| 30 | 0.125 |" in table
    assert table.endswith("\\* fewer samples per prompt (`eval_k` in eval.jsonl), same sets")


def test_curves_tabulate_greedy_where_the_evaluation_has_it(tmp_path):
    """Greedy accuracy (0.01 above cd34 mean@8 in `eval_metrics`) is logged at full k only:
    the sparse evaluations' cells stay empty, and the gain is the step-0 to last change."""
    write_run(tmp_path / "a", "uniform", 0, [0.05, 0.10, 0.20, 0.25], intermediate_k=1)
    write_run(tmp_path / "b", "uniform", 1, [0.05, 0.10, 0.20, 0.15], intermediate_k=1)
    runs = [load_run(str(tmp_path / name)) for name in ("a", "b")]
    table = curves.curve_table(runs, "cd34", "greedy")
    assert "| 0 | 0.060 | 0.060 |" in table and "| 10 |  |  |" in table
    assert "| 30 | 0.260 | 0.160 |" in table
    gains = curves.gain_table(runs, "cd34", "greedy")
    assert "| a | 0.060 | 0.260 | 30 | +0.200 |" in gains
    assert "| mean ± std over runs | | 0.210 ± 0.050 | | +0.150 ± 0.050 |" in gains
    assert "| b | 0.025 | 0.075 | 30 | +0.050 |" in curves.gain_table(runs, "cd4", "mean")


def test_runs_are_labelled_by_their_selector_parts(tmp_path):
    """A run with today's selector layout is labelled by what differs from its preset, even
    when an older sweep.json says otherwise; a run with an older layout keeps sweep.json's."""
    from gps.selectors import selector_config

    selector = selector_config("gps")
    selector.acquisition.diversity = 0.0
    config = {"selector": selector.to_dict()}
    os.makedirs(tmp_path / "new")
    with open(tmp_path / "new" / "sweep.json", "w") as f:
        json.dump({"method": "gps-diversity=0.0"}, f)
    assert method_label(str(tmp_path / "new"), config) == "gps (acquisition.diversity=0.0)"
    old = {"selector": {"name": "gps", "model": {"name": "gps", "gps": {}}}}
    assert method_label(str(tmp_path / "new"), old) == "gps-diversity=0.0"
    assert method_label(str(tmp_path / "missing"), old) == "gps"
