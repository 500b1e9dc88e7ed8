"""experiments/report.py on a hand-written results folder: hand-checked numbers, files written."""

import json
import math
import os

import numpy as np
import pytest
from absl import flags
from scipy import stats

from experiments import report

STEPS = [0, 10, 20, 30]
# cd34 mean@8 at STEPS; the cd4 curve is half of it, greedy is 0.01 above.
CURVES = {
    ("uniform", 0): [0.05, 0.10, 0.15, 0.20],
    ("uniform", 1): [0.05, 0.08, 0.12, 0.16],
    ("gps", 0): [0.05, 0.19, 0.25, 0.30],
    ("gps", 1): [0.05, 0.12, 0.20, 0.28],
    ("gps", 2): [0.05, 0.10, 0.15, 0.17],
}


def t_half(values):
    return stats.t.ppf(0.975, len(values) - 1) * np.std(values, ddof=1) / math.sqrt(len(values))


def write_run(path, selector, seed, curve, rollouts_per_step=100, finished=True, label=None):
    """A run folder as the trainer writes it: config, eval and metrics logs, summary when done."""
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
            "wall_s": 2.0 * step,
            "cd34/mean@8": acc,
            "cd34/pass@8": min(1.0, 2 * acc),
            "cd34/greedy": acc + 0.01,
            "cd4/mean@8": acc / 2,
            "cd4/pass@8": acc,
            "cd4/greedy": acc / 2 + 0.01,
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
    mean, half = report.mean_ci([0.1, 0.2, 0.3])
    assert mean == pytest.approx(0.2)
    assert half == pytest.approx(stats.t.ppf(0.975, 2) * 0.1 / math.sqrt(3))
    assert report.mean_ci([0.4]) == (0.4, 0.0)


def test_cost_to_target_takes_first_evaluation_at_or_above():
    evals = [
        {"step": 0, "rollouts": 0, "wall_s": 0.0, "m": 0.1},
        {"step": 5, "rollouts": 50, "wall_s": 1.5, "m": 0.3},
        {"step": 10, "rollouts": 100, "wall_s": 3.0, "m": 0.2},
    ]
    assert report.cost_to_target(evals, "m", 0.2) == {"step": 5, "rollouts": 50, "wall_s": 1.5}
    assert report.cost_to_target(evals, "m", 0.3)["step"] == 5  # equal counts as reached
    assert report.cost_to_target(evals, "m", 0.1)["step"] == 0
    assert report.cost_to_target(evals, "m", 0.5) is None


def test_speedup_is_baseline_cost_over_method_cost():
    baseline, method = {"rollouts": 400, "step": 4}, {"rollouts": 200, "step": 1}
    assert report.speedup(baseline, method, "rollouts") == pytest.approx(2.0)
    assert report.speedup(baseline, method, "step") == pytest.approx(4.0)
    assert report.speedup(baseline, None, "rollouts") is None
    assert report.speedup(None, method, "rollouts") is None
    assert report.speedup(baseline, {"rollouts": 0, "step": 0}, "rollouts") is None


def test_moving_average_ignores_nans():
    smoothed = report.moving_average([1.0, 2.0, 3.0, np.nan, np.nan, np.nan], window=2)
    np.testing.assert_allclose(smoothed, [1.0, 1.5, 2.5, 3.0, np.nan, np.nan])


def test_seed_band_aligns_on_shared_steps():
    curves = [{0: (0, 0.1), 10: (100, 0.2), 20: (200, 0.3)}, {0: (0, 0.3), 10: (120, 0.4)}]
    x, mean, half = report.seed_band(curves)
    np.testing.assert_allclose(x, [0, 110])
    np.testing.assert_allclose(mean, [0.2, 0.3])
    np.testing.assert_allclose(half, [t_half([0.1, 0.3]), t_half([0.2, 0.4])])


