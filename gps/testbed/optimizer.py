"""The optax optimizer used by both warm-up and RL: clipped AdamW with an lr schedule."""

import optax


def make_optimizer(
    lr: float,
    *,
    weight_decay: float = 0.0,
    grad_clip: float = 1.0,
    warmup_steps: int = 0,
    decay_steps: int = 0,
) -> optax.GradientTransformation:
    """Linear warm-up to `lr`, then constant, or cosine decay to lr/10 over `decay_steps` if > 0."""
    if decay_steps:
        schedule = optax.warmup_cosine_decay_schedule(0.0, lr, warmup_steps, decay_steps, lr / 10)
    elif warmup_steps:
        schedule = optax.linear_schedule(0.0, lr, warmup_steps)
    else:
        schedule = lr
    return optax.chain(
        optax.clip_by_global_norm(grad_clip),
        optax.adamw(schedule, weight_decay=weight_decay),
    )
