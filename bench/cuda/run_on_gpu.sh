#!/usr/bin/env bash
# Proves the CUDA backend on a machine with an NVIDIA GPU, in one go:
#   1. the machine: GPU, driver, CUDA, compilers (env.txt)
#   2. build (skipped with --prebuilt): the cuda preset for sm_90, tests and benchmarks only
#   3. every test: the CPU suite and the GPU suite (doctest), side by side (cpu_tests.txt, gpu_tests.txt),
#      and the GPU suite built with small grid and sort-batch limits (gpu_tests_small_limits.txt)
#   4. compute-sanitizer memcheck and racecheck over the GPU suite with the small limits (the cases
#      built on the limits then finish under the sanitizers; the kernels are the same code), each
#      test case in its own process, several at a time (memcheck/, racecheck/: one file per case
#      and summary.txt)
#   5. with --profile: Nsight Compute's view of the selective scan, decoding step and token-merging
#      kernels (ncu.txt)
#   6. the CUDA benchmarks, alone on the GPU, JSON out (cuda_bench.json)
#   7. PyTorch on the same GPU against those numbers (torch_compare.json; bench/cuda/compare_torch_gpu.py)
# Every step runs under a time limit and a failing step does not stop the later ones; the summary
# at the end of log.txt says which passed, failed, timed out or were INCOMPLETE (sanitized cases
# that timed out or never started). Exit status: 0 only if every step passed.
#
# usage: bash bench/cuda/run_on_gpu.sh RESULTS_DIR [--prebuilt DIR] [--quick] [--profile] [--no-sanitizers]
#                                       [--cases LIST] [--case-limit S]
#   --prebuilt DIR  take rescan_tests, rescan_cuda_tests(_small_limits) and rescan_cuda_bench from DIR (built for
#                   this machine's architecture elsewhere; DIR/lib is added to the library path)
#                   instead of configuring and building here
#   --quick         shorter benchmark runs (no repetitions) and tighter time limits per step, for a
#                   machine lent by the minute (about 6 minutes at most, 3 to 4 when all goes well)
#   --profile       step 5
#   --no-sanitizers skip step 4 (a rerun after a sanitized run of the same kernels)
#   --cases LIST    sanitize only these GPU test cases, by number in file order ("4,8,41-51"; the
#                   slowest first: they start first)
#   --case-limit S  seconds per sanitized test case (default: 120 with --quick, else 600); the
#                   sanitizer step as a whole keeps its own limit (raised to S + 30 s if shorter),
#                   and cases that would run past it get less time or do not start (reported,
#                   never killed by the step's limit)
set -uo pipefail
usage="usage: run_on_gpu.sh RESULTS_DIR [--prebuilt DIR] [--quick] [--profile] [--no-sanitizers] [--cases LIST] [--case-limit S]"
results=${1:?$usage}
shift
prebuilt="" quick=0 profile=0 sanitizers=1 cases="" case_limit=""
while (($#)); do
  case $1 in
    --prebuilt) prebuilt=${2:?--prebuilt needs a folder}; shift 2 ;;
    --quick) quick=1; shift ;;
    --profile) profile=1; shift ;;
    --no-sanitizers) sanitizers=0; shift ;;
    --cases) cases=${2:?--cases needs a list}; shift 2 ;;
    --case-limit) case_limit=${2:?--case-limit needs seconds}; shift 2 ;;
    *) echo "run_on_gpu.sh: unknown option '$1'" >&2; echo "$usage" >&2; exit 2 ;;
  esac
done
# Paths given relative to the caller's folder, resolved before moving to the repository root.
mkdir -p "$results" && results=$(cd "$results" && pwd) || exit 2
if [[ -n $prebuilt ]]; then
  prebuilt=$(cd "$prebuilt" 2>/dev/null && pwd) || { echo "run_on_gpu.sh: no folder '$prebuilt'" >&2; exit 2; }
fi
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
# time limits, seconds: tests, sanitizers (all cases), one sanitized case, benchmarks, PyTorch, profile
if ((quick)); then limits=(90 150 120 100 60 60); else limits=(300 900 600 400 300 300); fi
[[ -n $case_limit ]] && limits[2]=$case_limit
# the sanitizer step fits at least one case's limit (cases start at once, half the cores' worth at a time per tool)
((limits[1] < limits[2] + 30)) && limits[1]=$((limits[2] + 30))
jobs=$(nproc)
log="$results/log.txt"
: >"$log"
declare -A outcome

say() { echo "[$(date +%T)] $*" | tee -a "$log"; }

# step NAME LIMIT_SECONDS OUTPUT_FILE COMMAND...: runs COMMAND under a time limit into OUTPUT_FILE.
step() {
  local name=$1 limit=$2 output=$3 start=$SECONDS status
  shift 3
  say "start $name (limit ${limit} s)"
  timeout --signal=INT --kill-after=10 "$limit" "$@" >"$output" 2>&1
  status=$?
  case $status in
    0) outcome[$name]="passed" ;;
    124 | 137) outcome[$name]="TIMED OUT after ${limit} s" ;;
    3) outcome[$name]="INCOMPLETE (cases timed out or not run: see its summary.txt)" ;;
    *) outcome[$name]="FAILED (exit $status)" ;;
  esac
  outcome[$name]+=" in $((SECONDS - start)) s"
  say "end $name: ${outcome[$name]}"
  tail -n 15 "$output" >>"$log"
}

