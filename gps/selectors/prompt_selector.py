"""A selector for use inside another trainer (tunix, verl, your own): numpy in and out.

    selector = PromptSelector(texts, "gps", batch_size=32, n_rollouts=8, seed=0)
    indices = selector.select()                       # [B] pool indices
    selector.update(observed, successes, trials)      # any number of prompts, any order
    selector.save("ckpt/selector")                    # orbax; PromptSelector.load(path, texts)

The state is explicit and held here; each call folds its own step into the seed's keys, so
a run that saves and loads gives the same batches as one that does not. An update may hold
fewer prompts than were selected (an engine filtered some), more (split into batches of B)
or repeats (summed per prompt): it is padded with no-trial entries, which every difficulty
model, the history and the diversity window leave out. Outcomes a selector cannot learn
from (NaN, negative, more successes than trials, unknown indices, mismatched lengths) raise
`gps.errors.OutcomeError` and change nothing. The selector runs on `device` (CPU by
default), so it takes no accelerator memory from the trainer beside it.
"""

import contextlib
import json
import os
import shutil
import uuid
from collections.abc import Sequence

import jax
import ml_collections
import numpy as np

from gps.records import checkpoint
from gps.errors import ConfigError, OutcomeError
from gps.selectors.base import Pool, make_selector
from gps.selectors.presets import check_selector_config, selector_config, upgrade_selector_block

_STATE, _META = "state", "selector.json"


def _no_rollouts(indices, key):
    raise AssertionError("unreachable: selectors that roll out are refused at construction")


