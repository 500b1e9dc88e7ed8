"""gps.engines.verl_sampler against verl's real classes (optional: `make test-verl`).

The main environment has no verl, so the main suite skips this file. Built as verl 0.7.1's
trainer builds them: the dataset is verl's RLHFDataset over a small parquet file (no
tokenizer: `filter_overlong_prompts=False`), the sampler comes from verl's
`create_rl_sampler`, the loader is torchdata's StatefulDataLoader with verl's `collate_fn`,
and each step's `DataProto` is made as `RayPPOTrainer.fit` makes it (from_single_dict, uid,
repeat(n, interleave=True), token_level_scores, a reorder as `_balance_batch`'s).
"""

import json
import os
import uuid

import numpy as np
import pytest

verl = pytest.importorskip("verl")

import pandas as pd  # noqa: E402
import torch  # noqa: E402
from omegaconf import OmegaConf  # noqa: E402
from torchdata.stateful_dataloader import StatefulDataLoader  # noqa: E402
from verl import DataProto  # noqa: E402
from verl.trainer.main_ppo import create_rl_sampler  # noqa: E402
from verl.utils.dataset.rl_dataset import RLHFDataset, collate_fn  # noqa: E402

from gps.engines.verl_sampler import SelectorSampler  # noqa: E402
from gps.errors import OutcomeError  # noqa: E402
from gps.selectors import selector_config  # noqa: E402

POOL, B, N, T = 40, 8, 4, 5
# extra_info["index"] is deliberately not the row: row r holds prompt KEYS[r]
KEYS = [int(k) for k in 1000 + 7 * np.random.default_rng(0).permutation(POOL)]


def _gps_block(tmp_path):
    c = selector_config("gps")
    c.model.update(hidden=16, z_dim=4, encoder_layers=1, samples=2, replay=2)
    c.embedding.cache_dir = str(tmp_path / "embeddings")
    return c.to_dict()


@pytest.fixture
def parquet(tmp_path):
    rows = [
        {
            "data_source": "toy",
            "prompt": [{"role": "user", "content": f"What is {key} + {key % 13}?"}],
            "reward_model": {"style": "rule", "ground_truth": str(key + key % 13)},
            "extra_info": {"index": key, "split": "train"},
        }
        for key in KEYS
    ]
    path = str(tmp_path / "train.parquet")
    pd.DataFrame(rows).to_parquet(path)
    return path


def _data_config(tmp_path, journal=True, selector=None):
    sampler = {
        "class_path": "pkg://gps.engines.verl_sampler",
        "class_name": "SelectorSampler",
        "selector": selector or _gps_block(tmp_path),
        "n_rollouts": N,
    }
    if journal:
        sampler["journal_dir"] = str(tmp_path / "ckpt" / "gps_sampler")
    return OmegaConf.create(
        {
            "train_batch_size": B,
            "gen_batch_size": None,
            "dataloader_num_workers": 0,
            "prompt_key": "prompt",
            "filter_overlong_prompts": False,
            "cache_dir": str(tmp_path / "verl_cache"),
            "shuffle": True,
            "seed": 1,
            "sampler": sampler,
        }
    )


def _loader(parquet, data_config):
    """As RayPPOTrainer._create_dataloader: verl's dataset, sampler and collate_fn."""
    dataset = RLHFDataset(parquet, tokenizer=None, config=data_config)
    sampler = create_rl_sampler(data_config, dataset)
    assert isinstance(sampler, SelectorSampler)
    loader = StatefulDataLoader(
        dataset=dataset,
        batch_size=B,
        num_workers=0,
        drop_last=True,
        collate_fn=collate_fn,
        sampler=sampler,
    )
    return loader, sampler


def _success(key, step, rollout):
    """A fixed coin per (prompt, step, rollout): both runs see the same outcomes."""
    p = (key % 10) / 10
    return np.random.default_rng([key, step, rollout]).random() < p


