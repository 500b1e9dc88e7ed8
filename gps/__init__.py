"""gps: online prompt selection (GPS, MoPPS, DS, Uniform and the field) for RL post-training,
in JAX.

    gps.selectors   the selectors: what an engine imports (of the rest: gps.errors and the
                    orbax wrapper in gps.records.checkpoint)
    gps.testbed     a small Flax policy trained with GRPO on generated verifiable tasks
    gps.records     run folders: config, logs, checkpoints, provenance
    gps.test_time   test-time sample allocation by predicted difficulty
    gps.engines     adapters for tunix and verl
"""
