# Two entry points, both self-installing on a fresh machine:
#   make demo  -> builds .venv, runs the whole pipeline on the Niort demo data, prints the outputs
#   make test  -> builds .venv, runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test ui clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/qpv-observatory run

test: $(STAMP)
	$(BIN)/python -m pytest

ui: $(STAMP)
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev -m pipelines.definitions

clean:
	rm -rf $(VENV) .dagster_home
