# The README names these targets. Each builds the .venv it needs on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint bench clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(VENV)/.installed: $(BIN)/activate pyproject.toml
	$(BIN)/pip install -q -e '.[test,mysql,mqtt,dashboard,browser]'
	touch $@

## run: the monitor on the emulated chip and its dashboard (prints the URL; no hardware needed)
run: $(VENV)/.installed
	$(BIN)/corcypower demo --config examples/emulator.toml

## test: lint, then every test
test: $(VENV)/.installed
	$(BIN)/ruff check corcypower tests bench *.py
	$(BIN)/pytest

lint: $(VENV)/.installed
	$(BIN)/ruff check corcypower tests bench *.py
	$(BIN)/ruff format --check corcypower tests bench *.py

## bench: the acquisition benchmark (CPU per sample, ioctls per sample, RSS)
bench: $(VENV)/.installed
	$(BIN)/python bench/acquisition.py

clean:
	rm -rf $(VENV) .pytest_cache
