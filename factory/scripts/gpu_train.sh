#!/usr/bin/env bash
# The GPU training run in one command (factory/scripts/gpu_train.py has the details).
#
#   factory/scripts/gpu_train.sh [OUT] [BUDGET_SECONDS] [driver options...]
#
# OUT (default: $OUT, else factory/runs/gpu) gets the ONNX models, metrics.json, log.txt and checkpoints.tar;
# BUDGET_SECONDS (default 420) is the wall-clock budget of the whole run. Runs from any directory; CUDA is used
# when torch sees a GPU. Example (the lead's GPU run, from the repository root):
#   factory/scripts/gpu_train.sh "$OUT" 420
# and the CPU proof (every stage, tiny sizes):
#   factory/scripts/gpu_train.sh /tmp/gpu-proof 900 --preset tiny --processes 2
set -euo pipefail
out="${1:-${OUT:-factory/runs/gpu}}"
budget="${2:-420}"
shift $(( $# > 2 ? 2 : $# ))
mkdir -p "$out"
out="$(cd "$out" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# one thread per process: data generation runs one process per core, the trainers set their own threads
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 PYTHONUNBUFFERED=1
exec python3 "$here/gpu_train.py" --out "$out" --budget "$budget" "$@"
