"""GPS's generative difficulty predictor (method.md §2.4; paper Sec. 3, Eq. 10).

A global latent z_t summarises the policy's state at step t. With H_t the batch observed
at step t (pairs of prompt embedding e and success rate γ):
  prior      p_η(z_t | H_{t−1})  a set encoder over the previous batch -> Normal;
  likelihood p_ψ(s | e, z_t)     Binomial(n, sigmoid(decoder([e, z_t])));
  posterior  q_φ(z_t | H_t)      a set encoder over the current batch -> Normal.
The networks are Flax modules inside a NumPyro model and guide; each RL step runs
`svi_steps` of SVI on the ELBO over the last `replay` (H_{t−1}, H_t) pairs. Prediction
for step t+1 averages the decoder over `samples` draws z ~ p_η(z | H_t), for every
candidate at once. `latent="deterministic"` is the paper's ablation: z = the prior mean,
trained by maximum likelihood. Set encoders are DeepSets (mean-pooled MLPs); the paper
uses a small Transformer for q_φ.
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
from gps.selectors.difficulty import DIFFICULTY_MODELS, DifficultyModel

LATENTS = ("bayesian", "deterministic")


class SetEncoder(nn.Module):
    """A batch of (embedding, success rate) pairs -> mean and scale of a Gaussian over z."""

    hidden: int
    z_dim: int
    layers: int

    @nn.compact
    def __call__(self, embeddings, rates, mask):  # [..., B, D], [..., B], [..., B]
        h = jnp.concatenate([_unit_scale(embeddings), rates[..., None]], axis=-1)
        for _ in range(self.layers):
            h = nn.gelu(nn.Dense(self.hidden)(h))
        weight = mask[..., None].astype(h.dtype)
        pooled = (h * weight).sum(-2) / jnp.maximum(weight.sum(-2), 1.0)
        out = nn.Dense(2 * self.z_dim)(nn.gelu(nn.Dense(self.hidden)(pooled)))
        mean, raw_scale = jnp.split(out, 2, axis=-1)
        return mean, nn.softplus(raw_scale) + 1e-3


class Decoder(nn.Module):
    """Success logit of a prompt given z. The first layer is split into an embedding part
    (`project`, computed once per candidate) and a z part, so M samples of z cost M small
    passes rather than M full ones over the pool."""

    hidden: int
    layers: int

    def setup(self):
        self.from_embedding = nn.Dense(self.hidden)
        self.from_z = nn.Dense(self.hidden, use_bias=False)
        self.body = [nn.Dense(self.hidden) for _ in range(self.layers - 1)]
        self.out = nn.Dense(1)

    def __call__(self, embeddings, z):
        return self.logits(self.project(embeddings), z)

    def project(self, embeddings):
        return self.from_embedding(_unit_scale(embeddings))

    def logits(self, projected, z):
        h = nn.gelu(projected + self.from_z(z))
        for layer in self.body:
            h = nn.gelu(layer(h))
        return self.out(h)[..., 0]


def _unit_scale(embeddings):
    """Unit-norm embeddings rescaled to unit-variance coordinates, the scale Dense layers'
    initialisation assumes (else the networks start nearly blind to the embedding)."""
    return embeddings * jnp.sqrt(embeddings.shape[-1]).astype(embeddings.dtype)


def _rates(successes, trials):
    return successes / jnp.maximum(trials, 1.0)


@DIFFICULTY_MODELS.register("gps")
class GenerativePredictor(DifficultyModel):
    needs_embeddings = True

    def __init__(self, cfg, **kwargs):
        super().__init__(cfg, **kwargs)
        if cfg.latent not in LATENTS:
            raise ConfigError(
                f"selector.model.gps.latent must be one of {LATENTS}, got {cfg.latent!r}"
            )
        self.deterministic = cfg.latent == "deterministic"
        self.prior_net = SetEncoder(cfg.hidden, cfg.z_dim, cfg.encoder_layers)
        self.posterior_net = SetEncoder(cfg.hidden, cfg.z_dim, cfg.encoder_layers)
        self.decoder = Decoder(cfg.hidden, cfg.decoder_layers)
        self.svi = SVI(
            self._model,
            self._guide,
            optax_to_numpyro(optax.adam(cfg.lr)),
            Trace_ELBO(num_particles=cfg.particles),
        )

    # --- the probabilistic model, over `replay` consecutive (H_{t-1}, H_t) pairs -------------
    def _model(self, prev, cur):
        prior = flax_module("prior", self.prior_net, *prev)
        decoder = flax_module("decoder", self.decoder, cur[0], jnp.zeros((self.cfg.z_dim,)))
        mean, scale = prior(*prev)  # [R, Z]
        if self.deterministic:
            z = mean
        else:
            z = numpyro.sample("z", dist.Normal(mean, scale).to_event(1).mask(cur[3].any(-1)))
        embeddings, successes, trials, mask = cur
        logits = decoder(embeddings, z[:, None, :])  # [R, B]
        numpyro.sample(
            "s", dist.Binomial(trials, logits=logits).mask(mask).to_event(2), obs=successes
        )

    def _guide(self, prev, cur):
        if self.deterministic:
            return
        embeddings, successes, trials, mask = cur
        rates = _rates(successes, trials)
        posterior = flax_module("posterior", self.posterior_net, embeddings, rates, mask)
        mean, scale = posterior(embeddings, rates, mask)
        numpyro.sample("z", dist.Normal(mean, scale).to_event(1).mask(mask.any(-1)))

    def _history(self, replay):
        """The replay buffer as (previous batch, current batch) tensors for the model."""
        emb = self.embeddings[replay["indices"]]  # [R+1, B, D]
        mask = replay["filled"][:, None] & (replay["trials"] > 0)
        rates = _rates(replay["successes"], replay["trials"])
        prev = (emb[:-1], rates[:-1], mask[:-1])
        cur = (emb[1:], replay["successes"][1:], replay["trials"][1:], mask[1:])
        return prev, cur

    # --- state ------------------------------------------------------------------------------
    def init(self, key):
        rows, b = self.cfg.replay + 1, self.batch_size
        replay = {
            "indices": jnp.zeros((rows, b), jnp.int32),
            "successes": jnp.zeros((rows, b), jnp.float32),
            "trials": jnp.zeros((rows, b), jnp.float32),
            "filled": jnp.zeros((rows,), bool),
        }
        svi_state = self.svi.init(jax.random.key_data(key), *self._history(replay))
        return {"svi": _pack(svi_state), "replay": replay}

    def update(self, state, indices, successes, trials):
        replay = {
            "indices": _push(state["replay"]["indices"], indices.astype(jnp.int32)),
            "successes": _push(state["replay"]["successes"], successes.astype(jnp.float32)),
            "trials": _push(state["replay"]["trials"], trials.astype(jnp.float32)),
            "filled": _push(state["replay"]["filled"], jnp.array(True)),
        }
        history = self._history(replay)

        def svi_step(svi_state, _):
            svi_state, loss = self.svi.update(svi_state, *history)
            return svi_state, loss

        svi_state, _ = jax.lax.scan(
            svi_step, _unpack(state["svi"]), None, length=self.cfg.svi_steps
        )
        return {"svi": _pack(svi_state), "replay": replay}

    # --- prediction (Eq. 10) ----------------------------------------------------------------
    def _prior_of_latest(self, state):
        params = state["svi"]["params"]
        replay = state["replay"]
        last = {k: v[-1] for k, v in replay.items()}
        emb = self.embeddings[last["indices"]]
        mask = last["filled"] & (last["trials"] > 0)
        return self.prior_net.apply(
            {"params": params["prior$params"]}, emb, _rates(last["successes"], last["trials"]), mask
        )

    def predict_unseen(self, state, key, embeddings):
        mean, scale = self._prior_of_latest(state)
        if self.deterministic:
            z = mean[None]
        else:
            z = mean + scale * jax.random.normal(key, (self.cfg.samples, self.cfg.z_dim))
        decoder_params = {"params": state["svi"]["params"]["decoder$params"]}
        projected = self.decoder.apply(decoder_params, embeddings, method=Decoder.project)

        def add_sample(total, z_m):
            logits = self.decoder.apply(decoder_params, projected, z_m, method=Decoder.logits)
            return total + jax.nn.sigmoid(logits), None

        total, _ = jax.lax.scan(add_sample, jnp.zeros(embeddings.shape[0]), z)
        return total / z.shape[0]

    def predict(self, state, key, candidates, embeddings):
        return self.predict_unseen(state, key, embeddings)


def _push(buffer, row):
    """Drops the oldest row and appends `row` (the buffer stays in time order)."""
    return jnp.concatenate([buffer[1:], row[None]], axis=0)


def _pack(svi_state: SVIState) -> dict:
    """SVI state as a plain dict of arrays (the form checkpointed with the run)."""
    step, (params, opt_state) = svi_state.optim_state
    return {"step": step, "params": params, "opt": opt_state, "rng": svi_state.rng_key}


def _unpack(packed: dict) -> SVIState:
    return SVIState((packed["step"], (packed["params"], packed["opt"])), None, packed["rng"])
