#!/usr/bin/env python3
"""Turns rescan_bench's JSON (--benchmark_format=json or --benchmark_out=FILE) into ratio tables.

For every comparison group it prints, per size and thread count, rescan's median time, its share of
memcpy's bandwidth on the same bytes, and its speed-up over the best alternative and over the plain
loop measured in the same run. Medians come from --benchmark_repetitions aggregates when present,
otherwise from the single measurement. Standard library only.

usage: report.py results.json [--markdown]
"""
import json
import re
import statistics
import sys
from collections import defaultdict

# group title -> (rescan family, memcpy family, alternative family, plain-loop family)
GROUPS = [
    ("float sum scan", "rescan_inclusive_scan_float", "memcpy_float", "std_inclusive_scan_float",
     "reference_loop_scan_float"),
    ("affine pair scan", "rescan_inclusive_scan_affine", "memcpy_affine", "std_inclusive_scan_affine", None),
    ("linear recurrence", "rescan_linear_recurrence", None, None, "reference_loop_linear_recurrence"),
    ("many-row sum scan (rows x 1024; memcpy on one thread)", "rescan_many_rows_scan_float", "memcpy_many_rows_float", None,
     "reference_loop_many_rows_float"),
    ("reduce_sum", "rescan_reduce_sum", None, "std_accumulate", None),
    ("softmax (rows x 1024)", "rescan_softmax", None, None, "reference_loop_softmax"),
    ("top_k (k=8, rows x 1024)", "rescan_top_k", None, "std_partial_sort_top_k", None),
    ("kendall_tau, one pair (tau-b)", "rescan_kendall_tau", None, "std_sort_kendall_tau", "reference_loop_kendall_tau"),
    ("kendall_tau_batched (rows x 5)", "rescan_kendall_tau_batched_5", None, None,
     "reference_loop_kendall_tau_batched_5"),
    ("kendall_tau_batched (rows x 16)", "rescan_kendall_tau_batched_16", None, None,
     "reference_loop_kendall_tau_batched_16"),
    ("token merging: plan + merge_weighted, ToMe settings (shape 0 Vim-Ti, 1 Vim-S, 2 ViT-L)",
     "rescan_tome_plan_merge", None, None, "reference_loop_plan_merge"),
    ("token merging: plan + merge_weighted, R-MeeTo settings", "rescan_rmeeto_plan_merge", None, None,
     "reference_loop_plan_merge"),
    ("selective scan forward", "rescan_selective_scan_forward", None, None, "reference_loop_selective_scan_forward"),
    ("selective scan backward (from saved checkpoints)", "rescan_selective_scan_backward", None, None, None),
    ("selective_state_update (one decoding step)", "rescan_selective_state_update", None, None, None),
]

NAME = re.compile(r"^(?P<family>[A-Za-z0-9_]+)(?P<args>(/[a-z_]+:\d+)*)")


def parse(path):
    with open(path) as handle:
        data = json.load(handle)
    samples = defaultdict(list)  # (family, n, threads) -> [ns]
    medians = {}
    size_names = {}  # family -> "n" or "rows": what its size argument counts
    for bench in data["benchmarks"]:
        match = NAME.match(bench.get("run_name", bench["name"]))
        if not match:
            continue
        args = dict(part.split(":") for part in match.group("args").strip("/").split("/") if ":" in part)
        if "batch" in args:  # the selective scan: (batch, dim, length, state) as one label
            size = "x".join(args[axis] for axis in ("batch", "dim", "length", "state"))
            size_names[match.group("family")] = "batch x dim x L x N"
        else:
            size = int(args.get("n", args.get("rows", args.get("shape", 0))))
            size_names[match.group("family")] = "n" if "n" in args else "shape" if "shape" in args else "rows"
        key = (match.group("family"), size, int(args.get("threads", 0)))
        time_ns = bench["real_time"] * {"ns": 1, "us": 1e3, "ms": 1e6, "s": 1e9}[bench.get("time_unit", "ns")]
        if bench.get("run_type") == "aggregate":
            if bench.get("aggregate_name") == "median":
                medians[key] = time_ns
        else:
            samples[key].append(time_ns)
    for key, values in samples.items():
        medians.setdefault(key, statistics.median(values))
    return data.get("context", {}), medians, size_names


def lookup(medians, family, n, threads):
    """A baseline's median at size n: with the same thread count when it was run per thread count
    (memcpy), else its single-threaded run (the standard library and the plain loops)."""
    for candidate in (threads, 0, 1):
        if (family, n, candidate) in medians:
            return medians[(family, n, candidate)]
    return None


def main():
    if len(sys.argv) < 2:
        print(__doc__)
        return 2
    context, medians, size_names = parse(sys.argv[1])
    print(f"# rescan {context.get('rescan_version', '?')}, simd {context.get('rescan_simd', '?')}, "
          f"{context.get('num_cpus', '?')} cpus, {context.get('date', '')}")
    for title, rescan, memcpy, alternative, loop in GROUPS:
        rows = sorted(key for key in medians if key[0] == rescan)
        if not rows:
            continue
        print(f"\n## {title}\n")
        per_update = size_names.get(rescan) == "batch x dim x L x N"
        header = [size_names.get(rescan, "n"), "threads", "rescan median"] + (["ns/update"] if per_update else [])
        header += ["% of memcpy"] if memcpy else []
        header += [f"x {alternative}"] if alternative else []
        header += [f"x {loop}"] if loop else []
        print("| " + " | ".join(header) + " |")
        print("|" + "---|" * len(header))
        for family, n, threads in rows:
            time_ns = medians[(family, n, threads)]
            cells = [str(n), str(threads), format_time(time_ns)]
            if per_update:
                updates = 1
                for extent in str(n).split("x"):
                    updates *= int(extent)
                cells.append(f"{time_ns / updates:.3f}")
            for baseline, as_percent in ((memcpy, True), (alternative, False), (loop, False)):
                if not baseline:
                    continue
                other = lookup(medians, baseline, n, threads)
                if other is None:
                    cells.append("-")
                elif as_percent:
                    cells.append(f"{100 * other / time_ns:.0f} %")
                else:
                    cells.append(f"{other / time_ns:.2f}")
            print("| " + " | ".join(cells) + " |")
    return 0


def format_time(ns):
    for unit, scale in (("s", 1e9), ("ms", 1e6), ("us", 1e3)):
        if ns >= scale:
            return f"{ns / scale:.3g} {unit}"
    return f"{ns:.3g} ns"


if __name__ == "__main__":
    sys.exit(main())
