# supportdesk — the two commands are `make run` and `make test`.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV ?= .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000

# An interpreter >= 3.12 (Django 6 needs it): $(PYTHON) if given, then the usual names,
# then pyenv's installs.
PYTHON_CANDIDATES := $(PYTHON) python3.13 python3.12 python3 $(wildcard $(HOME)/.pyenv/versions/3.1[2-9]*/bin/python3)
FIND_PYTHON := for c in $(PYTHON_CANDIDATES); do \
	  if command -v $$c >/dev/null 2>&1 && $$c -c 'import sys; sys.exit(sys.version_info < (3, 12))' 2>/dev/null; then \
	    command -v $$c; exit 0; fi; done; exit 1

.PHONY: help
help:
	@echo "make run    set up and start the whole product on http://$(HOST):$(PORT) with demo data"
	@echo "make test   set up and run the whole test suite, with branch coverage"
	@echo "make test-fast  the pure, service and endpoint tiers only, in parallel"
	@echo "make lint   ruff, import-linter (the apps' layers) and mypy"
	@echo "make bench  run the benchmarks (JSON lines)"

$(PY):
	@interpreter=$$($(FIND_PYTHON)) || { \
	  echo "supportdesk needs Python 3.12 or newer (Django 6)."; \
	  echo "Install it, e.g. 'apt-get install python3.12 python3.12-venv', 'pyenv install 3.12', or"; \
	  echo "pass one: make run PYTHON=/path/to/python3.12"; exit 1; }; \
	echo "Creating $(VENV) with $$interpreter"; \
	$$interpreter -m venv $(VENV)

# Quiet installs: pip's version notice, its warning for root and its progress bars are
# off, so a first run prints only what it is doing (no setuptools or pip warnings; the
# editable install's build backend warns that a folder shares the project's name, which
# is this project's layout, so its warnings are off too).
PIP := PYTHONWARNINGS=ignore PIP_ROOT_USER_ACTION=ignore $(PY) -m pip --disable-pip-version-check --no-input --quiet
say = @printf '==> %s\n' $(1)

$(VENV)/.installed: pyproject.toml | $(PY)
	$(call say,"Installing supportdesk and its dependencies into $(VENV) (first run: a minute or two)")
	$(PIP) install --upgrade pip
	$(PIP) install --progress-bar off -e '.[dev]'
	@touch $@

.PHONY: install
install: $(VENV)/.installed

.PHONY: migrate
migrate: install
	$(call say,"Bringing the database up to date (./var/db.sqlite3 unless DATABASE_URL is set)")
	$(PY) manage.py migrate --no-input --verbosity 0

.PHONY: demo
demo: migrate
	$(call say,"Loading the demo data")
	$(PY) manage.py seed_demo

# Web, the Celery workers (the default one, and the webhooks one for the sends) and beat
# together (Procfile); Ctrl-C stops them all. Django's
# "development server" warning is left out: this target is the development server.
.PHONY: run
run: demo
	$(call say,"Starting the web server with the Celery workers and beat on http://$(HOST):$(PORT)/ (another port: make run PORT=8080; Ctrl-C stops them all)")
	PATH="$(abspath $(VENV))/bin:$$PATH" HOST=$(HOST) DJANGO_RUNSERVER_HIDE_WARNING=true $(VENV)/bin/honcho start --procfile Procfile --env /dev/null --port $(PORT)

# The tiers (README "Tests"): the pure tier without Django (which proves it needs none);
# the service and endpoint tiers with the API fuzzing in parallel (pytest-xdist; each
# worker has its own test database and Redis cache database); then the browser and
# workers tiers one test at a time, as their Chromium, live servers and Celery workers
# would fight over the cores and their timeouts. Branch coverage of all three is printed
# at the end. `make test XDIST=` runs without parallel workers; PYTEST_ARGS passes
# options and paths through, and a tier they leave empty (pytest's exit 5) is no failure.
XDIST ?= -n auto --dist loadgroup
PYTEST := $(PY) -m pytest
tier = $(PYTEST) $(1) $(PYTEST_ARGS) || [ $$? -eq 5 ]
COVERAGE := --cov --cov-append --cov-report=

.PHONY: test
test: install
	@rm -f .coverage .coverage.*
	$(call tier,-p no:django $(COVERAGE))
	$(call tier,$(XDIST) $(COVERAGE) -m "not pure and not browser and not workers")
	$(call tier,$(COVERAGE)term:skip-covered -m "browser or workers")

.PHONY: test-fast
test-fast: install
	$(call tier,-p no:django)
	$(call tier,$(XDIST) -m "not pure and not browser and not workers and not slow")

.PHONY: lint
lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/lint-imports
	$(VENV)/bin/mypy

.PHONY: messages
messages: install
	$(PY) manage.py makemessages -l pl --ignore=.venv --ignore=var
	$(PY) manage.py compilemessages --ignore=.venv

.PHONY: bench
bench: install
	$(PY) bench/calendars.py

.PHONY: clean
clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .mypy_cache .hypothesis
