#!/usr/bin/env bash
# GPU check: the GPU tests, then D2L's LeNet and max(a, b) regression at batch size 1 on one GPU,
# with accuracy, epoch time and training examples/s (validation excluded) for each.
#
#   scripts/gpu_check.sh                  # from the repository root, with .venv installed
#   OUT_DIR=/tmp/gpu PRECISIONS="32-true bf16-mixed" scripts/gpu_check.sh
#   DATA_DIR=<folder with the four Fashion-MNIST .gz files>  # else the usual lookup
#   MAX_EPOCHS=3    # max(a, b) at batch size 1: epochs timed (1,000 steps each)
#   MEMBERS="8 256" # also max(a, b) with members=K (K seeds stacked in one process)
#
# Needs CUDA and the real Fashion-MNIST (apt-get install dataset-fashion-mnist). Takes ~2-5 min
# on a recent GPU. D2L's book build reports ~55k examples/s for LeNet on its GPU.
# Dry run on CPU (checks the script, not the GPU): TRAINER=cpu DATA_DEVICE=cpu SKIP_TESTS=1 \
#   EXTRA="trainer.max_epochs=2 +trainer.limit_train_batches=5" scripts/gpu_check.sh
set -euo pipefail

PYTHON=${PYTHON:-.venv/bin/python}
OUT_DIR=${OUT_DIR:-outputs/gpu_check/$(date +%Y-%m-%d_%H-%M-%S)}
TRAINER=${TRAINER:-gpu}
DATA_DEVICE=${DATA_DEVICE:-cuda}
PRECISIONS=${PRECISIONS:-32-true}
EXTRA=${EXTRA:-}
MAX_EPOCHS=${MAX_EPOCHS:-3}
DATA=()
[[ -n "${DATA_DIR:-}" ]] && DATA=("data.data_dir=$DATA_DIR")
mkdir -p "$OUT_DIR"

if [[ "$TRAINER" == gpu ]]; then
  "$PYTHON" -c 'import sys, torch; sys.exit(0 if torch.cuda.is_available() else "error: no CUDA device visible to torch")'
  nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader || true
fi
"$PYTHON" -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda,
  torch.cuda.get_device_name(0) if torch.cuda.is_available() else "(no GPU)")'

if [[ -z "${SKIP_TESTS:-}" ]]; then
  echo "== GPU tests"
  "$PYTHON" -m pytest -q -p no:cacheprovider tests/runner/test_gpu.py -rs
fi

runs=()
for precision in $PRECISIONS; do
  echo "== experiment=lenet trainer=$TRAINER precision=$precision data.device=$DATA_DEVICE"
  dir="$OUT_DIR/lenet_$precision"
  # shellcheck disable=SC2086  # EXTRA is a list of overrides
  "$PYTHON" train.py experiment=lenet trainer="$TRAINER" trainer.precision="$precision" \
    data.device="$DATA_DEVICE" "${DATA[@]}" \
    hydra.run.dir="$dir" $EXTRA
  runs+=("$dir")
done

echo "== experiment=max_regression trainer=$TRAINER data.batch_size=1"
dir="$OUT_DIR/max_regression_bs1"
# shellcheck disable=SC2086
"$PYTHON" train.py experiment=max_regression trainer="$TRAINER" data.batch_size=1 \
  trainer.max_epochs="$MAX_EPOCHS" hydra.run.dir="$dir" $EXTRA
runs+=("$dir")

for k in ${MEMBERS:-}; do
  echo "== experiment=max_regression members=$k trainer=$TRAINER"
  dir="$OUT_DIR/max_regression_members$k"
  # shellcheck disable=SC2086
  "$PYTHON" train.py experiment=max_regression members="$k" trainer="$TRAINER" \
    trainer.max_epochs="$MAX_EPOCHS" hydra.run.dir="$dir" $EXTRA
  runs+=("$dir")
done

echo "== summary (epoch time and examples/s: median over the epochs after the first)"
"$PYTHON" - "${runs[@]}" <<'PY' | tee "$OUT_DIR/summary.md"
import json, statistics, sys
from pathlib import Path

print("| run | status | test metrics | epochs | first epoch s | epoch s | examples/s "
      "| µs per step | µs per seed-step |")
print("|---|---|---|---|---|---|---|---|---|")
for run in map(Path, sys.argv[1:]):
    record = json.loads((run / "metrics.json").read_text())
    members = record.get("members") or [None]
    if members[0] is not None:  # a members=K run: its folder has one run per seed
        member = json.loads((run / members[0] / "metrics.json").read_text())
        record["metrics"] = {f"{k} (seed {member['seed']})": v
                             for k, v in member["metrics"].items()}
    times, rates = record["epoch_train_s"], record["train_examples_per_s"]
    # The first epoch pays for cuDNN autotuning and warm-up.
    steady_times, steady_rates = times[1:] or times, rates[1:] or rates
    metrics = ", ".join(
        f"{k} {v:.4g}" for k, v in record["metrics"].items() if k.startswith("test/")
    )
    steps_per_epoch = record["steps"] / record["epochs"]
    step_us = statistics.median(steady_times) / steps_per_epoch * 1e6
    print(
        f"| {run.name} | {record['status']} | {metrics} | {len(times)} "
        f"| {times[0]:.2f} | {statistics.median(steady_times):.2f} "
        f"| {statistics.median(steady_rates):,.0f} | {step_us:,.0f} "
        f"| {step_us / len(members):,.1f} |"
    )
PY
echo "written: $OUT_DIR/summary.md"
