# airflow-export: the two commands are `make demo` and `make test`.
PY := .venv/bin/python
PYTEST_ARGS ?=

.PHONY: setup demo up test test-fast lint bench lock clean

setup:
	@bash scripts/setup.sh

demo: setup
	$(PY) scripts/stack.py demo

up: setup
	$(PY) scripts/stack.py up

test: setup
	$(PY) -m pytest $(PYTEST_ARGS)

test-fast: setup
	$(PY) -m pytest -m "not e2e and not slow" $(PYTEST_ARGS)

# ruff (style, imports, complexity) and mypy (types) over the tree; CI runs it before the tests.
lint: setup
	.venv/bin/ruff check .
	.venv/bin/mypy

# BENCH_ARGS: e.g. --quick (smoke run), --csv-10m, --airflow, --only pdf (see bench/README.md).
bench: setup
	$(PY) bench/run.py $(BENCH_ARGS)

# Regenerate the pinned environment with the resolver (commit the result).
lock:
	.venv/bin/uv pip compile pyproject.toml --extra test --python-version 3.11 --no-emit-package airflow-export -o requirements/lock.txt

clean:
	rm -rf airflow-home .pytest_cache test-artifacts
