#!/usr/bin/env bash
# Runs the model factory's pytest suites.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/ensure-python.sh
cd factory
exec ${PYTHON:-python3} -m pytest -q "$@"
