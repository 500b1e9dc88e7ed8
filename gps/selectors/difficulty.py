"""Difficulty models: what a selector believes about each prompt's success rate.

A model is pure code over explicit state: `init(key)`, `predict(state, key, candidates,
embeddings)` -> predicted success rates of the candidates (None for `none`),
`predict_unseen(state, key, embeddings)` for prompts outside the pool (None when the model
cannot generalise), and `update(state, indices, successes, trials)`. All are traceable, so
the selector jit-compiles them. Each declares the settings it reads (`settings`, a dict of
`settings.Setting`: its config block, `defaults`, derives from it); `check` holds the checks
that are not one key's bound. GPS's generative predictor is in `gps_predictor.py`.
"""

import jax.numpy as jnp
import numpyro.distributions as dist

from gps.selectors.registry import Registry
from gps.selectors.settings import Above, Between, Setting, check_values, declare_defaults


class DifficultyModel:
    needs_embeddings = False
    settings: dict = {}  # key -> Setting: the keys of its config block besides `name`
    defaults: dict = {}  # key -> default, derived from `settings`

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        declare_defaults(cls, "difficulty model")

    def __init__(self, cfg, *, pool_size: int, batch_size: int, embeddings=None):
        self.check(cfg)
        self.cfg = cfg
        self.pool_size = pool_size
        self.batch_size = batch_size
        self.embeddings = embeddings

    @classmethod
    def check(cls, cfg) -> None:
        """Raises ConfigError on a value out of its bound or one its mode leaves unread."""
        check_values(cfg, "model", cls.settings)

    def init(self, key):
        return {}

    def predict(self, state, key, candidates, embeddings):
        return None

    def predict_unseen(self, state, key, embeddings):
        return None

    def posterior(self, state, candidates):
        """([C] α, [C] β) of a Beta posterior over each candidate's success rate, or None."""
        return None

    def update(self, state, indices, successes, trials):
        return state


DIFFICULTY_MODELS = Registry(
    "difficulty model",
    DifficultyModel,
    hint="subclass DifficultyModel and declare its `settings`",
)
DIFFICULTY_MODELS.register("none")(DifficultyModel)


@DIFFICULTY_MODELS.register("beta")
class BetaPosterior(DifficultyModel):
    """MoPPS (docs/method.md §2.3): an independent Beta(α, β) per prompt, with temporal decay λ.

    Rolled-out prompts get α ← λα + (1−λ)α⁰ + s and β ← λβ + (1−λ)β⁰ + (n − s); the others,
    and padding entries (n = 0), keep their posterior. Prediction is one Thompson sample per
    candidate. A prompt never
    rolled out stays at the prior, and nothing is shared between prompts, so there is no
    prediction for unseen prompts.
    """

    settings = {  # Beta(1,1) prior; λ (countdown)
        "alpha0": Setting(1.0, Above(0)),
        "beta0": Setting(1.0, Above(0)),
        "decay": Setting(0.5, Between(0, 1)),
    }

    def init(self, key):
        return {
            "alpha": jnp.full((self.pool_size,), self.cfg.alpha0, jnp.float32),
            "beta": jnp.full((self.pool_size,), self.cfg.beta0, jnp.float32),
        }

    def predict(self, state, key, candidates, embeddings):
        return dist.Beta(*self.posterior(state, candidates)).sample(key)

    def posterior(self, state, candidates):
        return state["alpha"][candidates], state["beta"][candidates]

    def update(self, state, indices, successes, trials):
        decay, cfg = self.cfg.decay, self.cfg
        alpha = decay * state["alpha"][indices] + (1 - decay) * cfg.alpha0 + successes
        beta = decay * state["beta"][indices] + (1 - decay) * cfg.beta0 + (trials - successes)
        observed = jnp.where(trials > 0, indices, self.pool_size)  # out of range: dropped
        return {
            "alpha": state["alpha"].at[observed].set(alpha, mode="drop"),
            "beta": state["beta"].at[observed].set(beta, mode="drop"),
        }


def push_row(buffer, row):
    """A ring of recent rows in time order: drops the oldest row and appends `row`."""
    return jnp.concatenate([buffer[1:], row[None]], axis=0)


def unit_scale(embeddings):
    """Unit-norm embeddings rescaled to unit-variance coordinates, the scale that Dense
    layers' initialisation and the regression's prior assume (else the models start nearly
    blind to the embedding)."""
    return embeddings * jnp.sqrt(embeddings.shape[-1]).astype(embeddings.dtype)


def features(embeddings):
    """`unit_scale`d embeddings with a constant 1 appended for the bias."""
    scaled = unit_scale(embeddings)
    return jnp.concatenate([scaled, jnp.ones_like(scaled[..., :1])], axis=-1)


@DIFFICULTY_MODELS.register("ridge")
class OnlineRidge(DifficultyModel):
    """A strong simple comparison for GPS's predictor: Bayesian linear regression of the
    observed success rate on the prompt embedding, over the whole history.

    Exact online update of the sufficient statistics: with x = features(e) and n trials of
    observed rate γ, A ← λ·A + (1−λ)·ρI + n·x xᵀ and b ← λ·b + n·x γ (each rollout is one
    observation, noise variance folded into ρ); the prediction is the posterior mean x·A⁻¹b,
    clipped to [0, 1]. λ = `decay` < 1 forgets old steps as the policy drifts (1 = the
    whole history weighs the same). Generalises to unseen prompts through e, like GPS.
    """

    needs_embeddings = True
    settings = {
        # ρ: prior precision of the weights (3000: predictor_study.py's best of 10..30000)
        "prior": Setting(3000.0, Above(0)),
        "decay": Setting(1.0, Between(0, 1, closed="right")),  # λ
    }

    def init(self, key):
        d = self.embeddings.shape[-1] + 1
        precision = self.cfg.prior * jnp.eye(d, dtype=jnp.float32)
        return {"precision": precision, "moment": jnp.zeros(d), "weights": jnp.zeros(d)}

    def update(self, state, indices, successes, trials):
        x = features(self.embeddings[indices])  # [B, D+1]
        n = trials.astype(jnp.float32)
        rates = successes / jnp.maximum(n, 1.0)
        decay, prior = self.cfg.decay, self.cfg.prior * jnp.eye(x.shape[-1])
        precision = decay * state["precision"] + (1 - decay) * prior + (x * n[:, None]).T @ x
        moment = decay * state["moment"] + x.T @ (n * rates)
        weights = jnp.linalg.solve(precision, moment)
        return {"precision": precision, "moment": moment, "weights": weights}

    def predict_unseen(self, state, key, embeddings):
        return jnp.clip(features(embeddings) @ state["weights"], 0.0, 1.0)

    def predict(self, state, key, candidates, embeddings):
        return self.predict_unseen(state, key, embeddings)
