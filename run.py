"""Runs one RL experiment: python run.py --config=configs/countdown.py:smoke --workdir=DIR"""

import logging as py_logging
import os
import sys

from absl import app, flags, logging
from ml_collections import config_flags

from gps.errors import GPSError

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Config file (with :args).", lock_config=True
)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory; a checkpoint there is resumed.")
flags.mark_flags_as_required(["config", "workdir"])


def fail(message: str) -> None:
    """One line on stderr, exit 2. os._exit skips interpreter teardown, where orbax's background
    threads would print tracebacks of their own after a failed restore; logs are already closed."""
    print(f"error: {message}", file=sys.stderr)
    sys.stdout.flush()
    sys.stderr.flush()
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # nothing printed after the error line: it stays the last one
    os.dup2(devnull, 2)
    os._exit(2)


def _closed_loop(value) -> bool:
    return isinstance(value, RuntimeError) and str(value) == "Event loop is closed"


def ignore_closed_loop_errors() -> None:
    """After a failed orbax restore, tensorstore callbacks that complete late try to schedule
    onto an event loop orbax has closed. The error surfaces from their threads as an
    'unraisable' exception whose traceback would print around our error line; it says
    nothing to the user, so it is dropped (every other unraisable error still prints)."""
    default = sys.unraisablehook

    def hook(unraisable):
        if not _closed_loop(unraisable.exc_value):
            default(unraisable)

    sys.unraisablehook = hook


def parse_flags(argv):
    """Flag parsing loads the config file and applies overrides: report bad ones in one line."""
    try:
        rest = flags.FLAGS(argv)
        _CONFIG.value.to_dict()  # a config file that failed to load raises only when read
        return rest
    except OSError as e:  # ml_collections wraps the file's own error (missing, unreadable)
        fail("cannot load the config file: " + str(e).strip().splitlines()[-1].strip())
    except (AttributeError, KeyError) as e:  # ConfigDict's answer to an unknown key
        text = (
            str(e).encode().decode("unicode_escape").replace("'", "")
        )  # it arrives repr()-escaped
        fail("no such config key: " + " ".join(text.split()))
    except (flags.Error, GPSError, TypeError, ValueError) as e:
        fail(f"bad flags or config: {e}")


def main(argv):
    del argv
    logging.set_verbosity(logging.WARNING)  # orbax logs every file it writes at INFO
    py_logging.getLogger("asyncio").setLevel(
        py_logging.CRITICAL
    )  # orbax's failed reads, reported below
    from gps.testbed import summary as report, trainer  # after flag parsing: keeps `--help` fast

    ignore_closed_loop_errors()

    try:
        summary = trainer.train(_CONFIG.value, _WORKDIR.value)
    except GPSError as e:
        fail(str(e))
    print(report.before_after_table(summary))


if __name__ == "__main__":
    app.run(main, flags_parser=parse_flags)
