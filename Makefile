# Development tasks. Needs only python3 (3.11+) and make; everything else lives in .venv.

PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Touched after a successful install: pip runs again only when a lock or pyproject changes.
STAMP := $(VENV)/.installed
# Exact versions of everything make run / make test / CI install (the app, its embedded
# engine and the dev tools); requirements/prod.lock is the production image's.
LOCK := requirements/dev.lock
# Linters that are prebuilt binaries (actionlint, hadolint): installed where a wheel exists.
TOOLS_LOCK := requirements/tools.lock
CLIENT := clients/python
# Development-only packages (the Stripe fixtures): tests, demo and benchmark import them.
TESTING := testing
TS := clients/typescript

.DEFAULT_GOAL := help
.PHONY: help install ts-install run test test-fast lint fmt demo bench screenshots lock client-types client-sync clean

help:
	@echo "make install  create .venv and install the project with its dev tools"
	@echo "make run      start a development server (mints a dev key; see the banner)"
	@echo "make test     the static checks of make lint, then pytest on every core"
	@echo "make test-fast  pytest on every core without the tests marked slow (under a minute)"
	@echo "make lint     ruff, ruff format --check, mypy; the workflow, Dockerfile and compose file"
	@echo "make fmt      sort imports and format the code with ruff"
	@echo "make demo     run the demo against a running 'make run'"
	@echo "make screenshots  only the browser tests (they write docs/console/*.png)"
	@echo "make bench    benchmark a service it starts (or BENCH_ARGS='--url URL --key KEY')"
	@echo "make lock     re-pin requirements/*.lock from pyproject.toml (pip-tools)"
	@echo "make client-types  regenerate clients/typescript/src/schema.ts from /openapi.json"
	@echo "make client-sync   regenerate the Python client's sync module from its async one"
	@echo "make clean    remove .venv, caches and build output"

install: $(STAMP) ts-install

$(STAMP): pyproject.toml $(LOCK) $(TOOLS_LOCK) $(CLIENT)/pyproject.toml $(TESTING)/pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	# Every file checked against the lock's hashes.
	$(BIN)/python -m pip install --require-hashes -r $(LOCK)
	# The service (with its embedded engine and dev tools), the Python client and the Stripe
	# fixtures, editable; their dependencies all come from the lock (their build backend is
	# pinned).
	$(BIN)/python -m pip install --no-deps -e '.[dev,embedded]' -e $(CLIENT) -e $(TESTING)
	$(BIN)/python -m pip install --require-hashes -r $(TOOLS_LOCK) || \
		echo "make install: no actionlint/hadolint wheel for this platform; make lint skips them"
	touch $@

# The TypeScript client's compiler (typescript, pinned by its package-lock.json) when npm is
# here; without it (or offline) the TypeScript client's tests skip and say so.
ts-install:
	@if ! command -v npm >/dev/null 2>&1; then \
		echo "no npm: the TypeScript client's tests will skip (install Node.js 20+ to run them)"; \
	elif [ ! $(TS)/node_modules/.package-lock.json -nt $(TS)/package-lock.json ]; then \
		npm ci --prefix $(TS) --no-audit --no-fund --loglevel=error || \
		echo "npm ci failed: the TypeScript client's tests will skip"; \
	fi

run: install
	$(BIN)/python -m app dev

# pytest-xdist: one worker per core (PYTEST_WORKERS=0 runs in this process, e.g. for pdb).
# worksteal: a worker that runs dry takes tests queued for another, so the few long tests
# never leave a core idle at the end (docs/testing.md).
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/python -m pytest -n $(PYTEST_WORKERS) --dist worksteal

# Bytecode caches are written even where PYTHONDONTWRITEBYTECODE is set: without them every
# worker compiles every module again, and pytest rewrites every test module's asserts again
# (about 15 s of a run's collection on this suite).
test test-fast screenshots: export PYTHONDONTWRITEBYTECODE :=

test: lint
	$(PYTEST)

# What to run between edits: no lint, no test marked slow (subprocesses, real servers,
# browsers, generated cases), and 10 seeded interleavings per concurrency test instead of 50
# (INTERLEAVING_SEEDS, docs/testing.md). make test runs them all.
test-fast: export INTERLEAVING_SEEDS ?= 10
test-fast: install
	$(PYTEST) -m "not slow"

# The same checks as .pre-commit-config.yaml. What cannot run here is checked statically: the
# GitHub workflow (actionlint, and its schema), the Dockerfile (hadolint), the compose file
# (the Compose Specification's schema).
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
	$(BIN)/check-jsonschema --builtin-schema vendor.github-workflows .github/workflows/ci.yml
	$(BIN)/check-jsonschema --builtin-schema vendor.compose-spec docker-compose.yml
	@if [ -x $(BIN)/actionlint ]; then echo "actionlint"; $(BIN)/actionlint; \
		else echo "make lint: actionlint skipped (not installed: no wheel for this platform)"; fi
	@if [ -x $(BIN)/hadolint ]; then echo "hadolint Dockerfile"; $(BIN)/hadolint Dockerfile; \
		else echo "make lint: hadolint skipped (not installed: no wheel for this platform)"; fi

fmt: install
	$(BIN)/ruff check --select I --fix .
	$(BIN)/ruff format .

demo: install
	$(BIN)/python -m scripts.demo

# BENCH_ARGS, e.g. --url http://host:8000 --key ck_... (see docs/benchmarks.md)
bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

screenshots: install
	SCREENSHOTS_DIR=docs/console $(BIN)/python -m pytest tests/console/test_browser.py

# pip-tools in a throwaway venv, so the locks never depend on what .venv holds. Every pin
# carries the hashes of its files: pip installs the locks with --require-hashes.
COMPILE := .lock-venv/bin/pip-compile --quiet --strip-extras --generate-hashes --allow-unsafe \
	--no-emit-index-url --no-emit-find-links --no-emit-trusted-host

lock:
	test -x .lock-venv/bin/pip-compile || ($(PYTHON) -m venv .lock-venv && \
		.lock-venv/bin/pip install pip-tools==7.6.2)
	$(COMPILE) -o requirements/prod.lock pyproject.toml
	$(COMPILE) --extra embedded --extra dev -o requirements/dev.lock pyproject.toml
	$(COMPILE) -o $(TOOLS_LOCK) requirements/tools.in

client-types: install
	$(BIN)/python -m scripts.typescript_types

# unasync writes credit_ledger_client/_sync.py from _async.py (tests/test_python_client.py
# fails while the committed file differs).
client-sync: install
	$(BIN)/python $(CLIENT)/make_sync.py

clean:
	rm -rf $(VENV) .lock-venv .pytest_cache .ruff_cache .mypy_cache .cache build dist *.egg-info \
		.dev-credentials.json $(TS)/node_modules $(TS)/dist
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
