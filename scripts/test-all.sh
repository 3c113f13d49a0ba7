#!/usr/bin/env bash
# `npm test`: every suite of the project, TypeScript (karma in Chromium + WebGPU) and Python (pytest).
# Installs what a fresh machine lacks (npm packages, Debian's chromium, pinned Python packages).
set -uo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@babylonjs/core ] || npm install --no-audit --no-fund || exit 1
bash scripts/ensure-chromium.sh || exit 1
bash scripts/ensure-python.sh || exit 1

status=0
echo "== browser suites (karma, Chromium + WebGPU/SwiftShader)"
npm run --silent test:browser 2>&1 | tee .karma.log || status=1
grep -q "^karma: [0-9]* passed, 0 failed" .karma.log || status=1
echo "== python suites (pytest)"
bash scripts/test-python.sh || status=1
rm -f .karma.log
exit $status
