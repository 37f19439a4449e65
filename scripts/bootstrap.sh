#!/usr/bin/env bash
# Installs repvgg_seg and its stack into .venv/ (or the active virtualenv), idempotently.
# Sourced by scripts/demo.sh and scripts/test.sh; sets PYTHON to the interpreter to use.
#
# Order matters: torch first (the local CPU wheel, unless a torch is already there), then
# mmcv 2.1.0 built from source against that torch with --no-build-isolation (otherwise pip
# pulls a CUDA torch into the build environment), then this package and the rest.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '[bootstrap] %s\n' "$*"; }

if [ -n "${VIRTUAL_ENV:-}" ]; then
    PYTHON="$VIRTUAL_ENV/bin/python"
    say "using the active virtualenv $VIRTUAL_ENV"
else
    if [ ! -x "$ROOT/.venv/bin/python" ]; then
        say "creating $ROOT/.venv"
        python3 -m venv "$ROOT/.venv"
    fi
    PYTHON="$ROOT/.venv/bin/python"
fi
export PYTHON
PIP=("$PYTHON" -m pip --disable-pip-version-check)

# The stamp records which requirement files the environment was last set up from.
stamp_key="$(cat "$ROOT/setup.cfg" "$ROOT/scripts/bootstrap.sh" | sha256sum | cut -c1-16)"
stamp="$("$PYTHON" -c 'import sys; print(sys.prefix)')/.repvgg_seg-deps-$stamp_key"
if [ -f "$stamp" ] && "$PYTHON" -c 'import mmcv._ext, mmseg, repvgg_seg' 2>/dev/null; then
    say "dependencies up to date ($PYTHON)"
    return 0 2>/dev/null || exit 0
fi

if "$PYTHON" -c 'import torch' 2>/dev/null; then
    say "keeping torch $("$PYTHON" -c 'import torch; print(torch.__version__)')"
    "$PYTHON" - <<'PY'
import sys, torch
major, minor = (int(p) for p in torch.__version__.split('.')[:2])
if (major, minor) < (2, 6):
    sys.exit(f'[bootstrap] torch {torch.__version__} is too old: repvgg_seg needs torch >= 2.6')
PY
else
    say "installing torch 2.13.0 (CPU wheel)"
    "${PIP[@]}" install -q torch==2.13.0
fi

# mmcv's setup.py imports pkg_resources, which setuptools 82 removed; torch 2.13 wants >= 77.
"${PIP[@]}" install -q "setuptools>=77,<82" wheel

if "$PYTHON" -c 'import mmcv, mmcv._ext, sys; sys.exit(mmcv.__version__ != "2.1.0")' 2>/dev/null; then
    say "mmcv 2.1.0 with compiled ops already installed"
else
    say "building mmcv 2.1.0 with its CPU ops from source (about 10 minutes on 2 cores the first time; pip caches the wheel for next time)"
    # Hiding any GPU keeps the build to the CPU ops, which PSPNet needs; CUDA ops take far longer.
    MMCV_WITH_OPS=1 FORCE_CUDA=0 CUDA_VISIBLE_DEVICES="" \
        "${PIP[@]}" install -q --no-build-isolation mmcv==2.1.0
fi

say "installing repvgg_seg (editable) with mmengine 0.10.7, mmsegmentation 1.2.2 and the dev tools"
"${PIP[@]}" install -q --no-build-isolation -e "$ROOT[dev]"

"$PYTHON" -c 'import mmcv._ext, mmseg, repvgg_seg; print("[bootstrap] ready: mmcv", __import__("mmcv").__version__, "mmseg", mmseg.__version__, "repvgg_seg", repvgg_seg.__version__)'
rm -f "$(dirname "$stamp")"/.repvgg_seg-deps-*
touch "$stamp"
