#!/usr/bin/env bash
# Runs `nndl bench train` and the same model in PyTorch on the CPU, one after the other on the
# same machine, and prints the throughput ratio per batch size. Argument: seed (default, the
# seed's batchnorm CNN) or wide (a stack of wide 3x3 convolutions, torch_train_bench.py's
# WideNet). Needs ./nndl (make) and /usr/bin/python3 with Debian's python3-torch.
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PYTHON:-/usr/bin/python3}"
NET="${1:-seed}"
WIDE="conv32x3-pool2-bn-relu-conv32x3-bn-relu-conv128x3-pool2-bn-relu-conv128x3-bn-relu-conv128x3-pool2-bn-relu-conv128x3-bn-relu-affine10"
case "$NET" in
seed) nndl_out=$(./nndl bench train --batches 50,100,1000) ;;
wide) nndl_out=$(./nndl bench train --batches 50,100,1000 --model "$WIDE") ;;
*) echo "usage: $0 [seed|wide]" >&2; exit 2 ;;
esac
echo "$nndl_out"
torch_out=$("$PY" bench/torch_train_bench.py cpu "$NET" --batches 50,100,1000)
echo "$torch_out"
echo
echo "| batch | nndl images/s | torch images/s | nndl / torch |"
echo "|-------|---------------|----------------|--------------|"
for b in 50 100 1000; do
    n=$(echo "$nndl_out" | awk -v b="$b" -F'|' '$2+0 == b { print $4+0 }')
    t=$(echo "$torch_out" | awk -v b="$b" '$3 == b":" { print $4 }')
    awk -v b="$b" -v n="$n" -v t="$t" 'BEGIN { printf "| %5d | %13.1f | %14.1f | %11.2fx |\n", b, n, t, n / t }'
done
