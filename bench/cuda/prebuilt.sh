#!/usr/bin/env bash
# Builds the GPU test and benchmark programs here (no GPU needed) and gathers them, with the shared
# libraries a bare CUDA machine may lack, into one folder for `run_on_gpu.sh --prebuilt`: a machine
# lent by the minute then spends no time compiling. Portable code (no -march=native), sm_90.
#
# usage: bash bench/cuda/prebuilt.sh [BUILD_DIR] [DIST_DIR] [--with-cpu-tests]
#   BUILD_DIR  default build/gpu-carry;  DIST_DIR  default BUILD_DIR/dist
#   --with-cpu-tests  also rescan_tests (run_on_gpu.sh then runs the CPU suite there too)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=${1:-build/gpu-carry}
dist=${2:-$build/dist}
targets=(rescan_cuda_tests rescan_cuda_bench)
[[ ${3:-} == --with-cpu-tests ]] && targets+=(rescan_tests)

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DRESCAN_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DRESCAN_NATIVE=OFF -DRESCAN_BUILD_EXAMPLES=OFF -DRESCAN_INSTALL=OFF -DRESCAN_BUILD_TESTS=ON \
  -DRESCAN_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" -j "${RESCAN_JOBS:-$(nproc)}" --target "${targets[@]}"

rm -rf "$dist" && mkdir -p "$dist/lib"
cp "$build/test/rescan_cuda_tests" "$build/bench/rescan_cuda_bench" "$dist/"
[[ " ${targets[*]} " == *" rescan_tests "* ]] && cp "$build/test/rescan_tests" "$dist/"
# Google Benchmark, the CUDA runtime and OpenMP's runtime as linked here (-L: the files, not links).
for program in "$dist"/rescan_*; do
  ldd "$program" | awk '/libbenchmark|libcudart|libgomp/ {print $3}'
done | sort -u | while read -r library; do cp -L "$library" "$dist/lib/"; done
du -sh "$dist"
