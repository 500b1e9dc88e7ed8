"""Testbed benchmark: policy size, sampler throughput (KV cache vs full recompute),
and the time of one GRPO step split into selection, sampling, reward and update.

  python -m experiments.benchmark [--config=configs/countdown.py] [--steps=10]

Uses the config's cached base model (trained on first use, as in `make run`).
Prints one JSON object per measurement.
"""

import json
import time

import jax
import numpy as np
from absl import app, flags, logging
from ml_collections import config_flags

from gps import grpo, trainer
from gps.model import count_params
from gps.optimizer import make_optimizer
from gps.sampling import sample

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/countdown.py", "Config file.", lock_config=True
)
_STEPS = flags.DEFINE_integer("steps", 10, "GRPO steps to time (after one warm-up step).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Sampler calls to time per variant.")


def _timed(fn):
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - start


def sampler_throughput(setup, params, key, use_cache: bool) -> dict:
    """Positions processed per second by one sampler call on a full RL batch."""
    cfg, engine = setup.config, setup.engine
    problems = setup.pool[: cfg.batch_size]
    prompts = [p.prompt for p in problems for _ in range(cfg.n_rollouts)]
    tokens, lengths = setup.tokenizer.encode_prompts(prompts, engine.prompt_len)
    call = lambda: sample(
        params,
        setup.model_cfg,
        tokens,
        lengths,
        key,
        max_new=engine.max_new,
        temperature=cfg.rl.temperature,
        use_cache=use_cache,
        prefill=engine.prefill if use_cache else 1,
    )
    _timed(call)  # compile
    seconds = min(_timed(call)[1] for _ in range(_REPEATS.value))
    positions = len(prompts) * (engine.prompt_len + engine.max_new - 1)
    return {
        "bench": "sampler",
        "kv_cache": use_cache,
        "sequences": len(prompts),
        "length": engine.prompt_len + engine.max_new,
        "seconds": seconds,
        "tokens_per_s": positions / seconds,
    }


def grpo_step_breakdown(setup, params, key) -> dict:
    """Times the pieces of the RL step as the trainer runs them (jitted vs host work)."""
    cfg, engine = setup.config, setup.engine
    optimizer = make_optimizer(
        cfg.rl.lr, weight_decay=cfg.rl.weight_decay, grad_clip=cfg.rl.grad_clip
    )
    opt_state = jax.device_put(optimizer.init(params), jax.devices()[0])  # as in the trainer
    totals = {"select_s": 0.0, "sample_s": 0.0, "reward_s": 0.0, "update_s": 0.0, "step_s": 0.0}
    for step in range(_STEPS.value + 1):
        k = jax.random.fold_in(key, step)
        start = time.perf_counter()
        indices = np.asarray(
            jax.random.choice(k, len(setup.pool), (cfg.batch_size,), replace=False)
        )
        selected = time.perf_counter()
        prompts = [setup.pool[i].prompt for i in indices for _ in range(cfg.n_rollouts)]
        tokens, lengths = setup.tokenizer.encode_prompts(prompts, engine.prompt_len)
        samples, sample_s = _timed(
            lambda: sample(
                params,
                setup.model_cfg,
                tokens,
                lengths,
                k,
                max_new=engine.max_new,
                temperature=cfg.rl.temperature,
                prefill=engine.prefill,
            )
        )
        samples = jax.tree.map(np.asarray, samples)
        reward_start = time.perf_counter()
        texts = [setup.tokenizer.decode(row[n:]) for row, n in zip(samples.tokens, lengths)]
        rewards = np.array(
            [
                setup.task.verify(setup.pool[indices[j // cfg.n_rollouts]], t)
                for j, t in enumerate(texts)
            ],
            np.float32,
        ).reshape(cfg.batch_size, -1)
        reward_s = time.perf_counter() - reward_start
        batch = grpo.RolloutBatch(
            samples.tokens,
            samples.logprobs,
            samples.mask,
            grpo.group_advantages(rewards).reshape(-1),
        )
        (params, opt_state, _), update_s = _timed(
            lambda: grpo.update(
                params,
                opt_state,
                batch,
                None,
                cfg=setup.model_cfg,
                optimizer=optimizer,
                updates=cfg.rl.updates_per_batch,
                clip_eps=cfg.rl.clip_eps,
                kl_coef=0.0,
                temperature=cfg.rl.temperature,
            )
        )
        if step == 0:
            continue  # compilation
        for name, value in (
            ("select_s", selected - start),
            ("sample_s", sample_s),
            ("reward_s", reward_s),
            ("update_s", update_s),
            ("step_s", time.perf_counter() - start),
        ):
            totals[name] += value / _STEPS.value
    outside = totals["step_s"] - totals["sample_s"] - totals["update_s"]
    return {
        "bench": "grpo_step",
        "prompts": cfg.batch_size,
        "rollouts_per_prompt": cfg.n_rollouts,
        "updates_per_batch": cfg.rl.updates_per_batch,
        **totals,
        "outside_jit_share": outside / totals["step_s"],
    }


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)
    setup = trainer.build(_CONFIG.value)
    params, _ = trainer.base_model(setup, log=lambda *a: None)
    params = jax.device_put(params, jax.devices()[0])  # committed, as in the trainer (one compile)
    key = jax.random.key(0)
    print(
        json.dumps(
            {
                "bench": "model",
                "parameters": count_params(params),
                "device": jax.devices()[0].device_kind,
                **{k: v for k, v in _CONFIG.value.model.items()},
            }
        )
    )
    cached = sampler_throughput(setup, params, key, use_cache=True)
    full = sampler_throughput(setup, params, key, use_cache=False)
    print(json.dumps(cached))
    print(json.dumps(full))
    print(
        json.dumps(
            {"bench": "kv_cache_speedup", "ratio": cached["tokens_per_s"] / full["tokens_per_s"]}
        )
    )
    print(json.dumps(grpo_step_breakdown(setup, params, key)))


if __name__ == "__main__":
    app.run(main)
