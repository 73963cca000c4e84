#!/bin/bash
# Device call 3: real CIFAR-10 (moved to /root/cifar by calls 1-3), recipe sweep on the GPU.
set -u
G=$PWD/.gpu; [ -x $G/nndl ] || G=/root/gpu; D=/root/cifar; mkdir -p $D
for x in .xfer1 .xfer2 .xfer3; do [ -d $x ] && mv -f $x/* $D/ 2>/dev/null; done
[ -f $D/test_batch.bin.gz ] && gunzip -f $D/test_batch.bin.gz
cd "$G/lib" && for f in *.xz; do [ -e "${f%.xz}" ] || xz -d -k "$f"; done; cd - >/dev/null
export LD_LIBRARY_PATH="$G/lib:/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib:/usr/local/cuda/lib64"
L=$OUT/train94.log
echo "date $(date -u +'%F %T') $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)" | tee -a $L
$G/nndl --version 2>&1 | tee -a $L
(cd $D && ls -la) >> $L; (cd $D && md5sum data_batch_*.bin | awk '{print $1}') | diff - <(awk '{print $1}' $D/md5.txt) && echo "md5 of the five training batches: ok" | tee -a $L
END=$((SECONDS + ${BUDGET:-400}))
FULL="conv24x2(pad=0,nobias)-bn(noscale)-gelu-conv64x3(nobias)-pool2-bn(noscale)-gelu-conv64x3(nobias)-bn(noscale)-gelu-conv256x3(nobias)-pool2-bn(noscale)-gelu-conv256x3(nobias)-bn(noscale)-gelu-conv256x3(nobias)-pool2-bn(noscale)-gelu-conv256x3(nobias)-bn(noscale)-gelu-gmp-affine10-scale0.125"
MID="conv24x2(pad=0,nobias)-bn(noscale)-gelu-conv48x3(nobias)-pool2-bn(noscale)-gelu-conv48x3(nobias)-bn(noscale)-gelu-conv192x3(nobias)-pool2-bn(noscale)-gelu-conv192x3(nobias)-bn(noscale)-gelu-conv192x3(nobias)-pool2-bn(noscale)-gelu-conv192x3(nobias)-bn(noscale)-gelu-gmp-affine10-scale0.125"
run() {
    local name=$1 lim=$2; shift 2
    local left=$((END - SECONDS)); [ $lim -gt $left ] && lim=$left
    [ $lim -lt 15 ] && { echo "SKIP $name" | tee -a $L; return; }
    echo "=== $name: $*" >> $L
    local t0=$(date +%s.%N)
    timeout $lim $G/nndl train --data $D --device cuda --preset cifar-fast --num-test 1000 --no-save --progress-interval 0 --log $OUT/$name.csv "$@" >> $L 2>&1
    local rc=$? t1=$(date +%s.%N)
    echo "RESULT $name rc=$rc wall=$(echo "$t1 - $t0" | bc) $(tail -3 $L | grep -i 'test' | tail -1)" | tee -a $L
}
run full_b1024_e10_tf32 90 --model "$FULL" --batch-size 1024 --lr 1.5 --epochs 10 --warmup-epochs 2.3 --precision tf32
run preset_tf32 60 --precision tf32
run full_b512_e10_tf32 90 --model "$FULL" --epochs 10 --warmup-epochs 2.3 --precision tf32
run mid_b512_e12_tf32 80 --model "$MID" --epochs 12 --warmup-epochs 2.76 --precision tf32
run full_b512_e8_tf32 70 --model "$FULL" --epochs 8 --warmup-epochs 1.84 --precision tf32
run full_b1024_e16_tf32 120 --model "$FULL" --batch-size 1024 --lr 1.5 --epochs 16 --warmup-epochs 3.7 --precision tf32
run preset_fp32 60
for f in $OUT/*.csv; do echo "### $(basename $f)"; cat $f; done > $OUT/curves.txt 2>/dev/null; rm -f $OUT/*.csv
if [ -x $G/test_nndl ] && [ $((END + 120 - SECONDS)) -gt 60 ]; then
    NNDL_PROGRAM=$G/nndl timeout $((END + 120 - SECONDS)) $G/test_nndl "kernels on the GPU" "cuda backend vs reference" "cuda vs cpu" "cuda fused bn+relu+pool" "cuda device path: recipe" "nndl check" > $OUT/tests.log 2>&1; echo "gpu suites rc=$?"
    grep -E '^ +(tests|asserts) ' $OUT/tests.log; grep -B3 -A4 'FAILED' $OUT/tests.log | head -30
fi
grep RESULT $L
