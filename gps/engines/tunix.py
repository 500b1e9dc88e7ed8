"""GRPO in tunix (google-tunix 0.1.7) with a project selector choosing every batch.

    feed = SelectorFeed(selector, prompts, columns={"answer": answers})
    learner = GRPOLearner(rl_cluster, grpo_config, reward_fns, metric_fns=[feed.metric_fn])
    feed.attach(learner)    # restore at tunix's restored step; save beside its checkpoints
    learner.train(feed)

Where it plugs in:
- Data: `RLLearner.train(train_ds)` (tunix/rl/rl_learner.py) iterates the feed. Each
  `next()` is one batch the selector chose: numpy arrays "prompts", `gps_prompt_id` (pool
  index), `gps_batch` (batch number) and the given per-prompt columns; tunix repeats every
  row G times (`_prepare_data`) and hands the columns to reward and metric functions.
- Outcomes: `metric_fns` are called by `GRPOLearner._generate_and_compute_advantage`
  (tunix/rl/grpo/grpo_learner.py) with `rewards`, the per-rollout sum of the reward
  functions that tunix trains on, and the columns. `metric_fn` counts a rollout as a
  success when its reward is > `success_threshold` (0 by default: a verifier's 1/0) and
  files it under its prompt id. Eval batches (no `gps_batch` column) are ignored.
- Checkpoints: `attach` wraps `actor_trainer.checkpoint_manager.save`
  (tunix/sft/checkpoint_manager.py): whenever tunix writes step n, the feed writes the
  selector (`PromptSelector.save`) and its own record to `<save_dir>/step_n`.

Lookahead: in tunix 0.1.7 batch t+1 is pulled only once every rollout of batch t has been
scored (`_prepare_data` prepares one mini-batch per call and a mini-batch never spans two
batches; `train` pulls the first batch early, before anything is scored). So each batch's
outcomes are folded in, in one `update`, as soon as its last rollout is scored, before the
next `select`. An engine that asked earlier would get a selection made with the outcomes
received so far (folded in first; the rest when they arrive); `early_selections` counts it.

Resume: tunix restores its latest step n and fast-forwards the data iterator by calling
next() on the micro-batches already trained (`_prepare_data`, while `_iter_steps <
_last_iter_step`). `attach` loads `step_n`, and the feed answers by replaying the batches
it had handed out, without selecting: the selector's state, counters and keys are those
of step n, and a batch that was only partly trained gets its remaining outcomes.
"""

import json
import os
import shutil
import threading
from collections.abc import Mapping, Sequence

import numpy as np

from gps.errors import CheckpointError, ConfigError, OutcomeError
from gps.selectors.prompt_selector import PromptSelector, successes_from_rewards

PROMPT_ID, BATCH = "gps_prompt_id", "gps_batch"  # the columns the feed adds to each batch
_SELECTOR, _RECORD, _STEP = "selector", "feed.json", "step_"


