#!/usr/bin/env bash
# Runs the whole test suite, in parallel; installs what it needs first (see
# scripts/bootstrap.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
# One worker per core (at most 4: each holds a few GB), whole files per worker so
# module fixtures (a trained checkpoint, the GPU kit's smoke run) are made once;
# pass -n 0 to run in one process.
exec "$PYTHON" -m pytest -n auto --maxprocesses 4 --dist loadfile "$@"
