"""A verl curriculum sampler (verl 0.5-0.7; tested with 0.7.1): a project selector chooses
every training batch from the outcomes of the batches before it.

    data.dataloader_num_workers=0
    data.sampler.class_path=pkg://gps.engines.verl_sampler
    data.sampler.class_name=SelectorSampler
    +data.sampler.selector=gps            # or mopps, uniform
    +data.sampler.n_rollouts=8            # = actor_rollout_ref.rollout.n
    '+data.sampler.journal_dir=${trainer.default_local_dir}/gps_sampler'

Where it plugs in (verl 0.7.1):
- verl/trainer/main_ppo.py `create_rl_sampler` (l. 392-422) builds it as
  `cls(data_source=train_dataset, data_config=config.data)` and asserts
  `dataloader_num_workers == 0`, so no worker prefetches batches.
- verl/trainer/ppo/ray_trainer.py `_create_dataloader` (l. 346) wraps it in torchdata's
  `StatefulDataLoader`, whose `BatchSampler` pulls `batch_size` indices at the start of each
  step. `__iter__` is lazy: it asks the selector for a batch only when the first index of
  that batch is pulled, so every batch is chosen with the outcomes of all earlier steps.
- `RayPPOTrainer.fit` calls `update(batch=...)` at the end of each step (l. 1600) with the
  step's rollouts: `uid` per prompt group, `extra_info` per row, `token_level_scores`
  [rows, T]. Rollouts are grouped by `uid` and a group's prompt is found by
  `extra_info["index"]`, never by position (`_balance_batch` reorders the rows; filters may
  drop groups).
- The dataloader's `state_dict` (verl's `data.pt`, l. 903) holds this sampler's
  `state_dict`. verl saves it mid-step, after the batch was drawn and before its `update`
  (`_save_checkpoint`, l. 1529, runs before `sampler.update`). So `update` also appends its
  outcomes to `journal_dir`, and a resumed sampler replays the one update its checkpoint
  lacks: the run then picks the batches an uninterrupted run would have picked. Without
  `journal_dir` the resumed selector lacks that step's outcomes (a warning says so).

The selector runs in JAX on the CPU of the process that owns the dataloader (verl's driver,
`TaskRunner`): `JAX_PLATFORMS=cpu` is set (unless already set) before JAX is first imported,
so it never initialises or takes memory on the trainer's GPUs.
"""

import json
import logging
import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # before JAX is first imported (gps.selectors)

import numpy as np  # noqa: E402
from omegaconf import DictConfig, OmegaConf  # noqa: E402
from verl.experimental.dataset.sampler import AbstractCurriculumSampler  # noqa: E402

from gps.errors import ConfigError, OutcomeError  # noqa: E402
from gps.selectors import PromptSelector, successes_from_rewards  # noqa: E402

logger = logging.getLogger(__name__)
JOURNAL = "verl_sampler_journal.jsonl"


