#!/usr/bin/env bash
# bench/gpu_report.sh — everything docs/gpu-results.md records, in one command on a machine with
# a GPU, within a time budget (default 500 s, to fit a device call of under 9 minutes):
#
#   1. dependencies: OpenBLAS and CUnit, installed with apt-get when missing (if it can reach a
#      mirror), else taken from .devlibs/{include,lib} (copied there from another machine); without
#      CUnit the test binary is skipped, without any CBLAS nothing can be built;
#   2. make CUDA=1 (./nndl and build-cuda/test_nndl on the GPU);
#   3. the test binary; compute-sanitizer memcheck, racecheck and synccheck on its GPU suites;
#   4. ./nndl bench train cuda (fp32 and tf32) and bench/torch_train_bench.py cuda (eager and,
#      where it works, torch.compile) at batch 50, 100 and 1000, one after the other;
#   5. the seed's default run (./nndl train: 15 epochs, batch 1000) timed end to end, when
#      --data DIR (CIFAR-10) is given;
# and prints a markdown section for docs/gpu-results.md on stdout (logs in build-cuda/report/).
# Steps are run most important first; one that would not fit the budget is reported as skipped.
#
#   bench/gpu_report.sh [--data DIR] [--budget SECONDS]
#   bench/gpu_report.sh --render DIR     only the markdown, from the logs of an earlier run
#
# Exit status: 0 report printed (failures inside it are reported in it), 2 no usable GPU or
# nvcc (nothing is measured), 1 nothing could be built.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

DATA="" BUDGET=500 RENDER=""
while [ $# -gt 0 ]; do
    case "$1" in
    --data) DATA="${2:?--data needs a directory}"; shift 2 ;;
    --budget) BUDGET="${2:?--budget needs seconds}"; shift 2 ;;
    --render) RENDER="${2:?--render needs the directory of the logs of a report}"; shift 2 ;;
    *) echo "gpu_report: unknown argument '$1' (see the comment at the top of $0)" >&2; exit 2 ;;
    esac
done
case "$BUDGET" in '' | *[!0-9]*) echo "gpu_report: --budget $BUDGET: whole seconds" >&2; exit 2 ;; esac

# ---- the markdown, from the logs alone (so it can be checked without a GPU) ---------------------

# "tests, asserts, failures" of a CUnit run summary, or what ended it.
cunit_summary() {
    local log="$1"
    [ -s "$log" ] || { echo "not run"; return; }
    awk '/^ +tests /{t=$2" tests, "$3" run, "$4" passed, "$5" failed"} /^ +asserts /{a=$4" of "$2" asserts passed"}
         END{ if (t != "") print t "; " a; else print "no summary (crashed or timed out: see the log)" }' "$log"
}

# "N errors" / "N hazards" line of compute-sanitizer.
sanitizer_summary() {
    local log="$1"
    [ -s "$log" ] || { echo "not run"; return; }
    local line
    line=$(grep -E "ERROR SUMMARY|RACECHECK SUMMARY" "$log" | tail -1 | sed 's/^========= //')
    echo "${line:-no summary (timed out or failed to start: see the log)}$(grep -q 'Run Summary' "$log" && echo "; $(cunit_summary "$log")")"
}

# images/s of batch $2 in an nndl bench table / a torch line with prefix $3.
nndl_ips() { awk -F'|' -v b="$2" '$2+0 == b && NF > 4 { print $4+0 }' "$1" 2>/dev/null | head -1; }
torch_ips() { awk -v b="$2:" -v p="$3" '$1 == p && $3 == b && $5 == "images/s" { print $4 }' "$1" 2>/dev/null | head -1; }

