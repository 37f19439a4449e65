#!/usr/bin/env bash
# Runs the whole test suite; installs what it needs first (see scripts/bootstrap.sh).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
source "$ROOT/scripts/bootstrap.sh"
cd "$ROOT"
exec "$PYTHON" -m pytest "$@"
