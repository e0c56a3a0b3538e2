#!/usr/bin/env bash
# Command 2: installs what is missing, then runs the release workflow (configure, build, every
# test), the asan workflow (the same under AddressSanitizer + UBSan, packaging tests excepted) and
# the portable workflow (the library's CPU tests at -O3 without -march=native: the SSE2 path).
# Build trees stay in build/<preset>, so a second run only rebuilds what changed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/install-deps.sh

rescan_install_deps
jobs=$(rescan_jobs)
export CMAKE_BUILD_PARALLEL_LEVEL="$jobs" CTEST_PARALLEL_LEVEL="$jobs"

for preset in release asan portable; do
  start=$SECONDS
  echo "==== rescan: workflow '$preset'"
  cmake --workflow --preset "$preset"
  echo "==== rescan: workflow '$preset' passed in $((SECONDS - start)) s"
done