render() {
    local dir="$1"
    [ -d "$dir" ] || { echo "gpu_report: no report directory $dir" >&2; return 2; }
    local facts
    facts=$(cat "$dir/facts.txt" 2>/dev/null || echo "machine unknown")
    echo "## $(cat "$dir/date.txt" 2>/dev/null || date -u +%F) — $facts"
    echo
    echo "Made by \`bench/gpu_report.sh\` in one device call (logs: build-cuda/report/)."
    echo
    echo '```sh'
    cat "$dir/commands.txt" 2>/dev/null
    echo '```'
    echo
    echo "| run | result |"
    echo "|---|---|"
    [ -f "$dir/deps.txt" ] && echo "| dependencies | $(tr '\n' ' ' <"$dir/deps.txt") |"
    [ -f "$dir/build.status" ] && echo "| \`make CUDA=1\` | $(cat "$dir/build.status") |"
    echo "| \`./build-cuda/test_nndl\` | $(cat "$dir/tests.status" 2>/dev/null || cunit_summary "$dir/tests.log") |"
    for t in memcheck racecheck synccheck; do
        echo "| compute-sanitizer $t (GPU suites) | $(cat "$dir/$t.status" 2>/dev/null || sanitizer_summary "$dir/$t.log") |"
    done
    if [ -f "$dir/train.status" ]; then
        echo "| \`./nndl train --device cuda\` (the seed's default run) | $(cat "$dir/train.status") |"
    fi
    echo
    echo "| batch | nndl fp32 images/s | nndl tf32 images/s | PyTorch eager images/s | torch.compile images/s | nndl fp32 / eager |"
    echo "|------:|------:|------:|------:|------:|------:|"
    for b in 50 100 1000; do
        local n t e c r
        n=$(nndl_ips "$dir/bench_fp32.log" "$b"); t=$(nndl_ips "$dir/bench_tf32.log" "$b")
        e=$(torch_ips "$dir/torch.log" "$b" torch); c=$(torch_ips "$dir/torch.log" "$b" torch.compile)
        r=$(awk -v n="$n" -v e="$e" 'BEGIN { if (n > 0 && e > 0) printf "%.2fx", n / e; else print "-" }')
        echo "| $b | ${n:--} | ${t:--} | ${e:--} | ${c:--} | $r |"
    done
    for f in bench_fp32 bench_tf32 torch; do
        [ -f "$dir/$f.status" ] && echo && echo "$f: $(cat "$dir/$f.status")"
    done
    return 0
}

if [ -n "$RENDER" ]; then
    render "$RENDER"
    exit $?
fi

# ---- the run -------------------------------------------------------------------------------

OUT=build-cuda/report
END=$((SECONDS + BUDGET))

# The GPU and the toolkit first: without them nothing here means anything.
NVIDIA_SMI="${NVIDIA_SMI:-nvidia-smi}" # the tests name a stand-in to see the no-GPU path on any machine
if ! command -v "$NVIDIA_SMI" >/dev/null 2>&1 || ! "$NVIDIA_SMI" -L 2>/dev/null | grep -q '^GPU'; then
    echo "gpu_report: no usable GPU (nvidia-smi missing or lists none): nothing measured" >&2
    exit 2
fi
NVCC=$(command -v nvcc || ls /usr/local/cuda/bin/nvcc 2>/dev/null || true)
if [ -z "$NVCC" ]; then
    echo "gpu_report: a GPU but no nvcc (the CUDA toolkit): nothing can be built" >&2
    exit 2
fi

rm -rf "$OUT" && mkdir -p "$OUT"
date -u +%F >"$OUT/date.txt"
echo "$("$NVIDIA_SMI" --query-gpu=name,driver_version --format=csv,noheader | head -1 | sed 's/, / driver /'), \
CUDA $("$NVCC" --version | sed -n 's/.*release \([0-9.]*\).*/\1/p'), $(nproc) CPU cores" >"$OUT/facts.txt"
: >"$OUT/commands.txt"

# Runs "$@" with at most $1 seconds (cut to what the budget has left), its output in $OUT/$name.log,
# and writes the outcome to $OUT/$name.status when it is not a plain success.
step() {
    local name="$1" limit="$2"
    shift 2
    local left=$((END - SECONDS - 5))
    [ "$limit" -gt "$left" ] && limit=$left
    if [ "$limit" -lt 10 ]; then
        echo "skipped: out of the ${BUDGET} s budget" >"$OUT/$name.status"
        return 124
    fi
    echo "$*" >>"$OUT/commands.txt"
    local t0=$SECONDS rc
    timeout --kill-after=5 "$limit" "$@" >"$OUT/$name.log" 2>&1
    rc=$?
    [ $rc -eq 124 ] && echo "timed out after ${limit} s (see $OUT/$name.log)" >"$OUT/$name.status"
    [ $rc -ne 0 ] && [ $rc -ne 124 ] && [ ! -f "$OUT/$name.status" ] &&
        echo "exit $rc after $((SECONDS - t0)) s (see $OUT/$name.log)" >"$OUT/$name.status"
    echo "gpu_report: $name: exit $rc, $((SECONDS - t0)) s" >&2
    return $rc
}

