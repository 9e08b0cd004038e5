# confops: `make demo` runs the product on embedded defaults, `make test` runs every check.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: demo test lint format typecheck services clean help

help:
	@echo "make demo   - run confops, a Celery worker and beat, and the example Dagster pipeline"
	@echo "make test   - ruff, mypy and the whole pytest suite (PostgreSQL/Redis passes in CI)"
	@echo "make format - apply ruff's formatting and safe fixes"

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip

# Re-install when pyproject.toml changes; the stamp files record what was installed.
$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[demo]'
	touch $@

$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.demo-installed

demo: $(VENV)/.demo-installed
	VENV=$(VENV) bash scripts/demo.sh

test: $(VENV)/.dev-installed
	bash scripts/test.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check . && $(BIN)/ruff format --check . && $(BIN)/lint-imports

format: $(VENV)/.dev-installed
	$(BIN)/ruff format . && $(BIN)/ruff check --fix .

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy .

services:
	bash scripts/services.sh start

clean:
	rm -rf var .pytest_cache .mypy_cache .ruff_cache
