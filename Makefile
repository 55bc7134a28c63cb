# restwell: every command a developer or CI needs, from a machine with only python3 and make.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: check demo test lint bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

## check: set up, then run the REST conformance checker against the embedded reference server
check: $(STAMP)
	$(BIN)/restwell check

## demo: set up, then show the client surviving a faulty local API
demo: $(STAMP)
	$(BIN)/restwell demo

## test: set up, then run the whole test suite
test: $(STAMP)
	$(BIN)/python -m pytest -q

## lint: ruff, ruff format, mypy --strict, and the import-layering contracts
lint: $(STAMP)
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks
	$(BIN)/mypy --strict
	$(BIN)/lint-imports

## bench: restwell vs raw aiohttp/urllib3 on a local nginx; GitHub sequential vs concurrent
bench: $(STAMP)
	$(BIN)/python benchmarks/run.py
	$(BIN)/restwell bench github --users 10 --latency 100ms

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
