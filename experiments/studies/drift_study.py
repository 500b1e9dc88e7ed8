"""Does GPS's latent z track a drifting policy? A synthetic study where the answer is known.

  python -m experiments.studies.drift_study [--seeds=20] [--steps=100] [--out=drift.json]
      [--model=replay=32,lr=0.001]  # GPS model settings other than its defaults

World (one per seed): `pool` training prompts and `unseen` held-out prompts with random
unit-norm embeddings e in `dim` dimensions, and a true success rate σ(w·e + c_t), where
w ~ N(0, I) (so w·e has a spread of about 1 logit around c_t) and c_t is the policy's
skill at step t. c_t rises from −2 to +1, fast then slow, as an RL policy improves: −2 → 0
over the first third of the steps, 0 → +1 over the rest (mean rate ≈ 0.16 → 0.50 → 0.70).

Each step feeds the predictor as the trainer does with Uniform selection: `batch` prompts
drawn uniformly without replacement from the pool, n = `rollouts` Bernoulli rollouts each,
then `update`. After the update, the predictor forecasts step t+1 (Eq. 10) for the unseen
prompts, and is scored against their true rates at c_{t+1}:
  mae        mean over unseen prompts of |γ̂ − γ|,
  mean_err   |mean γ̂ − mean γ| over the unseen set (how well the level, i.e. c_t, is tracked),
each averaged over the second half of the steps. Variants: latent = "bayesian" (the paper's
z), "deterministic" (z = prior mean, no KL) and "none" (a decoder of e alone, no history),
all other settings at the model's defaults. The batches and outcomes depend only on the
seed, so the variants see identical data and the differences are paired.

One jitted function per variant: lax.scan over the steps, jax.vmap over the seeds.
"""

import ast
import json
import sys
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from absl import app, flags

from gps.errors import ConfigError
from gps.selectors.gps_predictor import GenerativePredictor
from gps.selectors.presets import part_block
from gps.stats import mean_ci, plus_minus

VARIANTS = ("bayesian", "deterministic", "none")


def skill(steps: int) -> jnp.ndarray:
    """c_t for t = 0..steps: −2 → 0 over the first third, then 0 → +1 (a slowing policy)."""
    knee = steps / 3
    t = jnp.arange(steps + 1, dtype=jnp.float32)
    return jnp.where(t < knee, -2 + 2 * t / knee, (t - knee) / (steps - knee))


def model_config(latent: str, **overrides) -> ml_collections.FrozenConfigDict:
    """GPS's model block with `latent` and `overrides`; ConfigError on a key it does not read
    or a value out of range."""
    cfg = part_block("model", "gps")
    unknown = sorted(set(overrides) - set(cfg))
    if unknown:
        raise ConfigError(f"the GPS model does not read {unknown}")
    cfg.update(latent=latent, **overrides)
    GenerativePredictor.check(cfg)
    return ml_collections.FrozenConfigDict(cfg)


def make_study(cfg, *, steps, pool, unseen, dim, batch, rollouts):
    """A jitted function of a [S] batch of keys -> per-step errors ([S, T] mae and mean_err)."""
    c = skill(steps)

    def one_seed(key):
        k_emb, k_w, k_init, k_run = jax.random.split(key, 4)
        e = jax.random.normal(k_emb, (pool + unseen, dim))
        e = e / jnp.linalg.norm(e, axis=-1, keepdims=True)
        base = e @ jax.random.normal(k_w, (dim,))  # w·e ~ N(0, 1) for unit-norm e
        model = GenerativePredictor(cfg, pool_size=pool, batch_size=batch, embeddings=e[:pool])

        def step(state, t):
            k_pick, k_roll, k_pred = jax.random.split(jax.random.fold_in(k_run, t), 3)
            idx = jax.random.choice(k_pick, pool, (batch,), replace=False)
            p = jax.nn.sigmoid(base[idx] + c[t])
            s = (jax.random.uniform(k_roll, (batch, rollouts)) < p[:, None]).sum(-1)
            state = model.update(state, idx, s, jnp.full((batch,), rollouts))
            predicted = model.predict_unseen(state, k_pred, e[pool:])
            true = jax.nn.sigmoid(base[pool:] + c[t + 1])
            mae = jnp.abs(predicted - true).mean()
            return state, (mae, jnp.abs(predicted.mean() - true.mean()))

        _, errors = jax.lax.scan(step, model.init(k_init), jnp.arange(steps))
        return errors

    return jax.jit(jax.vmap(one_seed))


