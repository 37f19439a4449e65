#!/usr/bin/env bash
# Installs the GPU kit (.gpu_kit/, made by scripts/gpu/fetch.sh) into a scratch folder on the
# GPU machine, which has no package registry. Called by scripts/gpu/bench.sh:
#
#     bash scripts/gpu/install.sh wheels SITE   # the wheels of kit.lock: pip --target SITE
#     bash scripts/gpu/install.sh mmcv SITE     # mmcv 2.1.0 built from source, CPU ops, into SITE
#
# Then PYTHONPATH=SITE puts them in front of the machine's own packages; nothing outside SITE
# (and SITE-build, for the build only) is written, the system Python's site-packages least of
# all. (A venv would not do: the image's python3 is itself a venv, and a venv made from it with
# --system-site-packages sees the base interpreter's packages, not torch.) PYTHON picks the
# interpreter (default python3).
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
KIT="${GPU_KIT_DIR:-$ROOT/.gpu_kit}"
LOCK="$ROOT/scripts/gpu/kit.lock"
PY="${PYTHON:-python3}"
PIP=("$PY" -m pip install --disable-pip-version-check --no-index --no-deps --no-cache-dir)
say() { printf '[install] %s\n' "$*"; }

[ $# -eq 2 ] || { sed -n '2,12p' "$0"; exit 2; }
what=$1 SITE=$2
BUILD_SITE="$SITE-build"
if [ ! -d "$KIT" ]; then
    say "ERROR: no kit at $KIT: run scripts/gpu/fetch.sh on a CPU machine and name .gpu_kit"
    say "       in the device run's carry"
    exit 1
fi

install_wheels() {
    local role req file sha module wheels=() build=()
    say "checking $KIT against the hashes kit.lock pins"
    awk '!/^#/ && NF { print $4 "  " $3 }' "$LOCK" | (cd "$KIT" && sha256sum -c --quiet -) ||
        { say "ERROR: the kit is damaged or out of date: run scripts/gpu/fetch.sh again"; return 1; }
    while read -r role req file sha; do
        case "$role" in
            wheel) wheels+=("$KIT/$file") ;;
            fallback:*|build:*)
                module="${role#*:}"
                if "$PY" -c "import $module" 2>/dev/null; then
                    say "$req not needed: the machine's Python imports $module"
                elif [ "${role%%:*}" = fallback ]; then
                    wheels+=("$KIT/$file")
                else
                    build+=("$KIT/$file")
                fi ;;
        esac
    done < <(grep -v '^#' "$LOCK")
    say "installing ${#wheels[@]} wheels into $SITE ($("$PY" --version 2>&1), $(command -v "$PY"))"
    "${PIP[@]}" -q --no-compile --upgrade --target "$SITE" "${wheels[@]}" || return 1
    if [ ${#build[@]} -gt 0 ]; then
        say "for the mmcv build only, into $BUILD_SITE: ${build[*]##*/}"
        "${PIP[@]}" -q --no-compile --upgrade --target "$BUILD_SITE" "${build[@]}" || return 1
    fi
    PYTHONPATH="$SITE" "$PY" -c 'import mmengine, prettytable, ftfy, regex, cityscapesscripts, addict, yapf, termcolor
print("[install] imports fine: mmengine", mmengine.__version__, "from", mmengine.__file__)'
}

# mmcv's ops compiled for the CPU only (PSPNet needs none on the GPU; the CUDA ops would take
# many times longer): the GPU hidden, FORCE_CUDA=0. ninja compiles MAX_JOBS files at once
# (torch's builder goes one by one without it); -g0 drops debug information.
build_mmcv() {
    local sdist jobs bindir cflags
    sdist="$(awk '$1 == "sdist" { print $3 }' "$LOCK")"
    if PYTHONPATH="$SITE" "$PY" -c 'import sys, mmcv, mmcv._ext
sys.exit(mmcv.__version__ != "2.1.0" or not mmcv.__file__.startswith(sys.argv[1]))' "$SITE" 2>/dev/null
    then
        say "mmcv 2.1.0 with compiled ops is already in $SITE"
        return 0
    fi
    jobs="${MAX_JOBS:-$(nproc 2>/dev/null || echo 4)}"
    bindir="$(dirname "$("$PY" -c 'import sys; print(sys.executable)')")"
    PATH="$bindir:$PATH"
    if ninja_dir="$("$PY" -c 'import ninja; print(ninja.BIN_DIR)' 2>/dev/null)"; then
        PATH="$ninja_dir:$PATH"
    fi
    export PATH
    command -v ninja >/dev/null && say "ninja $(ninja --version) on $jobs cores" \
        || say "WARNING: no ninja: torch's builder compiles one file at a time (much slower)"
    command -v "${CXX:-c++}" >/dev/null || say "WARNING: no C++ compiler (${CXX:-c++}) on PATH"
    say "building $sdist with its CPU ops into $SITE"
    # setuptools replaces Python's CFLAGS by $CFLAGS: keep -O3/-DNDEBUG, swap -g for -g0.
    cflags="$("$PY" -c 'import sysconfig; print(" ".join("-g0" if f == "-g" else f for f in (sysconfig.get_config_var("CFLAGS") or "").split()))')"
    PYTHONPATH="$BUILD_SITE:$SITE" MAX_JOBS="$jobs" \
        CFLAGS="${CFLAGS:+$CFLAGS }$cflags -g0" MMCV_WITH_OPS=1 FORCE_CUDA=0 CUDA_VISIBLE_DEVICES="" \
        "${PIP[@]}" -v --no-build-isolation --target "$SITE" "$KIT/$sdist" || return 1
    PYTHONPATH="$SITE" "$PY" -c 'import mmcv, mmcv._ext
print("[install] mmcv", mmcv.__version__, "with compiled ops from", mmcv.__file__)'
}

case "$what" in
    wheels) install_wheels ;;
    mmcv) build_mmcv ;;
    *) say "unknown part $what (wheels or mmcv)"; exit 2 ;;
esac
