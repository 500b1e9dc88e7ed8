"""Autoregressive sampling inside `jax.lax.scan`, with or without a KV cache.

Prompts are right-padded; every sequence is processed from position 0 and is
teacher-forced while inside its own prompt, then samples. After EOS a sequence
emits PAD. Both paths compute the same logits, so for the same key they return
the same tokens: the full-recompute path exists as a reference and a benchmark.
"""

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from gps.testbed.model import ModelConfig, Transformer, init_cache
from gps.testbed.tokenizer import EOS, PAD


class Samples(NamedTuple):
    tokens: jax.Array  # [B, L] prompt + completion, PAD after EOS
    logprobs: jax.Array  # [B, L] log-prob of tokens[:, t] at sampling temperature; 0 off-completion
    mask: jax.Array  # [B, L] 1.0 on generated tokens (EOS included)


@functools.partial(jax.jit, static_argnames=("cfg", "max_new", "greedy", "use_cache", "prefill"))
def sample(
    params,
    cfg: ModelConfig,
    prompts_BxP,
    prompt_len_B,
    key,
    *,
    max_new: int,
    temperature=1.0,
    greedy: bool = False,
    use_cache: bool = True,
    prefill: int = 1,
) -> Samples:
    """Generates up to `max_new` tokens after each prompt (BOS included in the prompt).

    `prefill` is a lower bound on every prompt's length: those positions go through the model
    in one parallel pass that fills the KV cache, and the scan starts after them.
    """
    B, P = prompts_BxP.shape
    L = P + max_new
    model = Transformer(cfg)
    buf_BxL = jnp.pad(prompts_BxP, ((0, 0), (0, max_new)), constant_values=PAD)

    def next_logits(buf, cache, t):
        if use_cache:
            logits, cache = model.apply(
                {"params": params}, jax.lax.dynamic_slice_in_dim(buf, t, 1, 1), cache=cache, start=t
            )
            return logits[:, 0], cache
        logits, _ = model.apply({"params": params}, buf)
        return jax.lax.dynamic_index_in_dim(logits, t, axis=1, keepdims=False), cache

    def step(carry, t):
        buf, cache, done_B = carry
        logits_BxV, cache = next_logits(buf, cache, t)
        logp_BxV = jax.nn.log_softmax(logits_BxV / jnp.where(greedy, 1.0, temperature), axis=-1)
        drawn_B = (
            jnp.argmax(logp_BxV, -1)
            if greedy
            else jax.random.categorical(jax.random.fold_in(key, t), logp_BxV)
        )
        in_prompt_B = t + 1 < prompt_len_B
        done_B = done_B | (t + 1 >= prompt_len_B + max_new)  # the same budget for every prompt
        generating_B = ~in_prompt_B & ~done_B
        token_B = jnp.where(in_prompt_B, buf[:, t + 1], jnp.where(done_B, PAD, drawn_B))
        buf = buf.at[:, t + 1].set(token_B)
        logp_B = jnp.where(
            generating_B, jnp.take_along_axis(logp_BxV, token_B[:, None], -1)[:, 0], 0.0
        )
        done_B = done_B | (generating_B & (token_B == EOS))
        return (buf, cache, done_B), (logp_B, generating_B)

    cache = init_cache(cfg, B, L) if use_cache else None
    if use_cache and prefill > 1:
        _, cache = model.apply({"params": params}, buf_BxL[:, : prefill - 1], cache=cache, start=0)
    (buf_BxL, _, _), (logp_LxB, gen_LxB) = jax.lax.scan(
        step, (buf_BxL, cache, jnp.zeros(B, bool)), jnp.arange(prefill - 1, L - 1)
    )
    pad_first = lambda x: jnp.pad(x.T, ((0, 0), (prefill, 0)))
    return Samples(buf_BxL, pad_first(logp_LxB), pad_first(gen_LxB.astype(jnp.float32)))
