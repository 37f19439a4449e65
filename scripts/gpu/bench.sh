#!/usr/bin/env bash
# The one command for the GPU machine (H200, Python 3.12, no registry). From the repo root:
#
#     bash scripts/gpu/bench.sh             # there, with .gpu_kit in the run's carry
#     bash scripts/gpu/bench.sh --smoke     # here, on a CPU, with the existing .venv
#     bash scripts/gpu/bench.sh --install-only
#
# Steps, each under its own time limit and all inside one budget (GPU_KIT_BUDGET_S, 530 s),
# each run even when an earlier one failed: install the kit's wheels and build mmcv (CPU ops)
# into /tmp; the environment; the Table 8 protocol (six configs, both forms); fast modes on
# the deployed B1g2-fast, B2-fast, R50, R101; MMSeg's own benchmark on B1g2-fast and R50;
# torch.compile on B1g2-fast and R50 (last: the step most likely to be cut for time).
# Written to --out DIR (default $OUT, else work_dirs/gpu_kit[_smoke]): results.json,
# results.csv, table8.png, summary.txt and logs.tar.gz (every log and raw tool output).
# --smoke runs the same steps at 64x64, batch 1, one iteration, without the install.
# Environment: GPU_KIT_CONFIGS (config files for every step instead of the defaults),
# GPU_KIT_SKIP (step names or prefixes to skip, e.g. "compile"), GPU_KIT_BUDGET_S,
# GPU_KIT_WARMUP / GPU_KIT_ITERS (every benchmark step), GPU_KIT_PYTHON.
set -uo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT" || exit 1
START=$SECONDS
say() { printf '[gpu-kit %4ds] %s\n' "$((SECONDS - START))" "$*"; }

MODE=gpu OUT_DIR="${OUT:-}"
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) MODE=smoke ;;
        --install-only) MODE=install ;;
        --out) OUT_DIR="$2"; shift ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (see --help)" >&2; exit 2 ;;
    esac
    shift
done

if [ "$MODE" = smoke ]; then
    if [ -z "${GPU_KIT_PYTHON:-}" ]; then
        # The project's environment, made if missing (as scripts/test.sh does).
        source "$ROOT/scripts/bootstrap.sh" || exit 1
        set +e  # bootstrap's -e must not stop the steps that follow a failure
        say() { printf '[gpu-kit %4ds] %s\n' "$((SECONDS - START))" "$*"; }  # ours again
    fi
    PY="${GPU_KIT_PYTHON:-$PYTHON}"
    DEVICE=cpu SHAPE="64 64" BATCH=1 T8_W=0 T8_N=1 FAST_W=0 FAST_N=1
    BUDGET="${GPU_KIT_BUDGET_S:-3600}"
    OUT_DIR="${OUT_DIR:-$ROOT/work_dirs/gpu_kit_smoke}"
    export PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}"
else
    # Estimates (docs/benchmarks.md, "GPU kit"): ~6.7 s per batch of all 12 Table 8
    # variants, ~2.6 s per batch of the 16 fast-mode variants.
    PY="${GPU_KIT_PYTHON:-python3}"
    DEVICE=cuda SHAPE="713 713" BATCH=16 T8_W=2 T8_N=6 FAST_W=2 FAST_N=8
    BUDGET="${GPU_KIT_BUDGET_S:-530}"
    OUT_DIR="${OUT_DIR:-$ROOT/work_dirs/gpu_kit}"
    SITE="${GPU_KIT_SITE:-/tmp/gpu_kit_site}"
    export PYTHONPATH="$ROOT:$SITE${PYTHONPATH:+:$PYTHONPATH}"
fi
T8_W="${GPU_KIT_WARMUP:-$T8_W}" T8_N="${GPU_KIT_ITERS:-$T8_N}"
FAST_W="${GPU_KIT_WARMUP:-$FAST_W}" FAST_N="${GPU_KIT_ITERS:-$FAST_N}"
DEADLINE=$((START + BUDGET))
RESERVE=25  # kept for the report and the archive
export PYTHONUNBUFFERED=1 MPLBACKEND=Agg PYTHON="$PY"

TABLE8=(configs/pspnet_repvgg_b1g2_fast.py configs/pspnet_r50.py configs/pspnet_repvgg_b1g2.py
        configs/pspnet_repvgg_b2_fast.py configs/pspnet_r101.py configs/pspnet_repvgg_b2.py)
