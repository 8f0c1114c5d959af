#!/usr/bin/env bash
# Regenerate constraints.txt, the lock of indirect dependencies: exact versions of everything
# requirements-dev.txt (and through it requirements.txt) pulls in.
#
#   bash scripts/lock.sh           # from this environment, after installing the requirement files into it:
#                                  # the versions the test suite here runs against (what CI should get)
#   bash scripts/lock.sh --fresh   # resolve afresh in a throw-away virtual environment (needs the index):
#                                  # newest versions the pins allow; run the whole suite before committing
#
# Rerun it after changing a pin in requirements*.txt, then commit constraints.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python}
case "${1:-}" in
  "")
    "$PY" -m pip install -q -r requirements-dev.txt
    "$PY" scripts/lock.py requirements-dev.txt > constraints.txt.new
    ;;
  --fresh)
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    "$PY" -m venv "$tmp/venv"
    "$tmp/venv/bin/python" -m pip install -q -r requirements-dev.txt packaging
    "$tmp/venv/bin/python" scripts/lock.py requirements-dev.txt > constraints.txt.new
    ;;
  *)
    echo "usage: bash scripts/lock.sh [--fresh]" >&2
    exit 2
    ;;
esac
mv constraints.txt.new constraints.txt
echo "constraints.txt: $(grep -vc '^#' constraints.txt) pinned distributions"
