#!/usr/bin/env python3
"""rescan's kendall_tau against scipy.stats.kendalltau on the same data, in the same session.

Creates (once) a virtual environment inside the build folder with scipy and numpy from PyPI, then
re-runs itself with it. It generates exactly the data bench/bench_rank.cpp generates (splitmix64's
output function, x_i = u(2i), y_i = x_i + u(2i + 1)), times scipy.stats.kendalltau on one long pair
and a Python loop over groups for the batched shapes, runs rescan_bench on the same sizes, checks
that both give the same tau, and prints medians and ratios (scipy time / rescan time).

usage: bench/compare_scipy.py [--build build/rank] [--venv DIR] [--repetitions 5] [--sizes 10000 ...]
                              [--groups 100000] [--loop-groups 5000] [--threads 1 2] [--bench FILE]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def parse_arguments():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default=os.path.join(ROOT, "build", "rank"), help="build folder with rescan_bench")
    parser.add_argument("--venv", default=None, help="virtual environment (default: <build>/../venv-compare)")
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000, 10_000_000])
    parser.add_argument("--groups", type=int, default=100_000)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--loop-groups", type=int, default=5000,
                        help="groups the Python loop times (scipy takes about 1 ms a call); its time is scaled "
                             "to --groups")
    parser.add_argument("--bench", default=None, help="rescan_bench executable (default: <build>/bench/rescan_bench)")
    return parser.parse_args()


def ensure_venv(venv):
    """Re-executes this script with the venv's python, creating the venv when needed."""
    python = os.path.join(venv, "bin", "python")
    if os.path.realpath(sys.prefix) == os.path.realpath(venv):
        return
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    probe = subprocess.run([python, "-c", "import scipy, numpy"], capture_output=True)
    if probe.returncode != 0:
        subprocess.check_call([python, "-m", "pip", "install", "--quiet", "scipy", "numpy"])
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


def uniform(np, k):
    """splitmix64's output function of k (uint64 wrap-around arithmetic), as 53-bit doubles in [0, 1)."""
    z = (k + np.uint64(1)) * np.uint64(0x9E3779B97F4A7C15)
    z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
    z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
    z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0**-53


def correlated(np, n):
    i = np.arange(n, dtype=np.uint64)
    x = uniform(np, np.uint64(2) * i)
    y = x + uniform(np, np.uint64(2) * i + np.uint64(1))
    return x, y


def median_seconds(call, repetitions):
    times = []
    for _ in range(repetitions):
        start = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - start)
    return statistics.median(times), result


def run_rescan(bench, pattern, repetitions):
    """rescan_bench's median real time (seconds) and counters per benchmark run name."""
    command = [bench, f"--benchmark_filter={pattern}", f"--benchmark_repetitions={repetitions}",
               "--benchmark_report_aggregates_only=true", "--benchmark_format=json"]
    print("$ " + " ".join(command), file=sys.stderr)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    results = {}
    for bench_result in json.loads(output)["benchmarks"]:
        if bench_result.get("aggregate_name", "median") != "median":
            continue
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[bench_result.get("time_unit", "ns")]
        results[bench_result["run_name"]] = (bench_result["real_time"] * scale, bench_result)
    return results


def format_seconds(seconds):
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("us", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def print_header(size_title, scipy_title, threads, check_title):
    print(f"| {size_title} | {scipy_title} | " + " | ".join(f"rescan {t}T" for t in threads) + " | "
          + " | ".join(f"x scipy ({t}T)" for t in threads) + f" | {check_title} |")
    print("|---|---|" + "---|" * (2 * len(threads)) + "---|")


def print_row(size, scipy_seconds, entries, counter, scipy_value):
    """One table row: rescan's medians per thread count (entries: (seconds, json) or None), the ratios
    scipy / rescan, and whether rescan's counter equals scipy's value."""
    times, ratios, same = [], [], True
    for entry in entries:
        if entry is None:
            times.append("-")
            ratios.append("-")
            continue
        times.append(format_seconds(entry[0]))
        ratios.append(f"{scipy_seconds / entry[0]:.1f}")
        same = same and abs(entry[1][counter] - scipy_value) <= 1e-12
    print(f"| {size} | {format_seconds(scipy_seconds)} | " + " | ".join(times) + " | " + " | ".join(ratios)
          + f" | {'yes' if same else 'NO'} |")


def main():
    args = parse_arguments()
    venv = args.venv or os.path.join(os.path.dirname(os.path.abspath(args.build)), "venv-compare")
    ensure_venv(venv)
    import numpy as np
    import scipy
    import scipy.stats

    bench = args.bench or os.path.join(args.build, "bench", "rescan_bench")
    print(f"# scipy {scipy.__version__}, numpy {np.__version__}, python {sys.version.split()[0]}, "
          f"{os.cpu_count()} cpus; rescan_bench: {bench}")
    sizes = "|".join(str(n) for n in args.sizes)
    rescan = run_rescan(bench, f"rescan_kendall_tau/n:({sizes})/", args.repetitions)
    rescan.update(run_rescan(bench, "rescan_kendall_tau_batched_", args.repetitions))

    print("\n## kendall_tau, one pair (tau-b; scipy.stats.kendalltau vs rescan::kendall_tau)\n")
    print_header("n", "scipy median", args.threads, "same tau")
    for n in args.sizes:
        x, y = correlated(np, n)
        repetitions = args.repetitions if n <= 1_000_000 else max(1, args.repetitions // 2)
        seconds, result = median_seconds(lambda: scipy.stats.kendalltau(x, y), repetitions)
        print_row(str(n), seconds, [rescan.get(f"rescan_kendall_tau/n:{n}/threads:{t}/real_time") for t in args.threads],
                  "tau", float(result.statistic))

    looped = min(args.loop_groups, args.groups)
    print(f"\n## kendall_tau_batched, {args.groups} groups (a Python loop of scipy.stats.kendalltau over the "
          f"first {looped} groups, scaled to {args.groups}, vs rescan::kendall_tau_batched)\n")
    print_header("groups x n", "scipy loop", args.threads, "same tau (group 0)")
    for size in (5, 16):
        x, y = correlated(np, args.groups * size)
        xs, ys = x.reshape(args.groups, size), y.reshape(args.groups, size)
        seconds, first = median_seconds(
            lambda: [scipy.stats.kendalltau(xs[g], ys[g]).statistic for g in range(looped)], 1)
        seconds *= args.groups / looped
        names = [f"rescan_kendall_tau_batched_{size}/rows:{args.groups}/threads:{t}/real_time" for t in args.threads]
        print_row(f"{args.groups} x {size}", seconds, [rescan.get(name) for name in names], "tau_0", float(first[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
