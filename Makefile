# airflow-export: the two commands are `make demo` and `make test`.
PY := .venv/bin/python
UV := $(if $(wildcard .venv/bin/uv),.venv/bin/uv,uv)
PYTEST_ARGS ?=
# What `make test-fast` leaves out: the end-to-end, slow, and PostgreSQL/Chromium (`services`) tests.
FAST_MARKERS := not e2e and not slow and not services

.PHONY: venv setup setup-full demo up demo-celery up-celery test test-fast lint bench lock dist clean

# Set-up steps (scripts/setup.sh): the venv only; + fonts and promtool; + PostgreSQL and Chromium.
venv:
	@bash scripts/setup.sh venv

setup:
	@bash scripts/setup.sh base

setup-full:
	@bash scripts/setup.sh full

demo: setup
	$(PY) -m scripts.launcher demo

up: setup
	$(PY) -m scripts.launcher up

# The CeleryExecutor topology: PostgreSQL, Redis, an S3 server (the export root), two Celery workers.
demo-celery: setup-full
	$(PY) -m scripts.launcher demo --topology celery

up-celery: setup-full
	$(PY) -m scripts.launcher up --topology celery

test: setup-full
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "$(FAST_MARKERS)" $(PYTEST_ARGS)

# ruff (style, imports, complexity) and mypy (types) over the tree; CI runs it before the tests.
lint: venv
	.venv/bin/ruff check .
	.venv/bin/mypy

# BENCH_ARGS: e.g. --quick (smoke run), --csv-10m, --airflow, --only pdf (see bench/README.md).
bench: setup
	$(PY) bench/run.py $(BENCH_ARGS)

# Regenerate the pinned environment with the resolver (commit the result).
lock:
	.venv/bin/uv pip compile pyproject.toml --extra test --python-version 3.11 --no-emit-package airflow-export -o requirements/lock.txt

# The wheel to install into an existing Airflow (docs/install.md); the StatsD mapping is package data.
dist:
	$(UV) build --wheel -o dist .

clean:
	rm -rf airflow-home .pytest_cache test-artifacts dist build
