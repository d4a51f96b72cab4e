# convlab — `make help` lists the targets.
PYTHON ?= .venv/bin/python
VENV ?= .venv
# The matching torch/torchvision pair; override for another platform, e.g. TORCH_PINS="torch torchvision".
TORCH_PINS ?= torch==2.14.1 torchvision==0.29.1
PYTEST_WORKERS ?= 2

.DEFAULT_GOAL := help
.PHONY: help install train test test-full lint format tensorboard gpu-check bench study study-quick clean mutate

help: ## Show this help
	@grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*?## "}; {printf "  \033[36m%-14s\033[0m %s\n", $$1, $$2}'

install: ## Create .venv and install convlab with its dev tools
	test -x $(PYTHON) || python3 -m venv $(VENV)
	$(PYTHON) -m pip install --upgrade pip
	$(PYTHON) -m pip install $(TORCH_PINS)
	$(PYTHON) -m pip install -e '.[dev]'

train: ## Train D2L's LeNet on Fashion-MNIST (ARGS="..." adds overrides)
	$(PYTHON) train.py experiment=lenet $(ARGS)

test: ## Fast test suite (a few minutes on 2 cores), branch coverage of the core >= 90 %
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) --cov-fail-under=90 $(ARGS)

test-full: ## Fast suite plus the slow real-data runs
	$(PYTHON) -m pytest -n $(PYTEST_WORKERS) -m '' $(ARGS)

mutate: ## Mutation testing of the core, per-module scores (slow; ARGS="data/idx.py models")
	$(PYTHON) scripts/mutate.py $(ARGS)

lint: ## Ruff lint and format check
	$(PYTHON) -m ruff check .
	$(PYTHON) -m ruff format --check .

format: ## Apply ruff fixes and formatting
	$(PYTHON) -m ruff check --fix .
	$(PYTHON) -m ruff format .

tensorboard: ## Serve every run under outputs/ in TensorBoard
	$(PYTHON) -m tensorboard.main --logdir outputs --port $${PORT:-6006}

gpu-check: ## On a CUDA machine: GPU tests, LeNet and max(a, b) on the GPU, speed summary
	PYTHON=$(PYTHON) scripts/gpu_check.sh

bench: ## Speed: train.py vs a plain PyTorch loop, side by side
	$(PYTHON) -m convlab.bench

study: ## Every sweep of the study (~45 min on 2 cores) → docs/RESULTS.md; re-run resumes
	$(PYTHON) -m convlab.study $(ARGS)

study-quick: ## The study's sweeps at 1 epoch and 2 seeds (minutes) → outputs/study_quick/
	$(PYTHON) -m convlab.study --quick $(ARGS)

clean: ## Remove caches (outputs/ is kept; delete it yourself)
	rm -rf .pytest_cache .ruff_cache .hypothesis build dist src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
