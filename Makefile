# convlab — `make help` lists the targets.
VENV ?= .venv
PYTHON ?= $(VENV)/bin/python
# The exact versions tested (`make lock` writes it; `make install` and CI install with it).
LOCK ?= constraints.txt
# Where torch comes from. Empty: PyPI, whose Linux x86-64 torch bundles the CUDA
# libraries (a ~6 GB venv). CPU-only wheels, where the platform has them (docs/install.md):
# make install TORCH_INDEX=https://download.pytorch.org/whl/cpu
TORCH_INDEX ?=
PYTEST_WORKERS ?= 2
# Written after a complete install; `make train`/`make test` install first when it is missing or
# older than pyproject.toml or the lock.
INSTALLED := $(VENV)/.convlab-installed

.DEFAULT_GOAL := help
.PHONY: help install lock train test test-full lint format tensorboard gpu-check bench study study-quick clean mutate

help: ## Show this help
	@if [ -t 1 ]; then c='\033[36m'; r='\033[0m'; else c=''; r=''; fi; \
	grep -E '^[a-zA-Z_-]+:.*?## ' $(MAKEFILE_LIST) | \
	awk -v c="$$c" -v r="$$r" 'BEGIN {FS = ":.*?## "}; {printf "  %s%-14s%s %s\n", c, $$1, r, $$2}'

install: $(INSTALLED) ## Create .venv with the locked versions (once; 6 GB with CUDA torch, see docs/install.md)

$(INSTALLED): pyproject.toml $(LOCK)
	test -x $(VENV)/bin/python || python3 -m venv $(VENV)
	$(VENV)/bin/python -m pip install --quiet --upgrade pip
	$(VENV)/bin/python -m pip install -c $(LOCK) $(if $(TORCH_INDEX),--index-url $(TORCH_INDEX)) torch
	$(VENV)/bin/python -m pip install -c $(LOCK) -e '.[dev]'
	touch $@

lock: ## Re-resolve pyproject.toml's ranges; pin every version in constraints.txt
	$(PYTHON) scripts/lock.py --output $(LOCK)

train: $(INSTALLED) ## Train D2L's LeNet on Fashion-MNIST (ARGS="..." adds overrides)
	$(PYTHON) train.py experiment=lenet $(ARGS)

test: $(INSTALLED) ## Fast test suite (a few minutes on 2 cores), branch coverage of the core >= 90 %
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

tensorboard: ## Serve every run under outputs/ (LOGDIR=...: a sweep's folder) in TensorBoard
	$(PYTHON) -m convlab.report.tensorboard_index $${LOGDIR:-outputs}
	$(PYTHON) -m tensorboard.main --logdir $${LOGDIR:-outputs} --port $${PORT:-6006}

gpu-check: ## On a CUDA machine: GPU tests, LeNet and max(a, b) on the GPU, speed summary
	PYTHON=$(PYTHON) scripts/gpu_check.sh

bench: ## Speed: train.py vs a plain PyTorch loop, and members=K vs single runs, side by side
	$(PYTHON) -m convlab.bench

study: ## Every sweep of the study (~34 min on 2 cores) → docs/RESULTS.md; re-run resumes
	$(PYTHON) -m convlab.study $(ARGS)

study-quick: ## The study's sweeps at 1 epoch and 2 seeds (minutes) → outputs/study_quick/
	$(PYTHON) -m convlab.study --quick $(ARGS)

clean: ## Remove caches (outputs/ is kept; delete it yourself)
	rm -rf .pytest_cache .ruff_cache .hypothesis build dist src/*.egg-info
	find . -name __pycache__ -type d -prune -exec rm -rf {} +
