"""Exit 0 when every pinned `name==version` line of a requirements file is installed at that version."""
import sys
from importlib.metadata import PackageNotFoundError, version

missing = []
for line in open(sys.argv[1]):
    line = line.split("#")[0].strip()
    if not line or "==" not in line:
        continue
    name, pinned = line.split("==")
    try:
        installed = version(name)
    except PackageNotFoundError:
        missing.append(f"{name} (not installed)")
        continue
    if installed.split("+")[0] != pinned.strip():
        missing.append(f"{name} {installed} != {pinned}")
if missing:
    print("missing:", ", ".join(missing), file=sys.stderr)
    sys.exit(1)