# Dependencies: the Makefile's BLAS_INC/BLAS_LIB (OpenBLAS) and CUnit.
MULTIARCH=$(gcc -print-multiarch 2>/dev/null || echo x86_64-linux-gnu)
have_blas() { [ -f "/usr/include/$MULTIARCH/openblas-openmp/cblas.h" ] && ls /usr/lib/"$MULTIARCH"/openblas-openmp/libopenblas.so* >/dev/null 2>&1; }
have_cunit() { [ -f /usr/include/CUnit/CUnit.h ] || [ -f .devlibs/include/CUnit/CUnit.h ]; }
: >"$OUT/deps.txt"
if ! have_blas || ! have_cunit; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        step apt 150 bash -c 'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq libopenblas-openmp-dev libcunit1-dev' ||
            echo "apt-get could not install OpenBLAS/CUnit (offline?);" >>"$OUT/deps.txt"
    fi
fi
MAKE_ARGS=(CUDA=1)
if have_blas; then
    echo "OpenBLAS and CUnit from the system" >>"$OUT/deps.txt"
elif [ -f .devlibs/include/cblas.h ] && ls .devlibs/lib/libopenblas.so* >/dev/null 2>&1; then
    MAKE_ARGS+=(BLAS_INC="$PWD/.devlibs/include" BLAS_LIB="$PWD/.devlibs/lib")
    echo "BLAS and CUnit from .devlibs/ (CPU-side timings of this build mean nothing)" >>"$OUT/deps.txt"
else
    echo "gpu_report: no CBLAS (OpenBLAS) and apt-get could not install it: put cblas.h and libopenblas.so in .devlibs/{include,lib}" >&2
    exit 1
fi
export CPATH="$PWD/.devlibs/include${CPATH:+:$CPATH}" LIBRARY_PATH="$PWD/.devlibs/lib${LIBRARY_PATH:+:$LIBRARY_PATH}"
export LD_LIBRARY_PATH="$PWD/.devlibs/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
TARGETS=(nndl)
if have_cunit; then TARGETS+=(build-cuda/test_nndl); else echo "no CUnit: the test binary is not built;" >>"$OUT/deps.txt"; fi

if ! step build 300 make -j"$(nproc)" "${MAKE_ARGS[@]}" "${TARGETS[@]}"; then
    echo "failed: $(cat "$OUT/build.status"); $(grep -m3 -E 'error|Error' "$OUT/build.log" | cut -c1-200 | tr '\n' ' ')" \
        >"$OUT/build.status.new" && mv "$OUT/build.status.new" "$OUT/build.status"
    render "$OUT"
    exit 1
fi
echo "passed ($(grep -c 'nvcc\|/nvcc' "$OUT/build.log") nvcc compiles)" >"$OUT/build.status"

GPU_SUITES=("kernels on the GPU" "cuda backend vs reference" "cuda vs cpu")
if [ -x build-cuda/test_nndl ]; then
    NNDL_PROGRAM=./nndl step tests 120 ./build-cuda/test_nndl
else
    echo "not built (no CUnit)" >"$OUT/tests.status"
fi
step bench_fp32 70 ./nndl bench train cuda --batches 50,100,1000
step torch 150 python3 bench/torch_train_bench.py cuda --batches 50,100,1000 --compile
if [ -n "$DATA" ] && [ -f "$DATA/data_batch_1.bin" ]; then
    if step train 120 bash -c "time ./nndl train --data '$DATA' --device cuda"; then
        echo "$(grep -c '^(Epoch' "$OUT/train.log") epoch lines; best val acc $(grep -o 'val_acc: [0-9.]*' "$OUT/train.log" | awk '{ if ($2 > m) m = $2 } END { print m }'); $(grep -i 'test acc' "$OUT/train.log" | tail -1); wall $(awk '/^real/ { print $2 }' "$OUT/train.log")" >"$OUT/train.status"
    fi
else
    echo "not run: no CIFAR-10 given (--data DIR)" >"$OUT/train.status"
fi
if [ -x build-cuda/test_nndl ] && command -v compute-sanitizer >/dev/null; then
    for t in memcheck racecheck synccheck; do
        step "$t" 60 compute-sanitizer --tool "$t" --report-api-errors no --error-exitcode 3 ./build-cuda/test_nndl "${GPU_SUITES[@]}"
    done
else
    for t in memcheck racecheck synccheck; do echo "not run (no test binary or no compute-sanitizer)" >"$OUT/$t.status"; done
fi
step bench_tf32 70 ./nndl bench train cuda --precision tf32 --batches 50,100,1000
render "$OUT"
