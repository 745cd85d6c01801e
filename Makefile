# The two commands of the README: `make demo` and `make test`. Both set up everything first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# The stamp names the requirements' hash, so a changed requirements.txt reinstalls.
STAMP := $(VENV)/.installed-$(shell sha1sum requirements.txt | cut -c1-12)
DEMO_ENV := DEBUG=1
HOST ?= 127.0.0.1
PORT ?= 8000

.PHONY: install demo test lint format bench clean

$(STAMP): requirements.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-*
	touch $@

install: $(STAMP)

# rundemo starts the worker and beat again whenever they exit (README: "Running the worker and beat").
demo: install
	$(DEMO_ENV) $(BIN)/python manage.py migrate --noinput
	$(DEMO_ENV) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(DEMO_ENV) $(BIN)/python manage.py load_registry
	$(DEMO_ENV) $(BIN)/python manage.py seed_demo --print-later
	HOST=$(HOST) PORT=$(PORT) $(DEMO_ENV) $(BIN)/python -m sandbox.rundemo

# mypy's Django plugin reads config/typecheck_settings.py, which brings its own throwaway secrets.
lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: install
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

# Tests and benchmarks run with DEBUG off, as in production, on secrets made for the run.
RUN_SECRETS = SECRET_KEY="$${SECRET_KEY:-$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(50))')}" \
	CREDENTIALS_KEYS="$${CREDENTIALS_KEYS:-$$($(BIN)/python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')}"

# The browser tests drive Debian's Chromium; install it when missing and allowed to.
test: lint
	@test -x /usr/bin/chromium || { if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium; else echo "make test: /usr/bin/chromium is missing: sudo apt-get install -y chromium (browser tests skip; with CI=true they fail)" >&2; fi; }
	$(RUN_SECRETS) $(BIN)/pytest $(PYTEST_ARGS)

# Benchmarks need the real services: PostgreSQL and Redis on this machine by default.
bench: install
	$(RUN_SECRETS) $(BIN)/python manage.py collectstatic --noinput --verbosity 0
	$(RUN_SECRETS) \
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}" \
	REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/14}" \
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) var .pytest_cache .ruff_cache .hypothesis
