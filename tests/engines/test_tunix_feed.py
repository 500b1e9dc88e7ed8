"""The tunix adapter's bookkeeping (gps.engines.tunix.SelectorFeed) against a stand-in
for tunix's learner: lookahead, eval batches and resume. Needs no tunix; the real GRPO run
is tests/engines/test_tunix_adapter.py (make test-tunix)."""

import os
from types import SimpleNamespace

import jax
import numpy as np
import pytest

from gps.engines.tunix import BATCH, PROMPT_ID, SelectorFeed
from gps.errors import CheckpointError, OutcomeError
from gps.selectors import PromptSelector

B, G, POOL = 2, 2, 12


class _Learner:
    """What SelectorFeed.attach reads from a GRPOLearner, and a checkpoint manager whose
    save succeeds every step (tunix/sft/checkpoint_manager.py returns whether it saved)."""

    def __init__(self, root, restored_step=0):
        manager = SimpleNamespace(save=lambda step, *a, **k: True)
        self.algo_config = SimpleNamespace(num_generations=G)
        self.rl_cluster = SimpleNamespace(
            actor_trainer=SimpleNamespace(train_steps=restored_step, checkpoint_manager=manager),
            cluster_config=SimpleNamespace(
                training_config=SimpleNamespace(checkpoint_root_directory=str(root))
            ),
        )

    def save(self, step):
        self.rl_cluster.actor_trainer.checkpoint_manager.save(step, None)


def _feed():
    """MoPPS: a posterior per prompt that every outcome moves, and quick to compile (the
    bookkeeping is the selector's business-independent part; the run above uses GPS)."""
    texts = [f"prompt {i}" for i in range(POOL)]
    selector = PromptSelector(texts, "mopps", batch_size=B, n_rollouts=G, seed=1)
    return SelectorFeed(selector, texts)


def _score(feed, batch, step):
    """What GRPOLearner does with a batch: G rollouts per row, then the metric fns."""
    rows = {k: np.repeat(v, G, axis=0) for k, v in batch.items()}
    rewards = (rows[PROMPT_ID] * 7 + step + np.tile(np.arange(G), B)) % 3 == 0
    feed.metric_fn(rewards=rewards.astype(float), **rows)


def _same(a, b):
    return all(
        np.array_equal(np.asarray(x), np.asarray(y))
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b), strict=True)
    )


def test_resume_replays_fast_forward_and_continues_exactly(tmp_path):
    straight = _feed()
    for step in range(5):
        _score(straight, next(straight), step)

    feed, learner = _feed(), _Learner(tmp_path)
    feed.attach(learner)
    for step in range(3):
        _score(feed, next(feed), step)
        learner.save(step + 1)
    assert sorted(os.listdir(tmp_path / "gps_selector")) == ["step_2", "step_3"]

    resumed = _feed()
    resumed.attach(_Learner(tmp_path, restored_step=3))
    assert resumed.selector.selections == resumed.selector.updates == 3
    for _ in range(3):  # tunix's fast-forward: next() on the trained batches, discarded
        next(resumed)
    assert resumed.selector.selections == 3  # replayed, not selected
    for step in range(3, 5):
        _score(resumed, next(resumed), step)
    assert resumed.history == straight.history
    assert _same(resumed.selector.state, straight.selector.state)

    with pytest.raises(CheckpointError, match="no selector was saved"):
        _feed().attach(_Learner(tmp_path, restored_step=1))


def test_lookahead_selects_with_outcomes_so_far_and_ignores_eval(tmp_path):
    feed = _feed()
    first = next(feed)
    rows = {k: np.repeat(v, G, axis=0) for k, v in first.items()}
    half = slice(0, G)  # the first prompt's rollouts only
    feed.metric_fn(rewards=np.ones(G), **{k: v[half] for k, v in rows.items()})
    assert feed.selector.updates == 0 and feed.pending  # batch incomplete: held
    next(feed)  # asked early: the received half is folded in first
    assert feed.early_selections == 1 and feed.selector.updates == 1 and not feed.pending
    feed.metric_fn(rewards=np.zeros(G), **{k: v[G:] for k, v in rows.items()})
    assert feed.selector.updates == 2  # the rest, when it arrived
    assert feed.metric_fn(prompts=["eval"], rewards=np.ones(1), answer=["x"]) == {}
    with pytest.raises(CheckpointError, match="did not hand out"):
        feed.metric_fn(rewards=np.ones(G), **{k: v[half] for k, v in rows.items()})
    assert BATCH in first and first[PROMPT_ID].dtype == np.int64


@pytest.mark.parametrize(
    "rewards, ids, match",
    [
        ([np.nan, 1.0, 0.0, 1.0], None, "1 rollout rewards are not finite"),
        ([1.0, 0.0, 0.0, 1.0], [0, 0, POOL, POOL], f"prompt ids outside the pool of {POOL}"),
    ],
)
def test_outcomes_a_selector_cannot_learn_from_stop_the_run_and_change_nothing(rewards, ids, match):
    """A reward function returning NaN (or a batch naming prompts outside the pool) is an
    error, not a silent failure folded into the posterior."""
    feed = _feed()
    rows = {k: np.repeat(v, G, axis=0) for k, v in next(feed).items()}
    if ids is not None:
        rows[PROMPT_ID] = np.asarray(ids)
    before = jax.tree.map(np.asarray, feed.selector.state)
    with pytest.raises(OutcomeError, match=match):
        feed.metric_fn(rewards=np.asarray(rewards), **rows)
    assert _same(before, feed.selector.state) and feed.scored == [0] and not feed.pending
