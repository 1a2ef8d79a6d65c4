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
	@# Debian's chromium for the report's browser test (Playwright drives it; it downloads nothing).
	@command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || \
		{ command -v apt-get >/dev/null 2>&1 && [ "$$(id -u)" = 0 ] && \
		  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
		  --no-install-recommends chromium >/dev/null; } || \
		echo "warning: chromium is missing and apt-get could not install it (needs Debian and" \
		"root); tests/report/test_browser.py fails until it is installed" >&2
	touch $(STAMP)

demo: $(STAMP)  ## train a 16 px ProgGAN for a few minutes with both monitors (W&B offline), print its
                ## per-epoch numbers, then dissect the shipped scene GAN into an HTML report
	$(BIN)/ganlens scenes --out $(OUT)/scenes.png --count 8 --resolution 64
	WANDB_MODE=$${WANDB_MODE:-offline} $(BIN)/python train.py fit --config configs/demo_cpu.yaml \
		--config callbacks/interpretability.yaml --config callbacks/quality.yaml \
		--trainer.default_root_dir $(OUT)/demo
	$(BIN)/ganlens summary $(OUT)/demo
	$(BIN)/python dissect.py units --layers layer2 layer4 layer6 --samples 256 --out $(OUT)/dissect_scene
	@echo "Report of the shipped scene GAN: $(OUT)/dissect_scene/dissect.html"

lint: $(STAMP)  ## ruff, formatting and mypy
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

test: lint  ## lint, then the test suite (doctests of src/ included; slow tests excluded), one
            ## worker per core (pytest-xdist, work stealing: long tests do not queue behind one
            ## worker), one torch thread each: two threads per worker stall
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -q -n auto --dist worksteal

test-all: lint  ## every test, slow ones included
	OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 $(BIN)/python -m pytest -q -n auto --dist worksteal -m "slow or not slow"

bench: $(STAMP)  ## benchmarks; copy their figures into benchmarks/BENCHMARKS.md
	$(BIN)/python benchmarks/scene_throughput.py

clean:
	rm -rf $(VENV) $(OUT) .mypy_cache .ruff_cache
