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

# Builds mmcv 2.1.0 with its CPU ops (PSPNet imports mmcv.ops). ninja in the venv lets torch's
# extension builder compile MAX_JOBS files at once instead of one by one through distutils,
# and -g0 drops the debug information Python's CFLAGS ask for (measured: 40% of the time
# per file, on torch's headers; never used). -O3 stays: the ops run optimised. A heartbeat
# line every 30 s keeps the build from looking hung; the full log stays in $build_log.
build_mmcv() {
    local jobs log_dir build_log start pid status cflags
    jobs="${MAX_JOBS:-$(nproc 2>/dev/null || echo 2)}"
    "${PIP[@]}" install -q ninja
    log_dir="${XDG_CACHE_HOME:-$HOME/.cache}/repvgg_seg"
    mkdir -p "$log_dir"
    build_log="$log_dir/mmcv-build.log"
    say "mmcv 2.1.0 with its CPU ops: built from source on $jobs cores (ninja, no debug info),"
    say "  5 min on 2 AMD EPYC (Zen 5) cores, 8-9 on 2 Xeon cores (2026-12-02), longer on slower CPUs; a wheel pip cached"
    say "  from an earlier install takes seconds. Progress every 30 s; full log: $build_log"
    start=$SECONDS
    # Hiding any GPU keeps the build to the CPU ops, which PSPNet needs; CUDA ops take far longer.
    # setuptools replaces Python's own CFLAGS with $CFLAGS when it is set, so pass
    # Python's flags (-O3, -DNDEBUG) with -g swapped for -g0, not -g0 alone.
    cflags="$("$PYTHON" -c 'import sysconfig; print(" ".join("-g0" if f == "-g" else f for f in (sysconfig.get_config_var("CFLAGS") or "").split()))')"
    PATH="$(dirname "$PYTHON"):$PATH" MAX_JOBS="$jobs" CFLAGS="${CFLAGS:+$CFLAGS }$cflags -g0" \
        MMCV_WITH_OPS=1 FORCE_CUDA=0 CUDA_VISIBLE_DEVICES="" \
        "${PIP[@]}" install -v --no-build-isolation mmcv==2.1.0 >"$build_log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null && sleep 1; done
        kill -0 "$pid" 2>/dev/null || break
        say "  mmcv build: $(build_progress "$build_log"), $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s so far"
    done
    status=0
    wait "$pid" || status=$?
    if [ "$status" -ne 0 ]; then
        say "mmcv build FAILED after $(( SECONDS - start )) s (exit $status); the last lines of $build_log:"
        tail -n 25 "$build_log" | sed 's/^/    /'
        say "what to try: a C++17 compiler (g++ >= 9) and the Python headers (python3-dev) must be"
        say "installed; with little memory, rerun with MAX_JOBS=1; then run this command again."
        exit "$status"
    fi
    say "mmcv 2.1.0 built in $(( (SECONDS - start) / 60 )) min $(( (SECONDS - start) % 60 )) s"
}

# One phrase on how far the build log has got: ninja's "[done/total]" counter, or, while
# pip is still fetching and preparing, the last thing it said.
build_progress() {
    local counter
    counter="$(grep -oE '^ *\[[0-9]+/[0-9]+\]' "$1" 2>/dev/null | tail -n 1 | tr -d ' []')" || true
    if [ -n "$counter" ]; then
        printf '%s of %s files compiled' "${counter%/*}" "${counter#*/}"
    elif grep -q 'Running setup.py\|Building wheel\|building .mmcv._ext' "$1" 2>/dev/null; then
        printf 'preparing the compile'
    else
        printf 'downloading and preparing the source'
    fi
}

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
    build_mmcv
fi

say "installing repvgg_seg (editable) with mmengine 0.10.7, mmsegmentation 1.2.2 and the dev tools"
"${PIP[@]}" install -q --no-build-isolation -e "$ROOT[dev]"

"$PYTHON" -c 'import mmcv._ext, mmseg, repvgg_seg; print("[bootstrap] ready: mmcv", __import__("mmcv").__version__, "mmseg", mmseg.__version__, "repvgg_seg", repvgg_seg.__version__)'
rm -f "$(dirname "$stamp")"/.repvgg_seg-deps-*
touch "$stamp"
