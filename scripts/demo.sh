#!/usr/bin/env bash
# `npm run demo`: builds the demo when its sources changed (or it was never built), then serves it on
# http://localhost:${PORT:-8080}/demo/ and prints the URL. No network: everything comes from the repository.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d node_modules/@babylonjs/core ] || npm install --no-audit --no-fund
bundle=build/demo/main.js
stale=0
if [ ! -f "$bundle" ] || [ ! -f build/demo/worker.js ] || [ ! -f build/demo/ort-wasm-simd-threaded.asyncify.wasm ]; then
    stale=1
elif [ -n "$(find src shaders demo rollup.config.mjs -newer "$bundle" \( -name '*.ts' -o -name '*.wgsl' -o -name '*.json' -o -name '*.mjs' \) -not -path 'demo/scenes/*' -print -quit)" ]; then
    stale=1
fi
if [ "$stale" = 1 ]; then
    echo "Building the demo (build/demo/)..."
    npx rollup -c --environment BUILD:demo
fi
exec node scripts/demo-server.mjs
