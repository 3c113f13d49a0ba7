#!/usr/bin/env bash
# `npm test`: every suite of the project, TypeScript (karma in Chromium + WebGPU) and Python (pytest).
# Installs what a fresh machine lacks (npm packages, Debian's chromium, pinned Python packages).
set -uo pipefail
cd "$(dirname "$0")/.."
# `npm ls` fails when a package.json dependency is missing (a fresh machine, or a pulled lockfile that added one).
npm ls --depth=0 >/dev/null 2>&1 || npm install --no-audit --no-fund || exit 1
bash scripts/ensure-chromium.sh || exit 1
bash scripts/ensure-python.sh || exit 1

status=0
# A focused or excluded spec would silently skip the rest of the suite: refuse it.
if grep -rnE "\b(fdescribe|fit|xdescribe|xit)\(" test --include=*.ts; then
    echo "test/: focused (fdescribe/fit) or excluded (xdescribe/xit) specs must not be committed" >&2
    status=1
fi
echo "== browser suites (karma, Chromium + WebGPU/SwiftShader)"
npm run --silent test:browser 2>&1 | tee .karma.log || status=1
grep -q "^karma: [0-9]* passed, 0 failed, 0 skipped" .karma.log || status=1
echo "== demo smoke test (build/demo in Chromium + WebGPU; prints 'demo: N passed, N failed')"
{ npx rollup -c --environment BUILD:demo >.demo-build.log 2>&1 || { tail -n 40 .demo-build.log; false; }; } && node test/demo/smoke.mjs || status=1
rm -f .demo-build.log
echo "== python suites (pytest)"
bash scripts/test-python.sh || status=1
echo "== node commands (node --test test/bin/encode.test.mjs test/bin/readScene.test.mjs test/bin/tiling.test.mjs test/bin/plyChunks.test.mjs test/bin/scriptArgs.test.mjs test/fuzz/hostileCorpus.test.mjs test/bin/package.test.mjs on the library build; test/bin/modelLatency.test.mjs; the scene frame: test/frame/*.test.mjs)"
{ npm run --silent build && node --test --test-reporter=tap test/bin/encode.test.mjs test/bin/package.test.mjs test/bin/readScene.test.mjs test/bin/tiling.test.mjs test/bin/plyChunks.test.mjs test/bin/scriptArgs.test.mjs test/fuzz/hostileCorpus.test.mjs test/bin/modelLatency.test.mjs test/frame/frame.test.mjs test/frame/frameEncode.test.mjs test/frame/showcaseFrame.test.mjs; } >.bin.log 2>&1 || { status=1; tail -n 40 .bin.log; }
echo "bin: $(grep -c '^ok ' .bin.log) passed, $(grep -c '^not ok ' .bin.log) failed"
echo "== examples (scripts/test-examples.mjs: examples/first-pick against the npm pack tarball: rollup, Vite, webpack, esbuild, in Chromium)"
node scripts/test-examples.mjs || status=1
echo "== summary (the browser suites' failures again: CI logs are often cut to their tail)"
grep -A6 "^FAILED " .karma.log
grep "^karma: " .karma.log || echo "karma: no summary line (the run did not finish)"
[ $status -eq 0 ] && echo "all suites passed" || echo "SOME SUITES FAILED"
rm -f .karma.log .bin.log
exit $status
