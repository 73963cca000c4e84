#!/bin/bash
# bench/gpu_run.sh — the device side of bench/gpu_pack.sh: with the binaries and libraries of .gpu/,
# within BUDGET seconds (default 520), most important first: the GPU test suites, `nndl check`,
# nndl against PyTorch (seed net at 50/100/1000, the cifar-fast net at 128/512; fp32 and tf32),
# whole runs on random CIFAR-shaped files (timing only), compute-sanitizer memcheck, the other
# suites. Logs and summary.txt go to $OUT (the device tool's), or to OUT=DIR given.
set -u
OUT=${OUT:?set OUT to a directory for the logs}
G=$PWD/.gpu
END=$((SECONDS + ${BUDGET:-520}))
S=$OUT/summary.txt
say() { echo "$*" | tee -a "$S"; }
# step NAME LIMIT LOGFILE CMD...: runs within what the budget has left, log appended to LOGFILE
step() {
    local name=$1 lim=$2 log=$3; shift 3
    local left=$((END - SECONDS - 3)); [ "$lim" -gt "$left" ] && lim=$left
    if [ "$lim" -lt 8 ]; then say "SKIP $name (budget)"; return 0; fi
    echo "=== $name: $*" >>"$log"
    local t0=$SECONDS; timeout -k 3 "$lim" "$@" >>"$log" 2>&1; local rc=$?
    say "STEP $name rc=$rc $((SECONDS - t0))s (limit $lim)"
}
cd "$G/lib" && for f in *.xz; do [ -e "${f%.xz}" ] || xz -d -k "$f"; done; cd - >/dev/null
chmod +x "$G"/nndl "$G"/test_nndl 2>/dev/null
CUBLAS=$(ls /usr/local/cuda/lib64/libcublas.so.13 2>/dev/null || find / -xdev -name 'libcublas.so.13' 2>/dev/null | head -1)
DNN=$(ls -d /opt/torch/.venv/lib/python3*/site-packages/nvidia/cudnn/lib 2>/dev/null | head -1)  # cuDNN as nndl was built against
export LD_LIBRARY_PATH="$G/lib${DNN:+:$DNN}:$(dirname "${CUBLAS:-/x/x}")${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
say "date $(date -u +'%F %T') $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader) cores $(nproc) cublas $CUBLAS"
ldd "$G/nndl" | grep -i 'not found' | tee -a "$S"
"$G/nndl" --version 2>&1 | tee -a "$S"
# 1. the GPU suites
NNDL_PROGRAM=$G/nndl step gpu-suites 120 "$OUT/tests.log" "$G/test_nndl" "kernels on the GPU" "cuda backend vs reference" "cuda vs cpu" "cuda fused bn+relu+pool" "cuda device path: recipe" "nndl check"
grep -E '^ +(suites|tests|asserts) ' "$OUT/tests.log" | tee -a "$S"; grep -B2 -A3 -m 12 'FAIL\|Test: .*\.\.\.FAILED' "$OUT/tests.log" | head -60 | tee -a "$S"
step nndl-check 40 "$OUT/check.log" "$G/nndl" check
tail -25 "$OUT/check.log" >>"$S"
# 2. step throughput, nndl then PyTorch, one after the other
B=$OUT/bench.log
step nndl-seed-fp32 45 "$B" "$G/nndl" bench train cuda --batches 50,100,1000
step nndl-seed-tf32 45 "$B" "$G/nndl" bench train cuda --precision tf32 --batches 50,100,1000
step torch-seed 60 "$B" python3 bench/torch_train_bench.py cuda seed --batches 50,100,1000
PRESET=$("$G/nndl" train --help | sed -n 's/^ *--model \([^ ]*\)$/\1/p' | head -1) # the cifar-fast preset's net
step nndl-preset-fp32 45 "$B" "$G/nndl" bench train cuda --model "$PRESET" --batches 128,512
step nndl-preset-tf32 45 "$B" "$G/nndl" bench train cuda --precision tf32 --model "$PRESET" --batches 128,512
step torch-preset 70 "$B" python3 bench/torch_train_bench.py cuda preset --channels-last --batches 128,512
grep -E 'images/s|^\|' "$B" | tee -a "$S" >/dev/null
# 3. whole runs on synthetic CIFAR-shaped data (timings only: random labels)
D=/tmp/synth; mkdir -p $D
python3 - <<'PY'
import numpy as np
r = np.random.default_rng(0)
for n in ["data_batch_%d.bin" % i for i in range(1, 6)] + ["test_batch.bin"]:
    rec = r.integers(0, 256, size=(10000, 3073), dtype=np.uint8); rec[:, 0] %= 10
    rec.tofile("/tmp/synth/" + n)
PY
T=$OUT/train.log
step train-seed 60 "$T" bash -c "time $G/nndl train --data $D --device cuda --no-save 2>&1 | tail -4"
step train-preset 90 "$T" bash -c "time $G/nndl train --data $D --device cuda --preset cifar-fast --num-test 1000 --no-save 2>&1 | tail -5"
grep -E '^real|acc' "$T" >>"$S"
# 4. compute-sanitizer on the device-path suites
step memcheck 100 "$OUT/sanitizer.log" compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 3 "$G/test_nndl" "cuda vs cpu" "cuda fused bn+relu+pool" "cuda device path: recipe"
grep -E 'ERROR SUMMARY|tests ' "$OUT/sanitizer.log" | tail -3 >>"$S"
# 5. everything else in the binary, with what is left
NNDL_PROGRAM=$G/nndl step rest-suites 200 "$OUT/tests-rest.log" "$G/test_nndl" "-kernels on the GPU" "-cuda backend vs reference" "-cuda vs cpu" "-cuda fused bn+relu+pool" "-cuda device path: recipe" "-nndl check" "-planted"
grep -E '^ +(suites|tests|asserts) ' "$OUT/tests-rest.log" >>"$S"
cat "$S"
