#!/usr/bin/env bash
# The model factory's Python packages (pinned in factory/requirements.txt). torch==2.13.0 resolves to
# the CPU wheel this machine kind ships on disk; a looser pin would pull several GB of CUDA packages.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
if ! command -v "$PY" >/dev/null; then
    echo "Python 3.11 is missing: install python3 (and pip) to run the model factory and its tests." >&2
    exit 1
fi
if ! "$PY" scripts/check_python_requirements.py factory/requirements.txt 2>/dev/null; then
    echo "Installing the model factory's Python packages (factory/requirements.txt)..."
    "$PY" -m pip install -q -r factory/requirements.txt
fi