# 1. the machine
{
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv
  nvidia-smi | head -n 4
  nvcc --version | tail -n 2
  g++ --version | head -n 1
  cmake --version | head -n 1
  nproc
  python3 -c 'import torch; print("torch", torch.__version__, torch.version.cuda)' 2>&1
} >"$results/env.txt" 2>&1
cat "$results/env.txt" >>"$log"

# 2. build
if [[ -n $prebuilt ]]; then
  bin=$prebuilt
  export LD_LIBRARY_PATH="$bin/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  cpu_tests=$bin/rescan_tests cuda_tests=$bin/rescan_cuda_tests cuda_bench=$bin/rescan_cuda_bench
  small_tests=$bin/rescan_cuda_tests_small_limits
else
  build=build/cuda
  step build 900 "$results/build.txt" bash -c "cmake --preset cuda -DRESCAN_BUILD_EXAMPLES=OFF -DRESCAN_NATIVE=OFF &&
    cmake --build $build -j $(nproc) --target rescan_tests rescan_cuda_tests rescan_cuda_tests_small_limits rescan_cuda_bench"
  cpu_tests=$build/test/rescan_tests cuda_tests=$build/test/rescan_cuda_tests cuda_bench=$build/bench/rescan_cuda_bench
  small_tests=$build/test/rescan_cuda_tests_small_limits
fi
# (a --prebuilt folder from before the small-limits build: the sanitizers take the suite itself)
[[ -x $small_tests ]] || small_tests=$cuda_tests

# 3 and 4: tests and sanitizers, two at a time (the CPU suite does not touch the GPU).
step_in_background() { step "$@" & }
# (a --prebuilt folder without rescan_tests skips the CPU suite: a rerun after GPU-only changes)
[[ -x $cpu_tests ]] && step_in_background cpu_tests "${limits[0]}" "$results/cpu_tests.txt" "$cpu_tests"
step gpu_tests "${limits[0]}" "$results/gpu_tests.txt" "$cuda_tests"
[[ $small_tests != "$cuda_tests" ]] &&
  step gpu_tests_small_limits "${limits[0]}" "$results/gpu_tests_small_limits.txt" "$small_tests"
wait
if ((sanitizers)); then
  # memcheck and racecheck side by side, each on half the cores, one process per test case; no case
  # runs past the step's deadline (a killed step would leave sanitizers running on the GPU)
  half=$(((jobs + 1) / 2))
  export SANITIZE_DEADLINE=$(($(date +%s) + limits[1] - 15))
  step_in_background memcheck "${limits[1]}" "$results/memcheck.txt" bash bench/cuda/sanitize_each_test.sh \
    memcheck "$small_tests" "${limits[2]}" "$half" "$results/memcheck" "$cases"
  step racecheck "${limits[1]}" "$results/racecheck.txt" bash bench/cuda/sanitize_each_test.sh \
    racecheck "$small_tests" "${limits[2]}" "$half" "$results/racecheck" "$cases"
  wait
  pkill -f compute-sanitizer && sleep 2 && say "stopped sanitizer processes left running"
fi

if ((profile)); then
  step profile "${limits[5]}" "$results/ncu.txt" ncu --clock-control none \
    --section SpeedOfLight --section Occupancy --section LaunchStats --section WarpStateStats \
    --section MemoryWorkloadAnalysis --section ComputeWorkloadAnalysis \
    -k regex:'selective_scan_(forward|forward_rows|backward|step)_kernel|merge_(scores|plan|inverse_norms)_kernel' --launch-count 10 \
    "$cuda_bench" --benchmark_min_time=0.000001 \
    --benchmark_filter='selective_scan_forward/batch:1/|selective_scan_backward/batch:1/|selective_state_update|rescan_tome_plan_merge/shape:1'
fi

# 6. benchmarks, alone
bench_options=(--benchmark_out="$results/cuda_bench.json" --benchmark_out_format=json)
if ((quick)); then
  bench_options+=(--benchmark_min_time=0.02)
else
  bench_options+=(--benchmark_min_time=0.05 --benchmark_repetitions=3 --benchmark_report_aggregates_only=true)
fi
step cuda_bench "${limits[3]}" "$results/cuda_bench.txt" "$cuda_bench" "${bench_options[@]}"

# 7. PyTorch on the same GPU
step torch_compare "${limits[4]}" "$results/torch_compare.txt" python3 bench/cuda/compare_torch_gpu.py \
  --rescan-json "$results/cuda_bench.json" --out "$results/torch_compare.json"

# Steps run in the background set their outcome in a subshell, so the summary reads the log.
say "summary"
failed=0
for name in build cpu_tests gpu_tests gpu_tests_small_limits memcheck racecheck profile cuda_bench torch_compare; do
  line=$(grep "end $name:" "$log" | tail -n 1)
  [[ -z $line ]] && continue
  echo "  ${line#*] }" | tee -a "$log"
  [[ $line == *": passed"* ]] || failed=1
done
exit $failed
