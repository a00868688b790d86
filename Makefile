# Two commands on a fresh machine: `make demo` runs the product with demo data, `make test` passes the tests.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of PyTorch for sentence-transformers (the dev extra); override for a GPU machine.
TORCH_SPEC ?= torch==2.13.0

.PHONY: demo test install dev assets lint bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip setuptools wheel

$(VENV)/.installed: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/pip install --quiet -e .
	@touch $@

$(VENV)/.dev-installed: $(VENV)/.installed
	$(BIN)/pip install --quiet "$(TORCH_SPEC)"
	$(BIN)/pip install --quiet -e ".[dev]"
	@touch $@

install: $(VENV)/.installed assets

dev: $(VENV)/.dev-installed assets

# Front-end packages come from the npm registry at build time (never committed); see package.json.
assets:
	@if [ -f package.json ]; then \
	  if [ ! -d node_modules ] || [ package.json -nt node_modules ]; then npm install --no-audit --no-fund --silent && touch node_modules; fi; \
	  npm run --silent build; \
	fi

demo: install
	$(BIN)/cosmos demo

test: dev
	$(BIN)/python -m pytest

lint: dev
	$(BIN)/ruff check .

bench: dev
	$(BIN)/python bench/bench_import.py --rows 100000

clean:
	rm -rf $(VENV) instance node_modules marketplace/static/vendor .pytest_cache