FAST=(configs/pspnet_repvgg_b1g2_fast.py configs/pspnet_repvgg_b2_fast.py
      configs/pspnet_r50.py configs/pspnet_r101.py)
MMSEG=(configs/pspnet_repvgg_b1g2_fast.py configs/pspnet_r50.py)
COMPILE=(configs/pspnet_repvgg_b1g2_fast.py configs/pspnet_r50.py)
if [ -n "${GPU_KIT_CONFIGS:-}" ]; then
    read -r -a TABLE8 <<<"$GPU_KIT_CONFIGS"
    FAST=("${TABLE8[@]}") MMSEG=("${TABLE8[@]}") COMPILE=("${TABLE8[@]}")
fi

WORK="$(mktemp -d "${TMPDIR:-/tmp}/gpu_kit_work.XXXXXX")"
mkdir -p "$WORK/logs" "$WORK/raw" "$OUT_DIR"
rm -f "$OUT_DIR"/{results.json,results.csv,table8.png,summary.txt,logs.tar.gz}  # no stale results
: >"$WORK/steps.tsv"

record() {  # NAME STATUS RC SECONDS LIMIT NOTE
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$@" >>"$WORK/steps.tsv"
    say "step $1: $2${6:+ ($6)} after ${4}s"
}

progress() {  # a short phrase on how far a step's log has got
    local counter
    counter="$(grep -oE '^ *\[[0-9]+/[0-9]+\]' "$1" 2>/dev/null | tail -n 1 | tr -d ' []')"
    if [ -n "$counter" ]; then
        printf '%s of %s files compiled' "${counter%/*}" "${counter#*/}"
    else
        tail -n 1 "$1" 2>/dev/null | cut -c1-110
    fi
}

# run_step NAME LIMIT CMD...: CMD under `timeout` (its whole process group), output to
# logs/NAME.log, a heartbeat every 30 s; the limit shrinks to what is left of the budget, and
# the step is skipped when less than NEED seconds (default 20; set as NEED=... run_step) are.
run_step() {
    local name=$1 limit=$2 need=${NEED:-20} skip left pid rc t0 status note=''
    shift 2
    for skip in ${GPU_KIT_SKIP:-}; do
        [[ "$name" == "$skip"* ]] && { record "$name" skipped 0 0 0 "GPU_KIT_SKIP"; return; }
    done
    [ "$MODE" = smoke ] && limit=900 need=20
    left=$((DEADLINE - SECONDS - RESERVE))
    if [ "$left" -lt "$need" ]; then
        record "$name" skipped 0 0 0 "${left}s left of the ${BUDGET}s budget, it needs ~${need}s"
        return
    fi
    [ "$limit" -gt "$left" ] && limit=$left
    say "step $name: started (limit ${limit}s)"
    t0=$SECONDS
    timeout --kill-after=10 "$limit" "$@" >"$WORK/logs/$name.log" 2>&1 &
    pid=$!
    while kill -0 "$pid" 2>/dev/null; do
        for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null && sleep 1; done
        kill -0 "$pid" 2>/dev/null && say "  $name, $((SECONDS - t0))s: $(progress "$WORK/logs/$name.log")"
    done
    wait "$pid"; rc=$?
    case "$rc" in
        0) status=ok ;;
        124|137) status=timeout; note="stopped at its ${limit}s limit" ;;
        *) status=failed; note="exit $rc; see logs/$name.log" ;;
    esac
    [ "$rc" -ne 0 ] && tail -n 12 "$WORK/logs/$name.log" | sed 's/^/    | /'
    record "$name" "$status" "$rc" "$((SECONDS - t0))" "$limit" "$note"
}

name_of() { basename "$1" .py; }
BENCH=("$PY" tools/benchmark.py --device "$DEVICE" --shape $SHAPE --batch-size "$BATCH")
baseline_for() { for c in "$@"; do [ "$(name_of "$c")" = pspnet_r50 ] && echo "--baseline pspnet_r50"; done; }

say "mode $MODE, device $DEVICE, python $PY, budget ${BUDGET}s, out $OUT_DIR, work $WORK"
if [ "$MODE" = smoke ]; then
    record install_wheels skipped 0 0 0 "smoke: the existing .venv"
    record build_mmcv skipped 0 0 0 "smoke: the existing .venv"
else
    run_step install_wheels 60 bash scripts/gpu/install.sh wheels "$SITE"
    run_step build_mmcv 240 bash scripts/gpu/install.sh mmcv "$SITE"
fi
run_step environment 60 "$PY" scripts/gpu/kit.py env "$WORK"
[ -f "$WORK/logs/environment.log" ] && cat "$WORK/logs/environment.log"

