"""Supervised warm-up: the 'base model' that RL starts from, cached by its config.

A real base LLM writes plausible attempts that are often wrong. We reproduce that
by training on noisy demonstrations: for each prompt, a correct reference solution
with probability `correct_fraction`, otherwise the task's plausible wrong attempt.
The base then solves some prompts always, some never and many sometimes, which
is the regime where RL (and prompt selection) matters.
"""

import contextlib
import dataclasses
import fcntl
import functools
import hashlib
import json
import os
import shutil
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from gps.records import checkpoint

from gps.testbed import progress
from gps.testbed.model import ModelConfig, Transformer, init_params
from gps.testbed.optimizer import make_optimizer
from gps.records.provenance import code_version, machine
from gps.testbed.tasks import ALPHABET, Problem, Task
from gps.testbed.tokenizer import CharTokenizer


def demonstrations(
    task: Task, problems: list[Problem], rng: np.random.Generator, correct_fraction: float
) -> list[str]:
    correct = rng.random(len(problems)) < correct_fraction
    return [task.solve(p, rng) if ok else task.attempt(p, rng) for p, ok in zip(problems, correct)]


def sft_loss(params, cfg: ModelConfig, tokens_BxL, mask_BxL):
    """Mean next-token cross-entropy over completion tokens."""
    logits, _ = Transformer(cfg).apply({"params": params}, tokens_BxL[:, :-1])
    nll = optax.softmax_cross_entropy_with_integer_labels(logits, tokens_BxL[:, 1:])
    mask = mask_BxL[:, 1:]
    return (nll * mask).sum() / jnp.maximum(mask.sum(), 1.0)


@functools.partial(
    jax.jit, static_argnames=("cfg", "optimizer"), donate_argnames=("params", "opt_state")
)
def sft_step(
    params,
    opt_state,
    tokens_BxL,
    mask_BxL,
    *,
    cfg: ModelConfig,
    optimizer: optax.GradientTransformation,
):
    loss, grads = jax.value_and_grad(sft_loss)(params, cfg, tokens_BxL, mask_BxL)
    deltas, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, deltas), opt_state, loss


def train_base(
    base_cfg,
    task: Task,
    tokenizer: CharTokenizer,
    model_cfg: ModelConfig,
    problems: list[Problem],
    seq_len: int,
    key,
    seed: int,
    log=print,
):
    """Runs the warm-up from scratch; returns (params, losses)."""
    rng = np.random.default_rng(seed)
    params = jax.device_put(init_params(model_cfg, key), jax.devices()[0])  # as RL's policy
    optimizer = make_optimizer(
        base_cfg.lr,
        weight_decay=base_cfg.weight_decay,
        warmup_steps=base_cfg.warmup_steps,
        decay_steps=base_cfg.steps,
    )
    opt_state = optimizer.init(params)
    losses, start = [], time.time()
    with progress.bar(base_cfg.steps, "warm-up") as steps_bar:
        say = progress.printer(steps_bar, log)
        for step in range(base_cfg.steps):
            batch = [problems[i] for i in rng.integers(0, len(problems), base_cfg.batch_size)]
            texts = demonstrations(task, batch, rng, base_cfg.correct_fraction)
            tokens, mask = tokenizer.encode_demos([p.prompt for p in batch], texts, seq_len)
            params, opt_state, loss = sft_step(
                params, opt_state, tokens, mask, cfg=model_cfg, optimizer=optimizer
            )
            steps_bar.update()
            if (step + 1) % max(1, base_cfg.steps // 10) == 0:
                losses.append(float(loss))
                say(
                    f"warm-up step {step + 1}/{base_cfg.steps} loss {float(loss):.3f} "
                    f"({time.time() - start:.0f}s)"
                )
    return params, losses


WARMUP_VERSION = 1  # bump when the warm-up, tokenizer or task generators change what is learnt


def base_entry(config, model_cfg: ModelConfig) -> tuple[str, dict]:
    """(cache folder, key) of the base for this config: keyed by what determines its params."""
    keyed = {
        "version": WARMUP_VERSION,
        "seed": config.seed,
        "task": {k: config.task[k] for k in ("name", "options", "train_families")},
        "model": dataclasses.asdict(model_cfg),
        "alphabet": ALPHABET,
        "base": {k: v for k, v in config.base.items() if k not in ("cache_dir", "report_size")},
    }
    keyed = json.loads(json.dumps(keyed, default=lambda x: x.to_dict()))
    digest = hashlib.sha256(json.dumps(keyed, sort_keys=True).encode()).hexdigest()[:12]
    return os.path.join(
        os.path.expanduser(config.base.cache_dir), f"{config.task.name}-seed{config.seed}-{digest}"
    ), keyed


@contextlib.contextmanager
def _exclusive(path: str):
    """An exclusive lock on `path`.lock: concurrent runs needing one base wait for the first."""
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    with open(f"{path}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def load_or_train(config, task, tokenizer, model_cfg, problems, seq_len, key, report_fn, log=print):
    """Returns (base params, cache path), training and caching them on first use.

    One process trains a given base while the others wait on its lock, then load it. The
    entry is written to a temporary folder and renamed into place, so an interrupted warm-up
    never leaves a half-written base behind.
    """
    path, keyed = base_entry(config, model_cfg)
    template = jax.eval_shape(lambda: init_params(model_cfg, key))

    def cached():
        if not os.path.exists(os.path.join(path, "base.json")):
            return None
        log(f"base model: cached at {path}")
        return checkpoint.restore_tree(os.path.join(path, "params"), template), path

    if found := cached():  # before the lock, so a read-only cache works
        return found
    with _exclusive(path):
        if found := cached():  # cached by another process while this one waited
            return found
        log(f"base model: training {config.base.steps} steps, to be cached at {path}")
        start = time.time()
        params, losses = train_base(
            config.base,
            task,
            tokenizer,
            model_cfg,
            problems,
            seq_len,
            key,
            seed=config.seed,
            log=log,
        )
        train_s = time.time() - start
        report = report_fn(params)
        log(
            f"base model pass rates (n={report['n']}): histogram {report['histogram']} "
            f"mean {report['mean']:.3f} pass {report['pass']:.3f}"
        )
        tmp = f"{path}.tmp{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        os.makedirs(tmp)
        checkpoint.save_tree(os.path.join(tmp, "params"), params)
        with open(os.path.join(tmp, "base.json"), "w") as f:
            json.dump(
                {
                    "config": keyed,
                    "code": code_version(),
                    "machine": machine(),
                    "losses": losses,
                    "train_s": train_s,
                    "pass_rates": report,
                },
                f,
                indent=1,
            )
        shutil.rmtree(path, ignore_errors=True)  # a stale entry left by an older interrupted run
        os.replace(tmp, path)
        return params, path
