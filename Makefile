# The two commands of the README. Needs only Python 3.11+, pip and make.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000

.PHONY: run test lint bench

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed

# Serve the demo post on http://$(HOST):$(PORT) with the offline Dev sign-in. `flask demo`
# remembers the address in instance/, so that unless PUBLIC_URL is set, links and snippets
# (of this server and of commands typed elsewhere meanwhile) point at it.
run: $(VENV)/.installed
	$(BIN)/flask db upgrade
	$(BIN)/flask demo --host $(HOST) --port $(PORT)
	DEV_LOGIN=1 $(BIN)/flask run --host $(HOST) --port $(PORT)

# Two workers (pytest-xdist) on SQLite, where each test has its own database file; one process
# with TEST_DATABASE_URL or REDIS_URL, whose one database the workers would share.
TEST_WORKERS ?= $(if $(TEST_DATABASE_URL)$(REDIS_URL),0,2)

test: $(VENV)/.installed-dev
	$(BIN)/python -m pytest -n $(TEST_WORKERS)

# Every benchmark and one PASS/FAIL summary (bench/all.py, bench/README.md): run.py against
# Isso in the production setup, first paint, moderation at scale. wrk, PostgreSQL, Redis and
# Chromium come from the system: apt-get install wrk. BENCH_ARGS=--quick: under two minutes.
ISSO_VENV := bench/.isso-venv
BENCH_ARGS ?=

$(ISSO_VENV)/bin/isso:
	$(PYTHON) -m venv $(ISSO_VENV)
	$(ISSO_VENV)/bin/python -m pip install --quiet 'isso==0.14.*' 'gunicorn==23.*'

bench: $(VENV)/.installed-dev $(ISSO_VENV)/bin/isso
	$(BIN)/python bench/all.py $(BENCH_ARGS)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy
