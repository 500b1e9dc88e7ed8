# make run: a short countdown RL run, the `small` testbed (2 layers, 200 RL steps; base model cached
# under cache/), with a before/after table. The default testbed is `run.py --config=configs/countdown.py`.
# make test: the test suite. Both create .venv and install the pinned requirements first.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
WORKDIR ?= workdirs/countdown-small-uniform

.PHONY: run test bench lint clean

$(VENV)/installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	touch $@

run: $(VENV)/installed
	$(PY) run.py --config=configs/countdown.py:small --workdir=$(WORKDIR)

test: $(VENV)/installed
	$(PY) -m pytest -q tests

bench: $(VENV)/installed
	$(PY) -m experiments.benchmark

lint: $(VENV)/installed
	$(VENV)/bin/ruff format --check . && $(VENV)/bin/ruff check --select F,E9 .

clean:  # the venv only: workdirs/ and cache/ hold runs and base models
	rm -rf $(VENV)
