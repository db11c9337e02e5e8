# Two commands do all set-up on a fresh machine:
#   make demo   -> create .venv if missing, install isonb, run the headline experiment on the embedded data
#   make test   -> create .venv if missing, install isonb[dev,rl,ray,docs], check notebooks/library/README are in sync,
#                  execute every notebook once (all cells, smoke scale), then pytest (last)
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
	$(BIN)/pip install -q -e ".[dev,rl,ray,docs]"
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

# Each notebook is executed once, every cell of it (the `slow` and `gpu` ones too, at the smoke scale a reader's Run All
# gets), two at a time; nbdev_test prints each notebook's seconds, slowest first. Run All must leave the committed
# results as they were.
nbtest: $(DEVSTAMP)
	@before="$$(git status --porcelain --untracked-files=all -- nbs/results 2>/dev/null)"; \
	$(BIN)/nbdev_test --n_workers 2 --timing --flags "slow gpu"; rc=$$?; \
	after="$$(git status --porcelain --untracked-files=all -- nbs/results 2>/dev/null)"; \
	if [ "$$before" != "$$after" ]; then echo "Run All changed the committed results:"; echo "$$after"; exit 1; fi; exit $$rc

pytest: $(DEVSTAMP)
	$(BIN)/python -m pytest -q tests

test: sync-check nbtest pytest

clean:
	rm -rf $(VENV) demo_out _proc _docs _site _docs_src _site_sphinx

# The documentation site (nbs/99_docs_site.ipynb): `make docs` installs isonb[docs] and builds _site/ (serve it, e.g.
# `python -m http.server -d _site`); `make docs-check` builds it afresh and checks every page in headless Chromium.
.PHONY: docs docs-check
DOCSTAMP := $(VENV)/.isonb-docs-installed

$(DOCSTAMP): $(BIN)/python settings.ini setup.py
	$(BIN)/pip install -q -e ".[docs]"
	touch $(STAMP) $(DOCSTAMP)

docs: $(DOCSTAMP)
	$(BIN)/python .ci/docs.py

docs-check: $(DOCSTAMP) $(DEVSTAMP)
	ISONB_REQUIRE_DOCS=1 $(BIN)/python -m pytest -q tests/test_docs.py
