"""The RL loop: select -> roll out -> verify -> GRPO update -> selector update -> log.

Everything a resume needs (policy, optimizer, selector state, PRNG key, step,
rollout count, wall time) is checkpointed together; per-step keys come from
`fold_in(stream_key, step)`, so a resumed run reproduces an uninterrupted one.
"""

import dataclasses
import json
import os
import time

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from gps import config as config_lib
from gps import grpo, warmup
from gps.checkpoint import Checkpointer
from gps.errors import CheckpointError, ConfigError
from gps.evaluation import evaluate, pass_rate_report
from gps.jsonl import JsonlLog
from gps.model import ModelConfig, count_params
from gps.optimizer import make_optimizer
from gps.provenance import code_version
from gps.rollout import RolloutEngine, Rollouts
from gps.selectors import Pool, check_selector_config, make_selector
from gps.selectors.diagnostics import prediction_metrics
from gps.tasks import Problem, get_task
from gps.tokenizer import CharTokenizer

STREAMS = (
    "base",
    "rollout",
    "select",
    "eval",
    "predict",
)  # independent PRNG streams split from the seed


@dataclasses.dataclass
class Setup:
    """Everything derived from the config before training: data, model, engine, keys."""

    config: object
    task: object
    pool: list[Problem]
    eval_sets: dict[str, list[Problem]]
    warmup_problems: list[Problem]
    tokenizer: CharTokenizer
    model_cfg: ModelConfig
    engine: RolloutEngine
    keys: dict


def build(config) -> Setup:
    """Builds data and model from a config; bad names and sizes raise ConfigError."""
    try:
        task = get_task(config.task.name, **config.task.options)
        families = tuple(config.task.train_families) or None
        pool = task.make_split(config.seed, "train", config.task.train_size, families)
        eval_sets = {
            name: task.make_split(config.seed, f"eval-{name}", spec.size, tuple(spec.families))
            for name, spec in config.task.eval_sets.items()
        }
        warmup_problems = task.make_split(config.seed, "warmup", config.base.data_size, families)
        tokenizer = CharTokenizer()
        prompt_len = task.max_prompt_len + 1  # + BOS
        max_new = task.max_completion_len + 1  # + EOS
        model_cfg = ModelConfig(
            vocab_size=tokenizer.vocab_size, max_len=prompt_len + max_new, **config.model.to_dict()
        )
    except (TypeError, ValueError) as e:  # unknown task, bad task options or model shape
        raise ConfigError(f"config.task/config.model: {e}") from None
    config_lib.validate(config, len(pool))
    check_selector_config(config.selector)
    shortest = min(len(p.prompt) for p in pool + sum(eval_sets.values(), []))
    engine = RolloutEngine(
        task,
        tokenizer,
        model_cfg,
        prompt_len,
        max_new,
        chunk=config.batch_size * config.n_rollouts,
        prefill=shortest + 1,  # + BOS
    )
    root = jax.random.key(config.seed)
    keys = dict(zip(STREAMS, jax.random.split(root, len(STREAMS))))
    return Setup(config, task, pool, eval_sets, warmup_problems, tokenizer, model_cfg, engine, keys)


def sample_rollouts(setup: Setup, params, problems, key):
    """n_rollouts samples per problem at the training temperature (pass rates of a policy)."""
    cfg = setup.config
    return setup.engine.generate(
        params, problems, cfg.n_rollouts, key, temperature=cfg.rl.temperature
    )


def base_model(setup: Setup, log=print):
    """Loads or trains the cached base; reports its pass rates on the train pool when trained."""
    cfg = setup.config

    def report(params):
        problems = setup.pool[: cfg.base.report_size]
        rollouts = sample_rollouts(
            setup, params, problems, jax.random.fold_in(setup.keys["base"], 1)
        )
        return pass_rate_report(rollouts.successes, cfg.n_rollouts)

    return warmup.load_or_train(
        cfg,
        setup.task,
        setup.tokenizer,
        setup.model_cfg,
        setup.warmup_problems,
        setup.engine.prompt_len + setup.engine.max_new,
        setup.keys["base"],
        report_fn=report,
        log=log,
    )


def _rollout_batch(rollouts: Rollouts) -> grpo.RolloutBatch:
    advantages = grpo.group_advantages(rollouts.rewards_PxN).reshape(-1)
    s = rollouts.samples
    return grpo.RolloutBatch(s.tokens, s.logprobs, s.mask, advantages.astype(np.float32))


