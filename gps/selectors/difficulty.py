"""Difficulty models: what a selector believes about each prompt's success rate.

A model is pure code over explicit state: `init(key)`, `predict(state, key, candidates,
embeddings)` -> predicted success rates of the candidates (None for `none`),
`predict_unseen(state, key, embeddings)` for prompts outside the pool (None when the model
cannot generalise), and `update(state, indices, successes, trials)`. All are traceable, so
the selector jit-compiles them. GPS's generative predictor is in `gps_predictor.py`.
"""

import jax.numpy as jnp
import numpyro.distributions as dist

from gps.registry import Registry

DIFFICULTY_MODELS = Registry("difficulty model")


class DifficultyModel:
    needs_embeddings = False

    def __init__(self, cfg, *, pool_size: int, batch_size: int, embeddings=None):
        self.cfg = cfg
        self.pool_size = pool_size
        self.batch_size = batch_size
        self.embeddings = embeddings

    def init(self, key):
        return {}

    def predict(self, state, key, candidates, embeddings):
        return None

    def predict_unseen(self, state, key, embeddings):
        return None

    def update(self, state, indices, successes, trials):
        return state


DIFFICULTY_MODELS.register("none")(DifficultyModel)


@DIFFICULTY_MODELS.register("beta")
class BetaPosterior(DifficultyModel):
    """MoPPS (method.md §2.3): an independent Beta(α, β) per prompt, with temporal decay λ.

    Rolled-out prompts get α ← λα + (1−λ)α⁰ + s and β ← λβ + (1−λ)β⁰ + (n − s); the others
    keep their posterior. Prediction is one Thompson sample per candidate. A prompt never
    rolled out stays at the prior, and nothing is shared between prompts, so there is no
    prediction for unseen prompts.
    """

    def init(self, key):
        return {
            "alpha": jnp.full((self.pool_size,), self.cfg.alpha0, jnp.float32),
            "beta": jnp.full((self.pool_size,), self.cfg.beta0, jnp.float32),
        }

    def predict(self, state, key, candidates, embeddings):
        return dist.Beta(state["alpha"][candidates], state["beta"][candidates]).sample(key)

    def update(self, state, indices, successes, trials):
        decay, cfg = self.cfg.decay, self.cfg
        alpha = decay * state["alpha"][indices] + (1 - decay) * cfg.alpha0 + successes
        beta = decay * state["beta"][indices] + (1 - decay) * cfg.beta0 + (trials - successes)
        return {
            "alpha": state["alpha"].at[indices].set(alpha),
            "beta": state["beta"].at[indices].set(beta),
        }
