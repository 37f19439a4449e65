#!/usr/bin/env bash
# Puts the files the GPU machine needs into .gpu_kit/ (git-ignored), ready to travel with a
# device run (name it in `carry`). Run it here, on a CPU machine with the registry:
#
#     bash scripts/gpu/fetch.sh
#
# What it fetches is pinned, with hashes, in scripts/gpu/kit.lock: pure-Python (or cp312
# manylinux) wheels for Python 3.12 and the mmcv 2.1.0 source archive. Nothing the GPU machine
# already has (torch, numpy, opencv, onnxruntime, ...). Idempotent: a file already there with
# the right hash is kept; a wrong one is fetched again; the folder must stay under 40 MiB.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
LOCK="$ROOT/scripts/gpu/kit.lock"
KIT="${GPU_KIT_DIR:-$ROOT/.gpu_kit}"
LIMIT_MIB=40
say() { printf '[fetch] %s\n' "$*"; }

# pip of the host Python fetches the wheels (any Python can download for 3.12). The mmcv
# sdist is fetched from the package index directly: `pip download` would prepare its
# metadata by running setup.py, which imports torch, and a fresh clone has none.
HOST_PY="${PYTHON:-python3}"
INDEX="${PIP_INDEX_URL:-https://pypi.org/simple}"
WHEEL_TAGS=(--only-binary=:all: --python-version 3.12 --implementation cp
            --platform manylinux2014_x86_64 --platform manylinux_2_17_x86_64
            --platform manylinux_2_28_x86_64)

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

# fetch_one ROLE REQUIREMENT FILE SHA256: download into a scratch folder, check, move in.
fetch_one() {
    local role=$1 req=$2 file=$3 sha=$4 tmp got
    tmp="$(mktemp -d)"
    if [ "$role" = sdist ]; then
        "$HOST_PY" - "$INDEX" "${req%%==*}" "$file" "$tmp" >"$tmp/pip.log" 2>&1 <<'PY'
import re, sys, urllib.request
index, name, file, out = sys.argv[1:]
page = urllib.request.urlopen(f'{index.rstrip("/")}/{name}/', timeout=60).read().decode()
link = re.search(r'href="([^"#]*/' + re.escape(file) + r')[#"]', page)
if link is None:
    sys.exit(f'{file} is not listed at {index}/{name}/')
url = urllib.parse.urljoin(f'{index.rstrip("/")}/{name}/', link.group(1))
urllib.request.urlretrieve(url, f'{out}/{file}')
PY
    else
        "$HOST_PY" -m pip download -q --disable-pip-version-check --no-deps \
            "${WHEEL_TAGS[@]}" -d "$tmp" "$req" >"$tmp/pip.log" 2>&1
    fi
    if [ ! -f "$tmp/$file" ]; then
        say "ERROR: pip did not produce $file for $req; its log:"
        sed 's/^/    /' "$tmp/pip.log" | grep -v 'is ignored: it is neither' | tail -n 15
        rm -rf "$tmp"; return 1
    fi
    got="$(sha_of "$tmp/$file")"
    if [ "$got" != "$sha" ]; then
        say "ERROR: $file has sha256 $got, kit.lock pins $sha: not kept"
        rm -rf "$tmp"; return 1
    fi
    mv "$tmp/$file" "$KIT/$file"
    rm -rf "$tmp"
}

mkdir -p "$KIT"
failed=0 fetched=0 kept=0
expected=()
while read -r role req file sha; do
    case "$role" in ''|'#'*) continue ;; esac
    expected+=("$file")
    if [ -f "$KIT/$file" ] && [ "$(sha_of "$KIT/$file")" = "$sha" ]; then
        kept=$((kept + 1))
        continue
    fi
    [ -f "$KIT/$file" ] && say "$file: hash differs from kit.lock, fetching it again"
    say "fetching $req ($role)"
    if fetch_one "$role" "$req" "$file" "$sha"; then
        fetched=$((fetched + 1))
    else
        failed=$((failed + 1))
    fi
done <"$LOCK"

# Files no longer in kit.lock would travel for nothing (and two versions of one package
# would break the install there): remove them.
for path in "$KIT"/*; do
    [ -e "$path" ] || continue
    name="$(basename "$path")"
    if ! printf '%s\n' "${expected[@]}" | grep -qxF "$name"; then
        say "removing $name (not in kit.lock)"
        rm -rf "$path"
    fi
done

say "kit: $KIT ($fetched fetched, $kept already there, $failed failed)"
ls -l "$KIT" | awk 'NR > 1 { printf "    %10d  %s\n", $5, $9 }'
bytes="$(du -sb "$KIT" | cut -f1)"
say "size: $(awk -v b="$bytes" 'BEGIN { printf "%.2f MiB", b / 1048576 }') (limit $LIMIT_MIB MiB)"
if git -C "$ROOT" check-ignore -q "$KIT" 2>/dev/null; then
    say "git ignores it; pass it to the device run with carry: [\"$(basename "$KIT")\"]"
else
    say "WARNING: git does not ignore $KIT (it would be committed); add it to .gitignore"
fi
if [ "$bytes" -gt $((LIMIT_MIB * 1048576)) ]; then
    say "ERROR: the kit is over $LIMIT_MIB MiB"
    exit 1
fi
[ "$failed" -eq 0 ] || exit 1
say "ready"
