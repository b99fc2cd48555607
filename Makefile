# One command to run the app, one to run every check. Both create .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run serve test lint lock bench bench-serve team-demo screenshots translations clean

# Every install comes from requirements.lock (exact versions and hashes of every package, the build
# tools included); `make lock` refreshes it on purpose, and the refresh is a change CI tests.
UV_VERSION := 0.13.9
LOCK_ARGS := --all-extras --universal --python-version 3.11 --generate-hashes --no-header --quiet

$(STAMP): pyproject.toml requirements.lock
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --require-hashes --no-deps -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation -e .
	$(BIN)/python -m pip check
	touch $(STAMP)

lock:
	test -x $(VENV)-lock/bin/uv || ($(PYTHON) -m venv $(VENV)-lock && $(VENV)-lock/bin/python -m pip install --quiet uv==$(UV_VERSION))
	$(VENV)-lock/bin/uv pip compile pyproject.toml requirements/build.in $(LOCK_ARGS) $(LOCK_UPGRADE) -o requirements.lock

run: $(STAMP)
	$(BIN)/inbox

# The team server on a private PostgreSQL with the demo workspace (README, "Team mode").
serve: $(STAMP)
	$(BIN)/inbox serve --dev $(SERVE_ARGS)

test: $(STAMP)
	$(BIN)/ruff check inbox tests
	$(BIN)/mypy inbox
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The team server under load: one PostgreSQL, two inbox serve, 300 agents on WebSockets, 50 messages/s
# (BENCH_SERVE_ARGS="--minutes 1 --agents 100" for a shorter run).
bench-serve: $(STAMP)
	$(BIN)/python -m bench.serve $(BENCH_SERVE_ARGS)

# Team mode: the dev team server (private PostgreSQL 15, demo workspace) and two desktop windows
# signed in as its demo agents (lea, team lead; marc). Close both windows to stop.
team-demo: $(STAMP)
	$(BIN)/python scripts/team_demo.py

# The French catalogue: edit inbox/data/i18n/inbox_fr.ts (Qt Linguist or by hand), then compile.
translations: $(STAMP)
	$(BIN)/pyside6-lrelease -silent inbox/data/i18n/inbox_fr.ts -qm inbox/data/i18n/inbox_fr.qm

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/inbox screenshot docs/screenshot-en-light.png --demo --lang en --theme light
	QT_QPA_PLATFORM=offscreen $(BIN)/inbox screenshot docs/screenshot-fr-dark.png --demo --lang fr --theme dark

clean:
	rm -rf $(VENV) $(VENV)-lock build *.egg-info
