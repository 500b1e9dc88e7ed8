"""The RL loop: select -> roll out -> verify -> GRPO update -> selector update -> log.

`Trainer.train_step` and `Trainer.eval_step` are functions of an explicit state, the pytree
a checkpoint holds (policy, optimizer and selector state, step, rollout count, wall time);
per-step keys come from `fold_in(stream key, step)` of the config's seed, so a resumed run
reproduces an uninterrupted one. Rollouts and GRPO updates run data-parallel over the
run's mesh (`gps.testbed.sharding`); checkpoints restore into the mesh's shardings.
"""

import dataclasses
import functools
import os
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.sharding import Mesh

from gps.testbed import config as config_lib
from gps.testbed import grpo, progress, sharding, warmup
from gps.records.checkpoint import Checkpointer
from gps.errors import CheckpointError, ConfigError
from gps.testbed.evaluation import evaluate, pass_rate_report
from gps.testbed.model import ModelConfig, count_params
from gps.testbed.optimizer import make_optimizer
from gps.records import run_folder
from gps.records.provenance import code_version, machine
from gps.testbed.rollout import RolloutEngine, Rollouts
from gps.records.run_logs import RunLogs
from gps.selectors import Pool, Selection, Selector, check_selector_config, make_selector
from gps.selectors.diagnostics import prediction_metrics
from gps.testbed.tasks import Problem, get_task
from gps.testbed.tokenizer import CharTokenizer

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
    mesh: Mesh
    rollout_budget: int  # rollouts per RL step (config.rollout_budget, 0 resolved to B × n)


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
    mesh = sharding.make_mesh(config.parallel.devices, config.batch_size * config.n_rollouts)
    engine = RolloutEngine(
        task,
        tokenizer,
        model_cfg,
        prompt_len,
        max_new,
        chunk=config.batch_size * config.n_rollouts,
        prefill=shortest + 1,  # + BOS
        row_sharding=sharding.data_sharding(mesh),
    )
    root = jax.random.key(config.seed)
    keys = dict(zip(STREAMS, jax.random.split(root, len(STREAMS))))
    rollout_budget = config.rollout_budget or config.batch_size * config.n_rollouts
    return Setup(
        config,
        task,
        pool,
        eval_sets,
        warmup_problems,
        tokenizer,
        model_cfg,
        engine,
        keys,
        mesh,
        rollout_budget,
    )


def sample_rollouts(setup: Setup, params, problems, key, counts=None):
    """Samples at the training temperature: counts[i] of problem i, n_rollouts each by default
    (pass rates of a policy)."""
    cfg = setup.config
    counts = cfg.n_rollouts if counts is None else counts
    return setup.engine.generate(params, problems, counts, key, temperature=cfg.rl.temperature)


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


