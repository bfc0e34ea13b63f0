# Development tasks. Needs only python3 (3.11+) and make; everything else lives in .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install: pip runs again only when pyproject.toml changes.
STAMP := $(VENV)/.installed

.DEFAULT_GOAL := help
.PHONY: help install run test lint fmt demo bench screenshots clean

help:
	@echo "make install  create .venv and install the project with its dev tools"
	@echo "make run      start a development server (mints a dev key; see the banner)"
	@echo "make test     ruff check, then pytest"
	@echo "make lint     ruff check and ruff format --check"
	@echo "make fmt      sort imports and format the code with ruff"
	@echo "make demo     run the demo against a running 'make run'"
	@echo "make screenshots  only the browser tests (they write docs/console/*.png)"
	@echo "make bench    benchmark a service it starts (or BENCH_ARGS='--url URL --key KEY')"
	@echo "make clean    remove .venv, caches and build output"

install: $(STAMP)

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -e '.[dev]'
	touch $@

run: install
	$(BIN)/python -m app dev

test: install
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

fmt: install
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .

demo: install
	$(BIN)/python -m scripts.demo

# BENCH_ARGS, e.g. --url http://host:8000 --key ck_... (see docs/benchmarks.md)
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

screenshots: install
	$(BIN)/python -m pytest tests/console/test_browser.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache build dist *.egg-info .dev-credentials.json
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
