# The single entry point: `make test`, `make lint`, `make demo`, `make bench`.
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat requirements.lock pyproject.toml | cksum | cut -d' ' -f1)

.PHONY: venv test lint typecheck fmt demo bench bench-http clean lock

venv: $(STAMP)

$(STAMP): requirements.lock pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(VENV)/.installed-*
	@touch $@

test: venv
	$(PY) -m pytest -q -p no:cacheprovider

lint: venv
	$(PY) -m ruff check baton tests bench examples
	$(PY) -m ruff format --check baton tests bench examples
	$(PY) -m mypy

fmt: venv
	$(PY) -m ruff format baton tests bench examples
	$(PY) -m ruff check --fix baton tests bench examples

# The reference app on the bundled samples: API and worker in one process, offline, no keys.
# DEMO_ARGS='--json' or DEMO_ARGS='my.pdf other.pdf' to change what it runs on.
DEMO_ARGS ?=
demo: venv
	$(PY) -m baton demo $(DEMO_ARGS)

# Benchmarks run in their own venv (bench/.venv): baton's locked deps, the peers and the
# profilers from bench/requirements.lock (hash-pinned), and baton itself, editable.
BENCH_VENV := bench/.venv
BENCH_PY := $(BENCH_VENV)/bin/python
BENCH_STAMP := $(BENCH_VENV)/.installed-$(shell cat requirements.lock bench/requirements.lock pyproject.toml | cksum | cut -d' ' -f1)
BENCH_ARGS ?=

bench: $(BENCH_STAMP)
	$(BENCH_PY) -m bench.run $(BENCH_ARGS)

$(BENCH_STAMP): requirements.lock bench/requirements.lock pyproject.toml
	@test -x $(BENCH_PY) || $(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_PY) -m pip install -q --disable-pip-version-check --require-hashes -r requirements.lock
	$(BENCH_PY) -m pip install -q --disable-pip-version-check --require-hashes -r bench/requirements.lock
	$(BENCH_PY) -m pip install -q --disable-pip-version-check --no-deps --no-build-isolation -e .
	@rm -f $(BENCH_VENV)/.installed-*
	@touch $@

# The HTTP API: enqueue latency and live SSE watchers held by one `baton serve` (SQLite),
# then a flood of enqueues (8 clients, 500 req/s, 60 s) on SQLite and PostgreSQL.
FLOOD_ARGS ?=
bench-http: venv
	$(PY) -m bench.http_api $(BENCH_ARGS)
	$(PY) -m bench.http_flood $(FLOOD_ARGS)

lock:
	$(PY) -m pip install -q uv
	$(VENV)/bin/uv pip compile pyproject.toml --extra dev --generate-hashes --python-version 3.11 -o requirements.lock

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
