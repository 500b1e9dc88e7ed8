"""Selectors made of a difficulty model and an acquisition function (docs/method.md §2.1,
2.3, 2.4).

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
from gps.selectors import budgets, settings
from gps.selectors import embeddings as embeddings_lib
from gps.selectors.acquisition import ACQUISITIONS, AcquisitionInputs, batch_terms, random_subset
from gps.selectors.base import SELECTORS, Selection, Selector
from gps.selectors.difficulty import DIFFICULTY_MODELS, push_row
from gps.selectors.presets import PRESETS, needs_embeddings


class PredictiveSelector(Selector):
    @classmethod
    def check_config(cls, config):
        model = DIFFICULTY_MODELS.get(config.model.name)
        acquisition = ACQUISITIONS.get(config.acquisition.name)
        blocks = {"candidates": 0, "budget": "", "model": {}, "acquisition": {}, "embedding": {}}
        settings.check_keys(config, "", f"selector {config.name!r}", blocks)
        bounds = {"candidates": settings.AtLeast(0), "budget": settings.OneOf(budgets.RULES)}
        settings.check_bounds(config, "", bounds)
        if config.budget != "equal" and config.model.name == "none":
            raise ConfigError(f"budget rule {config.budget!r} needs a difficulty model")
        part = f"difficulty model {config.model.name!r}"
        settings.check_keys(config.model, "model", part, model.defaults)
        model.check(config.model)
        part = f"acquisition {config.acquisition.name!r}"
        settings.check_keys(config.acquisition, "acquisition", part, acquisition.defaults)
        acquisition.check(config.acquisition)
        embeddings_lib.check_config(config.embedding)
        if not needs_embeddings(config):
            why = (
                f": no part of selector {config.name!r} reads prompt embeddings (acquisition "
                f"{config.acquisition.name!r}, model {config.model.name!r})"
            )
            settings.check_unread(config.embedding, "embedding", embeddings_lib.SETTINGS, why)

    def __init__(self, config, pool, **kwargs):
        super().__init__(config, pool, **kwargs)
        c = config
        model_cls = DIFFICULTY_MODELS.get(c.model.name)
        acquisition = ACQUISITIONS.get(c.acquisition.name)
        self.candidates = c.candidates * self.batch_size if c.candidates else 0
        if self.candidates > pool.size:
            self.candidates = 0  # the pool is smaller than the candidate set: use all of it
        self.window = acquisition.window(c.acquisition)
        self.target = c.acquisition.get("target")  # γ* of u, for the batch's Σu
        self.embeddings, self._mean = None, None  # _mean: the pool's, for prompts outside it
        if needs_embeddings(c):
            raw = self._pool_embeddings()
            self._mean = raw.mean(0)
            self.embeddings = jnp.asarray(embeddings_lib.standardize(raw, self._mean))
        self.model = model_cls(
            ml_collections.FrozenConfigDict(c.model),
            pool_size=pool.size,
            batch_size=self.batch_size,
            embeddings=self.embeddings,
        )
        frozen = ml_collections.FrozenConfigDict(c.acquisition)
        self._acquire = functools.partial(acquisition.select, cfg=frozen)
        self._select = jax.jit(self._select_fn)
        self._update = jax.jit(self._update_fn)
        self._predict_unseen = jax.jit(self.model.predict_unseen)
        # Trace once now, without running, so a bad combination fails before training starts.
        jax.eval_shape(lambda key: self._select_fn(self._init_fn(key), key), jax.random.key(0))

    def _pool_embeddings(self) -> np.ndarray:
        """The pool's raw embeddings: given with the pool, or computed (and cached)."""
        if self.pool.embeddings is not None:
            return self.pool.embeddings
        e = self.config.embedding
        return embeddings_lib.cached_embed(self.pool.texts, e.dim, e.cache_dir)

    def init(self, key):
        return jax.jit(self._init_fn)(key)

    def _init_fn(self, key):
        state = {"model": self.model.init(key)}
        if self.window:  # the last batches, newest last, for acquisitions that look back
            state["recent"] = jnp.zeros((self.window, self.batch_size), jnp.int32)
            state["recent_observed"] = jnp.zeros((self.window, self.batch_size), bool)
        return state

    def _select_fn(self, state, key):
        k_candidates, k_predict, k_acquire = jax.random.split(key, 3)
        if self.candidates:
            candidates = random_subset(k_candidates, self.pool.size, self.candidates)
        else:
            candidates = jnp.arange(self.pool.size)
        embeddings = history = history_mask = None
        if self.embeddings is not None:
            embeddings = self.embeddings[candidates] if self.candidates else self.embeddings
            if self.window:
                history = self.embeddings[state["recent"]].reshape(-1, self.embeddings.shape[-1])
                history_mask = state["recent_observed"].reshape(-1)
        predictions = self.model.predict(state["model"], k_predict, candidates, embeddings)
        posterior = self.model.posterior(state["model"], candidates)
        inputs = AcquisitionInputs(
            candidates, predictions, embeddings, history, history_mask, posterior, self.n_rollouts
        )
        chosen = self._acquire(k_acquire, inputs, self.batch_size)
        indices = candidates[chosen]
        info = batch_terms(chosen, inputs, self.target)
        # What a budget rule reads: the posterior mean where there is one, else the prediction.
        if posterior is not None:
            estimates = (posterior[0] / (posterior[0] + posterior[1]))[chosen]
        else:
            estimates = None if predictions is None else predictions[chosen]
        if self.window:  # share of the batch also selected in the last `window` batches
            seen = jnp.isin(indices, jnp.where(state["recent_observed"], state["recent"], -1))
            info["batch_overlap"] = seen.mean()
        return indices, None if predictions is None else predictions[chosen], estimates, info

    def select(self, state, key, rollout_fn):
        indices, predictions, estimates, info = self._select(state, key)
        if predictions is not None:
            predictions = np.asarray(predictions)
        info = {name: float(value) for name, value in info.items()}
        budget = None
        if self.config.budget != "equal":
            budget = budgets.allocate(
                self.config.budget, np.asarray(estimates), self.rollout_budget
            )
            info["budget_max"] = float(budget.max())
        return Selection(np.asarray(indices), predictions, budgets=budget, info=info)

    def _update_fn(self, state, indices, successes, trials):
        """Entries with no trials are padding (an engine observed fewer prompts than B): every
        part leaves them out, so they never bias a posterior, the history or the window."""
        new = {"model": self.model.update(state["model"], indices, successes, trials)}
        if self.window:
            new["recent"] = push_row(state["recent"], indices.astype(jnp.int32))
            new["recent_observed"] = push_row(state["recent_observed"], trials > 0)
        return new

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
        if self.embeddings is None:
            return None
        standardized = embeddings_lib.standardize(np.asarray(vectors), self._mean)
        out = self._predict_unseen(state["model"], key, jnp.asarray(standardized))
        return None if out is None else np.asarray(out)


for _name in PRESETS:
    SELECTORS.register(_name)(PredictiveSelector)