@dataclasses.dataclass(frozen=True)
class Trainer:
    """One run's step functions over an explicit state (the checkpoint's pytree of arrays:
    policy, optimizer state, selector state, step, rollouts counted, wall-clock). Nothing here
    changes during a run; per-step keys are `fold_in(stream key, step)`, so a resumed run
    reproduces an uninterrupted one."""

    setup: Setup
    selector: Selector
    optimizer: optax.GradientTransformation
    base_params: object  # on the mesh; the KL reference
    mesh: Mesh

    @classmethod
    def create(cls, setup: Setup, base_params) -> "Trainer":
        config = setup.config
        selector = make_selector(
            config.selector,
            Pool(tuple(p.text for p in setup.pool), groups=tuple(p.family for p in setup.pool)),
            batch_size=config.batch_size,
            n_rollouts=config.n_rollouts,
            rollout_budget=setup.rollout_budget,
        )
        optimizer = make_optimizer(
            config.rl.lr, weight_decay=config.rl.weight_decay, grad_clip=config.rl.grad_clip
        )
        base_params = sharding.place_params(base_params, setup.mesh, config.parallel.params)
        return cls(setup, selector, optimizer, base_params, setup.mesh)

    def init_state(self) -> dict:
        """The state at step 0 (also the template a checkpoint restores into, shardings and
        all). The policy is a fresh copy: `grpo.update` donates it, the base stays."""
        layout = self.setup.config.parallel.params
        policy = sharding.place_params(jax.tree.map(jnp.copy, self.base_params), self.mesh, layout)
        return {
            "params": policy,
            "opt_state": sharding.place_params(self.optimizer.init(policy), self.mesh, layout),
            "selector": self.selector.init(self.setup.keys["select"]),
            "step": np.asarray(0),
            "rollouts": np.asarray(0),
            "wall_s": np.asarray(0.0),
        }

    def generate(self, params, indices, key, counts=None) -> Rollouts:
        """`sample_rollouts` of the pool prompts `indices`."""
        problems = [self.setup.pool[i] for i in indices]
        return sample_rollouts(self.setup, params, problems, key, counts)

    def budgets(self, selection: Selection) -> np.ndarray:
        """Rollouts per chosen prompt: the selector's allocation, else an equal share of the
        step's budget; either way adding up to it."""
        total = self.setup.rollout_budget
        if selection.budgets is None:
            b = len(selection.indices)
            return total // b + (np.arange(b) < total % b)
        budgets = np.asarray(selection.budgets, np.int64)
        if budgets.shape != selection.indices.shape or budgets.min() < 0 or budgets.sum() != total:
            raise ValueError(
                f"selector {self.selector.config.name!r} allocated {budgets.tolist()} rollouts; "
                f"expected {len(selection.indices)} non-negative counts adding up to {total}"
            )
        return budgets

    def train_step(self, state: dict) -> tuple[dict, dict]:
        """select → roll out → verify → GRPO update → selector update; the next state and
        the step's metrics."""
        config, keys = self.setup.config, self.setup.keys
        step, params = int(state["step"]), state["params"]
        start = time.time()
        # Selection (a screening selector rolls prompts out itself), then the batch's rollouts.
        rollout_fn = CountedRollouts(functools.partial(self.generate, params))
        selection = self.selector.select(
            state["selector"], jax.random.fold_in(keys["select"], step), rollout_fn
        )
        screen_s = rollout_fn.seconds  # the selector's own rollouts: timed in sample_s
        selector_s = time.time() - start - screen_s
        key = jax.random.fold_in(keys["rollout"], step)
        rollouts = selection.training_rollouts(rollout_fn, key, self.budgets(selection))
        sampled_at = time.time()
        batch = _rollout_batch(rollouts, rows_multiple=self.setup.engine.chunk)
        params, opt_state, update_metrics = grpo.update(
            params,
            state["opt_state"],
            jax.device_put(batch, sharding.data_sharding(self.mesh)),
            self.base_params if config.rl.kl_coef > 0 else None,
            cfg=self.setup.model_cfg,
            optimizer=self.optimizer,
            updates=config.rl.updates_per_batch,
            clip_eps=config.rl.clip_eps,
            kl_coef=config.rl.kl_coef,
            temperature=config.rl.temperature,
        )
        update_metrics = {k: float(v) for k, v in update_metrics.items()}
        if not np.isfinite(update_metrics["loss"]):
            raise FloatingPointError(f"non-finite GRPO loss at step {step + 1}")
        updated_at = time.time()
        successes, trials = rollouts.successes, rollouts.counts
        selector_state = self.selector.update(state["selector"], *selection.outcomes(rollouts))
        jax.block_until_ready(selector_state)
        selector_s += time.time() - updated_at
        step_s = time.time() - start
        new = {
            "params": params,
            "opt_state": opt_state,
            "selector": selector_state,
            "step": np.asarray(step + 1),
            "rollouts": state["rollouts"] + rollout_fn.generated,
            "wall_s": state["wall_s"] + step_s,
        }
        record = {
            "step": step + 1,
            "rollouts": int(new["rollouts"]),
            "effective_ratio": float(((successes > 0) & (successes < trials)).mean()),
            "train_success": float(rollouts.rewards.mean()),
            **prediction_metrics(selection.predictions, successes / np.maximum(trials, 1)),
            **selection.info,
            "completion_len": float(rollouts.samples.mask.sum(1).mean()),
            "selector_s": selector_s,
            "selector_rollout_s": screen_s,
            "sample_s": rollouts.sample_s,
            "verify_s": rollouts.verify_s,
            "update_s": updated_at - sampled_at,
            "step_s": step_s,
            "wall_s": float(new["wall_s"]),
            **update_metrics,
        }
        if selection.note:
            record["note"] = selection.note
        return new, record

    def eval_step(self, state: dict) -> dict:
        """Held-out accuracy of the policy and the selector's predictions for those prompts.
        The first and last evaluations take eval.k samples and greedy decoding, the ones
        between eval.intermediate_k samples: all of them over the whole sets."""
        config, keys = self.setup.config, self.setup.keys
        step, start = int(state["step"]), time.time()
        full = step in (0, config.steps)
        k = config.eval.k if full else config.eval.intermediate_k
        eval_sets = self.setup.eval_sets
        results, rates = evaluate(
            self.setup.engine,
            state["params"],
            eval_sets,
            k=k,
            temperature=config.eval.temperature,
            key=jax.random.fold_in(keys["eval"], step),
            greedy=full,
        )
        names = sorted(eval_sets)  # held-out prompts: never in the selector's pool
        predicted = self.selector.predict_unseen(
            state["selector"],
            jax.random.fold_in(keys["predict"], step),
            [p.text for name in names for p in eval_sets[name]],
        )
        observed = np.concatenate([rates[name] for name in names])
        return {
            "step": step,
            "rollouts": int(state["rollouts"]),
            "wall_s": float(state["wall_s"]),
            "eval_k": k,
            **results,
            **prediction_metrics(predicted, observed, prefix="eval_pred"),
            "eval_s": time.time() - start,
        }


