# GradHub: `make run` serves the site, `make test` runs the tests. Both set up what they need.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test test-fast lint format bench clean browser-deps

# The venv is rebuilt only when a requirements file changes: a second run starts in seconds.
# The project itself is installed too (editable), so `python -m traces.capture` and
# `python -m analysis` work from any folder with this venv.
$(BIN)/.runtime-installed: requirements.txt constraints.txt pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==25.3
	$(BIN)/python -m pip install --quiet -r requirements.txt -c constraints.txt
	$(BIN)/python -m pip install --quiet --no-deps -e .
	@touch $@

$(BIN)/.dev-installed: $(BIN)/.runtime-installed requirements-dev.txt
	$(BIN)/python -m pip install --quiet -r requirements-dev.txt -c constraints.txt
	@touch $@

run: $(BIN)/.runtime-installed
	$(BIN)/python manage.py rundev

# Debian's Chromium drives the browser tests (Playwright uses it; it downloads no browser).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
	  if [ "$$(id -u)" = 0 ]; then apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else echo "Browser tests need Debian's chromium: sudo apt-get install -y chromium"; exit 1; fi; }

test: $(BIN)/.dev-installed browser-deps
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/gradhub}" \
	REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}" \
	$(BIN)/python -m pytest

# The quick loop while working: no browser, no worker processes, no training subprocesses.
test-fast: $(BIN)/.dev-installed
	DATABASE_URL="$${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/gradhub}" \
	REDIS_URL="$${REDIS_URL:-redis://127.0.0.1:6379/0}" \
	$(BIN)/python -m pytest -m "not browser and not worker and not slow" -q

lint: $(BIN)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/lint-imports

format: $(BIN)/.dev-installed
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

bench: $(BIN)/.dev-installed
	$(BIN)/python bench/recorder_overhead.py
	$(BIN)/python bench/diagnose.py

clean:
	rm -rf $(VENV) var staticfiles
