# Every target makes its own .venv and installs what it needs: a fresh clone
# needs only python3 (>= 3.11) and make.
PYTHON ?= python3
VENV ?= .venv
PY := $(VENV)/bin/python

.PHONY: demo test lint docs bench clean

$(VENV)/.dev: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

$(VENV)/.docs: $(VENV)/.dev
	$(PY) -m pip install -q -e '.[docs]'
	touch $@

$(VENV)/.bench: $(VENV)/.dev
	$(PY) -m pip install -q -e '.[bench]'
	touch $@

demo: $(VENV)/.dev
	$(VENV)/bin/openrouter-imagegen demo --output demo-output

lint: $(VENV)/.dev
	$(PY) scripts/unasync.py --check
	$(PY) -m ruff check src tests bench examples scripts
	$(PY) -m ruff format --check src tests bench examples scripts
	$(PY) -m mypy src tests examples bench scripts

# The site, into site/; strict: any warning (a broken link or reference) fails the build.
docs: $(VENV)/.docs
	NO_MKDOCS_2_WARNING=1 $(VENV)/bin/mkdocs build --strict --site-dir site

# Lint, the docs, and the wheel and sdist a release would upload (into dist/, checked by
# twine) first, so that the run ends with pytest's summary line.
test: lint docs
	rm -rf dist
	$(PY) -m build --quiet --outdir dist .
	$(PY) -m twine check --strict dist/*
	$(PY) -m pytest

bench: $(VENV)/.bench
	$(PY) -m bench

clean:
	rm -rf $(VENV) demo-output .pytest_cache .mypy_cache .ruff_cache

# Fuzz every parser of untrusted input for SECONDS (default 60); not part of `test`.
.PHONY: fuzz
fuzz: $(VENV)/.dev
	$(PY) fuzz/run.py --seconds $(or $(SECONDS),60)
