"""Acquisition functions: which B of the candidates to roll out, given predicted difficulty.

Each is a pure JAX function `fn(key, inputs, batch_size, cfg) -> [B] distinct candidate
positions`, registered by name with the settings it reads (`settings.Setting`s: its config
block, their bounds and when each is read) and jit-compiled by the selector. Adding one:

    @register_acquisition("optimistic", settings={"bonus": Setting(0.1, AtLeast(0))})
    def optimistic(key, inputs, batch_size, cfg):
        return jax.lax.top_k(needs_predictions(inputs, "optimistic") + cfg.bonus, batch_size)[1]

then `configs/countdown.py:selector=gps,acquisition=optimistic` (docs/selectors.md: "Adding
an acquisition function"). A function registered with `ACQUISITIONS.register` directly, without
its settings, is a TypeError at once.
"""

import dataclasses
from typing import Callable, NamedTuple

import jax
import jax.numpy as jnp

from gps.errors import ConfigError
from gps.selectors.registry import Registry
from gps.selectors.settings import (
    Above,
    AtLeast,
    Band,
    Between,
    OneOf,
    Setting,
    check_values,
    defaults_of,
    holds,
)


class AcquisitionInputs(NamedTuple):
    """What an acquisition may use, for C candidates; fields are None when unavailable."""

    candidates: jax.Array  # [C] pool indices of the candidates
    predictions: jax.Array | None  # [C] predicted success rates γ̂ (None: no difficulty model)
    embeddings: jax.Array | None  # [C, D] unit-norm candidate embeddings
    history: jax.Array | None  # [H, D] embeddings of the prompts selected in recent steps
    history_mask: jax.Array | None  # [H] which history rows hold a prompt
    posterior: tuple | None = None  # ([C] α, [C] β) of a Beta success-rate posterior
    n_rollouts: int = 0  # rollouts a chosen prompt gets (K, G of the field's scores)


@dataclasses.dataclass(frozen=True)
class Acquisition:
    """A registered acquisition: its function, its settings and what it needs from the selector."""

    select: Callable  # (key, inputs, batch_size, cfg) -> [B] candidate positions
    settings: dict  # key -> Setting: its config block, `name` aside
    window: Callable = lambda cfg: 0  # recent batches it reads (`inputs.history`)
    needs_embeddings: Callable = lambda cfg: False
    defaults: dict = dataclasses.field(init=False)  # key -> default, from `settings`

    def __post_init__(self):
        owner = f"acquisition {self.select.__name__!r}"
        object.__setattr__(self, "defaults", defaults_of(self.settings, owner))

    def check(self, cfg) -> None:
        """Raises ConfigError on a value out of its bound or one its mode leaves unread."""
        check_values(cfg, "acquisition", self.settings)


ACQUISITIONS = Registry(
    "acquisition function", Acquisition, hint="use @register_acquisition(name, settings=...)"
)


def register_acquisition(name: str, settings: dict | None = None, **needs):
    """Decorator registering `fn` as acquisition `name` with its settings (key -> Setting)
    and what it needs (`window=`, `needs_embeddings=`: see `Acquisition`)."""

    def wrap(fn):
        ACQUISITIONS.register(name)(Acquisition(fn, dict(settings or {}), **needs))
        return fn

    return wrap


def needs_predictions(inputs: AcquisitionInputs, name: str) -> jax.Array:
    if inputs.predictions is None:
        raise ConfigError(f"acquisition {name!r} needs a difficulty model (selector.model.name)")
    return inputs.predictions


def needs_posterior(inputs: AcquisitionInputs, name: str) -> tuple:
    if inputs.posterior is None:
        raise ConfigError(f"acquisition {name!r} needs a Beta posterior (selector model 'beta')")
    return inputs.posterior


def sample_proportional(key, log_weights: jax.Array, k: int) -> jax.Array:
    """k distinct positions drawn one after another with probability ∝ weight among those
    left (Gumbel-top-k: the top k of log w + Gumbel noise)."""
    return jax.lax.top_k(log_weights + jax.random.gumbel(key, log_weights.shape), k)[1]


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


@register_acquisition("uniform")
def uniform(key, inputs, batch_size, cfg):
    """B candidates uniformly at random without replacement (docs/method.md §2.1)."""
    return random_subset(key, inputs.candidates.shape[0], batch_size)


TARGET = Setting(0.5, Between(0, 1, closed="neither"))  # γ*


@register_acquisition("topk", settings={"target": TARGET})
def topk(key, inputs, batch_size, cfg):
    """The B candidates whose γ̂ is closest to γ* (MoPPS `topk`)."""
    u = intermediate_difficulty(needs_predictions(inputs, "topk"), cfg.target)
    return jax.lax.top_k(u + _tie_break(key, u.shape[0]), batch_size)[1]


@register_acquisition("threshold", settings={"band": Setting((0.3, 0.7), Band())})
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


# --- GPS's history-anchored diverse batch (Eq. 12-14) --------------------------------------------
INTER_STEP = ("nearest", "centroid", "none")
SCALES = ("standardized", "raw")


