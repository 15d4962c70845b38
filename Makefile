# make run: set up .venv and start the bot on its embedded default (terminal, ./var/ SQLite).
# make test: set up .venv with the dev extras and run the whole suite.
# make pictures: redraw the README's pictures (docs/).
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
DEV_STAMP := $(VENV)/.installed-dev
# The Matrix tests' Element-like client (matrix-js-sdk, Rust crypto): Node packages from the committed lock file.
ELEMENT := tests/adapters/matrix/element
ELEMENT_STAMP := $(ELEMENT)/node_modules/.installed
# The accessibility check of the register and report pages: axe-core from the committed lock file.
AXE := tests/bot/axe
AXE_STAMP := $(AXE)/node_modules/.installed

.PHONY: run test lint bench pictures clean

# Setting up says one line; pip speaks only of errors (-qq), so a first `make run` shows the bot's own words.
PIP := $(BIN)/python -m pip --disable-pip-version-check -qq

$(BIN)/python:
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "Python 3.11 is required ($(PYTHON) not found)"; exit 1; }
	@echo "Setting up $(VENV) (once; a minute or two)…"
	@$(PYTHON) -m venv $(VENV)
	@$(PIP) install --upgrade pip

$(STAMP): pyproject.toml | $(BIN)/python
	@$(PIP) install -e .
	@touch $@

$(DEV_STAMP): pyproject.toml | $(BIN)/python
	@$(PIP) install -e '.[dev]'
	@touch $(STAMP) $@

$(ELEMENT_STAMP): $(ELEMENT)/package.json $(ELEMENT)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "Node.js and npm are required for the Matrix tests"; exit 1; }
	@echo "Installing the Matrix tests' Node packages (once)…"
	@cd $(ELEMENT) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

$(AXE_STAMP): $(AXE)/package.json $(AXE)/package-lock.json
	@command -v npm >/dev/null 2>&1 || { echo "Node.js and npm are required for the accessibility tests"; exit 1; }
	@echo "Installing axe-core for the accessibility tests (once)…"
	@cd $(AXE) && npm ci --no-audit --no-fund --loglevel=error
	@touch $@

run: $(STAMP)
	@$(BIN)/boussole console

test: $(DEV_STAMP) $(ELEMENT_STAMP) $(AXE_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports
	$(BIN)/python -m pytest

lint: $(DEV_STAMP)
	$(BIN)/ruff check .
	$(BIN)/mypy
	$(BIN)/lint-imports

bench: $(DEV_STAMP)
	$(BIN)/python -m bench

# The README's pictures: the register drawn from a demo database in headless Chromium (docs/registre.png),
# and the compass of a demo assessment (docs/boussole-compass.png).
pictures: $(DEV_STAMP)
	$(BIN)/python -m tests.pictures
	$(BIN)/python -m bot.compass demo docs/boussole-compass.png

clean:
	rm -rf $(VENV) var/*.sqlite3* $(ELEMENT)/node_modules $(AXE)/node_modules