class SelectorSampler(AbstractCurriculumSampler):
    """Yields the indices of selector-chosen batches; learns from `update(batch)`."""

    def __init__(self, data_source, data_config: DictConfig):
        cfg = data_config.get("sampler") or {}
        if cfg.get("n_rollouts") is None:
            raise ConfigError("set +data.sampler.n_rollouts to actor_rollout_ref.rollout.n")
        selector = cfg.get("selector", "gps")
        if isinstance(selector, DictConfig):  # a config block, e.g. a smaller GPS predictor
            selector = OmegaConf.to_container(selector, resolve=True)
        self.batch_size = int(
            data_config.get("gen_batch_size") or data_config.get("train_batch_size")
        )
        texts, keys = _pool(data_source, data_config.get("prompt_key", "prompt"))
        self._row_of = {key: row for row, key in enumerate(keys)}
        if None in self._row_of or len(self._row_of) != len(keys):
            raise ConfigError("every row's extra_info['index'] must be set and unique")
        seed = cfg.get("seed", data_config.get("seed"))
        self.selector = PromptSelector(
            texts,
            selector,
            batch_size=self.batch_size,
            n_rollouts=int(cfg.n_rollouts),
            seed=0 if seed is None else int(seed),
        )
        self.success_threshold = float(cfg.get("success_threshold", 0.0))
        journal_dir = cfg.get("journal_dir")
        self.journal = os.path.join(journal_dir, JOURNAL) if journal_dir else None
        self._batch = np.zeros(0, np.int64)  # the batch being yielded and how much of it
        self._offset = 0
        self._epoch_batches = 0  # batches drawn in this pass (verl's epoch)
        self._updated = 0  # the batch (selections count) whose outcomes came in last
        self._resumed = False  # else the journal belongs to an earlier run: started afresh

    def __len__(self) -> int:
        return self.selector.pool_size

    def __iter__(self):
        """One pass of len // batch_size batches; each drawn when its first index is pulled
        (a generator: nothing runs, and no state is read, before the first `next`)."""
        per_pass = len(self) // self.batch_size
        while True:
            if self._offset == len(self._batch):
                if self._epoch_batches == per_pass:
                    self._epoch_batches = 0
                    return
                self._batch, self._offset = self.selector.select(), 0
                self._epoch_batches += 1
            self._offset += 1
            yield int(self._batch[self._offset - 1])

    def update(self, batch) -> None:
        """Folds in a step's rollouts (a `DataProto`), grouped by uid, keyed by extra_info."""
        indices, successes, trials = self.outcomes(batch)
        self.selector.update(indices, successes, trials)
        self._updated = self.selector.selections
        if self.journal:
            os.makedirs(os.path.dirname(self.journal), exist_ok=True)
            entry = {"batch": self._updated, "indices": indices.tolist()}
            entry.update(successes=successes.tolist(), trials=trials.tolist())
            mode = "a" if self._resumed else "w"  # a fresh run does not read an old journal
            self._resumed = True
            with open(self.journal, mode) as f:
                f.write(json.dumps(entry) + "\n")
                f.flush()
                os.fsync(f.fileno())

    def outcomes(self, batch):
        """Per uid group: its pool index, successes and rollouts. A rollout succeeds when
        `acc` (reward_extra_info, when the reward function gives it) is true, else when its
        summed token_level_scores exceed `success_threshold`."""
        rows = batch.non_tensor_batch
        if "extra_info" in rows:
            keys = [info["index"] for info in rows["extra_info"]]
        else:
            keys = list(rows["index"])
        try:
            pool = np.array([self._row_of[key] for key in keys], np.int64)
        except KeyError as e:
            raise OutcomeError(f"extra_info index {e} is not in the training set") from None
        if "acc" in rows:
            success = successes_from_rewards(np.asarray(rows["acc"], np.float64), 0.0)
        else:
            tensors = batch.batch
            name = (
                "token_level_scores" if "token_level_scores" in tensors else "token_level_rewards"
            )
            score = tensors[name].sum(-1).float().cpu().numpy()
            success = successes_from_rewards(score, self.success_threshold)
        _, first, group = np.unique(
            np.asarray(rows["uid"], str), return_index=True, return_inverse=True
        )
        if np.any(pool != pool[first][group]):
            raise OutcomeError("rollouts of one uid name different extra_info indices")
        return (
            pool[first],
            np.bincount(group, success.astype(np.float64)),
            np.bincount(group).astype(np.float64),
        )

    # --- checkpoints: StatefulDataLoader saves these inside its own state_dict -----------
    def state_dict(self) -> dict:
        return {
            "selector": self.selector.state_dict(),
            "batch": self._batch.tolist(),
            "offset": self._offset,
            "epoch_batches": self._epoch_batches,
            "updated": self._updated,
        }

    def load_state_dict(self, state: dict) -> None:
        self.selector.load_state_dict(state["selector"])
        self._batch = np.asarray(state["batch"], np.int64)
        self._offset, self._epoch_batches = state["offset"], state["epoch_batches"]
        if self._offset == len(self._batch) and self._epoch_batches == len(self) // self.batch_size:
            self._epoch_batches = 0  # saved at a pass's last batch: verl resumes with the next
        self._updated = state["updated"]
        self._resumed = True
        self._replay()

    def _replay(self) -> None:
        """Drops the journal's entries past this checkpoint (the abandoned run's), then, when
        verl saved before the update of the batch it had drawn, replays that update."""
        pending = self.selector.selections
        entries = []
        if self.journal and os.path.exists(self.journal):
            with open(self.journal) as f:
                entries = [json.loads(line) for line in f if line.strip()]
        kept = [e for e in entries if e["batch"] <= pending]
        if len(kept) < len(entries):
            with open(self.journal + ".tmp", "w") as f:
                f.writelines(json.dumps(e) + "\n" for e in kept)
            os.replace(self.journal + ".tmp", self.journal)
        if self._updated == pending:
            return
        replay = [e for e in kept if e["batch"] == pending][-1:]
        for e in replay:
            self.selector.update(e["indices"], e["successes"], e["trials"])
            self._updated = pending
        if not replay:
            logger.warning(
                "no journaled outcomes of batch %d: the selector resumes without them", pending
            )


def _pool(dataset, prompt_key: str):
    """Each row's prompt text and extra_info['index']: from the columns of verl's RLHFDataset
    (`dataframe`, no tokenising), else row by row (`dataset[i]`, e.g. a list of dicts)."""
    frame = getattr(dataset, "dataframe", None)
    if frame is not None:
        prompts, infos = list(frame[prompt_key]), list(frame["extra_info"])
    else:
        rows = [dataset[i] for i in range(len(dataset))]
        prompts = [r.get(prompt_key, r.get("raw_prompt")) for r in rows]
        infos = [r.get("extra_info") for r in rows]
    keys = [(info or {}).get("index") for info in infos]
    return [_text(p) for p in prompts], keys


def _text(prompt) -> str:
    """A chat prompt's text: its messages' string contents, one per line."""
    if isinstance(prompt, str):
        return prompt
    return "\n".join(m["content"] for m in prompt if isinstance(m.get("content"), str))
