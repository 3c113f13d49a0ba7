#!/usr/bin/env bash
# Browser tests need Debian's Chromium (no test tool may download its own browser).
set -euo pipefail
if [ -x "${CHROME_BIN:-/usr/bin/chromium}" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
    echo "Installing Debian's chromium (needed for the browser tests and the demo smoke test)..."
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
    echo "Chromium is missing: install Debian's package 'chromium' (apt-get install chromium) or set CHROME_BIN." >&2
    exit 1
fi