def _state(params, opt_state, selector_state, rollout_key, step, rollouts, wall_s) -> dict:
    """Everything a resume needs, as one pytree of arrays (the checkpoint's layout)."""
    return {
        "params": params,
        "opt_state": opt_state,
        "selector": selector_state,
        "key": jax.random.key_data(rollout_key),  # the rollout stream; per-step keys fold in step
        "step": np.asarray(step),
        "rollouts": np.asarray(rollouts),
        "wall_s": np.asarray(wall_s),
    }


def _comparable(config_dict):
    """A config as far as resuming is concerned: where caches live does not matter."""
    if not isinstance(config_dict, dict):
        return config_dict
    return {k: _comparable(v) for k, v in config_dict.items() if k != "cache_dir"}


def _write_config(config, workdir: str) -> None:
    path = os.path.join(workdir, "config.json")
    text = config.to_json(indent=1, sort_keys=True)
    if os.path.exists(path):
        with open(path) as f:
            if _comparable(json.load(f)) != _comparable(json.loads(text)):
                raise ConfigError(
                    f"{workdir} holds a run with a different config ({path}); use another workdir"
                )
        return
    with open(path, "w") as f:
        f.write(text)


def _start(setup: Setup, base_params):
    """The selector, the RL optimizer and the run's state at step 0 (also a restore template)."""
    config = setup.config
    selector = make_selector(
        config.selector,
        Pool(tuple(p.text for p in setup.pool)),
        batch_size=config.batch_size,
        n_rollouts=config.n_rollouts,
    )
    optimizer = make_optimizer(
        config.rl.lr, weight_decay=config.rl.weight_decay, grad_clip=config.rl.grad_clip
    )
    # A fresh copy on the device: `update` donates params (the base stays the KL reference) and
    # jit sees the same committed layout at step 1 as later (else it compiles twice).
    policy = jax.device_put(jax.tree.map(jnp.copy, base_params), jax.devices()[0])
    state = _state(
        policy,
        jax.device_put(optimizer.init(policy), jax.devices()[0]),
        selector.init(setup.keys["select"]),
        setup.keys["rollout"],
        step=0,
        rollouts=0,
        wall_s=0.0,
    )
    return selector, optimizer, state


@dataclasses.dataclass
class TrainedRun:
    setup: Setup
    params: object  # the policy at the latest checkpoint
    selector: object
    selector_state: object
    step: int


def load_run(workdir: str, log=print) -> TrainedRun:
    """A run's policy and selector at its latest checkpoint, rebuilt from its config.json."""
    with open(os.path.join(workdir, "config.json")) as f:
        config = ml_collections.ConfigDict(json.load(f))
    setup = build(config)
    base_params, _ = base_model(setup, log)
    selector, _, template = _start(setup, base_params)
    ckpt = Checkpointer(workdir)
    latest = ckpt.latest_step()
    if latest is None:
        raise CheckpointError(f"{workdir} has no checkpoint")
    state = ckpt.restore(latest, template)
    return TrainedRun(setup, state["params"], selector, state["selector"], latest)