def _rollouts(batch_dict, step, rng):
    """The step's DataProto at `sampler.update`, built as RayPPOTrainer.fit builds it."""
    batch = DataProto.from_single_dict(batch_dict)
    batch.non_tensor_batch["uid"] = np.array([str(uuid.uuid4()) for _ in range(len(batch))], object)
    batch = batch.repeat(repeat_times=N, interleave=True)
    keys = [info["index"] for info in batch.non_tensor_batch["extra_info"]]
    scores = torch.zeros(len(batch), T)
    scores[:, -1] = torch.tensor([float(_success(k, step, r % N)) for r, k in enumerate(keys)])
    batch.batch["token_level_scores"] = scores
    batch.reorder(torch.from_numpy(rng.permutation(len(batch))))  # as _balance_batch
    return batch


def _keys(batch_dict):
    return [info["index"] for info in batch_dict["extra_info"]]


def _train(loader, sampler, steps, first=1, save_at=None, save_to=None):
    """RayPPOTrainer.fit's loop: the batches' extra_info indices; at step `save_at` the
    dataloader is saved (data.pt) before `sampler.update`, as verl does."""
    rng, seen, step = np.random.default_rng(first), [], first
    epochs = range((first - 1) // len(loader), 10)
    for _ in epochs:
        for batch_dict in loader:
            seen.append(_keys(batch_dict))
            if step == save_at:
                torch.save(loader.state_dict(), save_to)
            sampler.update(batch=_rollouts(batch_dict, step, rng))
            if step == steps:
                return seen
            step += 1
    return seen


def test_batches_are_distinct_prompts_and_updates_are_keyed_by_extra_info(parquet, tmp_path):
    loader, sampler = _loader(parquet, _data_config(tmp_path))
    assert len(loader) == POOL // B
    received = []
    update = sampler.selector.update
    sampler.selector.update = lambda *a: (received.append(a), update(*a))
    rng = np.random.default_rng(0)
    for step, batch_dict in enumerate(loader, 1):
        keys = _keys(batch_dict)
        assert len(set(keys)) == B
        sampler.update(batch=_rollouts(batch_dict, step, rng))
        indices, successes, trials = received[-1]
        assert sorted(KEYS[i] for i in indices) == sorted(keys)  # pool row of each key
        for i, s, n in zip(indices, successes, trials):
            assert n == N and s == sum(_success(KEYS[i], step, r) for r in range(N))
        if step == 3:
            break
    assert sampler.selector.updates == 3 and sampler.selector.selections == 3


def test_reordering_and_filtering_do_not_change_a_prompts_outcomes(parquet, tmp_path):
    loader, sampler = _loader(parquet, _data_config(tmp_path))
    batch = _rollouts(next(iter(loader)), 1, np.random.default_rng(0))
    indices, successes, trials = sampler.outcomes(batch)
    per_prompt = dict(zip(indices, zip(successes, trials)))
    shuffled = _rollouts_like(batch, np.random.default_rng(5).permutation(len(batch)))
    assert len(per_prompt) == B and set(trials) == {N}
    assert {i: (s, n) for i, s, n in zip(*sampler.outcomes(shuffled))} == per_prompt
    # a reward function's `acc` (reward_extra_info), when given, decides success
    shuffled.non_tensor_batch["acc"] = np.zeros(len(batch), bool)
    assert not sampler.outcomes(shuffled)[1].any()
    # a filter (e.g. dropping groups whose rollouts all agree) removes whole uid groups
    uids = batch.non_tensor_batch["uid"]
    kept_uids = set(np.unique(uids)[::2])
    kept = batch.select_idxs(np.array([u in kept_uids for u in uids]))
    filtered = {i: (s, n) for i, s, n in zip(*sampler.outcomes(kept))}
    assert len(filtered) == len(kept_uids)
    assert all(per_prompt[i] == v for i, v in filtered.items())


def _rollouts_like(batch, order):
    out = batch.select_idxs(np.arange(len(batch)))
    out.reorder(torch.from_numpy(order))
    return out


@pytest.mark.parametrize("selector, save_at", [("gps", 3), ("mopps", 3), ("mopps", 5)])
def test_resume_from_verl_checkpoint_continues_as_uninterrupted(
    parquet, tmp_path, selector, save_at
):
    """Save at step `save_at` (before its update, as verl; 5 is a pass's last batch), run on
    two steps and 'crash'; a new process loads data.pt: the steps after the save, up to 7
    (across the pass boundary), equal an uninterrupted run."""
    block = _gps_block(tmp_path) if selector == "gps" else selector_config("mopps").to_dict()
    loader, sampler = _loader(parquet, _data_config(tmp_path / "a", selector=block))
    reference = _train(loader, sampler, steps=7)

    data_pt = str(tmp_path / "data.pt")
    config = _data_config(tmp_path / "b", selector=block)
    loader, sampler = _loader(parquet, config)
    crashed = _train(loader, sampler, steps=save_at + 2, save_at=save_at, save_to=data_pt)
    assert crashed == reference[: save_at + 2]

    loader, sampler = _loader(parquet, config)  # the resumed process
    loader.load_state_dict(torch.load(data_pt, weights_only=False))
    resumed = _train(loader, sampler, steps=7, first=save_at + 1)
    assert resumed == reference[save_at:7]


def test_a_fresh_run_starts_a_fresh_journal(parquet, tmp_path):
    """An earlier run's journal in the same folder is not replayed into a new run's."""
    config = _data_config(tmp_path, selector=selector_config("mopps").to_dict())
    _train(*_loader(parquet, config), steps=3)
    _train(*_loader(parquet, config), steps=1)
    with open(os.path.join(config.sampler.journal_dir, "verl_sampler_journal.jsonl")) as f:
        assert [json.loads(line)["batch"] for line in f] == [1]


def test_resume_without_journal_warns_and_still_runs(parquet, tmp_path, caplog):
    block = selector_config("mopps").to_dict()
    config = _data_config(tmp_path, journal=False, selector=block)
    loader, sampler = _loader(parquet, config)
    data_pt = str(tmp_path / "data.pt")
    _train(loader, sampler, steps=2, save_at=2, save_to=data_pt)
    loader, sampler = _loader(parquet, config)
    loader.load_state_dict(torch.load(data_pt, weights_only=False))
    resumed = _train(loader, sampler, steps=4, first=3)
    assert len(resumed) == 2 and "resumes without them" in caplog.text
    assert sampler.selector.selections == 4


def test_a_non_finite_reward_stops_the_run_and_changes_nothing(parquet, tmp_path):
    """A reward function that returns NaN is an OutcomeError, not a failure folded into the
    selector, and neither the selector nor the journal moves."""
    loader, sampler = _loader(parquet, _data_config(tmp_path))
    batch_dict = next(iter(loader))
    batch = _rollouts(batch_dict, 1, np.random.default_rng(0))
    batch.batch["token_level_scores"][0, -1] = float("nan")
    before = sampler.state_dict()
    with pytest.raises(OutcomeError, match="1 rollout rewards are not finite"):
        sampler.update(batch=batch)
    assert sampler.selector.updates == 0 and sampler.state_dict()["updated"] == before["updated"]
    assert not os.path.exists(sampler.journal)


def test_config_errors(parquet, tmp_path):
    config = _data_config(tmp_path)
    del config.sampler["n_rollouts"]
    dataset = RLHFDataset(parquet, tokenizer=None, config=config)
    with pytest.raises(Exception, match="n_rollouts"):
        SelectorSampler(dataset, config)
    rows = [{"prompt": f"q{i}", "extra_info": {"index": i}} for i in range(POOL)]
    assert len(SelectorSampler(rows, _data_config(tmp_path))) == POOL  # a plain dataset
    for bad in ({}, {"index": 0}):  # no index; a repeated one
        rows[-1]["extra_info"] = bad
        with pytest.raises(Exception, match="unique"):
            SelectorSampler(rows, _data_config(tmp_path))
    assert os.environ["JAX_PLATFORMS"] == "cpu"
