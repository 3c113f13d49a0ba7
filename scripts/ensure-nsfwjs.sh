#!/usr/bin/env bash
# The real-image prior's source package (nsfwjs 4.4.0, MIT, from the npm registry; docs/VDVI.md "Real-image prior"):
# the parity test of its conversion (factory/tests/test_vdvi_pretrained.py) and `python3 -m rtgs2.vdvi.pretrained
# convert` read its tarball from factory/cache/npm (git-ignored). `npm pack` fetches it once through npm's own
# registry client, which checks the registry's integrity digest; nothing else is downloaded.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.4.0
DEST=factory/cache/npm
TARBALL="$DEST/nsfwjs-$VERSION.tgz"
if [ -s "$TARBALL" ]; then
    exit 0
fi
mkdir -p "$DEST"
echo "Fetching nsfwjs@$VERSION from the npm registry into $DEST (the parity test's reference package)..."
npm pack "nsfwjs@$VERSION" --pack-destination "$DEST" --silent >/dev/null
[ -s "$TARBALL" ] || { echo "npm pack did not write $TARBALL" >&2; exit 1; }