def inter_step_distance(emb, history, mask, form: str) -> jax.Array:
    """[C] distance of each candidate to the recent batches: `nearest` = 1 − max_h e·h (the
    closest recently selected prompt), `centroid` = mean_h (1 − e·h) = 1 − e·mean_h h; 0 while
    there is no history or with `none`."""
    if form == "none" or history is None:
        return jnp.zeros(emb.shape[0], emb.dtype)
    if form == "nearest":
        similarity = jnp.where(mask[None, :], emb @ history.T, -jnp.inf).max(-1)
    else:
        weight = mask.astype(emb.dtype)
        similarity = emb @ ((history * weight[:, None]).sum(0) / jnp.maximum(weight.sum(), 1.0))
    return jnp.where(mask.any(), 1.0 - similarity, 0.0)


def pairwise_distance_std(emb) -> jax.Array:
    """Exact std of the cosine distance 1 − e_i·e_j over all pairs i ≠ j of unit rows, in
    O(C·D²) from the sums Σ_ij e_i·e_j = |Σe|² and Σ_ij (e_i·e_j)² = ‖EᵀE‖²_F."""
    c = emb.shape[0]
    pairs = c * (c - 1)
    mean = (jnp.sum(jnp.square(emb.sum(0))) - c) / pairs
    mean_square = (jnp.sum(jnp.square(emb.T @ emb)) - c) / pairs
    return jnp.sqrt(jnp.maximum(mean_square - mean**2, 0.0))


def _spread(x) -> jax.Array:
    return jnp.maximum(x.std(), 1e-6)


def diversity_weights(u, emb, inter, batch_size: int, cfg) -> tuple[jax.Array, jax.Array]:
    """U(B) = Σ_{τ∈B} unary_τ + pair_weight·Σ_{pairs τ,τ' ∈ B} d(τ, τ'), with d = 1 − e·e'.

    `raw`: unary = u + λ·d_inter, pair_weight = λ/(B−1) (each prompt's intra term is then
    its mean distance to the rest of the batch, on the same footing as its d_inter).
    `standardized` (default): u, d_inter and d are each divided by their std over the
    candidates first, so λ_div weighs one spread of distance against one spread of u; raw
    cosine distances of the pool vary 10-100× less than u once the predictor has learnt,
    and the raw terms barely act, as measured in experiments/studies/diversity_probe.py.
    """
    pair = cfg.diversity / max(batch_size - 1, 1)
    if cfg.scale == "raw":
        return u + cfg.diversity * inter, jnp.asarray(pair, u.dtype)
    unary = u / _spread(u) + cfg.diversity * inter / _spread(inter)
    return unary, pair / jnp.maximum(pairwise_distance_std(emb), 1e-6)


def pair_distance_sum(e) -> jax.Array:
    """Σ over the pairs of rows of `e` of their cosine distance 1 − e·e'."""
    return jnp.triu(1.0 - e @ e.T, 1).sum()


def batch_value(picks, unary, emb, pair_weight) -> jax.Array:
    """U of the batch `picks` (positions into `unary`/`emb`) under `diversity_weights`."""
    return unary[picks].sum() + pair_weight * pair_distance_sum(emb[picks])


def greedy_max_sum(unary, emb, pair_weight, batch_size: int, first) -> jax.Array:
    """Max-sum diversification, greedily (Borodin et al. 2012; GPS Eq. 14): from the batch
    {first}, add the prompt with the largest marginal gain unary_τ + w·Σ_{τ'∈S} d(τ, τ')."""

    def add_one(carry, _):
        chosen, dispersion = carry  # dispersion: Σ_{τ'∈S} d(τ, τ') for every candidate τ
        best = jnp.argmax(jnp.where(chosen, -jnp.inf, unary + pair_weight * dispersion))
        return (chosen.at[best].set(True), dispersion + 1.0 - emb @ emb[best]), best

    start = (jnp.zeros(unary.shape[0], bool).at[first].set(True), 1.0 - emb @ emb[first])
    rest = jax.lax.scan(add_one, start, None, length=batch_size - 1)[1]
    return jnp.concatenate([jnp.reshape(first, (1,)), rest])


def improve_by_swaps(picks, unary, emb, pair_weight, max_swaps: int) -> jax.Array:
    """Best-improvement local search: swap a chosen prompt for an unchosen one while U rises,
    at most `max_swaps` times. Swapping p out and j in changes U by
    value_j − value_p − w·d(p, j), value = unary + w·Σ_{s∈S} d(·, s)."""
    rows = 1.0 - emb[picks] @ emb.T  # [B, C] distance of each chosen prompt to every candidate

    def gains(state):
        picks, rows, _ = state
        value = unary + pair_weight * rows.sum(0)
        chosen = jnp.zeros(unary.shape[0], bool).at[picks].set(True)
        delta = value[None, :] - value[picks][:, None] - pair_weight * rows
        return jnp.where(chosen[None, :], -jnp.inf, delta)

    def keep_going(state):
        return (state[2] < max_swaps) & (gains(state).max() > 1e-6)

    def swap(state):
        picks, rows, count = state
        out, into = jnp.unravel_index(jnp.argmax(gains(state)), rows.shape)
        rows = rows.at[out].set(1.0 - emb @ emb[into])
        return picks.at[out].set(into), rows, count + 1

    return jax.lax.while_loop(keep_going, swap, (picks, rows, 0))[0]