class SelectorFeed:
    """The train_ds of a tunix GRPO learner, chosen batch by batch by a `PromptSelector`."""

    def __init__(
        self,
        selector: PromptSelector,
        prompts: Sequence[str],
        columns: Mapping[str, Sequence] | None = None,
        *,
        success_threshold: float = 0.0,
        save_dir: str | None = None,
        keep: int = 2,
    ):
        if len(prompts) != selector.pool_size:
            raise ConfigError(f"{len(prompts)} prompts for a pool of {selector.pool_size}")
        self.selector = selector
        self.prompts = np.asarray(prompts, dtype=str)
        self.columns = {name: np.asarray(values) for name, values in (columns or {}).items()}
        for name, values in self.columns.items():
            if name in ("prompts", PROMPT_ID, BATCH) or len(values) != selector.pool_size:
                raise ConfigError(f"column {name!r}: a reserved name or not one per prompt")
        self.success_threshold = success_threshold
        self.save_dir, self.keep = save_dir, keep
        self.history: list[list[int]] = []  # every batch handed out, in order
        self.scored: list[int] = []  # rollouts scored so far, per batch
        self.pending: dict[int, list] = {}  # batch -> [indices, successes] not yet folded in
        self.early_selections = 0
        self._cursor = 0  # batches handed out by this process (replayed ones included)
        self._lock = threading.Lock()  # next() and metric_fn run in tunix's data thread

    # --- the data iterator (RLLearner.train's train_ds) ---------------------------------------
    def __iter__(self):
        return self

    def __next__(self) -> dict:
        with self._lock:
            if self._cursor < len(self.history):  # fast-forward after a restore: replay
                indices = np.asarray(self.history[self._cursor])
            else:
                if self.pending:
                    self.early_selections += 1
                    self._fold(list(self.pending))
                indices = self.selector.select()
                self.history.append([int(i) for i in indices])
                self.scored.append(0)
            batch = self._cursor
            self._cursor += 1
        return {
            "prompts": self.prompts[indices],
            PROMPT_ID: indices.astype(np.int64),
            BATCH: np.full(len(indices), batch, np.int64),
            **{name: values[indices] for name, values in self.columns.items()},
        }

    # --- outcomes (GRPOLearner's metric_fns) --------------------------------------------------
    def metric_fn(self, prompts=None, completions=None, rewards=None, advantages=None, **kwargs):
        """Files each rollout's success under its prompt id; folds in completed batches."""
        if BATCH not in kwargs:  # an eval batch, or not one of ours
            return {}
        batches = np.asarray(kwargs[BATCH]).reshape(-1)
        ids = np.asarray(kwargs[PROMPT_ID]).reshape(-1)
        successes = successes_from_rewards(rewards, self.success_threshold)
        if not len(successes) == len(ids) == len(batches):
            raise OutcomeError(
                f"{len(successes)} rewards for {len(ids)} prompt ids and {len(batches)} batch ids"
            )
        if len(ids) and (ids.min() < 0 or ids.max() >= self.selector.pool_size):
            raise OutcomeError(f"prompt ids outside the pool of {self.selector.pool_size}")
        g = self.selector.n_rollouts
        with self._lock:
            complete = []
            for b in np.unique(batches):
                b, rows = int(b), batches == b
                if b >= len(self.history) or self.scored[b] + rows.sum() > len(self.history[b]) * g:
                    raise CheckpointError(
                        f"outcomes for batch {b} that the feed did not hand out (or already "
                        "has): the feed's record and tunix's checkpoint disagree"
                    )
                self.scored[b] += int(rows.sum())
                indices, succ = self.pending.setdefault(b, [[], []])
                indices += ids[rows].tolist()
                succ += successes[rows].tolist()
                if self.scored[b] == len(self.history[b]) * g:
                    complete.append(b)
            self._fold(complete)
        return {"gps/success_rate": (float(successes.mean()), np.mean)}

    def _fold(self, batches) -> None:
        for b in sorted(batches):
            indices, successes = self.pending.pop(b)
            self.selector.update(indices, successes, np.ones(len(indices)))

    # --- checkpoints ---------------------------------------------------------------------------
    def attach(self, learner) -> None:
        """Ties the feed to a GRPOLearner: checks G, restores the feed at tunix's restored step
        and saves it whenever tunix saves a checkpoint (default: <checkpoint root>/gps_selector)."""
        if learner.algo_config.num_generations != self.selector.n_rollouts:
            raise ConfigError(
                f"GRPO num_generations={learner.algo_config.num_generations} but the selector "
                f"expects n_rollouts={self.selector.n_rollouts}"
            )
        trainer = learner.rl_cluster.actor_trainer
        root = learner.rl_cluster.cluster_config.training_config.checkpoint_root_directory
        if self.save_dir is None and root is not None:
            self.save_dir = os.path.join(root, "gps_selector")
        if trainer.train_steps > 0:
            if self.save_dir is None:
                raise CheckpointError("tunix restored a checkpoint but the feed has no save_dir")
            self.restore(trainer.train_steps)
        if self.save_dir is not None:
            manager, save = trainer.checkpoint_manager, trainer.checkpoint_manager.save

            def save_with_selector(step, *args, **kwargs):
                saved = save(step, *args, **kwargs)
                if saved:
                    self.save(step)
                return saved

            manager.save = save_with_selector

    def save(self, step: int) -> None:
        """The selector and the feed's record under <save_dir>/step_<step>; keeps `keep`."""
        path = os.path.join(self.save_dir, f"{_STEP}{step}")
        with self._lock:
            self.selector.save(os.path.join(path, _SELECTOR))
            record = {
                "step": step,
                "history": self.history,
                "scored": self.scored,
                "pending": {str(b): v for b, v in self.pending.items()},
                "early_selections": self.early_selections,
            }
            tmp = os.path.join(path, _RECORD + ".tmp")
            with open(tmp, "w") as f:
                json.dump(record, f)
            os.replace(tmp, os.path.join(path, _RECORD))  # the record marks the save complete
        steps = sorted(_saved_steps(self.save_dir))
        for old in steps[: max(len(steps) - self.keep, 0)]:
            shutil.rmtree(os.path.join(self.save_dir, f"{_STEP}{old}"))

    def restore(self, step: int) -> None:
        """The state saved at `step`; the next batches handed out replay the saved ones."""
        path = os.path.join(self.save_dir, f"{_STEP}{step}")
        if not os.path.exists(os.path.join(path, _RECORD)):
            raise CheckpointError(
                f"tunix resumes at step {step} but no selector was saved there ({path}); "
                f"saved steps: {sorted(_saved_steps(self.save_dir))}"
            )
        old = self.selector
        self.selector = PromptSelector.load(
            os.path.join(path, _SELECTOR),
            old.pool.texts or None,
            embeddings=old.pool.embeddings,
            device=old.device,
        )
        with open(os.path.join(path, _RECORD)) as f:
            record = json.load(f)
        self.history, self.scored = record["history"], record["scored"]
        self.pending = {int(b): v for b, v in record["pending"].items()}
        self.early_selections = record["early_selections"]
        self._cursor = 0


def _saved_steps(save_dir: str) -> list[int]:
    if not os.path.isdir(save_dir):
        return []
    names = os.listdir(save_dir)
    return [
        int(n[len(_STEP) :])
        for n in names
        if n.startswith(_STEP) and os.path.exists(os.path.join(save_dir, n, _RECORD))
    ]
