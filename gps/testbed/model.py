"""Decoder-only transformer policy (Flax linen), a pure function of its parameters.

One `__call__` serves both teacher forcing (no cache: causal attention over the
given tokens) and incremental decoding (a KV cache of fixed length S is passed in,
the new keys/values are written at `start`, and the updated cache is returned).
"""

import dataclasses

import flax.linen as nn
import jax
import jax.numpy as jnp

from gps.testbed.tokenizer import BOS, PAD

NEVER_PREDICTED = (PAD, BOS)


@dataclasses.dataclass(frozen=True)
class ModelConfig:
    vocab_size: int
    max_len: int  # longest sequence (prompt + completion) the positional table covers
    d_model: int
    n_layers: int
    n_heads: int
    d_ff: int

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model={self.d_model} is not divisible by n_heads={self.n_heads}")


def init_cache(cfg: ModelConfig, batch: int, length: int, dtype=jnp.float32):
    """Zero KV cache: per layer {'k','v'} of shape [batch, length, heads, head_dim]."""
    shape = (batch, length, cfg.n_heads, cfg.d_model // cfg.n_heads)
    return [
        {"k": jnp.zeros(shape, dtype), "v": jnp.zeros(shape, dtype)} for _ in range(cfg.n_layers)
    ]


class Attention(nn.Module):
    n_heads: int

    @nn.compact
    def __call__(self, x_BxTxD, mask_TxS, cache=None, start=None):
        d = x_BxTxD.shape[-1]
        qkv = nn.DenseGeneral((3, self.n_heads, d // self.n_heads), name="qkv")(x_BxTxD)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        if cache is not None:
            k = jax.lax.dynamic_update_slice_in_dim(cache["k"], k, start, axis=1)
            v = jax.lax.dynamic_update_slice_in_dim(cache["v"], v, start, axis=1)
            cache = {"k": k, "v": v}
        scores_BxHxTxS = jnp.einsum("bthd,bshd->bhts", q, k) / jnp.sqrt(q.shape[-1]).astype(q.dtype)
        scores_BxHxTxS = jnp.where(mask_TxS, scores_BxHxTxS, jnp.finfo(q.dtype).min)
        weights = jax.nn.softmax(scores_BxHxTxS, axis=-1)
        out_BxTxHxK = jnp.einsum("bhts,bshd->bthd", weights, v)
        return nn.DenseGeneral(d, axis=(-2, -1), name="out")(out_BxTxHxK), cache


class Block(nn.Module):
    n_heads: int
    d_ff: int

    @nn.compact
    def __call__(self, x, mask, cache=None, start=None):
        h, cache = Attention(self.n_heads)(nn.LayerNorm()(x), mask, cache, start)
        x = x + h
        h = nn.Dense(self.d_ff)(nn.LayerNorm()(x))
        return x + nn.Dense(x.shape[-1])(nn.gelu(h)), cache


class Transformer(nn.Module):
    cfg: ModelConfig

    @nn.compact
    def __call__(self, tokens_BxT, cache=None, start=0):
        """Returns (logits_BxTxV, cache). Without a cache, `start` must be 0."""
        cfg = self.cfg
        T = tokens_BxT.shape[1]
        positions_T = start + jnp.arange(T)
        keys_S = jnp.arange(T if cache is None else cache[0]["k"].shape[1])
        mask_TxS = positions_T[:, None] >= keys_S[None, :]
        x = nn.Embed(cfg.vocab_size, cfg.d_model, name="tok_embed")(tokens_BxT)
        x = x + nn.Embed(cfg.max_len, cfg.d_model, name="pos_embed")(positions_T)[None]
        new_cache = []
        for i in range(cfg.n_layers):
            layer_cache = None if cache is None else cache[i]
            x, layer_cache = Block(cfg.n_heads, cfg.d_ff, name=f"block{i}")(
                x, mask_TxS, layer_cache, start
            )
            new_cache.append(layer_cache)
        logits = nn.Dense(cfg.vocab_size, name="unembed")(nn.LayerNorm()(x))
        logits = logits.at[..., NEVER_PREDICTED].set(-1e9)  # PAD/BOS are never outputs
        return logits, (None if cache is None else new_cache)


def init_params(cfg: ModelConfig, key):
    return Transformer(cfg).init(key, jnp.zeros((1, 2), jnp.int32))["params"]


def count_params(params) -> int:
    return sum(x.size for x in jax.tree_util.tree_leaves(params))


def token_logprobs(params, cfg: ModelConfig, tokens_BxL, temperature: float = 1.0):
    """log p(tokens[:, t] | tokens[:, :t]) for t >= 1 (index 0 gets 0): [B, L]."""
    logits, _ = Transformer(cfg).apply({"params": params}, tokens_BxL[:, :-1])
    logp = jax.nn.log_softmax(logits / temperature, axis=-1)
    picked = jnp.take_along_axis(logp, tokens_BxL[:, 1:, None], axis=-1)[..., 0]
    return jnp.pad(picked, ((0, 0), (1, 0)))
