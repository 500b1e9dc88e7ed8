# make run: Uniform, GPS and DS from one cached base on countdown's `small` testbed (2 layers, 200
# RL steps), two at a time, then a paired table and a PNG of accuracy against rollouts
# (experiments/quickstart.py; runs in workdirs/quickstart). One run: `python run.py --config=...`.
# make test: the test suite. Both create .venv and install the pinned requirements first.
# make test-tunix / make test-verl: the engine adapters against the engines' real classes, each
# in its own venv (.venv-tunix, .venv-verl): tunix and verl are installed --no-deps, as their
# declared pins clash with ours; requirements-{tunix,verl}.txt list what their code paths import.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
.PHONY: run test test-tunix test-verl bench lint clean

$(VENV)/installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/installed
	$(PY) -m experiments.quickstart

test: $(VENV)/installed
	$(PY) -m pytest -q tests

.venv-tunix/installed: requirements.txt requirements-tunix.txt
	$(PYTHON) -m venv .venv-tunix
	.venv-tunix/bin/python -m pip install --quiet --upgrade pip
	.venv-tunix/bin/python -m pip install --quiet -r requirements.txt
	.venv-tunix/bin/python -m pip install --quiet --no-deps -r requirements-tunix.txt
	touch $@

.venv-verl/installed: requirements.txt requirements-verl.txt
	$(PYTHON) -m venv .venv-verl
	.venv-verl/bin/python -m pip install --quiet --upgrade pip
	.venv-verl/bin/python -m pip install --quiet -r requirements-verl.txt
	.venv-verl/bin/python -m pip install --quiet --no-deps verl==0.7.1
	touch $@

test-tunix: .venv-tunix/installed
	.venv-tunix/bin/python -m pytest -q tests/engines/test_tunix_adapter.py

test-verl: .venv-verl/installed
	.venv-verl/bin/python -m pytest -q -p no:warnings tests/engines/test_verl_sampler.py

bench: $(VENV)/installed
	$(PY) -m experiments.benchmarks.testbed

lint: $(VENV)/installed
	$(VENV)/bin/ruff format --check . && $(VENV)/bin/ruff check --select F,E9 .

clean:  # the venvs only: workdirs/ and cache/ hold runs and base models
	rm -rf $(VENV) .venv-tunix .venv-verl