def run(variants, seeds: int, model: dict | None = None, **sizes) -> dict:
    """Runs every variant on the same `seeds` worlds; per-seed late-step errors and timings.
    `model`: GPS model settings replacing the defaults in every variant."""
    keys = jax.random.split(jax.random.key(0), seeds)
    late = slice(sizes["steps"] // 2, None)
    result = {"sizes": sizes, "seeds": seeds, "model": model or {}, "variants": {}}
    for latent in variants:
        study = make_study(model_config(latent, **(model or {})), **sizes)
        start = time.perf_counter()
        compiled = study.lower(keys).compile()
        compile_s = time.perf_counter() - start
        mae, mean_err = jax.block_until_ready(compiled(keys))
        run_s = time.perf_counter() - start - compile_s
        result["variants"][latent] = {
            "mae": np.asarray(mae[:, late].mean(1)).tolist(),
            "mean_err": np.asarray(mean_err[:, late].mean(1)).tolist(),
            "mae_by_step": np.asarray(mae.mean(0)).round(4).tolist(),
            "compile_s": round(compile_s, 1),
            "run_s": round(run_s, 1),
        }
    return result


def table(result: dict) -> str:
    rows = result["variants"]
    lines = [
        "| variant | unseen MAE (late steps) | mean-rate error (late steps) | "
        "MAE − bayesian's (paired) | compile + run s |",
        "|---|---|---|---|---|",
    ]
    best = min(rows, key=lambda v: np.mean(rows[v]["mae"]))
    for name, r in rows.items():
        mae, err = np.array(r["mae"]), np.array(r["mean_err"])
        paired = "—"
        if "bayesian" in rows and name != "bayesian":
            d = mae - np.array(rows["bayesian"]["mae"])
            paired = plus_minus(*mean_ci(d), "+.4f")
        mark = " (best)" if name == best else ""
        lines.append(
            f"| {name}{mark} | {plus_minus(*mean_ci(mae), '.4f')} | "
            f"{plus_minus(*mean_ci(err), '.4f')} | {paired} | {r['compile_s']} + {r['run_s']} |"
        )
    return "\n".join(lines)


def define_flags() -> None:
    """Flags of the command, defined only when it runs: tests import `run` beside other
    modules' flags."""
    flags.DEFINE_integer(
        "seeds", 20, "Worlds (embeddings, w, batches, outcomes, init).", lower_bound=2
    )
    flags.DEFINE_integer("steps", 100, "RL steps T.", lower_bound=2)
    flags.DEFINE_integer("pool", 512, "Training prompts.", lower_bound=1)
    flags.DEFINE_integer("unseen", 256, "Held-out prompts the predictor never sees.", lower_bound=2)
    flags.DEFINE_integer("dim", 16, "Embedding dimension.", lower_bound=1)
    flags.DEFINE_integer("batch", 32, "Prompts per step B.", lower_bound=1)
    flags.DEFINE_integer("rollouts", 8, "Rollouts per prompt n.", lower_bound=1)
    flags.DEFINE_list("variants", list(VARIANTS), "Latent variants to compare.")
    flags.DEFINE_list("model", [], "GPS model settings key=value replacing its defaults.")
    flags.DEFINE_string("out", None, "Write the result as JSON here.")


def main(argv):
    del argv
    f = flags.FLAGS
    if f.batch > f.pool:
        sys.exit(f"error: --batch ({f.batch}) is larger than --pool ({f.pool})")
    unknown = sorted(set(f.variants) - set(VARIANTS))
    if unknown:
        sys.exit(f"error: unknown --variants {unknown}; known: {list(VARIANTS)}")
    sizes = dict(
        steps=f.steps, pool=f.pool, unseen=f.unseen, dim=f.dim, batch=f.batch, rollouts=f.rollouts
    )
    model = {}
    for item in f.model:
        key, _, value = item.partition("=")
        try:
            model[key] = ast.literal_eval(value)
        except (ValueError, SyntaxError):
            model[key] = value
    try:  # unknown keys, bad values and keys a variant leaves unread: one line
        for latent in f.variants:
            model_config(latent, **model)
    except ConfigError as e:
        sys.exit(f"error: --model: {e}")
    result = run(f.variants, f.seeds, model, **sizes)
    print(table(result))
    print(f"mean ± 95% CI over {f.seeds} seeds; late steps = the second half of {sizes}")
    if f.out:
        with open(f.out, "w") as out:
            json.dump(result, out, indent=1)


if __name__ == "__main__":
    define_flags()
    app.run(main)
