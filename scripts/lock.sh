#!/usr/bin/env bash
# Regenerate constraints.txt, the lock of indirect dependencies: exact versions of everything
# requirements-dev.txt (and through it requirements.txt) pulls in.
#
#   bash scripts/lock.sh          # in a throw-away virtual environment: a clean resolution (slow, needs the index)
#   bash scripts/lock.sh --here   # from the current environment, after installing the requirement files into it
#
# Rerun it after changing a pin in requirements*.txt, then commit constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
if [ "${1:-}" = "--here" ]; then
  "$PY" -m pip install -q -r requirements-dev.txt
  "$PY" scripts/lock.py requirements-dev.txt > constraints.txt.new
else
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  "$PY" -m venv "$tmp/venv"
  "$tmp/venv/bin/python" -m pip install -q -r requirements-dev.txt packaging
  "$tmp/venv/bin/python" scripts/lock.py requirements-dev.txt > constraints.txt.new
fi
mv constraints.txt.new constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pinned distributions"
