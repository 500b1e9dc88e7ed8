"""GRPO with tunix's learner while a project selector chooses every batch (gps.engines).

Real weights, a Hugging Face checkpoint directory (safetensors + tokenizer) of Qwen3 or Llama3:

  python -m experiments.tunix_grpo --model_path=/ckpt/Qwen3-0.6B --family=qwen3 \
      --model_config=qwen3_0p6b --task=countdown --selector=gps --steps=200 \
      --batch=16 --generations=8 --workdir=workdirs/tunix-qwen3-gps

Tiny (CI): tunix's test ToyTransformer with random weights and MockVocab on 2 fake CPU
devices, prompts "w1 w2" whose reward is 1 when a completion contains w2:

  python -m experiments.tunix_grpo --tiny --workdir=/tmp/tunix-tiny

Rewards are verifier scores (1/0); a rollout succeeds for the selector when its reward > 0.
The selector runs on the CPU (`--selector_device`) beside the accelerators tunix trains on.
Running again with the same --workdir resumes from tunix's latest checkpoint, with the
selector saved at that step. The run ends with one JSON line (`summary.json` in workdir).
"""

import os
import sys

if "--tiny" in sys.argv and "xla_force_host_platform_device_count" not in os.environ.get(
    "XLA_FLAGS", ""
):  # fake CPU devices must be asked for before jax starts
    os.environ["XLA_FLAGS"] = (
        os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=2"
    ).strip()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")

import dataclasses
import json
import re

import numpy as np
from absl import app, flags

from gps.errors import GPSError
from gps.records import run_folder

_MODEL_PATH = flags.DEFINE_string("model_path", None, "HF checkpoint dir (safetensors, tokenizer).")
_FAMILY = flags.DEFINE_enum("family", "qwen3", ["qwen3", "llama3"], "Model family in tunix.models.")
_MODEL_CONFIG = flags.DEFINE_string(
    "model_config", "qwen3_0p6b", "ModelConfig classmethod of the family, e.g. llama3p2_1b."
)
_TINY = flags.DEFINE_bool("tiny", False, "Random tiny toy model on fake CPU devices (CI).")
_TASK = flags.DEFINE_enum(
    "task", "countdown", ["countdown", "arithmetic"], "gps.testbed.tasks task."
)
_POOL = flags.DEFINE_integer("pool", 2048, "Prompts in the pool.")
_SELECTOR = flags.DEFINE_string("selector", "gps", "gps, mopps, uniform, ...")
_SMALL_GPS = flags.DEFINE_bool("small_gps", False, "A small GPS predictor (tests).")
_SELECTOR_DEVICE = flags.DEFINE_string("selector_device", "cpu", "Where the selector runs.")
_STEPS = flags.DEFINE_integer("steps", 200, "Optimizer steps (tunix max_steps).")
_BATCH = flags.DEFINE_integer("batch", 16, "Prompts per batch (B).")
_GENERATIONS = flags.DEFINE_integer("generations", 8, "Rollouts per prompt (G).")
_MAX_TOKENS = flags.DEFINE_integer("max_tokens", 256, "Tokens generated per rollout.")
_MAX_PROMPT = flags.DEFINE_integer("max_prompt_length", 256, "Prompt tokens.")
_LR = flags.DEFINE_float("learning_rate", 1e-6, "AdamW learning rate.")
_BETA = flags.DEFINE_float("beta", 0.04, "KL coefficient.")
_SAVE_EVERY = flags.DEFINE_integer("save_every", 20, "Checkpoint interval (steps).")
_MESH = flags.DEFINE_list("mesh", None, "fsdp,tp sizes (default: all devices on fsdp).")
flags.register_validator(
    "mesh",
    lambda v: v is None or (len(v) == 2 and all(x.isdigit() and int(x) > 0 for x in v)),
    "must be two positive integers: fsdp,tp",
)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the pool, the selector and the model.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Checkpoints, selector and summary.", required=True)

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.S)


@dataclasses.dataclass(frozen=True)
class Options:
    """The command's flags, read once in main."""

    model_path: str | None
    family: str
    model_config: str
    tiny: bool
    task: str
    pool: int
    selector: str
    small_gps: bool
    selector_device: str
    steps: int
    batch: int
    generations: int
    max_tokens: int
    max_prompt_length: int
    learning_rate: float
    beta: float
    save_every: int
    mesh: tuple[str, ...]  # empty: every device on fsdp
    seed: int
    workdir: str


def _fail(message: str):
    print(f"error: {message}", file=sys.stderr)
    sys.exit(2)


