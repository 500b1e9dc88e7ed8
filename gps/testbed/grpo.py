"""GRPO: group-normalised advantages and the clipped, token-level policy objective.

Advantage (DeepSeekMath GRPO): A_i = (r_i - mean_g r) / (std_g r + eps) over the
rollouts of one prompt (groups may differ in size: per-prompt rollout budgets). Loss: PPO-style
clipped importance ratio against the
log-probs recorded at sampling time, averaged over every completion token in the
batch (token-level aggregation, as in DAPO), plus an optional k3 KL to the base.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gps.testbed.model import ModelConfig, token_logprobs


class RolloutBatch(NamedTuple):
    tokens: jax.Array  # [N, L] int32, N = prompts x rollouts
    old_logprobs: jax.Array  # [N, L] log-probs at sampling time
    mask: jax.Array  # [N, L] 1.0 on completion tokens
    advantages: jax.Array  # [N]


def group_advantages(rewards_R: np.ndarray, counts_P: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Group-normalised advantages of R rows in P consecutive groups of `counts_P` rows
    (population std per group); a group with equal rewards gets all zeros."""
    groups = np.repeat(np.arange(len(counts_P)), counts_P)
    size = np.maximum(counts_P, 1)
    mean = np.bincount(groups, rewards_R, len(counts_P)) / size
    centred = rewards_R - mean[groups]
    std = np.sqrt(np.bincount(groups, centred**2, len(counts_P)) / size)
    return (centred / (std[groups] + eps)).astype(np.float32)


def grpo_loss(
    params,
    batch: RolloutBatch,
    ref_params,
    *,
    cfg: ModelConfig,
    clip_eps: float,
    kl_coef: float,
    temperature: float,
):
    logp_NxL = token_logprobs(params, cfg, batch.tokens, temperature)
    ratio = jnp.exp(logp_NxL - batch.old_logprobs)
    adv_Nx1 = batch.advantages[:, None]
    objective = jnp.minimum(ratio * adv_Nx1, jnp.clip(ratio, 1 - clip_eps, 1 + clip_eps) * adv_Nx1)
    n_tokens = jnp.maximum(batch.mask.sum(), 1.0)
    token_mean = lambda x: (x * batch.mask).sum() / n_tokens
    loss = -token_mean(objective)
    metrics = {
        "clip_frac": token_mean((jnp.abs(ratio - 1) > clip_eps).astype(jnp.float32)),
        "neg_logp": -token_mean(logp_NxL),
    }
    if kl_coef > 0:
        log_r = token_logprobs(ref_params, cfg, batch.tokens, temperature) - logp_NxL
        log_r = jnp.where(batch.mask > 0, log_r, 0.0)  # off-completion values can overflow exp()
        kl = token_mean(jnp.exp(log_r) - log_r - 1)
        loss = loss + kl_coef * kl
        metrics["kl"] = kl
    return loss, metrics


@functools.partial(
    jax.jit,
    static_argnames=("cfg", "optimizer", "updates", "clip_eps", "kl_coef"),
    donate_argnames=("params", "opt_state"),
)
def update(
    params,
    opt_state,
    batch: RolloutBatch,
    ref_params,
    *,
    cfg: ModelConfig,
    optimizer: optax.GradientTransformation,
    updates: int,
    clip_eps: float,
    kl_coef: float,
    temperature: float,
):
    """`updates` gradient steps on one rollout batch; returns (params, opt_state, metrics)."""
    grad_fn = jax.value_and_grad(grpo_loss, has_aux=True)

    def one_step(carry, _):
        params, opt_state = carry
        (loss, metrics), grads = grad_fn(
            params,
            batch,
            ref_params,
            cfg=cfg,
            clip_eps=clip_eps,
            kl_coef=kl_coef,
            temperature=temperature,
        )
        deltas, opt_state = optimizer.update(grads, opt_state, params)
        metrics = dict(metrics, loss=loss, grad_norm=optax.tree.norm(grads))
        return (optax.apply_updates(params, deltas), opt_state), metrics

    (params, opt_state), metrics = jax.lax.scan(one_step, (params, opt_state), None, length=updates)
    return params, opt_state, jax.tree.map(lambda m: m.mean(), metrics)
