# Two entry points, both self-installing on a fresh machine:
#   make demo  -> builds .venv, runs the whole pipeline on the Niort demo data, prints the outputs
#   make test  -> builds .venv, runs the test suite
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test ui clean system-packages

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)
	$(BIN)/qpv-observatory run

# The report test opens the HTML report in headless Chromium (Debian package). On a fresh CI
# machine (root) it is installed here; elsewhere the test says how to get it.
# Quiet unless it fails: then its whole output is shown.
system-packages:
	@if ! command -v chromium >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then \
		echo "Installation de Chromium (paquet Debian) pour le test du rapport…"; \
		log=$$(mktemp); \
		{ apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends chromium fonts-dejavu-core; } >"$$log" 2>&1 \
			|| { cat "$$log"; rm -f "$$log"; exit 1; }; \
		rm -f "$$log"; \
	fi

test: $(STAMP) system-packages
	$(BIN)/python -m pytest

ui: $(STAMP)
	DAGSTER_HOME=$(CURDIR)/.dagster_home $(BIN)/dagster dev -m pipelines.definitions

clean:
	rm -rf $(VENV) .dagster_home
