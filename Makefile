# msops — the two commands are `make run` and `make test` (see README.md).
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed-$(shell cat pyproject.toml constraints.txt | cksum | cut -d' ' -f1)
HOST ?= 127.0.0.1
PORT ?= 8000

# `make test` runs on PostgreSQL and Redis; override to point elsewhere.
TEST_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/msops
TEST_REDIS_URL ?= redis://127.0.0.1:6379/0

.PHONY: install run web worker beat migrate seed test lint fmt clean

$(STAMP): pyproject.toml constraints.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -c constraints.txt -e ".[dev]"
	rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP)

migrate: install
	$(PY) manage.py migrate --noinput

seed: migrate
	$(PY) manage.py seed_demo

# Web + Celery worker + beat. Without DATABASE_URL/REDIS_URL: SQLite and a
# filesystem broker under var/; with them: PostgreSQL and Redis. On PostgreSQL,
# migrate and seed run as DATABASE_URL's role (the owner); migrate creates the
# application's role (DATABASE_APP_ROLE, default msops_app), which the three
# processes then connect as, so row-level security binds them.
run: seed
	@echo "msops on http://$(HOST):$(PORT)/ — worker and beat alongside (Ctrl-C stops all three)"
	@export DEBUG=$${DEBUG:-1}; \
	if [ -n "$$DATABASE_URL" ]; then \
	url=$$($(PY) manage.py app_database_url "$$DATABASE_URL") || exit 1; \
	export DATABASE_URL=$$url; fi; \
	trap 'kill 0' INT TERM EXIT; \
	$(PY) -m celery -A msops worker --loglevel=INFO --concurrency=2 & \
	$(PY) -m celery -A msops beat --loglevel=INFO & \
	$(PY) manage.py runserver $(HOST):$(PORT)

test: install
	DATABASE_URL=$${DATABASE_URL:-$(TEST_DATABASE_URL)} REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	DEBUG=0 SECURE_SSL_REDIRECT=0 SECRET_KEY=test-only-secret-key-not-for-production \
	$(PY) -m pytest $(PYTEST_ARGS)
	@# Billing meaning and the rule/SQL agreement again on SQLite (the embedded default's path).
	@if [ -z "$(PYTEST_ARGS)" ]; then \
	DATABASE_URL=sqlite:///$(CURDIR)/var/test-sqlite.sqlite3 REDIS_URL=$${REDIS_URL:-$(TEST_REDIS_URL)} \
	DEBUG=0 SECURE_SSL_REDIRECT=0 SECRET_KEY=test-only-secret-key-not-for-production \
	$(PY) -m pytest -q -p no:cacheprovider tests/billing/test_rule_agreement.py \
	tests/billing/test_forward_meaning.py; fi

lint: install
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(VENV)/bin/lint-imports --no-cache
	$(PY) manage.py makemigrations --check --dry-run

fmt: install
	$(PY) -m ruff format .
	$(PY) -m ruff check --fix .

clean:
	rm -rf var/ .pytest_cache .ruff_cache
