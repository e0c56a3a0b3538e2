#!/bin/sh
# Builds rescan_bench in build/rank (release preset) and compares kendall_tau with scipy
# (bench/compare_scipy.py: a venv with scipy and numpy from PyPI is created in build/venv-compare).
# Extra arguments go to compare_scipy.py, e.g. --sizes 10000 1000000 --repetitions 3.
set -e
cd "$(dirname "$0")/.."
[ -f build/rank/CMakeCache.txt ] || cmake --preset release -B build/rank
cmake --build build/rank --target rescan_bench -j2
exec python3 bench/compare_scipy.py --build build/rank "$@"
