#!/bin/bash
# Device call: sweep 3: BN momentum 0.4 with the average; the headline's seeds; whole-process times.
set -u
G=$PWD/.gpu; [ -x $G/nndl ] || G=/root/gpu; D=/root/cifar; mkdir -p $D
for x in .xfer1 .xfer2 .xfer3; do [ -d $x ] && mv -f $x/* $D/ 2>/dev/null; done
[ -f $D/test_batch.bin.gz ] && gunzip -f $D/test_batch.bin.gz
cd "$G/lib" && for f in *.xz; do [ -e "${f%.xz}" ] || xz -d -k "$f"; done; cd - >/dev/null
export LD_LIBRARY_PATH="$G/lib:/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib:/usr/local/cuda/lib64"
L=$OUT/sweep3.log; R=$OUT/results3.txt
echo "date $(date -u +'%F %T') $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)" | tee -a $L
(cd $D && md5sum data_batch_*.bin | awk '{print $1}') | diff - <(awk '{print $1}' $D/md5.txt) && echo "md5 of the five training batches: ok" | tee -a $L
END=$((SECONDS + ${BUDGET:-200}))
M4=$($G/nndl train --help | grep -o 'conv24x2(whiten,frozen)[^ ]*' | head -1 | sed 's/bn(noscale)/bn(noscale,momentum=0.4)/g')
GPU="--batch-size 1024 --lr 1.5 --epochs 10 --warmup-epochs 2.3"
run() { # name limit split flags...
    local name=$1 lim=$2 split=$3; shift 3
    local left=$((END - SECONDS)); [ $lim -gt $left ] && lim=$left
    [ $lim -lt 12 ] && { echo "SKIP $name" | tee -a $R; return; }
    local sp="--num-train 50000 --num-val 0"; [ $split = r ] && sp="--num-train 45000 --num-val 5000"
    echo "=== $name: $sp $*" >> $L
    local t0=$(date +%s.%N)
    timeout $lim $G/nndl train --data $D --device cuda --preset cifar94 --num-test 1000 --no-save --progress-interval 0 \
        $sp --log $OUT/c_$name.csv "$@" >> $L 2>&1
    local rc=$? t1=$(date +%s.%N)
    local last=$(tail -1 $OUT/c_$name.csv 2>/dev/null)
    echo "$name rc=$rc process_s=$(awk -v a=$t0 -v b=$t1 'BEGIN{printf "%.2f", b-a}') train_wall_s=$(echo $last | cut -d, -f3) val=$(echo $last | cut -d, -f8) $(grep 'test acc' $L | tail -1)" | tee -a $R
}
for s in 0 1 2; do run H${s}_tf32 30 h $GPU --precision tf32 --seed $s; done
for s in 0 1 2; do run H${s}_m4_tf32 30 h --model "$M4" $GPU --precision tf32 --seed $s; done
run r_m4_tf32 30 r --model "$M4" $GPU --precision tf32
run H0_fp32 40 h $GPU
run r512_m4_e14 40 r --model "$M4" --precision tf32
run H512_e14 40 h --precision tf32
for f in $OUT/c_*.csv; do echo "### $(basename $f)"; cat $f; done > $OUT/curves3.txt 2>/dev/null; rm -f $OUT/c_*.csv
cat $R