def _mesh(jax, sizes: tuple[str, ...]):
    """The (fsdp, tp) device mesh of --mesh `sizes` (none: every device on fsdp)."""
    n = jax.device_count()
    fsdp, tp = (int(x) for x in sizes) if sizes else (n, 1)
    if fsdp * tp != n:
        _fail(f"--mesh={fsdp},{tp} does not cover the {n} devices")
    auto = (jax.sharding.AxisType.Auto,) * 2  # tunix's models shard by annotations
    return jax.make_mesh((fsdp, tp), ("fsdp", "tp"), axis_types=auto)


def _tiny_setup(nnx, seed: int, pool: int):
    """tunix's test ToyTransformer (random, 1 layer) and MockVocab; a word-echo task of up to
    `pool` prompts."""
    from tunix.tests import test_common as tc

    vocab = tc.MockVocab()
    words = [w for w, i in vocab.DEFAULT_MAPPING.items() if i > 2]
    rng = np.random.default_rng(seed)
    pairs = [(a, b) for a in words for b in words if a != b]
    chosen = rng.choice(len(pairs), size=min(pool, len(pairs)), replace=False)
    prompts = [f"{pairs[i][0]} {pairs[i][1]}" for i in chosen]
    answers = [pairs[i][1] for i in chosen]

    def model(seed):
        config = tc.ModelConfig(vocab_size=vocab.GetPieceSize(), num_layers=1)
        return tc.ToyTransformer(config=config, rngs=nnx.Rngs(seed))

    def verify(index: int, completion: str) -> float:
        return float(answers[index] in completion.split())

    return model(seed), model(seed), vocab, prompts, prompts, verify


def _real_setup(mesh, options: Options):
    """A Qwen3/Llama3 checkpoint from tunix.models and a gps.testbed.tasks task with its
    verifier."""
    path = options.model_path
    try:
        import transformers
    except ImportError:
        _fail("real checkpoints need the HF tokenizer: pip install transformers")
    if options.family == "qwen3":
        from tunix.models.qwen3 import model as family, params
    else:
        from tunix.models.llama3 import model as family, params
    make_config = getattr(family.ModelConfig, options.model_config, None)
    if make_config is None:
        _fail(f"--model_config={options.model_config} is not a {options.family} ModelConfig")
    tokenizer = transformers.AutoTokenizer.from_pretrained(path)

    def model():
        return params.create_model_from_safe_tensors(path, make_config(), mesh)

    from gps.testbed.tasks import get_task

    task = get_task(options.task)
    problems = task.make_split(options.seed, "train", options.pool)
    instruction = " Reply with the expression only, inside <answer></answer>."
    prompts = [
        tokenizer.apply_chat_template(
            [{"role": "user", "content": p.text + instruction}],
            tokenize=False,
            add_generation_prompt=True,
        )
        for p in problems
    ]

    def verify(index: int, completion: str) -> float:
        found = _ANSWER.findall(completion)
        return task.verify(problems[index], found[-1].strip()) if found else 0.0

    return model(), model(), tokenizer, prompts, [p.text for p in problems], verify


def _check_model_path(path: str | None):
    if not path:
        _fail("give --model_path (a checkpoint directory) or --tiny")
    if not os.path.isdir(path) or not any(f.endswith(".safetensors") for f in os.listdir(path)):
        _fail(f"--model_path={path} is not a directory with *.safetensors files")


def _flags() -> Options:
    """Every flag, read once."""
    return Options(
        model_path=_MODEL_PATH.value,
        family=_FAMILY.value,
        model_config=_MODEL_CONFIG.value,
        tiny=_TINY.value,
        task=_TASK.value,
        pool=_POOL.value,
        selector=_SELECTOR.value,
        small_gps=_SMALL_GPS.value,
        selector_device=_SELECTOR_DEVICE.value,
        steps=_STEPS.value,
        batch=_BATCH.value,
        generations=_GENERATIONS.value,
        max_tokens=_MAX_TOKENS.value,
        max_prompt_length=_MAX_PROMPT.value,
        learning_rate=_LR.value,
        beta=_BETA.value,
        save_every=_SAVE_EVERY.value,
        mesh=tuple(_MESH.value or ()),
        seed=_SEED.value,
        workdir=_WORKDIR.value,
    )


