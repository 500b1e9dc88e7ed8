"""Test-time allocation over seeds: mean gain ± 95% t-interval across the runs scored by
`experiments.test_time.score`.

  python -m experiments.test_time.summary DIR [DIR ...] [--out=FILE]

Each DIR is an `experiments.test_time.score --out` folder (its test_time.jsonl). For every budget K and
allocation (point, calibrated, validated, oracle-rate), the gain over uniform best-of-K is averaged
over the runs (one per seed) with a Student-t interval, and the runs whose own paired
interval (±1.96 SE over prompts) lies wholly below 0 are counted, of those that have one:
the target "not below uniform at any K" is about them. A run's gain is its allocation's
accuracy minus uniform's on the same samples.
"""

import os
import sys

from absl import app, flags

from gps.test_time.summary import load_rows, markdown, summarize
from gps.errors import ConfigError

_OUT = flags.DEFINE_string("out", None, "Also write the Markdown table to this file.")


def main(argv):
    folders, out = argv[1:], _OUT.value
    if not folders:
        raise app.UsageError("give at least one test_time output folder")
    try:
        if len(set(map(os.path.realpath, folders))) < len(folders):
            raise ConfigError("a folder is given twice (each run counts once)")
        table = markdown(summarize([load_rows(folder) for folder in folders]))
        text = "Runs: " + ", ".join(folders) + "\nGain: mean ± 95% t-interval over runs.\n\n"
        text += table
        if out:
            with open(out, "w") as f:
                f.write(text + "\n")
    except (ConfigError, OSError) as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    print(text)


if __name__ == "__main__":
    app.run(main)