if [ "$MODE" != install ]; then
    run_step table8 200 "${BENCH[@]}" "${TABLE8[@]}" --warmup "$T8_W" --iters "$T8_N" --form both \
        $(baseline_for "${TABLE8[@]}") --out-json "$WORK/raw/table8.json" \
        --out-csv "$WORK/raw/table8.csv" --plot "$WORK/raw/table8.png"
    run_step fast_modes 150 "${BENCH[@]}" "${FAST[@]}" --warmup "$FAST_W" --iters "$FAST_N" \
        --modes tf32 channels_last+bf16 channels_last+fp16+cuda_graphs --matmul-peak \
        $(baseline_for "${FAST[@]}") --out-json "$WORK/raw/fast_modes.json" \
        --out-csv "$WORK/raw/fast_modes.csv"

    smoke_shape=(); [ "$MODE" = smoke ] && smoke_shape=(--smoke-shape $SHAPE)
    run_step mmseg_prep 90 "$PY" scripts/gpu/mmseg_prep.py "$WORK" "${MMSEG[@]}" "${smoke_shape[@]}"
    MMSEG_TOOL="$(timeout 60 "$PY" -c 'import os, mmseg
print(os.path.join(os.path.dirname(mmseg.__file__), ".mim/tools/analysis_tools/benchmark.py"))' 2>/dev/null)"
    for cfg in "${MMSEG[@]}"; do
        n="$(name_of "$cfg")"
        if [ ! -f "$WORK/mmseg_configs/$n.py" ] || [ ! -f "${MMSEG_TOOL:-/nonexistent}" ]; then
            record "mmseg_$n" skipped 0 0 0 "no prepared config or no mmseg tool"; continue
        fi
        run_step "mmseg_$n" 90 "$PY" "$MMSEG_TOOL" "$WORK/mmseg_configs/$n.py" \
            "$WORK/scratch/${n}_random.pth" --work-dir "$WORK/raw/mmseg_$n"
    done
    for cfg in "${COMPILE[@]}"; do
        n="$(name_of "$cfg")"
        NEED=90 run_step "compile_$n" 150 "${BENCH[@]}" "$cfg" --warmup "$FAST_W" --iters "$FAST_N" \
            --modes channels_last+bf16+compile --matmul-peak \
            --out-json "$WORK/raw/compile_$n.json" --out-csv "$WORK/raw/compile_$n.csv"
    done
fi

# The summary: what ran, what failed, what was skipped; then the results.
{
    echo "== GPU kit, mode $MODE, $(date -u +%Y-%m-%dT%H:%M:%SZ), $((SECONDS - START))s of a ${BUDGET}s budget =="
    awk -F'\t' '{ printf "  %-40s %-8s %5ss  %s\n", $1, $2, $4, $6 }' "$WORK/steps.tsv"
    echo "  ok: $(awk -F'\t' '$2 == "ok"' "$WORK/steps.tsv" | wc -l)," \
         "failed: $(awk -F'\t' '$2 == "failed" || $2 == "timeout"' "$WORK/steps.tsv" | wc -l)," \
         "skipped: $(awk -F'\t' '$2 == "skipped"' "$WORK/steps.tsv" | wc -l)"
    echo
    timeout 60 "$PY" scripts/gpu/kit.py report "$WORK" "$OUT_DIR" mode="$MODE" \
        device="$DEVICE" shape="${SHAPE/ /x}" batch="$BATCH" table8_warmup="$T8_W" \
        table8_iters="$T8_N" fast_warmup="$FAST_W" fast_iters="$FAST_N" budget_s="$BUDGET" 2>&1 \
        || echo "(the report failed; the raw outputs are in logs.tar.gz)"
} | tee "$WORK/summary.txt"
cp "$WORK/summary.txt" "$OUT_DIR/summary.txt"
tar -czf "$OUT_DIR/logs.tar.gz" -C "$WORK" logs raw steps.tsv summary.txt \
    $(cd "$WORK" && ls -d mmseg_configs 2>/dev/null)
say "wrote $OUT_DIR: $(cd "$OUT_DIR" && ls | tr '\n' ' ')"
awk -F'\t' '$2 == "failed" || $2 == "timeout" { bad = 1 } END { exit bad }' "$WORK/steps.tsv"
rc=$?
[ -n "${GPU_KIT_KEEP_WORK:-}" ] || rm -rf "$WORK"
exit "$rc"
