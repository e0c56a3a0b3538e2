#!/usr/bin/env bash
# Runs each test case of a doctest binary in its own compute-sanitizer process, JOBS at a time (the
# sanitizers slow kernels down 10-100x, and one process per test case spreads that over the cores).
# Writes OUT_DIR/case_<k>.txt per test case and prints one line per case: passed, FAILED (the
# sanitizer or the test reported an error) or TIMED OUT (no error seen before the limit).
# Exit status: 1 if any case failed, else 0 (time-outs are reported, not failures).
#
# usage: sanitize_each_test.sh TOOL TESTS_BINARY PER_CASE_SECONDS JOBS OUT_DIR
#   TOOL: memcheck, racecheck, synccheck or initcheck
set -uo pipefail
tool=${1:?tool} tests=${2:?tests binary} limit=${3:?seconds per case} jobs=${4:?jobs} out=${5:?output folder}
mkdir -p "$out"
count=$("$tests" --list-test-cases --no-version 2>/dev/null | sed -n 's/.*passing the current filters: *//p')
[[ $count =~ ^[0-9]+$ ]] || { echo "sanitize_each_test.sh: could not count the test cases of $tests" >&2; exit 2; }

run_case() {  # k: the k-th test case (1-based, file order), as doctest's --first/--last count them
  local k=$1 file="$out/case_$1.txt" status verdict
  timeout --signal=INT --kill-after=10 "$limit" compute-sanitizer --tool "$tool" --error-exitcode 99 \
    "$tests" --first="$k" --last="$k" --no-version >"$file" 2>&1
  status=$?
  case $status in
    0) verdict=passed ;;
    124 | 130) verdict="TIMED OUT after $limit s" ;;
    *) verdict="FAILED (exit $status)" ;;
  esac
  local name
  name=$("$tests" --list-test-cases --first="$k" --last="$k" --no-version | sed -n 3p)
  echo "$tool case $k: $verdict ($name)"
}
export -f run_case
export tool tests limit out

seq 1 "$count" | xargs -P "$jobs" -I{} bash -c 'run_case {}' | sort -t' ' -k3,3n | tee "$out/summary.txt"
! grep -q FAILED "$out/summary.txt"