def _cluster_config(mesh, workdir: str, options: Options):
    """tunix's cluster: every role on the one mesh, the vanilla rollout, the GRPO schedule."""
    import optax
    import orbax.checkpoint as ocp
    from tunix.rl import rl_cluster as rl
    from tunix.rl.rollout import base_rollout

    from gps.records.checkpoint import CHECKPOINTS

    return rl.ClusterConfig(
        role_to_mesh={role: mesh for role in (rl.Role.ACTOR, rl.Role.REFERENCE, rl.Role.ROLLOUT)},
        rollout_engine="vanilla",
        offload_to_cpu=False,
        training_config=rl.RLTrainingConfig(
            actor_optimizer=optax.adamw(options.learning_rate),
            eval_every_n_steps=10**9,
            max_steps=options.steps,
            checkpoint_root_directory=os.path.join(workdir, CHECKPOINTS),
            checkpointing_options=ocp.CheckpointManagerOptions(
                save_interval_steps=options.save_every, max_to_keep=2
            ),
            pbar_description=None,
        ),
        rollout_config=base_rollout.RolloutConfig(
            max_tokens_to_generate=options.max_tokens,
            max_prompt_length=options.max_prompt_length,
            kv_cache_size=options.max_prompt_length + options.max_tokens + 256,
            temperature=1.0 if options.tiny else 0.9,
            seed=options.seed,  # an int: the sampler makes (and donates) its own key
        ),
    )


def _report(feed, train_steps: int, resumed_at: int, scored: list, workdir: str) -> None:
    """Writes the run's summary.json (the selector's bookkeeping) and prints its one line."""
    state = feed.selector.state  # GPS's history: state["model"]["replay"]
    replay = state["model"].get("replay") if isinstance(state, dict) and "model" in state else None
    if replay is not None:
        replay = {k: np.asarray(v).tolist() for k, v in replay.items()}
    summary = {
        "resumed_at": resumed_at,
        "train_steps": train_steps,
        "selections": feed.selector.selections,
        "updates": feed.selector.updates,
        "early_selections": feed.early_selections,
        "history": feed.history,
        "scored": scored,
        "pending": {str(b): v for b, v in feed.pending.items()},
        "replay": replay,
        "selector_saves": sorted(os.listdir(feed.save_dir)) if feed.save_dir else [],
    }
    os.makedirs(workdir, exist_ok=True)
    run_folder.write_json(run_folder.path(workdir, run_folder.SUMMARY), summary)
    line = {k: summary[k] for k in ("resumed_at", "train_steps", "selections", "updates")}
    line["success_rate"] = float(np.mean([r > 0 for _, _, r in scored])) if scored else None
    print(json.dumps(line | {"rollouts": len(scored)}))


def run(options: Options) -> None:
    """One GRPO run in tunix with a project selector choosing every batch."""
    if not options.tiny:
        _check_model_path(options.model_path)  # before the slow imports
    import jax
    from flax import nnx
    from tunix.rl import rl_cluster as rl
    from tunix.rl.grpo import grpo_learner

    from gps.engines.tunix import PROMPT_ID, SelectorFeed
    from gps.selectors import PromptSelector, selector_config

    mesh = _mesh(jax, options.mesh)
    if options.tiny:
        setup = _tiny_setup(nnx, options.seed, options.pool)
    else:
        setup = _real_setup(mesh, options)
    actor, reference, tokenizer, prompts, texts, verify = setup

    config = selector_config(options.selector)
    if options.small_gps:
        config.model.update(hidden=16, z_dim=4, encoder_layers=1, samples=2, replay=2)
    selector = PromptSelector(
        texts,
        config,
        batch_size=options.batch,
        n_rollouts=options.generations,
        seed=options.seed,
        device=options.selector_device,
    )
    feed = SelectorFeed(selector, prompts)

    scored = []  # (batch, prompt id, reward) of every training rollout, as tunix got them

    def verifier_reward(prompts, completions, **kwargs):
        ids = kwargs[PROMPT_ID]
        rewards = [verify(int(i), c) for i, c in zip(ids, completions)]
        if "gps_batch" in kwargs:
            scored.extend(zip(map(int, kwargs["gps_batch"]), map(int, ids), rewards))
        return rewards

    workdir = os.path.abspath(options.workdir)
    cluster_config = _cluster_config(mesh, workdir, options)
    cluster = rl.RLCluster(
        actor=actor, reference=reference, tokenizer=tokenizer, cluster_config=cluster_config
    )
    learner = grpo_learner.GRPOLearner(
        cluster,
        grpo_learner.GRPOConfig(num_generations=options.generations, beta=options.beta),
        reward_fns=[verifier_reward],
        metric_fns=[feed.metric_fn],
    )
    feed.attach(learner)
    resumed_at = cluster.actor_trainer.train_steps
    learner.train(feed)

    _report(feed, cluster.actor_trainer.train_steps, resumed_at, scored, workdir)


def main(argv):
    del argv
    try:
        run(_flags())
    except GPSError as e:  # an unknown selector, a bad pool or G that the learner disagrees with
        _fail(str(e))


if __name__ == "__main__":
    app.run(main)
