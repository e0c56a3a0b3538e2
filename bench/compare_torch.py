#!/usr/bin/env python3
"""Times ToMe's bipartite soft matching + size-weighted merge in PyTorch (CPU) against rescan_bench's
rescan_tome_plan_merge on the same shapes and thread counts, and prints the ratios of the
medians and of the fastest repetitions (the fastest is the least disturbed on a shared machine).

The PyTorch side is bench/tome_torch.py (ToMe's settings; bench/cuda/compare_torch_gpu.py times the
same function on the GPU). Both sides use the merged tensor as the metric, float32, a standard
normal input, and the same thread count (torch.set_num_threads / rescan::cpu_t(threads)).

PyTorch comes from PyPI into a virtual environment inside the build folder, made on the first run
(python3 -m venv BUILD/venv-compare; pip install torch). PyPI's Linux wheel depends on the CUDA
runtime wheels (several GB, unused here): installed with --no-deps it does not import
(libtorch_cuda needs them), so the full install is used; it is made once and reused.

usage: compare_torch.py [--build build/merge] [--bench PATH] [--threads 1 2] [--shapes 0 1 2]
                        [--repetitions 5] [--python PATH]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

SHAPES = [  # name, batch, tokens, channels, r (the shapes of bench/bench_merge.cpp)
    ("Vim-Ti", 128, 197, 192, 5),
    ("Vim-S", 64, 197, 384, 11),
    ("ViT-L", 32, 577, 1024, 23),
]


def ensure_venv(build):
    venv = os.path.join(build, "venv-compare")
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python):
        subprocess.check_call([sys.executable, "-m", "venv", venv])
    probe = subprocess.run([python, "-c", "import torch, numpy"], capture_output=True)
    if probe.returncode != 0:  # numpy only quiets torch's warning at import
        subprocess.check_call([python, "-m", "pip", "install", "--quiet", "torch", "numpy"])
    return python


def torch_worker(args):
    """Runs inside the venv: times the PyTorch implementation, prints JSON {shape: {threads: median_s}}."""
    import torch
    from tome_torch import tome_plan_merge  # bench/tome_torch.py, beside this script

    results = {}
    for shape in args.shapes:
        name, batch, tokens, channels, r = SHAPES[shape]
        generator = torch.Generator().manual_seed(11)
        x = torch.randn(batch, tokens, channels, generator=generator)
        size = torch.ones(batch, tokens, 1)
        results[shape] = {}
        for threads in args.threads:
            torch.set_num_threads(threads)
            with torch.inference_mode():
                for _ in range(3):
                    tome_plan_merge(x, size, r)
                samples = []
                for _ in range(args.repetitions):
                    start = time.perf_counter()
                    iterations = 0
                    while True:
                        tome_plan_merge(x, size, r)
                        iterations += 1
                        elapsed = time.perf_counter() - start
                        if elapsed > 0.5:
                            break
                    samples.append(elapsed / iterations)
            results[shape][threads] = [statistics.median(samples), min(samples)]
    print(json.dumps({"torch": torch.__version__, "results": results}))


def rescan_times(bench, shapes, threads, repetitions):
    """{(shape, threads): [median, min]} of rescan_tome_plan_merge's repetitions, in seconds."""
    pattern = "^rescan_tome_plan_merge/shape:(" + "|".join(map(str, shapes)) + ")/threads:(" + "|".join(
        map(str, threads)) + ")/"
    output = subprocess.check_output([bench, f"--benchmark_filter={pattern}", "--benchmark_format=json",
                                      f"--benchmark_repetitions={repetitions}", "--benchmark_min_time=0.5"])
    samples = {}
    for entry in json.loads(output)["benchmarks"]:
        if entry.get("run_type") == "aggregate":
            continue
        parts = dict(p.split(":") for p in entry["run_name"].split("/")[1:] if ":" in p)
        scale = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}[entry["time_unit"]]
        samples.setdefault((int(parts["shape"]), int(parts["threads"])), []).append(entry["real_time"] * scale)
    return {key: [statistics.median(values), min(values)] for key, values in samples.items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--build", default="build/merge")
    parser.add_argument("--bench", default=None, help="rescan_bench (default: BUILD/bench/rescan_bench)")
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--shapes", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--repetitions", type=int, default=5)
    parser.add_argument("--python", default=None, help="a Python with torch (default: BUILD/venv-compare)")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        torch_worker(args)
        return 0
    python = args.python or ensure_venv(args.build)
    bench = args.bench or os.path.join(args.build, "bench", "rescan_bench")
    command = [python, os.path.abspath(__file__), "--worker", "--threads", *map(str, args.threads), "--shapes",
               *map(str, args.shapes), "--repetitions", str(args.repetitions)]
    torch_side = json.loads(subprocess.check_output(command))
    rescan_side = rescan_times(bench, args.shapes, args.threads, args.repetitions)
    print(f"PyTorch {torch_side['torch']} vs rescan, plan + merge_weighted (ToMe settings), median and fastest of "
          f"{args.repetitions} repetitions, {os.cpu_count()} cpus\n")
    print("| shape | batch x T x C, r | threads | PyTorch median | rescan median | ratio of medians | "
          "ratio of fastest |")
    print("|---|---|---|---|---|---|---|")
    for shape in args.shapes:
        name, batch, tokens, channels, r = SHAPES[shape]
        for threads in args.threads:
            torch_median, torch_min = torch_side["results"][str(shape)][str(threads)]
            rescan_median, rescan_min = rescan_side[(shape, threads)]
            print(f"| {name} | {batch} x {tokens} x {channels}, r {r} | {threads} | {torch_median * 1e3:.2f} ms | "
                  f"{rescan_median * 1e3:.2f} ms | {torch_median / rescan_median:.2f} | {torch_min / rescan_min:.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
