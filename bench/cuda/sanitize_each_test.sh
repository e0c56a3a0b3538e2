#!/usr/bin/env bash
# Runs each test case of a doctest binary in its own compute-sanitizer process, JOBS at a time (the
# sanitizers slow kernels down 10-100x, and one process per test case spreads that over the cores).
# Writes OUT_DIR/case_<k>.txt per test case and prints one line per case, as it ends (also into
# OUT_DIR/summary.txt): passed, FAILED (the sanitizer reported an error or a hazard, or the test
# failed) or TIMED OUT (nothing reported before the limit).
# Exit status: 1 if any case failed, else 0 (time-outs are reported, not failures).
#
# usage: sanitize_each_test.sh TOOL TESTS_BINARY PER_CASE_SECONDS JOBS OUT_DIR [CASES]
#   TOOL: memcheck, racecheck, synccheck or initcheck
#   CASES: the test cases to run, by number in file order ("41-51,4,8"); all of them by default
set -uo pipefail
tool=${1:?tool} tests=${2:?tests binary} limit=${3:?seconds per case} jobs=${4:?jobs} out=${5:?output folder}
cases=${6:-}
mkdir -p "$out"
: >"$out/summary.txt"
count=$("$tests" --list-test-cases --no-version 2>/dev/null | sed -n 's/.*passing the current filters: *//p')
[[ $count =~ ^[0-9]+$ ]] || { echo "sanitize_each_test.sh: could not count the test cases of $tests" >&2; exit 2; }

# The case numbers, one per line: "41-51,4" -> 41 ... 51 4; default 1 ... count.
case_numbers() {
  local part
  [[ -z $cases ]] && { seq 1 "$count"; return; }
  for part in ${cases//,/ }; do
    if [[ $part == *-* ]]; then seq "${part%-*}" "${part#*-}"; else echo "$part"; fi
  done
}

run_case() {  # k: the k-th test case (1-based, file order), as doctest's --first/--last count them
  local k=$1 file="$out/case_$1.txt" status verdict
  timeout --signal=INT --kill-after=10 "$limit" compute-sanitizer --tool "$tool" --error-exitcode 99 \
    "$tests" --first="$k" --last="$k" --no-version >"$file" 2>&1
  status=$?
  # racecheck reports hazards as warnings, which do not change the exit status
  if ((status == 0)) && grep -q "SUMMARY: [1-9][0-9]* hazard" "$file"; then status=98; fi
  case $status in
    0) verdict=passed ;;
    124 | 130) verdict="TIMED OUT after $limit s" ;;
    98) verdict="FAILED (hazards reported)" ;;
    *) verdict="FAILED (exit $status)" ;;
  esac
  local name
  name=$("$tests" --list-test-cases --first="$k" --last="$k" --no-version | sed -n 3p)
  echo "$tool case $k: $verdict ($name)" | tee -a "$out/summary.txt"
}
export -f run_case
export tool tests limit out

case_numbers | xargs -P "$jobs" -I{} bash -c 'run_case {}'
! grep -q FAILED "$out/summary.txt"
