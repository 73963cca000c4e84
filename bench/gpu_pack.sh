#!/usr/bin/env bash
# bench/gpu_pack.sh — prepares .gpu/ for a device call from a machine without a GPU: builds
# ./nndl and the test binary with `make CUDA=1` for one architecture (default 90: H100/H200) in a
# scratch clone of HEAD, and copies them with the shared libraries the GPU machine lacks
# (OpenBLAS xz-compressed, CUnit, stb, cJSON, gfortran, quadmath, gomp, zlib) into .gpu/, which
# .git/info/exclude keeps out of git. Then, through the device tool:
#   run(command="bash bench/gpu_run.sh", carry=[".gpu"])
# MPI and NCCL are left out (the GPU machine has no OpenMPI), and oneDNN (its 40 MB library; the
# device runs the CPU side on OpenBLAS); cuDNN is linked where found and
# taken on the device from PyTorch's copy (bench/gpu_run.sh sets LD_LIBRARY_PATH).
#
#   bench/gpu_pack.sh [--arch 90]
set -euo pipefail
cd "$(dirname "$0")/.."
ARCH=90
[ "${1:-}" = "--arch" ] && ARCH="${2:?--arch needs a compute capability, e.g. 90}"
ROOT=$PWD
SCRATCH=$(mktemp -d /tmp/nndl-gpu-pack.XXXXXX)
trap 'rm -rf "$SCRATCH"' EXIT
git clone -q "$ROOT" "$SCRATCH/src"
make -C "$SCRATCH/src" -j"$(nproc)" CUDA=1 MPI=0 DNNL=0 NCCL_INC= CUDA_ARCH="$ARCH" nndl build-cuda/test_nndl >"$SCRATCH/build.log" 2>&1 ||
    { tail -20 "$SCRATCH/build.log"; exit 1; }
mkdir -p .gpu/lib .git/info
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >>.git/info/exclude
cp "$SCRATCH/src/nndl" "$SCRATCH/src/build-cuda/test_nndl" .gpu/
LIBDIR=/usr/lib/$(gcc -print-multiarch)
xz -T0 -6 -c "$LIBDIR/openblas-openmp/libopenblas.so.0" >.gpu/lib/libopenblas.so.0.xz
for l in libstb.so.0 libcjson.so.1 libgfortran.so.5 libquadmath.so.0 libcunit.so.1 libgomp.so.1 libz.so.1; do
    cp -L "$LIBDIR/$l" .gpu/lib/
done
echo "gpu_pack: .gpu/ ready ($(du -sh .gpu | cut -f1)); $(./.gpu/nndl --version 2>/dev/null | head -1)"