def max_sum_batch(unary, emb, pair_weight, batch_size: int, restarts: int, swaps: int):
    """The batch of highest U found by `restarts` greedy runs, each started from one of the
    `restarts` best-unary prompts (the first is the plain greedy) and improved by swaps. At the
    defaults it finds the brute-force optimum on all of 1,000 random 4-of-9 instances, which the
    plain greedy does not (tests/selectors/test_selectors.py)."""

    def run(first):
        picks = greedy_max_sum(unary, emb, pair_weight, batch_size, first)
        picks = improve_by_swaps(picks, unary, emb, pair_weight, swaps)
        return picks, batch_value(picks, unary, emb, pair_weight)

    picks, values = jax.vmap(run)(jax.lax.top_k(unary, restarts)[1])
    return picks[jnp.argmax(values)]


# With λ_div = 0 `diverse` is the top B by u: the diversity terms and their search are unread.
DIVERSIFYING = {"diversity": Above(0)}


@register_acquisition(
    "diverse",
    settings={
        "target": TARGET,
        # λ_div; with `standardized` terms, spreads of distance per spread of u
        "diversity": Setting(0.5, AtLeast(0)),
        # or "raw": the terms as they are (see diversity_weights)
        "scale": Setting("standardized", OneOf(SCALES), DIVERSIFYING),
        # distance to the recent batches: nearest | centroid | none
        "inter_step": Setting("nearest", OneOf(INTER_STEP), DIVERSIFYING),
        # recent batches the inter-step term looks at (and batch_overlap, at any λ_div)
        "window": Setting(4, AtLeast(1)),
        # greedy over the shortlist·B best-u candidates; 0 = all of them
        "shortlist": Setting(8, AtLeast(0), DIVERSIFYING),
        # greedy runs, from the `restarts` best-u prompts; the best is kept
        "restarts": Setting(4, AtLeast(1), DIVERSIFYING),
        # local-search swaps after each greedy run (0 = greedy only)
        "swaps": Setting(16, AtLeast(0), DIVERSIFYING),
    },
    window=lambda cfg: cfg.window,
    needs_embeddings=lambda cfg: holds(cfg, DIVERSIFYING),
)
def diverse(key, inputs, batch_size, cfg):
    """GPS batch acquisition (Eq. 12-14): max U(B) = Σ u(γ̂) + λ_div·D(B), D = intra-batch
    dispersion + inter-step distance to the last `window` batches (`diversity_weights`),
    by greedy max-sum with restarts and swap local search. With `shortlist` > 0 both run over the
    shortlist·B candidates of highest u, so selection stays ~O(C) on million-prompt pools."""
    u = intermediate_difficulty(needs_predictions(inputs, "diverse"), cfg.target)
    u = u + _tie_break(key, u.shape[0])
    if cfg.diversity == 0.0:
        return jax.lax.top_k(u, batch_size)[1]
    if inputs.embeddings is None:
        raise ConfigError("acquisition 'diverse' with diversity > 0 needs prompt embeddings")
    positions = jnp.arange(u.shape[0])
    size = cfg.shortlist * batch_size
    if 0 < size < u.shape[0]:
        u, positions = jax.lax.top_k(u, size)
    emb = inputs.embeddings[positions]
    inter = inter_step_distance(emb, inputs.history, inputs.history_mask, cfg.inter_step)
    unary, pair_weight = diversity_weights(u, emb, inter, batch_size, cfg)
    restarts = min(cfg.restarts, u.shape[0])
    return positions[max_sum_batch(unary, emb, pair_weight, batch_size, restarts, cfg.swaps)]


def batch_terms(picks, inputs: AcquisitionInputs, target: float | None) -> dict:
    """What a chosen batch is made of, for metrics.jsonl: Σu (when there are predictions and
    a γ*), mean pairwise cosine distance D_intra and mean nearest-history distance D_inter
    (when there are embeddings), in the raw units of the embeddings."""
    terms = {}
    if inputs.predictions is not None and target is not None:
        terms["batch_u"] = intermediate_difficulty(inputs.predictions[picks], target).sum()
    if inputs.embeddings is not None:
        e = inputs.embeddings[picks]
        b = e.shape[0]
        terms["batch_d_intra"] = pair_distance_sum(e) / max(b * (b - 1) / 2, 1)
        if inputs.history is not None:
            nearest = inter_step_distance(e, inputs.history, inputs.history_mask, "nearest")
            terms["batch_d_inter"] = nearest.mean()
    return terms
