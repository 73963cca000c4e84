#!/bin/bash
# Device call: recipe sweep 2 (whitened frozen stem, dirac convs, EMA, BN momentum) on real CIFAR-10.
set -u
G=$PWD/.gpu; [ -x $G/nndl ] || G=/root/gpu; D=/root/cifar; mkdir -p $D
for x in .xfer1 .xfer2 .xfer3; do [ -d $x ] && mv -f $x/* $D/ 2>/dev/null; done
[ -f $D/test_batch.bin.gz ] && gunzip -f $D/test_batch.bin.gz
cd "$G/lib" && for f in *.xz; do [ -e "${f%.xz}" ] || xz -d -k "$f"; done; cd - >/dev/null
export LD_LIBRARY_PATH="$G/lib:/opt/torch/.venv/lib/python3.12/site-packages/nvidia/cudnn/lib:/usr/local/cuda/lib64"
L=$OUT/sweep2.log; R=$OUT/results.txt
echo "date $(date -u +'%F %T') $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader)" | tee -a $L
$G/nndl --version 2>&1 | head -3 | tee -a $L
(cd $D && md5sum data_batch_*.bin | awk '{print $1}') | diff - <(awk '{print $1}' $D/md5.txt) && echo "md5 of the five training batches: ok" | tee -a $L
END=$((SECONDS + ${BUDGET:-330}))
net() { # $1 stem, $2 conv option, $3 bn options, $4 $5 $6 widths
    local b="bn(noscale$3)" c="nobias$2"
    echo "$1-conv$4x3($c)-pool2-$b-gelu-conv$4x3($c)-$b-gelu-conv$5x3($c)-pool2-$b-gelu-conv$5x3($c)-$b-gelu-conv$6x3($c)-pool2-$b-gelu-conv$6x3($c)-$b-gelu-gmp-affine10-scale0.125"
}
STEM0="conv24x2(nobias)-bn(noscale)-gelu"; STEMW="conv24x2(whiten,frozen)-gelu"; STEMWB="conv24x2(nobias,whiten,frozen)-bn(noscale)-gelu"
B1024="--batch-size 1024 --lr 1.5"
run() { # name limit split flags...: split r = 45000 train + 5000 val, h = all 50000
    local name=$1 lim=$2 split=$3; shift 3
    local left=$((END - SECONDS)); [ $lim -gt $left ] && lim=$left
    [ $lim -lt 12 ] && { echo "SKIP $name" | tee -a $R; return; }
    local sp="--num-train 50000 --num-val 0"; [ $split = r ] && sp="--num-train 45000 --num-val 5000"
    echo "=== $name: $sp $*" >> $L
    timeout $lim $G/nndl train --data $D --device cuda --preset cifar-fast --num-test 1000 --no-save --progress-interval 0 \
        --precision tf32 $sp --log $OUT/c_$name.csv "$@" >> $L 2>&1
    local rc=$?
    local last=$(tail -1 $OUT/c_$name.csv 2>/dev/null)
    echo "$name rc=$rc wall_s=$(echo $last | cut -d, -f3) val=$(echo $last | cut -d, -f8) $(grep 'test acc' $L | tail -1)" | tee -a $R
}
E10="--epochs 10 --warmup-epochs 2.3"
declare -A MODEL EXTRA
MODEL[base]=$(net "$STEM0" '' '' 64 256 256); MODEL[w]=$(net "$STEMW" '' '' 64 256 256)
MODEL[wb]=$(net "$STEMWB" '' '' 64 256 256); MODEL[wd]=$(net "$STEMW" ',dirac' '' 64 256 256)
MODEL[wd_m4]=$(net "$STEMW" ',dirac' ',momentum=0.4' 64 256 256)
MODEL[wd_e9]=${MODEL[wd]}; EXTRA[wd_e9]="--ema 0.9"; MODEL[wd_e98]=${MODEL[wd]}; EXTRA[wd_e98]="--ema 0.98"
NAMES="base w wb wd wd_m4 wd_e9 wd_e98"
for n in $NAMES; do run $n 40 r --model "${MODEL[$n]}" $B1024 $E10 ${EXTRA[$n]:-}; done
# the best of these by val accuracy, on all 50000 images (the headline), three seeds
best=$(for n in $NAMES; do grep "^$n rc=0 " $R; done | sed 's/.*val=\([0-9.]*\).*/\1 &/' | sort -rn | head -1 | awk '{print $2}')
best=${best:-wd}
echo "best by val: $best" | tee -a $R
for seed in 0 1 2; do run H${seed}_$best 40 h --model "${MODEL[$best]}" $B1024 $E10 ${EXTRA[$best]:-} --seed $seed; done
run H_${best}_e12 45 h --model "${MODEL[$best]}" $B1024 --epochs 12 --warmup-epochs 2.76 ${EXTRA[$best]:-}
run H_${best}_e8 40 h --model "${MODEL[$best]}" $B1024 --epochs 8 --warmup-epochs 1.84 ${EXTRA[$best]:-}
# the CPU's candidates (batch 512): full width 10 and 14 epochs, 48/192/192 14 epochs
run r512_e10 45 r --model "${MODEL[$best]}" --epochs 10 --warmup-epochs 2.3 ${EXTRA[$best]:-}
run r512_e14 60 r --model "${MODEL[$best]}" --epochs 14 --warmup-epochs 3.2 ${EXTRA[$best]:-}
run r512_mid_e14 50 r --model "$(echo "${MODEL[$best]}" | sed 's/conv64x3/conv48x3/g; s/conv256x3/conv192x3/g')" --epochs 14 --warmup-epochs 3.2 ${EXTRA[$best]:-}
for f in $OUT/c_*.csv; do echo "### $(basename $f)"; cat $f; done > $OUT/curves2.txt 2>/dev/null; rm -f $OUT/c_*.csv
cat $R
