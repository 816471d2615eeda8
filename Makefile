# Grimnir Radio — developer entry points. Every target creates the virtualenv
# and installs the package first, so a fresh clone needs nothing else.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed-stamp
UV     := .tools/uv/bin/uv
PYTEST_ARGS ?=
# pytest-xdist workers; PYTEST_ARGS=-n0 runs in one process. Two more than the 2 cores
# CI has: many tests wait on real time (stations in processes, real-time engines, the
# browser tests' stations), and more workers fill those waits (measured: 13m50 with
# three against 16m50 with two; with the web UI's pages, 12m20 with four against 14m26).
PYTEST_WORKERS ?= 4
# uv never downloads an interpreter: the virtualenv uses $(PYTHON).
export UV_PYTHON_DOWNLOADS := never

.PHONY: install lock lock-check peers lint types pytest test bench soak clean proto demo ui \
	screenshots

## uv itself, pinned with hashes (scripts/uv-requirements.txt), in its own folder.
$(UV): scripts/uv-requirements.txt
	@rm -rf .tools/uv
	$(PYTHON) -m venv .tools/uv
	.tools/uv/bin/python -m pip install --quiet --require-hashes -r scripts/uv-requirements.txt
	@touch $(UV)

uv.lock:
	@echo "uv.lock is missing: run 'make lock' to create it from pyproject.toml, then commit it." >&2
	@exit 1

## Every install comes from uv.lock (every transitive dependency pinned, with hashes).
## --compile-bytecode: every grimnir process (and test worker) starts from .pyc files
## rather than compiling ~800 modules (where PYTHONDONTWRITEBYTECODE is set, as in CI,
## it did so on every start: `grimnir --help` took 4.1 s, 1.6 s compiled).
$(STAMP): pyproject.toml uv.lock $(UV)
	@$(UV) sync --locked --extra test --compile-bytecode --python $(PYTHON) || { \
		echo "Installing from uv.lock failed. If pyproject.toml changed, run 'make lock'" \
			"and commit uv.lock." >&2; exit 1; }
	@touch $(STAMP)

## The web UI (ui/: Svelte + TypeScript): npm ci from ui/package-lock.json, a typed API
## client generated from the API's OpenAPI document, built by Vite into the package.
UI_BUILT := src/grimnir/web/app/index.html
UI_SOURCES := $(shell find ui/src -type f ! -name schema.d.ts 2>/dev/null) \
	ui/index.html ui/vite.config.ts ui/svelte.config.js ui/tsconfig.json
API_SOURCES := $(shell find src/grimnir/api -name '*.py' 2>/dev/null)

ui/node_modules/.package-lock.json: ui/package-lock.json ui/package.json
	@bash scripts/node-deps.sh
	cd ui && npm ci --no-audit --no-fund --loglevel=error

ui/openapi.json: $(STAMP) $(API_SOURCES) scripts/openapi.py
	$(BIN)/python scripts/openapi.py ui/openapi.json

ui/src/lib/schema.d.ts: ui/openapi.json ui/node_modules/.package-lock.json
	cd ui && npm run --silent gen

$(UI_BUILT): ui/src/lib/schema.d.ts $(UI_SOURCES)
	cd ui && npm run --silent build

ui: $(UI_BUILT)

install: $(STAMP) $(UI_BUILT)
	@$(BIN)/python -m compileall -q -j 0 src >/dev/null

## Refresh uv.lock on purpose (newest versions pyproject.toml allows); then `make test`.
lock: $(UV)
	$(UV) lock --upgrade

## Fails when pyproject.toml and uv.lock disagree.
lock-check: $(UV) uv.lock
	@$(UV) lock --check || { echo "uv.lock does not match pyproject.toml: run 'make lock'" \
		"and commit uv.lock." >&2; exit 1; }

## System test peers (ffmpeg, icecast2) and services (PostgreSQL, MariaDB, Redis, NATS).
peers:
	bash scripts/test-peers.sh

lint: $(STAMP) ui/src/lib/schema.d.ts
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	cd ui && npm run --silent check

types: $(STAMP)
	$(BIN)/mypy

pytest: $(STAMP)
	$(BIN)/pytest -m "not slow" -n $(PYTEST_WORKERS) --dist loadfile --durations=15 $(PYTEST_ARGS)

## Everything CI runs: install, peers, lint, types, tests.
test: lock-check install peers lint types pytest

## A demo station on air: generated music, spoken station IDs, a clock, the API and UI.
## espeak-ng is installed when possible (never required); data goes to ./.demo-data.
demo: install
	-bash scripts/demo-deps.sh
	GRIMNIR_DATA_DIR="$${GRIMNIR_DATA_DIR:-$(CURDIR)/.demo-data}" \
		$(BIN)/grimnir up --demo --http 127.0.0.1:8080

## Benchmarks print ratios against a baseline measured in the same run.
bench: $(STAMP)
	@bash scripts/test-peers.sh --bench
	@set -e; found=0; for f in benchmarks/[!_]*.py; do \
		[ -e "$$f" ] || continue; found=1; echo "== $$f"; $(BIN)/python "$$f"; done; \
	[ $$found = 1 ] || echo "no benchmarks yet"

## Long soak runs, kept out of `make test`.
soak: $(STAMP)
	@$(BIN)/pytest -m slow $(PYTEST_ARGS); rc=$$?; \
	if [ $$rc = 5 ]; then echo "no soak tests yet"; exit 0; fi; exit $$rc

## A picture of every page of the web UI (phone and desktop width) in docs/screenshots/.
screenshots: install
	@bash scripts/test-peers.sh >/dev/null
	$(BIN)/python scripts/screenshots.py

## Regenerate the gRPC modules from proto/ (committed; a test checks they match).
proto: $(STAMP)
	bash scripts/gen-proto.sh

clean:
	rm -rf $(VENV) .tools .mypy_cache .ruff_cache .pytest_cache ui/node_modules src/grimnir/web/app
