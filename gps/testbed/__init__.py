"""The testbed: tasks, tokenizer, policy, sampling, rollouts, base-model warm-up, GRPO,
evaluation, sharding, the trainer and its config; the cheap lab where selectors are compared."""
