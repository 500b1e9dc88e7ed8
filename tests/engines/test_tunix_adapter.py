"""The tunix adapter (gps.engines.tunix): a real GRPO run in tunix with GPS choosing
every batch (the feed's bookkeeping alone: tests/engines/test_tunix_feed.py).

Needs the extra in requirements-tunix.txt (skipped without it): make test-tunix.
"""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("tunix")

from conftest import ROOT  # noqa: E402

B, G, POOL = 2, 2, 12


# --- a complete tiny GRPO run in tunix ---------------------------------------------------------
def _run(workdir, steps):
    """experiments.tunix_grpo --tiny in a subprocess (2 fake CPU devices of its own)."""
    flags = [
        "--tiny", f"--workdir={workdir}", f"--steps={steps}", f"--pool={POOL}",
        f"--batch={B}", f"--generations={G}", "--max_tokens=6", "--max_prompt_length=8",
        "--small_gps", "--save_every=1", "--selector=gps",
    ]  # fmt: skip
    env = {**os.environ, "JAX_PLATFORMS": "cpu"}
    out = subprocess.run(
        [sys.executable, "-m", "experiments.tunix_grpo", *flags],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr[-3000:]
    with open(os.path.join(workdir, "summary.json")) as f:
        return json.load(f)


def _outcomes_by_batch(scored):
    """{batch: {prompt id: [successes, trials]}} from the rewards tunix computed."""
    table = {}
    for batch, prompt, reward in scored:
        entry = table.setdefault(batch, {}).setdefault(prompt, [0.0, 0.0])
        entry[0] += reward > 0
        entry[1] += 1
    return table


def _replay_rows(replay):
    """The GPS replay buffer's filled rows as {prompt id: [successes, trials]}."""
    rows = []
    for filled, ids, succ, trials in zip(
        replay["filled"], replay["indices"], replay["successes"], replay["trials"]
    ):
        if filled:
            rows.append({i: [s, t] for i, s, t in zip(ids, succ, trials) if t > 0})
    return rows


def test_tiny_grpo_run_feeds_gps_and_resumes(tmp_path):
    """3 GRPO steps on tunix's toy model (mesh of 2 CPU devices), then a restart to step 4:
    GPS chose every batch, its history holds exactly the outcomes of tunix's rewards, and the
    resumed run replays the trained batches instead of selecting them again."""
    first = _run(tmp_path, steps=3)
    assert first["train_steps"] == 3 and first["resumed_at"] == 0
    assert first["selections"] == first["updates"] == 3  # one select and one update per step
    assert first["early_selections"] == 0 and first["pending"] == {}
    outcomes = _outcomes_by_batch(first["scored"])
    assert sorted(outcomes) == [0, 1, 2]
    for batch, chosen in enumerate(first["history"]):
        assert sorted(outcomes[batch]) == sorted(chosen) and len(set(chosen)) == B
        assert all(t == G for _, t in outcomes[batch].values())
    # replay=2 keeps 3 rows: here every batch, oldest first, as tunix scored them
    assert _replay_rows(first["replay"]) == [outcomes[b] for b in range(3)]
    assert first["selector_saves"] == ["step_2", "step_3"]

    second = _run(tmp_path, steps=4)
    assert second["resumed_at"] == 3 and second["train_steps"] == 4
    assert second["history"][:3] == first["history"]  # fast-forward replayed, not re-selected
    assert second["selections"] == second["updates"] == 4
    outcomes = _outcomes_by_batch(second["scored"])
    assert sorted(outcomes) == [3]  # only the new batch was trained and scored
    assert sorted(outcomes[3]) == sorted(second["history"][3])
    assert _replay_rows(second["replay"]) == _replay_rows(first["replay"])[1:] + [outcomes[3]]
