#!/usr/bin/env bash
# Builds the GPU test and benchmark programs here (no GPU needed) and gathers them, with the shared
# libraries a bare CUDA machine may lack, into one folder for `run_on_gpu.sh --prebuilt`: a machine
# lent by the minute then spends no time compiling. Portable code (no -march=native), sm_90.
#
# usage: bash bench/cuda/prebuilt.sh [--with-cpu-tests] [BUILD_DIR [DIST_DIR]]
#   --with-cpu-tests  also rescan_tests (run_on_gpu.sh then runs the CPU suite there too)
#   BUILD_DIR  default build/gpu-carry;  DIST_DIR  default BUILD_DIR/dist (both relative to the
#              repository root; DIST_DIR is replaced: it must be
#              absent, empty or an earlier DIST_DIR)
set -euo pipefail
targets=(rescan_cuda_tests rescan_cuda_tests_small_limits rescan_cuda_bench)
folders=()
for argument in "$@"; do
  case $argument in
    --with-cpu-tests) targets+=(rescan_tests) ;;
    -*) echo "prebuilt.sh: unknown option '$argument'" >&2; exit 2 ;;
    *) folders+=("$argument") ;;
  esac
done
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
build=${folders[0]:-build/gpu-carry}
dist=${folders[1]:-$build/dist}
if [[ -d $dist && -n $(ls -A "$dist") && ! -x $dist/rescan_cuda_tests ]]; then
  echo "prebuilt.sh: '$dist' holds other files; give an empty or new folder" >&2
  exit 2
fi

cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=Release -DRESCAN_ENABLE_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  -DRESCAN_NATIVE=OFF -DRESCAN_BUILD_EXAMPLES=OFF -DRESCAN_INSTALL=OFF -DRESCAN_BUILD_TESTS=ON \
  -DRESCAN_BUILD_BENCHMARKS=ON >/dev/null
cmake --build "$build" -j "${RESCAN_JOBS:-$(nproc)}" --target "${targets[@]}"

rm -rf "$dist" && mkdir -p "$dist/lib"
cp "$build/test/rescan_cuda_tests" "$build/test/rescan_cuda_tests_small_limits" "$build/bench/rescan_cuda_bench" "$dist/"
[[ " ${targets[*]} " == *" rescan_tests "* ]] && cp "$build/test/rescan_tests" "$dist/"
# Google Benchmark, the CUDA runtime and OpenMP's runtime as linked here (-L: the files, not links).
for program in "$dist"/rescan_*; do
  ldd "$program" | awk '/libbenchmark|libcudart|libgomp/ {print $3}'
done | sort -u | while read -r library; do cp -L "$library" "$dist/lib/"; done
du -sh "$dist"
