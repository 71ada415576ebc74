# The README names these targets. Each builds the .venv it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench screenshots clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install -q -e '.[test,mysql,mqtt,dashboard,browser]'
	touch $@

## run: the monitor on the emulated chip and its dashboard (prints the URL; no hardware needed)
## make run PORT=5007 API_PORT=8071 when 5006 or 8070 is taken
run: $(VENV)/.installed
	$(BIN)/corcypower demo --config examples/emulator.toml $(if $(PORT),--port $(PORT)) $(if $(API_PORT),--api-port $(API_PORT))

## test: lint, then every test
test: $(VENV)/.installed
	$(BIN)/ruff check corcypower tests bench scripts *.py
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check corcypower tests bench scripts *.py
	$(BIN)/ruff format --check corcypower tests bench scripts *.py

## bench: the acquisition benchmark (CPU per sample, ioctls per sample, RSS)
bench: $(VENV)/.installed
	$(BIN)/python bench/acquisition.py

## screenshots: docs/screenshot-phone.png and docs/screenshot-desktop.png, from a simulated week
screenshots: $(VENV)/.installed
	$(BIN)/python scripts/screenshots.py

clean:
	rm -rf $(VENV) .pytest_cache
