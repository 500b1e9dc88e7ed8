"""The transformer policy, its KV-cache sampler and the character tokenizer."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gps.testbed.model import ModelConfig, init_params, token_logprobs
from gps.testbed.sampling import sample
from gps.testbed.tasks import ALPHABET
from gps.testbed.tokenizer import BOS, EOS, PAD, CharTokenizer

TOK = CharTokenizer()
CFG = ModelConfig(vocab_size=TOK.vocab_size, max_len=24, d_model=16, n_layers=2, n_heads=2, d_ff=32)
PROMPTS = ["3>3:", "1 2>3:", "12 5 7>19:", "4 4 2 3>24:"]
P, MAX_NEW = 12, 10


def _params(eos_bias=2.0, pad_bos_bias=0.0):
    """Random params whose EOS logit is raised (sequences end at varied points)."""
    params = init_params(CFG, jax.random.key(0))
    bias = params["unembed"]["bias"]
    bias = bias.at[EOS].add(eos_bias).at[PAD].add(pad_bos_bias).at[BOS].add(pad_bos_bias)
    return {**params, "unembed": {**params["unembed"], "bias": bias}}


PARAMS = _params()
TOKENS, LENGTHS = TOK.encode_prompts(PROMPTS, P)


_token_logprobs = jax.jit(token_logprobs, static_argnums=1)


def _sample(params=PARAMS, seed=1, temperature=0.7, greedy=False, use_cache=True, prefill=1):
    # Static arguments are always passed explicitly: jit caches omitted and explicit ones apart.
    out = sample(
        params,
        CFG,
        TOKENS,
        LENGTHS,
        jax.random.key(seed),
        max_new=MAX_NEW,
        temperature=temperature,
        greedy=greedy,
        use_cache=use_cache,
        prefill=prefill,
    )
    return jax.tree.map(np.asarray, out)


@pytest.mark.parametrize("greedy", [False, True])
@pytest.mark.parametrize("prefill", [1, int(LENGTHS.min())])
def test_cache_matches_full_recompute(greedy, prefill):
    """KV-cache (with or without a parallel prompt prefill) and full-recompute sampling give
    identical tokens and close logprobs."""
    cached = _sample(greedy=greedy, use_cache=True, prefill=prefill)
    full = _sample(greedy=greedy, use_cache=False)
    np.testing.assert_array_equal(cached.tokens, full.tokens)
    np.testing.assert_array_equal(cached.mask, full.mask)
    np.testing.assert_allclose(cached.logprobs, full.logprobs, atol=1e-4)


def test_same_key_same_samples_other_key_differs():
    """Sampling is a function of the key: same key repeats, another key changes some token."""
    a, b, c = _sample(seed=1), _sample(seed=1), _sample(seed=2)
    np.testing.assert_array_equal(a.tokens, b.tokens)
    assert not np.array_equal(a.tokens, c.tokens)


def test_prompts_kept_and_mask_covers_completion_through_eos():
    """Prompt tokens are unchanged, mask is 1 exactly from the prompt end through EOS, PAD after."""
    out = _sample()
    assert out.tokens.shape == (len(PROMPTS), P + MAX_NEW)
    ended = 0
    for row, n in enumerate(LENGTHS):
        np.testing.assert_array_equal(out.tokens[row, :n], TOKENS[row, :n])
        completion = out.tokens[row, n:]
        eos = np.flatnonzero(completion == EOS)
        end = n + (eos[0] + 1 if len(eos) else len(completion))
        expected = np.zeros(P + MAX_NEW, np.float32)
        expected[n:end] = 1.0
        np.testing.assert_array_equal(out.mask[row], expected)
        assert (out.tokens[row, end:] == PAD).all()
        ended += bool(len(eos))
    assert ended >= 2, "the EOS bias should end several sequences early"
    assert (out.logprobs[out.mask == 0] == 0).all()
    assert (out.logprobs[out.mask == 1] < 0).all()


def test_greedy_mask_and_pad_after_eos():
    """Greedy decoding also stops at EOS and pads the rest."""
    out = _sample(params=_params(eos_bias=6.0), greedy=True)
    for row, n in enumerate(LENGTHS):
        assert out.tokens[row, n] == EOS  # a strong EOS bias ends greedy decoding at once
        assert (out.tokens[row, n + 1 :] == PAD).all()
        assert out.mask[row].sum() == 1.0


@pytest.mark.parametrize("greedy", [False, True])
def test_sampler_logprobs_match_token_logprobs(greedy):
    """Logprobs recorded while sampling equal token_logprobs of the sampled sequences."""
    temperature = 0.7
    out = _sample(greedy=greedy, temperature=temperature)
    ref = np.asarray(
        _token_logprobs(PARAMS, CFG, jnp.asarray(out.tokens), 1.0 if greedy else temperature)
    )
    on = out.mask == 1
    np.testing.assert_allclose(out.logprobs[on], ref[on], atol=1e-4)


def test_never_generates_pad_or_bos():
    """Even when PAD/BOS have huge raw logits, generated tokens are never PAD or BOS."""
    out = _sample(params=_params(eos_bias=0.0, pad_bos_bias=50.0), temperature=1.0)
    generated = out.tokens[out.mask == 1]
    assert len(generated) > 0
    assert not np.isin(generated, [PAD, BOS]).any()


def test_tokenizer_round_trip():
    """encode/decode round-trip the whole alphabet; decode stops at EOS and skips PAD/BOS."""
    text = ALPHABET + "12+3=15"
    ids = TOK.encode(text)
    assert min(ids) >= 3 and max(ids) < TOK.vocab_size
    assert TOK.decode(ids) == text
    assert TOK.decode([BOS] + TOK.encode("1+1") + [EOS] + TOK.encode("99") + [PAD]) == "1+1"


def test_tokenizer_unknown_character():
    """An out-of-alphabet character raises ValueError naming it."""
    with pytest.raises(ValueError, match="'x'"):
        TOK.encode("1+x")


def test_encode_prompts_too_long():
    """A prompt longer than the buffer is refused."""
    with pytest.raises(ValueError, match="longer"):
        TOK.encode_prompts(["1 2 3 4 5>6:"], 4)
