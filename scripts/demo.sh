#!/usr/bin/env bash
# Command 1: installs what is missing, builds the release preset and runs rescan's main job: the
# Vision Mamba + R-MeeTo demo (examples/vim, `rmeeto demo`): trains the tiny Vim on Fashion-MNIST,
# merges, prunes, re-trains, measures, and writes build/vim_demo/results.json and figures.
# Extra arguments go to the demo, e.g. scripts/demo.sh --quick (about a minute).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/install-deps.sh

# The main job: the target to build, then the command that runs it. (The microbenchmarks:
# build/release/bench/rescan_bench, their ratio table: bench/report.py; see docs/benchmarks.md.)
main_job=(rmeeto build/release/examples/vim/rmeeto demo --out build/vim_demo)

rescan_install_deps
jobs=$(rescan_jobs)
cmake --preset release
cmake --build --preset release --target "${main_job[0]}" -j "$jobs"
"${main_job[@]:1}" "$@"
