"""The optax optimizer used by both warm-up and RL: clipped AdamW with optional warm-up."""

import optax


def make_optimizer(
    lr: float,
    *,
    weight_decay: float = 0.0,
    grad_clip: float = 1.0,
    warmup_steps: int = 0,
    b2: float = 0.999,
) -> optax.GradientTransformation:
    schedule = optax.linear_schedule(0.0, lr, warmup_steps) if warmup_steps else lr
    return optax.chain(
        optax.clip_by_global_norm(grad_clip),
        optax.adamw(schedule, b2=b2, weight_decay=weight_decay),
    )
