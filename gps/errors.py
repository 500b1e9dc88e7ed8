"""User-facing errors: `run.py` prints these as one line and exits non-zero."""


class GPSError(Exception):
    """A problem with the user's input (config, workdir, checkpoint), not a bug."""


class ConfigError(GPSError):
    pass


class CheckpointError(GPSError):
    pass
