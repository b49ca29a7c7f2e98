# Two commands for a fresh machine with Python 3.11 and make:
#   make run    the whole application on embedded PostgreSQL and Redis, with a demo study
#   make test   the whole test suite (always on PostgreSQL)
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install lint bench lock clean-data

$(STAMP): pyproject.toml requirements.lock
	@command -v $(PYTHON) >/dev/null 2>&1 || { echo "$(PYTHON) not found: install Python 3.11 or set PYTHON=/path/to/python3.11"; exit 2; }
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade "pip>=24"
	$(BIN)/python -m pip install --quiet -c requirements.lock -e ".[dev,embedded]"
	@touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/python -m config.run

test: install
	$(BIN)/python -m pytest $(PYTEST_ARGS)

lint: install
	$(BIN)/ruff check .

bench: install
	$(BIN)/python -m bench $(BENCH_ARGS)

# Refresh the constraints file after changing pyproject.toml ranges.
lock:
	rm -rf .lockvenv && $(PYTHON) -m venv .lockvenv && .lockvenv/bin/pip install --quiet --upgrade pip \
	  && .lockvenv/bin/pip install --quiet -e ".[dev,embedded]" \
	  && { echo "# Exact versions installed together and tested (pip constraints). Regenerate with: make lock"; \
	       .lockvenv/bin/pip freeze --exclude-editable; } > requirements.lock && rm -rf .lockvenv

# Removes the embedded databases (demo data included) under .data/.
clean-data:
	rm -rf .data
