"""GPS's generative difficulty predictor (docs/method.md §2.4; paper Sec. 3, Eq. 10).

A global latent z_t summarises the policy's state at step t. With H_t the batch observed
at step t (pairs of prompt embedding e and success rate γ):
  prior      p_η(z_t | H_{t−1})  a set encoder over the previous batch -> Normal;
  likelihood p_ψ(s | e, z_t)     Binomial(n, sigmoid(decoder([e, z_t])));
  posterior  q_φ(z_t | H_t)      a set encoder over the current batch -> Normal.
The networks are Flax modules inside a NumPyro model and guide; each RL step runs
`svi_steps` of SVI on the ELBO over the last `replay` (H_{t−1}, H_t) pairs. Prediction
for step t+1 averages the decoder over `samples` draws z ~ p_η(z | H_t), for every
candidate at once. The set encoders are the paper's small Transformer (`encoder =
"transformer"`: self-attention over the set, no positions, masked mean pool) or DeepSets
(`"deepsets"`: a per-element MLP, mean pool). `latent = "deterministic"` is the paper's
ablation (z = the prior mean, trained by maximum likelihood); `"none"` drops z (a decoder
of e alone, no history: the drift study's reference).
"""

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpyro
import numpyro.distributions as dist
import optax
from numpyro.contrib.module import flax_module
from numpyro.infer import SVI, Trace_ELBO
from numpyro.infer.svi import SVIState
from numpyro.optim import optax_to_numpyro

from gps.errors import ConfigError
from gps.selectors.difficulty import DIFFICULTY_MODELS, DifficultyModel, push_row, unit_scale
from gps.selectors.settings import Above, AtLeast, OneOf, Setting, holds

LATENTS = ("bayesian", "deterministic", "none")
# Most prompts of one batch a set encoder reads, drawn at random among the observed ones:
# self-attention costs O(B²), and B = 256 would make the update 8x dearer than B = 64
# (experiments/benchmarks/selectors.py). Batches up to this size are read whole.
ENCODER_SET = 64
ENCODERS = ("transformer", "deepsets")
# The modes that read a setting: only a latent z has set encoders (and a size); only a
# Bayesian z is sampled (M draws, ELBO particles); only the transformer has heads.
WITH_Z = {"latent": OneOf(("bayesian", "deterministic"))}
BAYESIAN = {"latent": OneOf(("bayesian",))}
HEADS = {**WITH_Z, "encoder": OneOf(("transformer",))}


def _set_inputs(embeddings, rates):
    return jnp.concatenate([unit_scale(embeddings), rates[..., None]], axis=-1)


def encoder_subset(key, embeddings, rates, mask):
    """Each set [..., B] cut to ENCODER_SET elements drawn uniformly without replacement among
    its observed ones (Gumbel top-k; unobserved ones fill in, masked, when too few)."""
    if mask.shape[-1] <= ENCODER_SET:
        return embeddings, rates, mask
    scores = jax.random.gumbel(key, mask.shape) + jnp.where(mask, 0.0, -jnp.inf)
    picks = jax.lax.top_k(scores, ENCODER_SET)[1]
    return (
        jnp.take_along_axis(embeddings, picks[..., None], axis=-2),
        jnp.take_along_axis(rates, picks, axis=-1),
        jnp.take_along_axis(mask, picks, axis=-1),
    )


def _masked_mean(h, mask):
    weight = mask[..., None].astype(h.dtype)
    return (h * weight).sum(-2) / jnp.maximum(weight.sum(-2), 1.0)


class GaussianHead(nn.Module):
    """A pooled set summary -> mean and scale of a Gaussian over z."""

    hidden: int
    z_dim: int

    @nn.compact
    def __call__(self, pooled):
        out = nn.Dense(2 * self.z_dim)(nn.gelu(nn.Dense(self.hidden)(pooled)))
        mean, raw_scale = jnp.split(out, 2, axis=-1)
        return mean, nn.softplus(raw_scale) + 1e-3


