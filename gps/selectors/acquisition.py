"""Acquisition functions: which B of the candidates to roll out, given predicted difficulty.

Each is a pure JAX function `fn(key, inputs, batch_size, cfg) -> [B] distinct candidate
positions`, registered by name and jit-compiled by the selector. `cfg` is the selector's
`acquisition` config block (γ* = `target`, the `band`, λ_div = `diversity`, ...). Adding one:

    @ACQUISITIONS.register("optimistic")
    def optimistic(key, inputs, batch_size, cfg):
        return jax.lax.top_k(needs_predictions(inputs, "optimistic"), batch_size)[1]

then `--config.selector.acquisition.name=optimistic` (README: "Adding an acquisition").
"""

from typing import NamedTuple

import jax
import jax.numpy as jnp

from gps.errors import ConfigError
from gps.registry import Registry

ACQUISITIONS = Registry("acquisition function")


class AcquisitionInputs(NamedTuple):
    """What an acquisition may use, for C candidates; fields are None when unavailable."""

    candidates: jax.Array  # [C] pool indices of the candidates
    predictions: jax.Array | None  # [C] predicted success rates γ̂ (None: no difficulty model)
    embeddings: jax.Array | None  # [C, D] unit-norm candidate embeddings
    history: jax.Array | None  # [H, D] embeddings of the prompts selected in recent steps
    history_mask: jax.Array | None  # [H] which history rows hold a prompt


def needs_predictions(inputs: AcquisitionInputs, name: str) -> jax.Array:
    if inputs.predictions is None:
        raise ConfigError(f"acquisition {name!r} needs a difficulty model (selector.model.name)")
    return inputs.predictions


def random_subset(key, n: int, k: int) -> jax.Array:
    """k distinct indices of range(n), uniformly: the top k of n uniform draws. O(n log k),
    unlike `jax.random.choice(replace=False)`, which permutes all n (slow for n ~ 1e6)."""
    return jax.lax.top_k(jax.random.uniform(key, (n,)), k)[1]


def _tie_break(key, n: int) -> jax.Array:
    """A tiny key-dependent jitter: equal scores are broken at random, not by position."""
    return 1e-6 * jax.random.uniform(key, (n,))


def intermediate_difficulty(predictions: jax.Array, target: float) -> jax.Array:
    """u(γ̂) = −(γ̂ − γ*)² (GPS Eq. 12; MoPPS's top-k criterion)."""
    return -jnp.square(predictions - target)


@ACQUISITIONS.register("uniform")
def uniform(key, inputs, batch_size, cfg):
    """B candidates uniformly at random without replacement (method.md §2.1)."""
    return random_subset(key, inputs.candidates.shape[0], batch_size)


@ACQUISITIONS.register("topk")
def topk(key, inputs, batch_size, cfg):
    """The B candidates whose γ̂ is closest to γ* (MoPPS `topk`)."""
    u = intermediate_difficulty(needs_predictions(inputs, "topk"), cfg.target)
    return jax.lax.top_k(u + _tie_break(key, u.shape[0]), batch_size)[1]


@ACQUISITIONS.register("threshold")
def threshold(key, inputs, batch_size, cfg):
    """Uniformly among candidates with γ̂ in [lo, hi]; if fewer than B, those plus the
    candidates closest to the band (MoPPS `threshold`)."""
    gamma = needs_predictions(inputs, "threshold")
    lo, hi = cfg.band
    outside = jnp.maximum(lo - gamma, 0.0) + jnp.maximum(gamma - hi, 0.0)
    in_band = outside == 0.0
    # In-band candidates score in (0, 1] in random order; the others below 0 by distance.
    score = jnp.where(in_band, jax.random.uniform(key, gamma.shape, minval=1e-3), -outside)
    return jax.lax.top_k(score, batch_size)[1]


@ACQUISITIONS.register("diverse")
def diverse(key, inputs, batch_size, cfg):
    """GPS batch acquisition (Eq. 12-14): max U(B) = Σ u(γ̂) + λ_div·D(B), greedily.

    D(B) = Σ_pairs d(τ, τ')/(B−1)  (intra-batch dispersion)
         + Σ_τ mean_h d(τ, h)       (inter-step exploration against the last `window`
                                      batches; off with `inter_step=False`),
    d = cosine distance of standardized embeddings. The marginal gain of τ given the
    partial batch S is u(γ̂_τ) + λ_div·(Σ_{τ'∈S} d(τ, τ')/(B−1) + mean_h d(τ, h)).
    With `shortlist` > 0 the greedy runs over the `shortlist`·B candidates of highest u
    (a pre-filter that keeps selection ~O(C) on million-prompt pools).
    """
    u = intermediate_difficulty(needs_predictions(inputs, "diverse"), cfg.target)
    u = u + _tie_break(key, u.shape[0])
    positions = jnp.arange(u.shape[0])
    if cfg.diversity == 0.0:
        return jax.lax.top_k(u, batch_size)[1]
    if inputs.embeddings is None:
        raise ConfigError("acquisition 'diverse' with diversity > 0 needs prompt embeddings")
    size = cfg.shortlist * batch_size
    if 0 < size < u.shape[0]:
        u, positions = jax.lax.top_k(u, size)
    emb = inputs.embeddings[positions]
    base = u
    if cfg.inter_step and inputs.history is not None:
        # mean_h (1 − e·h) = 1 − e·centroid: one dot product per candidate.
        mask = inputs.history_mask.astype(emb.dtype)
        centroid = (inputs.history * mask[:, None]).sum(0) / jnp.maximum(mask.sum(), 1.0)
        to_history = jnp.where(mask.any(), 1.0 - emb @ centroid, 0.0)
        base = base + cfg.diversity * to_history

    def add_one(carry, _):
        chosen, dispersion = carry  # dispersion: Σ_{τ'∈S} d(τ, τ') for every candidate τ
        gain = base + cfg.diversity * dispersion / max(batch_size - 1, 1)
        best = jnp.argmax(jnp.where(chosen, -jnp.inf, gain))
        dispersion = dispersion + 1.0 - emb @ emb[best]
        return (chosen.at[best].set(True), dispersion), best

    start = (jnp.zeros(u.shape[0], bool), jnp.zeros(u.shape[0], emb.dtype))
    _, picks = jax.lax.scan(add_one, start, None, length=batch_size)
    return positions[picks]
