#!/usr/bin/env bash
# Runs each test case of a doctest binary in its own compute-sanitizer process, JOBS at a time (the
# sanitizers slow kernels down 10-100x, and one process per test case spreads that over the cores).
# Writes OUT_DIR/case_<k>.txt per test case and one line per case as it ends (also into
# OUT_DIR/summary.txt): passed, FAILED (the sanitizer reported an error or a hazard, or the test
# failed), TIMED OUT (nothing reported before the limit) or NOT RUN (the deadline had passed).
# Exit status: 1 if any case failed, else 3 if any timed out or did not run, else 0.
#
# usage: sanitize_each_test.sh TOOL TESTS_BINARY PER_CASE_SECONDS JOBS OUT_DIR [CASES]
#   TOOL: memcheck, racecheck, synccheck or initcheck
#   CASES: the test cases to run, by number in file order ("41-51,4,8"); all of them by default
# Environment: SANITIZE_DEADLINE, a time (seconds since the epoch) no case may run past: a case gets
#   the smaller of PER_CASE_SECONDS and the time left, so a caller's own time limit never has to
#   kill cases (which would leave sanitizer processes running on the GPU).
set -uo pipefail
tool=${1:?tool} tests=${2:?tests binary} limit=${3:?seconds per case} jobs=${4:?jobs} out=${5:?output folder}
cases=${6:-}
deadline=${SANITIZE_DEADLINE:-}
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
  local k=$1 file="$out/case_$1.txt" seconds=$limit status verdict name
  name=$("$tests" --list-test-cases --first="$k" --last="$k" --no-version | sed -n 3p)
  if [[ -n $deadline ]]; then
    local left=$((deadline - $(date +%s)))
    ((left < seconds)) && seconds=$left
  fi
  if ((seconds <= 0)); then
    echo "$tool case $k: NOT RUN (no time left) ($name)" | tee -a "$out/summary.txt"
    return
  fi
  timeout --signal=INT --kill-after=10 "$seconds" compute-sanitizer --tool "$tool" --error-exitcode 99 \
    "$tests" --first="$k" --last="$k" --no-version >"$file" 2>&1
  status=$?
  # racecheck reports hazards as warnings, which do not change the exit status
  if ((status == 0)) && grep -q "SUMMARY: [1-9][0-9]* hazard" "$file"; then status=98; fi
  case $status in
    0) verdict=passed ;;
    124 | 137) verdict="TIMED OUT after $seconds s" ;;
    98) verdict="FAILED (hazards reported)" ;;
    *) verdict="FAILED (exit $status)" ;;
  esac
  echo "$tool case $k: $verdict ($name)" | tee -a "$out/summary.txt"
}
export -f run_case
export tool tests limit out deadline

case_numbers | xargs -P "$jobs" -I{} bash -c 'run_case {}'
grep -q FAILED "$out/summary.txt" && exit 1
grep -q -e "TIMED OUT" -e "NOT RUN" "$out/summary.txt" && exit 3
exit 0
