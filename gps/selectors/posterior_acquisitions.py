"""Acquisitions over a Beta success-rate posterior (selector model `beta`): the rules of
INSIGHT, MaPP and CurES (docs/method.md §2.5), registered like the others (acquisition.py).
"""

import jax
import jax.numpy as jnp

from gps.selectors.acquisition import (
    TARGET,
    needs_posterior,
    register_acquisition,
    sample_proportional,
)
from gps.selectors.beta_scores import information_gain, informative_probability, insight_weight
from gps.selectors.settings import Above, AtLeast, Between, Setting


def _mean(alpha, beta):
    return alpha / (alpha + beta)


@register_acquisition(
    "insight", settings={"eta": Setting(3.0, AtLeast(0)), "mu": Setting(0.3, Between(0, 1))}
)
def insight(key, inputs, batch_size, cfg):
    """The top B by w(φ̄)·I(R_1:K; Φ), with K the rollouts per prompt (INSIGHT)."""
    alpha, beta = needs_posterior(inputs, "insight")
    score = insight_weight(_mean(alpha, beta), cfg.eta, cfg.mu) * information_gain(
        alpha, beta, inputs.n_rollouts
    )
    return jax.lax.top_k(score + 1e-9 * jax.random.uniform(key, score.shape), batch_size)[1]


@register_acquisition("expected", settings={"target": TARGET})
def expected(key, inputs, batch_size, cfg):
    """The top B by −|φ̄ − target|: the posterior mean instead of a Thompson draw (INSIGHT's
    expected-difficulty variant)."""
    alpha, beta = needs_posterior(inputs, "expected")
    score = -jnp.abs(_mean(alpha, beta) - cfg.target)
    return jax.lax.top_k(score + 1e-9 * jax.random.uniform(key, score.shape), batch_size)[1]


@register_acquisition("mapp")
def mapp(key, inputs, batch_size, cfg):
    """B drawn with probability ∝ V_G, the posterior probability that G rollouts are
    informative (MaPP)."""
    alpha, beta = needs_posterior(inputs, "mapp")
    v = informative_probability(alpha, beta, inputs.n_rollouts)
    return sample_proportional(key, jnp.log(jnp.maximum(v, 1e-12)), batch_size)


@register_acquisition("cures", settings={"tau": Setting(0.1, Above(0))})
def cures(key, inputs, batch_size, cfg):
    """B drawn with probability ∝ exp(√(p(1−p))/τ), p the posterior mean (CurES)."""
    alpha, beta = needs_posterior(inputs, "cures")
    p = _mean(alpha, beta)
    return sample_proportional(key, jnp.sqrt(p * (1 - p)) / cfg.tau, batch_size)
