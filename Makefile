# Two commands for a fresh machine with Python 3.11 and make:
#   make run    the whole application on embedded PostgreSQL and Redis, with a demo study
#   make test   the whole test suite (always on PostgreSQL)
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: run test install lint bench lock clean-data backup restore

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

# A backup of `make run`'s embedded database (or of DATABASE_URL's with DATABASE_OWNER_URL) into
# BACKUP_DIR (.data/backups/); BACKUP_ARGS="--keep 7" keeps the 7 newest. README: Backups.
backup: install
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py backup $(BACKUP_ARGS)

# make restore BACKUP=.data/backups/epro-20260301T023000Z [RESTORE_ARGS="--database-url ..."]
restore: install
	@test -n "$(BACKUP)" || { echo "make restore: set BACKUP to a backup's directory, e.g. BACKUP=.data/backups/epro-..."; exit 2; }
	DEBUG=$${DEBUG:-1} $(BIN)/python manage.py restore "$(BACKUP)" $(RESTORE_ARGS)

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

# Removes the embedded databases (demo data included) under .data/, but not .data/backups/:
# a restore after clean-data needs them (README: Backups).
clean-data:
	find .data -mindepth 1 -maxdepth 1 ! -name backups -exec rm -rf {} + 2>/dev/null || true
