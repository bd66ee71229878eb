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

# Tether against bare trio-websocket and the websockets library (docs/benchmarks.md):
# every scenario, 3 interleaved repetitions: about 7 minutes on 2 cores (15 at most).
bench: $(STAMP)
	$(BIN)/python -m bench

# Reduced counts and 1 repetition, about 1 minute: a smoke test, not figures to quote.
.PHONY: bench-quick
bench-quick: $(STAMP)
	$(BIN)/python -m bench --quick

clean:
	rm -rf $(VENV) build *.egg-info
