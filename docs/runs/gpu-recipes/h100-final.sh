#!/bin/bash
# Last device call: the GPU suites with this session's code (whiten/frozen on the real device
# path), then cifar94 at the GPU settings with 11 epochs, four seeds.
set -u
G=$PWD/.gpu; [ -x $G/nndl ] || G=/root/gpu; D=/root/cifar; mkdir -p $D
for x in .xfer1 .xfer2 .xfer3; do [ -d $x ] && mv -f $x/* $D/ 2>/dev/null; done
[ -f $D/test_batch.bin.gz ] && gunzip -f $D/test_batch.bin.gz
cd "$G/lib" && for f in *.xz; do [ -e "${f%.xz}" ] || xz -d -k "$f"; done; cd - >/dev/null
export LD_LIBRARY_PATH="$G/lib:/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib:/usr/local/cuda/lib64"
L=$OUT/final.log; R=$OUT/results4.txt
echo "date $(date -u +'%F %T') $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)" | tee -a $R
(cd $D && md5sum data_batch_*.bin | awk '{print $1}') | diff - <(awk '{print $1}' $D/md5.txt) && echo "md5 of the five training batches: ok" | tee -a $R
NNDL_PROGRAM=$G/nndl timeout 90 $G/test_nndl "kernels on the GPU" "cuda backend vs reference" "cuda vs cpu" "cuda fused bn+relu+pool" "cuda device path: recipe" "nndl check" "whiten" > $OUT/tests.log 2>&1
echo "gpu suites + whiten rc=$?" | tee -a $R
grep -E '^ +(tests|asserts) ' $OUT/tests.log | tee -a $R; grep -B3 -A4 'FAILED' $OUT/tests.log | head -30 | tee -a $R
run() {
    local name=$1; shift
    echo "=== $name: $*" >> $L
    local t0=$(date +%s.%N)
    timeout 30 $G/nndl train --data $D --device cuda --preset cifar94 --num-test 1000 --no-save --progress-interval 0 \
        --log $OUT/c_$name.csv "$@" >> $L 2>&1
    local rc=$? t1=$(date +%s.%N)
    local last=$(tail -1 $OUT/c_$name.csv 2>/dev/null)
    echo "$name rc=$rc process_s=$(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}') train_wall_s=$(echo $last | cut -d, -f3) $(grep 'test acc' $L | tail -1)" | tee -a $R
}
for s in 0 1 2 3; do run E11_s$s --batch-size 1024 --lr 1.5 --epochs 11 --warmup-epochs 2.53 --precision tf32 --seed $s; done
for f in $OUT/c_*.csv; do echo "### $(basename $f)"; cat $f; done > $OUT/curves4.txt 2>/dev/null; rm -f $OUT/c_*.csv
cat $R
