"""User-facing errors: `run.py` prints these as one line and exits non-zero."""


class GPSError(Exception):
    """A problem with the user's input (config, workdir, checkpoint), not a bug."""


class ConfigError(GPSError):
    pass


class CheckpointError(GPSError):
    pass


class OutcomeError(GPSError, ValueError):
    """Outcomes a selector cannot learn from (NaN, negative, more successes than trials,
    unknown prompts): rejected before any state changes."""
