"""Testbed benchmark: policy size, sampler throughput (KV cache vs full recompute),
and the time of the trainer's RL step split into selection, sampling, reward and update.

  python -m experiments.benchmarks.testbed [--config=configs/countdown.py] [--steps=10]

Uses the config's cached base model (trained on first use, as in `make run`).
Prints one JSON object per measurement.
"""

import json
import tempfile
import time

import jax
import numpy as np
from absl import app, flags, logging
from ml_collections import config_flags

from gps.testbed import trainer
from gps.records import run_folder
from gps.records.jsonl import JsonlLog
from gps.testbed.model import count_params
from gps.testbed.sampling import sample
from gps.selectors.presets import selector_config

_CONFIG = config_flags.DEFINE_config_file(
    "config", "configs/countdown.py", "Config file.", lock_config=True
)
_STEPS = flags.DEFINE_integer("steps", 10, "RL steps to time (after one compiling step).")
_REPEATS = flags.DEFINE_integer("repeats", 3, "Sampler calls to time per variant.")


def _timed(fn):
    start = time.perf_counter()
    out = jax.block_until_ready(fn())
    return out, time.perf_counter() - start


def sampler_throughput(setup, params, key, use_cache: bool, repeats: int) -> dict:
    """Positions processed per second by one sampler call on a full RL batch (the fastest of
    `repeats` calls)."""
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
    seconds = min(_timed(call)[1] for _ in range(repeats))
    positions = len(prompts) * (engine.prompt_len + engine.max_new - 1)
    return {
        "bench": "sampler",
        "kv_cache": use_cache,
        "sequences": len(prompts),
        "length": engine.prompt_len + engine.max_new,
        "seconds": seconds,
        "tokens_per_s": positions / seconds,
    }


def grpo_step_breakdown(config, steps: int) -> dict:
    """Times the trainer's own RL steps (Uniform selection) from its per-step metrics.

    Runs `trainer.train` for `steps` + 1 steps in a scratch workdir with tiny eval sets
    and drops the first step (compilation). Time outside jit = step - sampling - update.
    """
    config = config.copy_and_resolve_references()
    with config.unlocked():
        config.selector = selector_config("uniform")
        config.steps = steps + 1
        config.eval.every = config.checkpoint_every = config.steps
        for eval_set in config.task.eval_sets.values():
            eval_set.size = 1
    with tempfile.TemporaryDirectory() as workdir:
        trainer.train(config, workdir, log=lambda *a: None)
        records = JsonlLog(run_folder.path(workdir, run_folder.METRICS)).read()[1:]
    names = ("selector_s", "sample_s", "verify_s", "update_s", "step_s")
    totals = {name: float(np.mean([r[name] for r in records])) for name in names}
    outside = totals["step_s"] - totals["sample_s"] - totals["update_s"]
    return {
        "bench": "grpo_step",
        "prompts": config.batch_size,
        "rollouts_per_prompt": config.n_rollouts,
        "updates_per_batch": config.rl.updates_per_batch,
        **totals,
        "outside_jit_share": outside / totals["step_s"],
    }


def main(argv):
    del argv
    config, steps, repeats = _CONFIG.value, _STEPS.value, _REPEATS.value
    logging.set_verbosity(logging.WARNING)
    setup = trainer.build(config)
    params, _ = trainer.base_model(setup, log=lambda *a: None)
    params = jax.device_put(params, jax.devices()[0])  # committed, as in the trainer (one compile)
    key = jax.random.key(0)
    print(
        json.dumps(
            {
                "bench": "model",
                "parameters": count_params(params),
                "device": jax.devices()[0].device_kind,
                **{k: v for k, v in config.model.items()},
            }
        )
    )
    cached = sampler_throughput(setup, params, key, use_cache=True, repeats=repeats)
    full = sampler_throughput(setup, params, key, use_cache=False, repeats=repeats)
    print(json.dumps(cached))
    print(json.dumps(full))
    print(
        json.dumps(
            {"bench": "kv_cache_speedup", "ratio": cached["tokens_per_s"] / full["tokens_per_s"]}
        )
    )
    print(json.dumps(grpo_step_breakdown(config, steps)))


if __name__ == "__main__":
    app.run(main)
