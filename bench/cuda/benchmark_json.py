"""Reads Google Benchmark's JSON output (rescan_cuda_bench --benchmark_out=FILE) for the GPU
comparison scripts: one entry per benchmark, the median where repetitions ran, names without
Google Benchmark's timing suffixes, and each entry's real time in microseconds as "us"."""
import json

SUFFIXES = ("/manual_time", "/real_time")
MICROSECONDS = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def load_benchmarks(path):
    """-> (context, {name: entry}); ({}, {}) when the file is missing or cut off (a killed run)."""
    try:
        with open(path) as f:
            data = json.load(f)
    except (OSError, json.JSONDecodeError):
        return {}, {}
    rows = {}
    for entry in data.get("benchmarks", []):
        if entry.get("run_type") == "aggregate" and entry.get("aggregate_name") != "median":
            continue
        name = entry.get("run_name", entry["name"])
        for suffix in SUFFIXES:
            name = name.removesuffix(suffix)
        entry["us"] = entry["real_time"] * MICROSECONDS[entry["time_unit"]]
        rows[name] = entry
    return data.get("context", {}), rows


def selective_scan_roofline_us(rows, entry, exps_per_update=1):
    """The least time a selective-scan pass can take on the run's card, in microseconds: the slower
    of moving the bytes its benchmark counts at the copy's bandwidth (memcpy_float at 2^28 elements)
    and running exps_per_update exps per state update at exp2f_throughput's rate. None when the run
    lacks either ceiling."""
    copy = rows.get("memcpy_float/n:268435456")
    exps = rows.get("exp2f_throughput", {}).get("exps_per_second")
    if not copy or not exps:
        return None
    moved = entry["bytes_per_second"] * entry["us"] * 1e-6
    return max(moved / copy["bytes_per_second"], entry["state_updates"] * exps_per_update / exps) * 1e6
