# Every target builds or refreshes .venv first; a fresh machine needs only python3 and make.
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: demo test lint types unit bench docs clean venv fuzz

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[all,dev]'
	touch $(STAMP)

venv: $(STAMP)

demo: $(STAMP)
	$(BIN)/python -m demo

lint: $(STAMP)
	$(BIN)/ruff check xaa reference_idp reference_resource reference_broker tests bench demo examples conftest.py
	$(BIN)/ruff format --check xaa reference_idp reference_resource reference_broker tests bench demo examples conftest.py

types: $(STAMP)
	$(BIN)/mypy xaa reference_idp reference_resource reference_broker demo examples

unit: $(STAMP)
	$(BIN)/coverage erase
	$(BIN)/coverage run -m pytest -q
	$(BIN)/python -m bench.coverage_gate

test: lint types unit docs

bench: $(STAMP)
	$(BIN)/python -m bench

# 10^5 hostile HTTP requests at both reference apps; exits non-zero on any finding.
fuzz: $(STAMP)
	$(BIN)/python -m tests.fuzz --count 100000 --seconds 600

docs: $(STAMP)
	NO_MKDOCS_2_WARNING=1 $(BIN)/mkdocs build --strict --site-dir .site

clean:
	rm -rf $(VENV) .site .bench .coverage .pytest_cache .mypy_cache .ruff_cache