class CountedRollouts:
    """A rollout function that counts what it generates and the seconds it takes: every
    rollout of a step, a screening selector's included, is part of the run's cost."""

    def __init__(self, generate):
        self._generate = generate
        self.generated, self.seconds = 0, 0.0

    def __call__(self, indices, key, counts=None) -> Rollouts:
        start = time.time()
        rollouts = self._generate(indices, key, counts)
        self.seconds += time.time() - start
        self.generated += len(rollouts.rewards)
        return rollouts


def _rollout_batch(rollouts: Rollouts, rows_multiple: int) -> grpo.RolloutBatch:
    """The GRPO batch, its rows padded with masked-out copies to a multiple of
    `rows_multiple` (few distinct shapes to compile; rows split evenly over the mesh)."""
    advantages = grpo.group_advantages(rollouts.rewards, rollouts.counts)
    s = rollouts.samples
    pad = -len(advantages) % rows_multiple
    grow = lambda x: np.concatenate([x, np.zeros((pad, *x.shape[1:]), x.dtype)])
    return grpo.RolloutBatch(grow(s.tokens), grow(s.logprobs), grow(s.mask), grow(advantages))


@dataclasses.dataclass
class TrainedRun:
    setup: Setup
    params: object  # the policy at the latest checkpoint
    selector: Selector
    selector_state: object
    step: int


def load_run(workdir: str, log=print) -> TrainedRun:
    """A run's policy and selector at its latest checkpoint, rebuilt from its config.json."""
    setup = build(run_folder.load_config(workdir, config_lib.upgrade_recorded))
    base_params, _ = base_model(setup, log)
    trainer = Trainer.create(setup, base_params)
    ckpt = Checkpointer(workdir)
    latest = ckpt.latest_step()
    if latest is None:
        raise CheckpointError(f"{workdir} has no checkpoint")
    state = ckpt.restore(latest, trainer.init_state())
    return TrainedRun(setup, state["params"], trainer.selector, state["selector"], latest)


def _eval_line(record: dict) -> str:
    return "eval " + " ".join(f"{k}={v:.3f}" for k, v in record.items() if "/" in k)


def train(config, workdir: str, log=print) -> dict:
    """Runs (or resumes) one RL run in `workdir`; returns the summary."""
    code = code_version()  # what this process runs: HEAD may move while it trains
    setup = build(config)
    os.makedirs(workdir, exist_ok=True)
    ckpt = Checkpointer(workdir)
    latest = ckpt.latest_step()
    run_folder.prepare(workdir, config, latest, config_lib.upgrade_recorded)
    base_params, base_path = base_model(setup, log)
    trainer = Trainer.create(setup, base_params)
    state = trainer.init_state()
    if latest is not None:
        state = ckpt.restore(latest, state)
        log(f"resumed from step {latest}")
    log(
        f"policy: {count_params(state['params']):,} parameters on {setup.mesh.devices.size} "
        f"device(s); pool {len(setup.pool)}; selector {config.selector.name}"
    )
    with (
        RunLogs(workdir, latest) as logs,  # closed on a crash too: TensorBoard keeps its events
        progress.bar(config.steps, "RL", initial=int(state["step"])) as steps_bar,
    ):
        say = progress.printer(steps_bar, log)
        while (step := int(state["step"])) < config.steps:
            if step % config.eval.every == 0:
                steps_bar.set_postfix_str("evaluating")
                logs.evaluation(record := trainer.eval_step(state))
                say(_eval_line(record))
            state, record = trainer.train_step(state)
            logs.step(record)
            steps_bar.update()
            steps_bar.set_postfix(
                eff=f"{record['effective_ratio']:.2f}", rollouts=record["rollouts"]
            )
            step += 1
            if "note" in record:
                say(f"step {step}: {record['note']}")
            if step % 10 == 0 or step == config.steps:
                say(
                    f"step {step}/{config.steps} rollouts {record['rollouts']} "
                    f"eff {record['effective_ratio']:.2f} success {record['train_success']:.3f} "
                    f"{record['step_s']:.2f}s/step"
                )
            if step % config.checkpoint_every == 0 or step == config.steps:
                ckpt.save(step, state)
        evals = logs.evals.read()
        if not evals or evals[-1]["step"] != int(state["step"]):
            steps_bar.set_postfix_str("evaluating")
            evals.append(trainer.eval_step(state))
            logs.evaluation(evals[-1])
            say(_eval_line(evals[-1]))
    summary = {
        "code": code,
        "machine": machine(),  # of the process that finished the run
        "steps": int(state["step"]),
        "rollouts": int(state["rollouts"]),
        "wall_s": float(state["wall_s"]),
        "base_model": base_path,
        "initial_eval": evals[0],
        "final_eval": evals[-1],
    }
    run_folder.write_json(run_folder.path(workdir, run_folder.SUMMARY), summary)
    return summary
