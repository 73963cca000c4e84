#!/usr/bin/env bash
# Runs `nndl bench train` and the same model in PyTorch on the CPU, one after the other on the
# same machine, and prints the throughput ratio per batch size. Argument: seed (default, the
# seed's batchnorm CNN), wide (a stack of wide 3x3 convolutions, torch_train_bench.py's WideNet)
# or preset (the net of --preset cifar-fast); then optionally --batches B1,B2,... (default
# 50,100,1000). PyTorch is timed in NCHW and in channels_last; the ratio is against the faster.
# Needs ./nndl (make) and /usr/bin/python3 with Debian's python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-/usr/bin/python3}"
NET="${1:-seed}"
BATCHES=50,100,1000
[ "${2:-}" = "--batches" ] && BATCHES="$3"
WIDE="conv32x3-pool2-bn-relu-conv32x3-bn-relu-conv128x3-pool2-bn-relu-conv128x3-bn-relu-conv128x3-pool2-bn-relu-conv128x3-bn-relu-affine10"
# the --model of the cifar-fast preset, as `nndl train --help` prints it (cli/train_presets.c)
PRESET=$(./nndl train --help | sed -n 's/^ *--model \([^ ]*\)$/\1/p' | head -1)
case "$NET" in
seed) nndl_out=$(./nndl bench train --batches "$BATCHES") ;;
wide) nndl_out=$(./nndl bench train --batches "$BATCHES" --model "$WIDE") ;;
preset) nndl_out=$(./nndl bench train --batches "$BATCHES" --model "$PRESET") ;;
*) echo "usage: $0 [seed|wide|preset] [--batches B1,B2,...]" >&2; exit 2 ;;
esac
echo "$nndl_out"
torch_out=$("$PY" bench/torch_train_bench.py cpu "$NET" --batches "$BATCHES" --channels-last)
echo "$torch_out"
echo
echo "| batch | nndl images/s | torch NCHW | torch channels_last | nndl / faster torch |"
echo "|-------|---------------|------------|---------------------|---------------------|"
for b in ${BATCHES//,/ }; do
    n=$(echo "$nndl_out" | awk -v b="$b" -F'|' '$2+0 == b { print $4+0 }')
    t=$(echo "$torch_out" | awk -v b="$b" '$2 == "batch" && $3 == b":" { print $4 }')
    c=$(echo "$torch_out" | awk -v b="$b" '$2 == "channels_last" && $4 == b":" { print $5 }')
    awk -v b="$b" -v n="$n" -v t="$t" -v c="$c" \
        'BEGIN { f = t > c ? t : c; printf "| %5d | %13.1f | %10.1f | %19.1f | %18.2fx |\n", b, n, t, c, n / f }'
done
