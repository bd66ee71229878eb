# The project's commands. `make run` and `make test` work on a fresh machine with Python 3.11+.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test lint bench format clean

install: $(STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

run: $(STAMP)
	@echo "Connect with: $(BIN)/python -m websockets ws://127.0.0.1:8765/ws   (Ctrl-C stops the server)"
	$(BIN)/tether serve --host 127.0.0.1 --port 8765

test: $(STAMP)
	$(BIN)/pytest -q

lint: $(STAMP)
	$(BIN)/ruff check tether tests
	$(BIN)/ruff format --check tether tests
	$(BIN)/mypy --strict tether

format: $(STAMP)
	$(BIN)/ruff check --fix tether tests
	$(BIN)/ruff format tether tests

bench: $(STAMP)
	@echo "The benchmarks arrive with the benchmark issue; nothing to run yet."

clean:
	rm -rf $(VENV) build *.egg-info