def train(config, workdir: str, log=print) -> dict:
    """Runs (or resumes) one RL run in `workdir`; returns the summary."""
    code = code_version()  # what this process runs: HEAD may move while it trains
    setup = build(config)
    os.makedirs(workdir, exist_ok=True)
    _write_config(config, workdir)
    base_params, base_path = base_model(setup, log)
    selector, optimizer, state = _start(setup, base_params)
    metrics_log = JsonlLog(os.path.join(workdir, "metrics.jsonl"))
    eval_log = JsonlLog(os.path.join(workdir, "eval.jsonl"))
    ckpt = Checkpointer(workdir)
    latest = ckpt.latest_step()
    if latest is not None:
        state = ckpt.restore(latest, state)
        log(f"resumed from step {latest}")
    metrics_log.rewind(latest or 0)  # drop what was logged after the checkpoint (or any)
    eval_log.rewind((latest or 0) - 1)
    step, rollouts_total = int(state["step"]), int(state["rollouts"])
    params, opt_state, sel_state = state["params"], state["opt_state"], state["selector"]
    rollout_key = jax.random.wrap_key_data(state["key"])
    log(
        f"policy: {count_params(params):,} parameters; pool {len(setup.pool)}; "
        f"selector {config.selector.name}"
    )

    def rollout_fn(indices, key):
        return setup.engine.generate(
            params,
            [setup.pool[i] for i in indices],
            config.n_rollouts,
            key,
            temperature=config.rl.temperature,
        )

    def run_eval(step):
        start = time.time()
        # The first and last evaluations take eval.k samples and greedy decoding, the ones
        # between eval.intermediate_k samples: all of them over the whole sets.
        full = step in (0, config.steps)
        k = config.eval.k if full else config.eval.intermediate_k
        eval_sets = setup.eval_sets
        results, rates = evaluate(
            setup.engine,
            params,
            eval_sets,
            k=k,
            temperature=config.eval.temperature,
            key=jax.random.fold_in(setup.keys["eval"], step),
            greedy=full,
        )
        names = sorted(eval_sets)  # held-out prompts: never in the selector's pool
        predicted = selector.predict_unseen(
            sel_state,
            jax.random.fold_in(setup.keys["predict"], step),
            [p.text for name in names for p in eval_sets[name]],
        )
        observed = np.concatenate([rates[name] for name in names])
        record = {
            "step": step,
            "rollouts": rollouts_total,
            "wall_s": wall_s,
            "eval_k": k,
            **results,
            **prediction_metrics(predicted, observed, prefix="eval_pred"),
            "eval_s": time.time() - start,
        }
        eval_log.append(record)
        log("eval " + " ".join(f"{k}={v:.3f}" for k, v in record.items() if "/" in k))
        return record

    wall_s = float(state["wall_s"])
    while step < config.steps:
        if step % config.eval.every == 0:
            run_eval(step)
        start = time.time()
        # Selection (may generate rollouts itself, e.g. dynamic sampling).
        selection = selector.select(
            sel_state, jax.random.fold_in(setup.keys["select"], step), rollout_fn
        )
        selector_s = time.time() - start - selection.rollout_s  # its own rollouts: in sample_s
        if selection.note:
            log(f"step {step + 1}: {selection.note}")
        # Rollouts and verification.
        rollouts = selection.rollouts
        if rollouts is None:
            rollouts = rollout_fn(selection.indices, jax.random.fold_in(rollout_key, step))
        sampled_at = time.time()
        # GRPO update.
        params, opt_state, update_metrics = grpo.update(
            params,
            opt_state,
            _rollout_batch(rollouts),
            base_params if config.rl.kl_coef > 0 else None,
            cfg=setup.model_cfg,
            optimizer=optimizer,
            updates=config.rl.updates_per_batch,
            clip_eps=config.rl.clip_eps,
            kl_coef=config.rl.kl_coef,
            temperature=config.rl.temperature,
        )
        update_metrics = {k: float(v) for k, v in update_metrics.items()}
        if not np.isfinite(update_metrics["loss"]):
            raise FloatingPointError(f"non-finite GRPO loss at step {step + 1}")
        updated_at = time.time()
        # Selector update with what was observed.
        successes = rollouts.successes
        sel_state = selector.update(
            sel_state, selection.indices, successes, np.full_like(successes, config.n_rollouts)
        )
        jax.block_until_ready(sel_state)
        selector_s += time.time() - updated_at
        step += 1
        rollouts_total += rollouts.rewards_PxN.size + selection.extra_rollouts
        step_s = time.time() - start
        wall_s += step_s
        informative = (successes > 0) & (successes < config.n_rollouts)
        record = {
            "step": step,
            "rollouts": rollouts_total,
            "effective_ratio": float(informative.mean()),
            "train_success": float(rollouts.rewards_PxN.mean()),
            **prediction_metrics(selection.predictions, successes / config.n_rollouts),
            **selection.info,
            "completion_len": float(rollouts.samples.mask.sum(1).mean()),
            "selector_s": selector_s,
            "selector_rollout_s": selection.rollout_s,
            "sample_s": rollouts.sample_s,
            "verify_s": rollouts.verify_s,
            "update_s": updated_at - sampled_at,
            "step_s": step_s,
            "wall_s": wall_s,
            **update_metrics,
        }
        metrics_log.append(record)
        if step % 10 == 0 or step == config.steps:
            log(
                f"step {step}/{config.steps} rollouts {rollouts_total} eff {record['effective_ratio']:.2f} "
                f"success {record['train_success']:.3f} {step_s:.2f}s/step"
            )
        if step % config.checkpoint_every == 0 or step == config.steps:
            ckpt.save(
                step,
                _state(params, opt_state, sel_state, rollout_key, step, rollouts_total, wall_s),
            )

    final = eval_log.read()
    if not final or final[-1]["step"] != step:
        final.append(run_eval(step))
    summary = {
        "code": code,
        "steps": step,
        "rollouts": rollouts_total,
        "wall_s": wall_s,
        "base_model": base_path,
        "initial_eval": final[0],
        "final_eval": final[-1],
    }
    with open(os.path.join(workdir, "summary.json"), "w") as f:
        json.dump(summary, f, indent=1)
    return summary
