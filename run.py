"""Runs one RL experiment: python run.py --config=configs/countdown.py:smoke --workdir=DIR"""

import sys

from absl import app, flags, logging
from ml_collections import config_flags

from gps.errors import GPSError

_CONFIG = config_flags.DEFINE_config_file("config", None, "Config file (with :args).", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Run directory; a checkpoint there is resumed.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  del argv
  logging.set_verbosity(logging.WARNING)  # orbax logs every file it writes at INFO
  from gps import report, trainer  # after flag parsing: keeps `--help` fast
  try:
    summary = trainer.train(_CONFIG.value, _WORKDIR.value)
  except GPSError as e:
    print(f"error: {e}", file=sys.stderr)
    sys.exit(2)
  print(report.before_after_table(summary))


if __name__ == "__main__":
  app.run(main)
