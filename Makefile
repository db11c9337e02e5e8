# Two commands do all set-up on a fresh machine:
#   make demo   -> create .venv if missing, install isonb, run the headline experiment on the embedded data
#   make test   -> create .venv if missing, install isonb[dev,rl,ray], check notebooks/library/README are in sync,
#                  run every notebook's tests (nbdev_test), then pytest (last)
SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.isonb-installed
DEVSTAMP := $(VENV)/.isonb-dev-installed

.PHONY: demo test install sync-check readme nbtest pytest clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

$(STAMP): $(BIN)/python settings.ini setup.py
	$(BIN)/pip install -q -e .
	touch $(STAMP)

$(DEVSTAMP): $(BIN)/python settings.ini setup.py
	$(BIN)/pip install -q -e ".[dev,rl,ray]"
	touch $(STAMP) $(DEVSTAMP)

install: $(DEVSTAMP)

demo: $(STAMP)
	$(BIN)/python -m isonb.demo --out demo_out

readme: $(DEVSTAMP)
	$(BIN)/python .ci/readme.py --write

# Notebooks are the source: cleaning and exporting must leave no diff, and README.md must match nbs/index.ipynb.
sync-check: $(DEVSTAMP)
	@before="$$(git status --porcelain -- nbs isonb README.md)"; \
	$(BIN)/nbdev_clean && $(BIN)/nbdev_export; \
	after="$$(git status --porcelain -- nbs isonb README.md)"; \
	if [ "$$before" != "$$after" ]; then echo "nbdev_clean/nbdev_export changed files:"; git status --porcelain -- nbs isonb; exit 1; fi
	@git diff --exit-code --stat -- isonb || (echo "isonb/ differs from what the notebooks export: run nbdev_export and commit"; exit 1)
	$(BIN)/python .ci/readme.py --check

nbtest: $(DEVSTAMP)
	$(BIN)/nbdev_test --n_workers 2 --timing

pytest: $(DEVSTAMP)
	$(BIN)/python -m pytest -q tests

test: sync-check nbtest pytest

clean:
	rm -rf $(VENV) demo_out _proc _docs