class PromptSelector:
    """A named selector (or its config block) over a fixed pool of prompts."""

    def __init__(
        self,
        texts: Sequence[str] | None = None,
        config: str | dict | ml_collections.ConfigDict = "gps",
        *,
        batch_size: int,
        n_rollouts: int,
        seed: int = 0,
        embeddings: np.ndarray | None = None,
        groups: Sequence[str] | None = None,
        device: str | None = "cpu",
    ):
        if texts is None and embeddings is None:
            raise ConfigError("give the pool's prompt texts or their embeddings")
        for name, value in (("batch_size", batch_size), ("n_rollouts", n_rollouts)):
            if not isinstance(value, (int, np.integer)) or value < 1:
                raise ConfigError(f"{name} must be an integer >= 1, got {value!r}")
        if embeddings is not None and np.ndim(embeddings) != 2:
            raise ConfigError(f"embeddings must be [pool, dim], got shape {np.shape(embeddings)}")
        if isinstance(config, str):
            config = selector_config(config)
        self.config = ml_collections.ConfigDict(upgrade_selector_block(dict(config)))
        check_selector_config(self.config)
        self.pool = Pool(tuple(texts or ()), embeddings, None if groups is None else tuple(groups))
        if self.pool.size == 0:
            raise ConfigError("the prompt pool is empty")
        self.batch_size, self.n_rollouts, self.seed = batch_size, n_rollouts, seed
        self.device = device
        with self._on_device():
            self._selector = make_selector(
                self.config, self.pool, batch_size=batch_size, n_rollouts=n_rollouts
            )
            if self._selector.needs_rollouts:
                raise ConfigError(
                    f"selector {self.config.name!r} rolls prompts out itself; it runs only in "
                    "the project's trainer"
                )
            self._keys = dict(zip(("init", "select", "predict"), jax.random.split(self._key(), 3)))
            self.state = self._selector.init(self._keys["init"])
        self.selections = 0  # select() calls so far: each folds its count into the key
        self.updates = 0
        self.last_info: dict = {}  # the last batch's diagnostics (Σu, D_intra, ...), for logs
        self.last_budgets = None  # the last batch's rollouts per prompt, if the selector allocates

    def _key(self):
        return jax.random.key(self.seed)

    def _on_device(self):
        if self.device is None:
            return contextlib.nullcontext()
        try:
            return jax.default_device(jax.devices(self.device)[0])
        except RuntimeError:  # e.g. JAX_PLATFORMS leaves the CPU out
            raise ConfigError(
                f"device {self.device!r} is not available to JAX here; pass device=None for "
                "JAX's default device"
            ) from None

    @property
    def pool_size(self) -> int:
        return self.pool.size

    def select(self) -> np.ndarray:
        """The next batch: `batch_size` distinct pool indices."""
        with self._on_device():
            key = jax.random.fold_in(self._keys["select"], self.selections)
            selection = self._selector.select(self.state, key, _no_rollouts)
        self.selections += 1
        self.last_info = selection.info
        self.last_budgets = selection.budgets
        return np.asarray(selection.indices)

    def update(self, indices, successes, trials) -> None:
        """Folds in observed outcomes: per prompt (pool index) its successes out of trials.
        Nothing observed (no trials) changes nothing. More than B prompts are folded in as
        ⌈n/B⌉ consecutive near-equal batches in pool-index order (GPS's history then holds
        them as consecutive steps)."""
        indices, successes, trials = _aggregate(indices, successes, trials, self.pool_size)
        observed = trials > 0
        indices, successes, trials = indices[observed], successes[observed], trials[observed]
        if not len(indices):
            return
        b = self.batch_size
        with self._on_device():
            for part in np.array_split(np.arange(len(indices)), -(-len(indices) // b)):
                batch = _padded(indices[part], successes[part], trials[part], b, self.pool_size)
                self.state = self._selector.update(self.state, *batch)
        self.updates += 1

    def predict(self, texts: Sequence[str] | None = None, embeddings=None) -> np.ndarray | None:
        """Predicted success rates of prompts (in the pool or not); None without a model that
        generalises (Uniform, MoPPS)."""
        key = jax.random.fold_in(self._keys["predict"], self.updates)
        with self._on_device():
            if embeddings is not None:
                return self._selector.predict_vectors(self.state, key, embeddings)
            return self._selector.predict_unseen(self.state, key, list(texts or ()))

    # --- persistence --------------------------------------------------------------------------
    def _check_pool(self, saved: dict, where: str) -> None:
        """The saved state's pool is this one: same size and the same prompts, in order."""
        if saved["size"] != self.pool_size:
            raise ConfigError(
                f"the selector in {where} was saved over {saved['size']} prompts; "
                f"this pool has {self.pool_size}"
            )
        if saved["digest"] != self.pool.digest()["digest"]:
            raise ConfigError(
                f"the selector in {where} was saved over other prompts (or another order) "
                "than this pool's"
            )

    def state_dict(self) -> dict:
        """The state as host (numpy) arrays and counters, for an engine's own checkpoint."""
        return {
            "state": jax.device_get(self.state),
            "selections": self.selections,
            "updates": self.updates,
            "pool": self.pool.digest(),
        }

    def load_state_dict(self, saved: dict) -> None:
        """Continues from `state_dict()`'s output (over the same pool)."""
        self._check_pool(saved["pool"], "state_dict")
        with self._on_device():
            self.state = jax.tree.map(lambda _, x: jax.numpy.asarray(x), self.state, saved["state"])
        self.selections, self.updates = saved["selections"], saved["updates"]

    def save(self, path: str) -> None:
        """Writes the state (orbax) and what rebuilds the selector (JSON) under `path`."""
        os.makedirs(path, exist_ok=True)
        meta = {
            "config": self.config.to_dict(),
            "batch_size": self.batch_size,
            "n_rollouts": self.n_rollouts,
            "seed": self.seed,
            "pool": self.pool.digest(),
            "selections": self.selections,
            "updates": self.updates,
        }
        # A fresh state folder, then the JSON that names it (atomic), then the old folders go:
        # a save killed at any point leaves the previous save readable.
        meta["state"] = f"{_STATE}-{uuid.uuid4().hex[:12]}"
        checkpoint.save_tree(os.path.join(path, meta["state"]), self.state)
        tmp = os.path.join(path, f"{_META}.tmp")
        with open(tmp, "w") as f:
            json.dump(meta, f, indent=1)
        os.replace(tmp, os.path.join(path, _META))
        for name in os.listdir(path):
            if name.startswith(_STATE) and name != meta["state"]:
                shutil.rmtree(os.path.join(path, name))

    @classmethod
    def load(
        cls,
        path: str,
        texts: Sequence[str] | None = None,
        *,
        embeddings: np.ndarray | None = None,
        groups: Sequence[str] | None = None,
        device: str | None = "cpu",
    ) -> "PromptSelector":
        """The selector saved under `path`, over the same pool (texts or embeddings; groups
        for selectors over task families)."""
        meta_path = os.path.join(path, _META)
        if not os.path.exists(meta_path):
            raise checkpoint.CheckpointError(f"no saved selector at {path} (no {_META})")
        with open(meta_path) as f:
            meta = json.load(f)
        selector = cls(
            texts,
            meta["config"],
            batch_size=meta["batch_size"],
            n_rollouts=meta["n_rollouts"],
            seed=meta["seed"],
            embeddings=embeddings,
            groups=groups,
            device=device,
        )
        selector._check_pool(meta["pool"], path)
        with selector._on_device():
            selector.state = checkpoint.restore_tree(
                os.path.join(path, meta["state"]), selector.state
            )
        selector.selections, selector.updates = meta["selections"], meta["updates"]
        return selector


def successes_from_rewards(rewards, threshold: float) -> np.ndarray:
    """1.0 for each rollout whose reward exceeds `threshold`, else 0.0 (an engine's rewards to
    a selector's outcomes); a non-finite reward is an OutcomeError, not a silent failure."""
    rewards = np.asarray(rewards, np.float64).reshape(-1)
    if not np.all(np.isfinite(rewards)):
        raise OutcomeError(f"{np.sum(~np.isfinite(rewards))} rollout rewards are not finite")
    return (rewards > threshold) * 1.0


def _numbers(values, name: str) -> np.ndarray:
    """A flat float array of finite numbers (strings, None and NaN are rejected)."""
    try:
        array = np.asarray(values, np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise OutcomeError(f"{name} must be numbers") from None
    if not np.all(np.isfinite(array)):
        raise OutcomeError(f"{name} must be finite, got {array[~np.isfinite(array)][0]}")
    return array


def _aggregate(indices, successes, trials, pool_size: int):
    """Per distinct prompt: summed successes and trials (engines report rollouts, in any
    order, and may repeat a prompt); anything a selector cannot learn from is an error."""
    raw = _numbers(indices, "pool indices")
    successes, trials = _numbers(successes, "successes"), _numbers(trials, "trials")
    if not len(raw) == len(successes) == len(trials):
        raise OutcomeError(
            f"indices, successes and trials differ in length: "
            f"{len(raw)}, {len(successes)}, {len(trials)}"
        )
    if np.any(raw != np.round(raw)):
        raise OutcomeError("pool indices must be integers")
    indices = raw.astype(np.int64)
    if len(indices) and (indices.min() < 0 or indices.max() >= pool_size):
        raise OutcomeError(
            f"pool indices must be in [0, {pool_size}), got {indices.min()}..{indices.max()}"
        )
    if np.any(trials < 0):
        raise OutcomeError("trials must be >= 0")
    if np.any(successes < 0) or np.any(successes > trials):
        raise OutcomeError("successes must be in [0, trials]")
    unique, inverse = np.unique(indices, return_inverse=True)  # in pool order: the state
    return (  # does not depend on the order an engine reports its rollouts in
        unique,
        np.bincount(inverse, successes, len(unique)),
        np.bincount(inverse, trials, len(unique)),
    )


def _padded(indices, successes, trials, size: int, pool_size: int):
    """Arrays of length `size`: the observations, then no-trial entries at an index past the
    pool (scatters drop it; every model masks entries without trials)."""
    pad = size - len(indices)
    return (
        np.concatenate([indices, np.full(pad, pool_size)]).astype(np.int32),
        np.concatenate([successes, np.zeros(pad)]).astype(np.float32),
        np.concatenate([trials, np.zeros(pad)]).astype(np.float32),
    )
