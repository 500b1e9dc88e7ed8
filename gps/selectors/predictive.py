"""Selectors made of a difficulty model and an acquisition function (method.md §2.1, 2.3, 2.4).

Each step: draw candidates (the whole pool, or `candidates`·B prompts uniformly without
replacement), predict their success rates, let the acquisition pick B of them. Uniform,
MoPPS and GPS are presets of this one selector (see `presets.py`); the config picks the
parts by name (`selector.model.name`, `selector.acquisition.name`). Select and update
are each one jit-compiled function of (state, key); nothing loops over the pool in Python.
"""

import functools

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gps.errors import ConfigError
from gps.selectors import embeddings as embeddings_lib
from gps.selectors.acquisition import ACQUISITIONS, AcquisitionInputs, random_subset
from gps.selectors.base import SELECTORS, Selection, Selector
from gps.selectors.difficulty import DIFFICULTY_MODELS


class PredictiveSelector(Selector):
    def __init__(self, config, pool, **kwargs):
        super().__init__(config, pool, **kwargs)
        c = config
        model_cls = DIFFICULTY_MODELS.get(c.model.name)
        acquire = ACQUISITIONS.get(c.acquisition.name)
        self.candidates = c.candidates * self.batch_size if c.candidates else 0
        if self.candidates > pool.size:
            self.candidates = 0  # the pool is smaller than the candidate set: use all of it
        self.embeddings, self._mean = None, None  # _mean: the pool's, for prompts outside it
        if model_cls.needs_embeddings or c.acquisition.diversity > 0:
            raw = self._pool_embeddings()
            self._mean = raw.mean(0)
            self.embeddings = jnp.asarray(embeddings_lib.standardize(raw, self._mean))
        model_cfg = c.model.get(c.model.name, ml_collections.ConfigDict())
        self.model = model_cls(
            model_cfg,
            pool_size=pool.size,
            batch_size=self.batch_size,
            embeddings=self.embeddings,
        )
        frozen = ml_collections.FrozenConfigDict(c.acquisition)
        self._acquire = functools.partial(acquire, cfg=frozen)
        self._select = jax.jit(self._select_fn)
        self._update = jax.jit(self._update_fn)
        self._predict_unseen = jax.jit(self.model.predict_unseen)
        # Trace once now, without running, so a bad combination fails before training starts.
        jax.eval_shape(lambda key: self._select_fn(self._init_fn(key), key), jax.random.key(0))

    def _pool_embeddings(self) -> np.ndarray:
        """The pool's raw embeddings: given with the pool, or computed (and cached)."""
        e = self.config.embedding
        if e.name not in embeddings_lib.EMBEDDERS:
            raise ConfigError(
                f"unknown selector.embedding.name {e.name!r}; known: {embeddings_lib.EMBEDDERS}"
            )
        raw = self.pool.embeddings
        if raw is None:
            raw = embeddings_lib.cached_embed(self.pool.texts, e.dim, e.cache_dir)
        return raw

    def init(self, key):
        return jax.jit(self._init_fn)(key)

    def _init_fn(self, key):
        window = self.config.acquisition.window
        return {
            "model": self.model.init(key),
            "recent": jnp.zeros((window, self.batch_size), jnp.int32),  # last batches, newest last
            "recent_filled": jnp.zeros((window,), bool),
        }

    def _select_fn(self, state, key):
        k_candidates, k_predict, k_acquire = jax.random.split(key, 3)
        if self.candidates:
            candidates = random_subset(k_candidates, self.pool.size, self.candidates)
        else:
            candidates = jnp.arange(self.pool.size)
        embeddings = history = history_mask = None
        if self.embeddings is not None:
            embeddings = self.embeddings[candidates] if self.candidates else self.embeddings
            history = self.embeddings[state["recent"]].reshape(-1, self.embeddings.shape[-1])
            history_mask = jnp.repeat(state["recent_filled"], self.batch_size)
        predictions = self.model.predict(state["model"], k_predict, candidates, embeddings)
        inputs = AcquisitionInputs(candidates, predictions, embeddings, history, history_mask)
        chosen = self._acquire(k_acquire, inputs, self.batch_size)
        return candidates[chosen], None if predictions is None else predictions[chosen]

    def select(self, state, key, rollout_fn):
        indices, predictions = self._select(state, key)
        if predictions is not None:
            predictions = np.asarray(predictions)
        return Selection(np.asarray(indices), predictions)

    def _update_fn(self, state, indices, successes, trials):
        return {
            "model": self.model.update(state["model"], indices, successes, trials),
            "recent": jnp.concatenate([state["recent"][1:], indices[None].astype(jnp.int32)]),
            "recent_filled": jnp.concatenate([state["recent_filled"][1:], jnp.array([True])]),
        }

    def update(self, state, indices, successes, trials):
        return self._update(
            state, jnp.asarray(indices), jnp.asarray(successes), jnp.asarray(trials)
        )

    def predict_unseen(self, state, key, texts):
        if self.embeddings is None:
            return None
        e = self.config.embedding  # held-out sets are the same at every evaluation: cached
        vectors = embeddings_lib.cached_embed(texts, e.dim, e.cache_dir)
        return self.predict_vectors(state, key, vectors)

    def predict_vectors(self, state, key, vectors):
        """Predicted success rates of prompts given by raw embeddings (as the pool's)."""
        standardized = embeddings_lib.standardize(np.asarray(vectors), self._mean)
        out = self._predict_unseen(state["model"], key, jnp.asarray(standardized))
        return None if out is None else np.asarray(out)


for _name in ("uniform", "mopps", "gps"):
    SELECTORS.register(_name)(PredictiveSelector)
