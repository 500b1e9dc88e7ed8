#!/usr/bin/env bash
# The testbed's headline measurement: the default countdown run with Uniform selection, 3 seeds.
# Each seed trains (or reuses) its own cached base model. Resumable: rerun to continue.
set -euo pipefail
cd "$(dirname "$0")/.."
for seed in 0 1 2; do
  .venv/bin/python run.py --config=configs/countdown.py:selector=uniform \
    --config.seed=$seed --workdir=workdirs/main-uniform-seed$seed
done