class DeepSetsEncoder(nn.Module):
    """A batch of (embedding, success rate) pairs -> Gaussian over z: per-pair MLP, mean pool."""

    hidden: int
    z_dim: int
    layers: int
    heads: int  # unused: the encoders share one signature

    @nn.compact
    def __call__(self, embeddings, rates, mask):  # [..., B, D], [..., B], [..., B]
        h = _set_inputs(embeddings, rates)
        for _ in range(self.layers):
            h = nn.gelu(nn.Dense(self.hidden)(h))
        return GaussianHead(self.hidden, self.z_dim)(_masked_mean(h, mask))


class TransformerEncoder(nn.Module):
    """The paper's set encoder: pre-LN self-attention blocks over the (embedding, rate) pairs,
    without positions (so permutation-invariant after the masked mean pool)."""

    hidden: int
    z_dim: int
    layers: int
    heads: int

    @nn.compact
    def __call__(self, embeddings, rates, mask):
        h = nn.Dense(self.hidden)(_set_inputs(embeddings, rates))
        attend = nn.make_attention_mask(mask, mask)
        for _ in range(self.layers):
            y = nn.LayerNorm()(h)
            h = h + nn.MultiHeadDotProductAttention(self.heads, qkv_features=self.hidden)(
                y, y, mask=attend
            )
            y = nn.LayerNorm()(h)
            h = h + nn.Dense(self.hidden)(nn.gelu(nn.Dense(2 * self.hidden)(y)))
        return GaussianHead(self.hidden, self.z_dim)(_masked_mean(nn.LayerNorm()(h), mask))


ENCODER_MODULES = {"transformer": TransformerEncoder, "deepsets": DeepSetsEncoder}


class Decoder(nn.Module):
    """Success logit of a prompt given z: out · gelu(W_e·unit_scale(e) + W_z·z + b) (plus
    `layers` − 1 hidden layers). The first layer is linear in [e, z], so its embedding part
    (`project`) is computed once per prompt and step, not once per z sample; the unit-scale
    factor is applied to that [N, H] product rather than to the [N, D] embeddings; and with one
    layer the output is a fused reduction, so M samples of z cost one pass over the pool."""

    hidden: int
    layers: int

    def setup(self):
        self.from_embedding = nn.Dense(self.hidden, use_bias=False)
        self.from_z = nn.Dense(self.hidden)  # holds the first layer's bias
        self.body = [nn.Dense(self.hidden) for _ in range(self.layers - 1)]
        init = nn.initializers.normal(1.0 / self.hidden**0.5)
        self.out_kernel = self.param("out_kernel", init, (self.hidden,))
        self.out_bias = self.param("out_bias", nn.initializers.zeros, ())

    def __call__(self, embeddings, z):
        return self.logits(self.project(embeddings), z)

    def project(self, embeddings):
        """[..., D] -> [..., H]: the embedding part of the first layer (unit_scale folded in)."""
        return self.from_embedding(embeddings) * jnp.sqrt(embeddings.shape[-1]).astype(
            embeddings.dtype
        )

    def logits(self, projected, z):
        h = nn.gelu(projected + self.from_z(z))
        for layer in self.body:
            h = nn.gelu(layer(h))
        return (h * self.out_kernel).sum(-1) + self.out_bias


def _rates(successes, trials):
    return successes / jnp.maximum(trials, 1.0)


