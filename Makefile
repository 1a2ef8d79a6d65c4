# The README's two commands. Both create .venv on first use and reinstall when pyproject.toml changes.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp
OUT ?= outputs

.PHONY: demo test test-all lint bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $(STAMP)

demo: $(STAMP)  ## render the scene world with its labels, then dissect the shipped scene GAN
	$(BIN)/python -m ganlens.data.scenes --out $(OUT)/scenes.png --count 8 --resolution 64
	$(BIN)/python -m ganlens.dissect --count 512

lint: $(STAMP)  ## ruff, formatting and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint  ## lint, then the test suite (doctests of src/ included; slow tests excluded)
	$(BIN)/python -m pytest -q

test-all: lint  ## every test, slow ones included
	$(BIN)/python -m pytest -q -m "slow or not slow"

bench: $(STAMP)  ## benchmarks; copy their figures into benchmarks/BENCHMARKS.md
	$(BIN)/python benchmarks/scene_throughput.py

clean:
	rm -rf $(VENV) $(OUT) .mypy_cache .ruff_cache
