#!/usr/bin/env bash
# Command 1: installs what is missing, builds the release preset and runs rescan's main job.
# Extra arguments go to the main job, e.g. scripts/demo.sh --benchmark_filter=inclusive_scan
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/install-deps.sh

# The main job: the target to build, then the command that runs it. Until the Vim example lands it
# is the microbenchmark suite in short mode (0.05 s per benchmark; Google Benchmark 1.7 takes plain
# seconds here, not "0.05s"), followed by its ratio table (bench/report.py).
results=build/release/bench-short.json
main_job=(rescan_bench build/release/bench/rescan_bench --benchmark_min_time=0.05
          --benchmark_out="$results" --benchmark_out_format=json)

rescan_install_deps
jobs=$(rescan_jobs)
cmake --preset release
cmake --build --preset release --target "${main_job[0]}" -j "$jobs"
"${main_job[@]:1}" "$@"
python3 bench/report.py "$results"
