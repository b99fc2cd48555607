# One command to run the app, one to run every check. Both create .venv on first use.
PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint bench screenshots translations clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

run: $(STAMP)
	$(BIN)/inbox

test: $(STAMP)
	$(BIN)/ruff check inbox tests
	$(BIN)/mypy inbox
	$(BIN)/lint-imports
	QT_QPA_PLATFORM=offscreen $(BIN)/python -m pytest -n 2 --dist loadfile

bench: $(STAMP)
	$(BIN)/python -m bench.run $(BENCH_ARGS)

# The French catalogue: edit inbox/data/i18n/inbox_fr.ts (Qt Linguist or by hand), then compile.
translations: $(STAMP)
	$(BIN)/pyside6-lrelease -silent inbox/data/i18n/inbox_fr.ts -qm inbox/data/i18n/inbox_fr.qm

screenshots: $(STAMP)
	QT_QPA_PLATFORM=offscreen $(BIN)/inbox screenshot docs/screenshot-en-light.png --demo --lang en --theme light
	QT_QPA_PLATFORM=offscreen $(BIN)/inbox screenshot docs/screenshot-fr-dark.png --demo --lang fr --theme dark

clean:
	rm -rf $(VENV) build *.egg-info
