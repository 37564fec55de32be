# PayPredict: `make run` serves everything, `make test` runs the whole suite.
# Both work on a fresh machine with only Python 3.11: with DATABASE_URL / REDIS_URL
# unset, real PostgreSQL and Redis start from pip packages in .data/.
SHELL := /bin/bash
PYTHON_BIN ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
PYTEST_ARGS ?=

.PHONY: install run test lint format bench stop clean browser

$(PY):
	$(PYTHON_BIN) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip

$(STAMP): pyproject.toml | $(PY)
	$(PY) -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(PY) manage.py migrate --noinput
	$(PY) manage.py bootstrap_demo
	$(PY) -m paypredict_project.runner

# Debian's chromium for the browser tests (Playwright drives it; no browser download). If apt
# is unavailable the browser tests skip with a reason instead of failing the suite.
browser:
	@command -v chromium >/dev/null || (apt-get update -qq && apt-get install -y -qq chromium) \
		|| echo "chromium could not be installed: tests marked 'browser' will be skipped"

test: install browser
	$(PY) -m pytest $(PYTEST_ARGS)

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports --no-cache

format: install
	$(VENV)/bin/ruff check --fix .
	$(VENV)/bin/ruff format .

bench: install
	$(PY) -m bench.run_all

stop: install
	$(PY) -m paypredict_project.embedded stop

clean: stop
	rm -rf .data
