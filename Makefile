# ZT-IX — the two commands of the README (run, test), and the steps they are made of.
#   make run    ZT-IX on its embedded default (SQLite under ./var, http://127.0.0.1:8000)
#   make test   the whole suite: lint, types, tests (what CI runs)
#   make test-fast   the unit tier only: no database, no server, under a minute
#   make screenshots   rewrite docs/screenshots/ from the browser tests
#   make bench  every benchmark in short mode, one table (docs/performance.md)
#   make lab / make lab-down   a live peering LAN with route servers and member routers (root)
SHELL := /bin/bash
export UV_PYTHON_DOWNLOADS := never
export PATH := $(HOME)/.local/bin:$(PATH)

CONFIG ?= runtime-config.yaml

.PHONY: run test deps uv system-deps embedded-deps lab lab-down lab-status services lint \
	typecheck pytest bench clean frontend frontend-check screenshots test-fast

run: deps frontend $(CONFIG) embedded-deps
	@mkdir -p var
	ZTIX_CONFIG=$(CONFIG) uv run ztix serve

test: deps system-deps services frontend lint typecheck frontend-check pytest

# The embedded default starts from the annotated example; edit the copy, not the example.
$(CONFIG):
	cp runtime-config.example.yaml $(CONFIG)
	@echo "created $(CONFIG) from runtime-config.example.yaml"

uv:
	@command -v uv >/dev/null 2>&1 || python3 -m pip install --quiet --user uv 2>/dev/null \
	  || python3 -m pip install --quiet uv

deps: uv
	uv sync --frozen --quiet

# The web app (frontend/): installed from the lock file, built into frontend/dist when the
# build is missing or older than its sources; FastAPI serves it in the embedded default.
FRONTEND_SOURCES := $(shell find frontend/src frontend/public -type f 2>/dev/null) \
	frontend/index.html frontend/vite.config.ts frontend/tsconfig.json frontend/package.json

frontend: frontend/dist/index.html

frontend/node_modules/.package-lock.json: frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error

frontend/dist/index.html: frontend/node_modules/.package-lock.json $(FRONTEND_SOURCES)
	cd frontend && npm run build --silent
	@touch $@

# Types, then component and hook tests (Vitest).
frontend-check: frontend/node_modules/.package-lock.json
	cd frontend && npx tsc --noEmit && npx biome ci . && npm test --silent

# bgpq4 comes with the Debian packages; IRRd 4 (the IRR tests' server) in its own virtualenv.
system-deps:
	@scripts/install-system-deps.sh
	@scripts/install-irrd.sh

# BIRD 2 and StayRTR for the embedded route server, where the machine allows (root + apt).
embedded-deps:
	@scripts/install-embedded-deps.sh

services:
	@scripts/ensure-services.sh

lint:
	uv run ruff check src tests bench
	uv run ruff format --check src tests bench
	uv run lint-imports

typecheck:
	uv run mypy

pytest:
	uv run pytest -n 2 --dist loadfile

# The unit tier (tests/unit/): pure rules, rendering, parsing, config, the emulator; no
# PostgreSQL, Redis, BIRD or other server is started, so it needs nothing but `uv sync`.
test-fast: deps
	uv run pytest -q -n 0 -m unit tests/unit

# A peering LAN on this machine (root): network namespaces and a bridge, two BIRD route
# servers with StayRTR, three member routers filed and approved through the API; waits for
# every session to be Established and prints a summary and the URL. lab-down removes it all.
LAB_PORT ?= 8000
lab: deps frontend
	uv run ztix lab up --port $(LAB_PORT)

lab-status: deps
	uv run ztix lab status --port $(LAB_PORT)

lab-down: deps
	uv run ztix lab down

# The browser tests, writing every page at both widths into docs/screenshots/.
screenshots: deps system-deps services frontend
	ZTIX_SCREENSHOTS=1 uv run pytest tests/e2e -q

# Every benchmark of bench/suite.py in short mode (about 10 minutes), one table of goal,
# measured, ratio, pass/fail and command, written to the top of docs/performance.md. One
# benchmark in full: uv run python -m bench.<name> --write-docs (docs/performance.md).
bench: deps system-deps services
	uv run python -m bench --write-docs

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache frontend/dist
