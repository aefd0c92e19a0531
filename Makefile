# Accord: `make run` serves the embedded demo, `make test` runs the suite that needs no service.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum requirements.txt | cut -d' ' -f1)

export ACCORD_VAR_DIR ?= $(CURDIR)/var
TEST_ENV := ACCORD_VAR_DIR=$(CURDIR)/var/test DJANGO_SETTINGS_MODULE=portal.settings_test
PG_URL ?= postgres://postgres@127.0.0.1:5432/accord
REDIS_URL ?= redis://127.0.0.1:6379/0
PORT ?= 8000

.PHONY: install run test test-services test-browser lint bench screenshots clean security restore-drill

install: $(STAMP)

$(STAMP): requirements.txt
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11) and "Accord needs Python 3.11 or newer")'
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	rm -f $(VENV)/.installed-* && touch $@

run: $(STAMP)
	$(BIN)/python manage.py migrate --noinput
	$(BIN)/python manage.py seed_demo
	$(BIN)/python manage.py runserver 127.0.0.1:$(PORT)

test: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest -m "not services and not browser"

# The same suite, plus the tests that need them, on the real PostgreSQL and Redis.
test-services: $(STAMP)
	$(TEST_ENV) DATABASE_URL=$(PG_URL) ACCORD_TEST_REDIS_URL=$(REDIS_URL) $(BIN)/python -m pytest -m "not browser"

# The journeys in a real Chromium (Debian's /usr/bin/chromium) against a live gunicorn.
test-browser: $(STAMP)
	$(TEST_ENV) $(BIN)/python -m pytest tests/browser -m browser -p no:xdist

# A screenshot of each main page, for the README (docs/screenshots/).
screenshots: $(STAMP)
	$(TEST_ENV) ACCORD_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/python -m pytest tests/browser/test_screenshots.py -m browser -p no:xdist -q

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports --no-logo --no-cache

# Security checks: ruff's security rules, bandit, and Django's deployment checks on production
# settings (throwaway secrets; nothing is connected to).
PROD_CHECK_ENV := ACCORD_ENV=production ACCORD_VAR_DIR=$(CURDIR)/var/security \
	ACCORD_SECRET_KEY="$$($(BIN)/python -c 'import secrets; print(secrets.token_urlsafe(64))')" \
	ACCORD_MASTER_KEY="$$($(BIN)/python -c 'import base64, secrets; print(base64.b64encode(secrets.token_bytes(32)).decode())')" \
	DATABASE_URL=postgres://accord@127.0.0.1:5432/accord CELERY_BROKER_URL=redis://127.0.0.1:6379/0 \
	ACCORD_ALLOWED_HOSTS=accord.example.org
security: $(STAMP)
	$(BIN)/ruff check --select S .
	$(BIN)/bandit -c pyproject.toml -r . -q
	@echo "manage.py check --deploy --fail-level WARNING (production settings)"
	@$(PROD_CHECK_ENV) $(BIN)/python manage.py check --deploy --fail-level WARNING

# Back up a scratch installation, wipe it, restore it into a new database, and verify it.
restore-drill: $(STAMP)
	$(BIN)/python deploy/restore_drill.py

bench: $(STAMP)
	@ls bench/bench_*.py >/dev/null 2>&1 || { echo "no benchmarks yet"; exit 0; }
	@for b in bench/bench_*.py; do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .pytest_cache
