#!/bin/sh
# Create tests/reference/.venv (if missing) and install the pinned reference
# requirements into it. Idempotent: does nothing when they are already there.
#   tests/reference/setup.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
venv="$here/.venv"
req="$here/requirements.txt"
py=${PYTHON:-python3}

if [ ! -x "$venv/bin/python" ]; then
    echo "creating $venv"
    "$py" -m venv "$venv"
fi

# Every pinned requirement already installed at its version: nothing to do.
if "$venv/bin/python" - "$req" <<'PYEOF'
import sys
from importlib import metadata
ok = True
for line in open(sys.argv[1]):
    line = line.split("#", 1)[0].strip()
    if not line:
        continue
    name, _, version = line.partition("==")
    try:
        have = metadata.version(name)
    except metadata.PackageNotFoundError:
        have = None
    if have != version:
        print(f"{name}: want {version}, have {have}")
        ok = False
sys.exit(0 if ok else 1)
PYEOF
then
    echo "reference requirements satisfied in $venv"
    exit 0
fi

"$venv/bin/python" -m pip install --upgrade pip
"$venv/bin/python" -m pip install -r "$req"
echo "reference requirements installed in $venv"