@DIFFICULTY_MODELS.register("gps")
class GenerativePredictor(DifficultyModel):
    needs_embeddings = True
    settings = {
        # or "deterministic" (ablation: z = prior mean, no KL), "none"
        "latent": Setting("bayesian", OneOf(LATENTS)),
        # set encoder of p_η and q_φ: transformer | deepsets
        "encoder": Setting("transformer", OneOf(ENCODERS), WITH_Z),
        "heads": Setting(4, AtLeast(1), HEADS),  # attention heads of the transformer encoder
        "z_dim": Setting(8, AtLeast(1), WITH_Z),
        "hidden": Setting(64, AtLeast(1)),
        "encoder_layers": Setting(2, AtLeast(1), WITH_Z),
        "decoder_layers": Setting(1, AtLeast(1)),
        # M: prior draws of z averaged per prediction (Eq. 10)
        "samples": Setting(4, AtLeast(1), BAYESIAN),
        "lr": Setting(3e-3, Above(0)),
        # SVI steps per RL step (1: drift_study.md's best tracking, and cheap)
        "svi_steps": Setting(1, AtLeast(1)),
        "replay": Setting(8, AtLeast(1)),  # most recent (H_{t-1}, H_t) pairs in each ELBO
        "particles": Setting(1, AtLeast(1), BAYESIAN),  # ELBO Monte Carlo particles
    }

    @classmethod
    def check(cls, cfg):
        super().check(cfg)
        if holds(cfg, HEADS) and cfg.hidden % cfg.heads:
            raise ConfigError(
                f"config.selector.model.hidden must be a multiple of heads ({cfg.heads}), "
                f"got {cfg.hidden}"
            )

    def __init__(self, cfg, **kwargs):
        super().__init__(cfg, **kwargs)
        self.deterministic = cfg.latent == "deterministic"
        self.latent_free = cfg.latent == "none"
        encoder = ENCODER_MODULES[cfg.encoder]
        self.prior_net = encoder(cfg.hidden, cfg.z_dim, cfg.encoder_layers, cfg.heads)
        self.posterior_net = encoder(cfg.hidden, cfg.z_dim, cfg.encoder_layers, cfg.heads)
        self.decoder = Decoder(cfg.hidden, cfg.decoder_layers)
        self.svi = SVI(
            self._model,
            self._guide,
            optax_to_numpyro(optax.adam(cfg.lr)),
            Trace_ELBO(num_particles=cfg.particles),
        )

    # --- the probabilistic model, over `replay` consecutive (H_{t-1}, H_t) pairs -------------
    def _model(self, prev, cur, cur_set):
        del cur_set  # the guide's
        decoder = flax_module("decoder", self.decoder, cur[0], jnp.zeros((self.cfg.z_dim,)))
        embeddings, successes, trials, mask = cur
        z = self._model_latent(prev, mask)
        logits = decoder(embeddings, z[:, None, :])  # [R, B]
        numpyro.sample(
            "s", dist.Binomial(trials, logits=logits).mask(mask).to_event(2), obs=successes
        )

    def _model_latent(self, prev, mask):
        """z per replayed step [R, Z]: a sample of p_η(z | H_{t−1}), its mean, or zeros."""
        if self.latent_free:
            return jnp.zeros(mask.shape[:1] + (self.cfg.z_dim,))
        mean, scale = flax_module("prior", self.prior_net, *prev)(*prev)
        if self.deterministic:
            return mean
        return numpyro.sample("z", dist.Normal(mean, scale).to_event(1).mask(mask.any(-1)))

    def _guide(self, prev, cur, cur_set):
        if self.deterministic or self.latent_free:
            return
        posterior = flax_module("posterior", self.posterior_net, *cur_set)
        mean, scale = posterior(*cur_set)
        numpyro.sample("z", dist.Normal(mean, scale).to_event(1).mask(cur[3].any(-1)))

    def _history(self, replay, key):
        """The replay buffer as the model's tensors: the previous batches (prior's input), the
        current ones (likelihood) and the current ones as the posterior reads them."""
        emb = self.embeddings[replay["indices"]]  # [R+1, B, D]
        mask = replay["filled"][:, None] & (replay["trials"] > 0)
        rates = _rates(replay["successes"], replay["trials"])
        k_prev, k_cur = jax.random.split(key)
        prev = encoder_subset(k_prev, emb[:-1], rates[:-1], mask[:-1])
        cur = (emb[1:], replay["successes"][1:], replay["trials"][1:], mask[1:])
        cur_set = encoder_subset(k_cur, emb[1:], rates[1:], mask[1:])
        return prev, cur, cur_set

    # --- state ------------------------------------------------------------------------------
    def init(self, key):
        rows, b = self.cfg.replay + 1, self.batch_size
        replay = {
            "indices": jnp.zeros((rows, b), jnp.int32),
            "successes": jnp.zeros((rows, b), jnp.float32),
            "trials": jnp.zeros((rows, b), jnp.float32),
            "filled": jnp.zeros((rows,), bool),
        }
        history = self._history(replay, jax.random.fold_in(key, 1))
        svi_state = self.svi.init(jax.random.key_data(key), *history)
        return {"svi": _pack(svi_state), "replay": replay}

    def update(self, state, indices, successes, trials):
        replay = {
            "indices": push_row(state["replay"]["indices"], indices.astype(jnp.int32)),
            "successes": push_row(state["replay"]["successes"], successes.astype(jnp.float32)),
            "trials": push_row(state["replay"]["trials"], trials.astype(jnp.float32)),
            "filled": push_row(state["replay"]["filled"], (trials > 0).any()),
        }
        # Which prompts the set encoders read (only when B > ENCODER_SET): from the SVI's key.
        svi_key = jax.random.wrap_key_data(state["svi"]["rng"])
        history = self._history(replay, jax.random.fold_in(svi_key, 1))

        def svi_step(svi_state, _):
            svi_state, loss = self.svi.update(svi_state, *history)
            return svi_state, loss

        svi_state, _ = jax.lax.scan(
            svi_step, _unpack(state["svi"]), None, length=self.cfg.svi_steps
        )
        return {"svi": _pack(svi_state), "replay": replay}

    # --- prediction (Eq. 10) ----------------------------------------------------------------
    def _prior_of_latest(self, state, key):
        params = state["svi"]["params"]
        last = {k: v[-1] for k, v in state["replay"].items()}
        emb = self.embeddings[last["indices"]]
        mask = last["filled"] & (last["trials"] > 0)
        rates = _rates(last["successes"], last["trials"])
        inputs = encoder_subset(key, emb, rates, mask)
        return self.prior_net.apply({"params": params["prior$params"]}, *inputs)

    def _latent_draws(self, state, key):
        """[M, Z] draws of z ~ p_η(z | H_t) (one, the mean, when z is deterministic)."""
        if self.latent_free:
            return jnp.zeros((1, self.cfg.z_dim))
        mean, scale = self._prior_of_latest(state, jax.random.fold_in(key, 1))
        if self.deterministic:
            return mean[None]
        return mean + scale * jax.random.normal(key, (self.cfg.samples, self.cfg.z_dim))

    def predict_unseen(self, state, key, embeddings):
        z = self._latent_draws(state, key)
        decoder_params = {"params": state["svi"]["params"]["decoder$params"]}
        projected = self.decoder.apply(decoder_params, embeddings, method=Decoder.project)
        logits = self.decoder.apply(
            decoder_params, projected[:, None, :], z[None], method=Decoder.logits
        )  # [N, M]
        return jax.nn.sigmoid(logits).mean(-1)

    def predict(self, state, key, candidates, embeddings):
        return self.predict_unseen(state, key, embeddings)


def _pack(svi_state: SVIState) -> dict:
    """SVI state as a plain dict of arrays (the form checkpointed with the run)."""
    step, (params, opt_state) = svi_state.optim_state
    return {"step": step, "params": params, "opt": opt_state, "rng": svi_state.rng_key}


def _unpack(packed: dict) -> SVIState:
    return SVIState((packed["step"], (packed["params"], packed["opt"])), None, packed["rng"])
