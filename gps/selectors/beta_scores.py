"""Scores of a prompt's Beta(α, β) success-rate posterior used by the field's selectors
(docs/method.md §2.5): INSIGHT's weighted information gain and MaPP's informative-group
probability. Pure JAX, vectorised over candidates; computed with log-Beta functions so that
large α, β stay finite.
"""

import jax.numpy as jnp
from jax.scipy.special import betaln, digamma, gammaln


def beta_entropy(a, b):
    """H(Beta(a, b)) = ln B(a, b) − (a−1)ψ(a) − (b−1)ψ(b) + (a+b−2)ψ(a+b)."""
    return betaln(a, b) - (a - 1) * digamma(a) - (b - 1) * digamma(b) + (a + b - 2) * digamma(a + b)


def information_gain(alpha, beta, k: int):
    """I(R_1:K; Φ): the expected drop in the entropy of the success rate from K rollouts,
    H(Beta(α, β)) − Σ_s BB(s; K, α, β)·H(Beta(α+s, β+K−s)) (INSIGHT). [C] for [C] α, β."""
    s = jnp.arange(k + 1, dtype=jnp.float32)
    a, b = alpha[..., None], beta[..., None]
    log_choose = gammaln(k + 1.0) - gammaln(s + 1) - gammaln(k - s + 1)
    log_pmf = log_choose + betaln(a + s, b + k - s) - betaln(a, b)  # beta-binomial
    posterior_entropy = (jnp.exp(log_pmf) * beta_entropy(a + s, b + k - s)).sum(-1)
    return beta_entropy(alpha, beta) - posterior_entropy


def insight_weight(mean, eta: float, mu: float):
    """w(φ̄) = φ̄(1−φ̄)·exp(−η(φ̄ − μ)²) (INSIGHT's difficulty weight)."""
    return mean * (1 - mean) * jnp.exp(-eta * jnp.square(mean - mu))


def informative_probability(alpha, beta, g: int):
    """V_G = E_Beta[1 − γ^G − (1−γ)^G] = 1 − B(α+G, β)/B(α, β) − B(α, β+G)/B(α, β): the
    probability that a group of G rollouts is neither all right nor all wrong (MaPP)."""
    all_right = jnp.exp(betaln(alpha + g, beta) - betaln(alpha, beta))
    all_wrong = jnp.exp(betaln(alpha, beta + g) - betaln(alpha, beta))
    return 1.0 - all_right - all_wrong