def test_load_runs_skips_unfinished_and_uses_sweep_label(runs_dir, capsys):
    runs = report.load_runs(runs_dir)
    assert "skipping unfinished run" in capsys.readouterr().out
    groups = report.group_runs(runs)
    assert list(groups) == ["countdown"]
    assert list(groups["countdown"]) == ["uniform", "gps", "gps-nodiv"]
    assert [r.seed for r in groups["countdown"]["gps"]] == [0, 1, 2]
    (nodiv,) = groups["countdown"]["gps-nodiv"]
    assert nodiv.config["selector"]["name"] == "gps"
    assert nodiv.path.endswith(os.path.join("sweep", "ablation", "nodiv-seed0"))


def test_run_diagnostics(runs_dir):
    gps = next(r for r in report.load_runs(runs_dir) if r.method == "gps")
    assert report.run_diagnostics(gps) == pytest.approx(
        {
            "effective_ratio": 0.6,
            "pred_spearman": 0.2,
            "eval_pred_spearman": 0.4,
            "selector_overhead": 0.1,
        }
    )


def test_report_tables_and_plots(runs_dir, tmp_path):
    out = str(tmp_path / "out")
    written = report.write_report([runs_dir], report.load_runs(runs_dir), out)
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
    # Target: uniform's mean final cd34 mean@8, (0.20 + 0.16) / 2. Seeds' own curves: uniform
    # seed 0 only, gps seeds 0 and 1. Mean curves: uniform 0.05, 0.09, 0.135, 0.18 -> step 30
    # (3000 rollouts, 60 s); gps 0.05, 0.137, 0.20 -> step 20 (rollouts (2000 + 2400 + 2000) / 3).
    assert "- countdown / gps: seeds 0, 1, 2" in md
    assert "Target: mean@8 ≥ 0.180 (mean final accuracy of uniform)" in md
    final = f"0.250 ± {t_half([0.30, 0.28, 0.17]):.3f}"
    assert final == "0.250 ± 0.174"
    gps_row = f"| gps | 3 | {final} | 0.260 ± 0.174 | 2/3 | 20 | 2133 | 40.0 |"
    assert gps_row + " 1.41× / 1.50× | — / — |" in md  # 3000 / 2133.3 rollouts, 30 / 20 steps
    assert "| uniform | 2 | 0.180 ± 0.254 | 0.190 ± 0.254 | 1/2 | 30 | 3000 | 60.0 |" in md
    assert "| gps-nodiv | 1 | 0.100 | 0.110 | 0/1 | — | — | — | — / — | — / — |" in md
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
    with open(os.path.join(out, "report.tex")) as f:
        tex = f.read()
    assert tex.count(r"\begin{tabular}") == 5
    assert r"gps & 3 & $0.250 \pm 0.174$" in tex
    assert r"gps-nodiv & 1 & $0.100$" in tex
    assert r"1.41$\times$ / 1.50$\times$ & --- / ---" in tex


def run_main(out, dirs, *extra_flags) -> str:
    """`python -m experiments.report DIRS --out=OUT EXTRA_FLAGS`; returns report.md."""
    flags.FLAGS(["report", f"--out={out}", *extra_flags])
    try:
        report.main(["report", *dirs])
    finally:
        flags.FLAGS.unparse_flags()
    return (out / "report.md").read_text()


def test_main_with_fixed_target(runs_dir, tmp_path):
    md = run_main(tmp_path / "cli", [runs_dir], "--target=0.15", "--paired_with=gps")
    assert "Target: mean@8 ≥ 0.150 (--target)" in md
    # With 0.15 every seed's curve reaches it; the mean curves at steps 30 (uniform), 20 (gps).
    assert "| uniform | 2 | 0.180 ± 0.254 | 0.190 ± 0.254 | 2/2 | 30 |" in md
    assert "| gps | 3 | 0.250 ± 0.174 | 0.260 ± 0.174 | 3/3 | 20 |" in md
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
    assert "| gps-x | 1 | 0.400 | 0.410 | 1/1 | 10 |" in md
