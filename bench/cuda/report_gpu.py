#!/usr/bin/env python3
"""Markdown tables for docs/benchmarks-gpu.md from one run of bench/cuda/run_on_gpu.sh.

Reads rescan_cuda_bench's JSON (cuda_bench.json) and, when given, compare_torch_gpu.py's JSON
(torch_compare.json). Prints: scans and the copy in GB/s with their share of the copy at the same
size; the selective scan in ns per state update, state updates per second and the share of its
roofline (the slower of streaming its bytes at the measured copy bandwidth and running its exps at
the measured exp2f rate); token merging and Kendall tau times; the PyTorch ratios.

usage: report_gpu.py cuda_bench.json [torch_compare.json]
"""
import json
import sys

from benchmark_json import load_benchmarks, selective_scan_roofline_us  # beside this script


def scans(rows):
    print("| n (2^k) | copy GB/s | rescan float scan GB/s (share of copy) | CUB float GB/s | CUB float, rescan::plus GB/s | rescan affine GB/s (share) | CUB affine GB/s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for k in range(16, 29, 2):
        n = 1 << k
        def gbs(name):
            b = rows.get(f"{name}/n:{n}")
            return b["bytes_per_second"] / 1e9 if b else None
        copy, copy_pair = gbs("memcpy_float"), gbs("memcpy_affine")
        mine, cub = gbs("rescan_inclusive_scan_float"), gbs("cub_inclusive_sum_float")
        mine_pair, cub_pair = gbs("rescan_inclusive_scan_affine"), gbs("cub_inclusive_scan_affine")
        if None in (copy, mine, cub, mine_pair, copy_pair, cub_pair):
            continue
        cub_op = gbs("cub_inclusive_scan_float_rescan_plus")  # absent in runs 1-6
        cub_op_text = f"{cub_op:.0f}" if cub_op else "-"
        print(f"| {k} | {copy:.0f} | {mine:.0f} ({mine / copy:.0%}) | {cub:.0f} | {cub_op_text} | {mine_pair:.0f} ({mine_pair / copy_pair:.0%}) | {cub_pair:.0f} |")


def selective_scan(rows):
    copy = rows.get("memcpy_float/n:268435456")
    bandwidth = copy["bytes_per_second"] if copy else None
    print("| pass | (batch, dim, L, N) | time us | ns / state update | updates / s | bytes moved at least | roofline us | share of roofline |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    families = ("selective_scan_forward", "selective_scan_forward_no_checks", "selective_scan_forward_block_kernel",
                "selective_scan_forward_warp_items<4>", "selective_scan_forward_warp_items<8>",
                "selective_scan_forward_warp_items<16>", "selective_scan_backward", "selective_scan_backward_recompute")
    for family in families:
        for shape in ((32, 384, 197, 16), (32, 768, 197, 16), (1, 1536, 4096, 16)):
            batch, dim, L, N = shape
            b = rows.get(f"{family}/batch:{batch}/dim:{dim}/L:{L}/N:{N}")
            if not b:
                continue
            updates = b["state_updates"]
            moved = b["bytes_per_second"] * b["us"] * 1e-6
            roof = selective_scan_roofline_us(rows, b, 2 if "backward" in family else 1)
            roof_text = f"{roof:.1f} | {roof / b['us']:.0%}" if roof else "- | -"
            print(f"| {family.removeprefix('selective_scan_')} | {shape} | {b['us']:.1f} | {b['ns_per_update']:.4f} | "
                  f"{updates / (b['us'] * 1e-6):.3g} | {moved / 1e6:.0f} MB | {roof_text} |")
    step = rows.get("selective_state_update/batch:64/dim:1536/L:1/N:16")
    if step:
        share = f" ({step['bytes_per_second'] / bandwidth:.0%} of the copy)" if bandwidth else ""
        print(f"\nDecoding step (64, 1536, N 16): {step['us']:.1f} us, {step['bytes_per_second'] / 1e9:.0f} GB/s{share}")


def others(rows):
    print("| benchmark | time us |")
    print("| --- | --- |")
    for name, b in rows.items():
        if name.startswith(("rescan_tome", "rescan_plan_only", "rescan_merge_weighted", "rescan_kendall")):
            print(f"| {name} | {b['us']:.1f} |")


def torch(path):
    with open(path) as f:
        data = json.load(f)
    print(f"PyTorch {data['torch']} on {data['device']}, the same session:\n")
    print("| case | PyTorch ms | rescan ms | speed-up | note |")
    print("| --- | --- | --- | --- | --- |")
    for r in data["rows"]:
        mine = f"{r['rescan_ms']:.4f}" if r["rescan_ms"] else "-"
        ratio = f"{r['speedup']:.1f}x" if r["speedup"] else "-"
        print(f"| {r['case']} | {r['torch_ms']:.4f} | {mine} | {ratio} | {r['note']} |")


def main():
    context, rows = load_benchmarks(sys.argv[1])
    print(f"Device: {context.get('cuda_device')}, {context.get('cuda_sm_count')} SMs, CUDA runtime "
          f"{context.get('cuda_runtime')}, rescan {context.get('rescan_version')}\n")
    scans(rows)
    print()
    selective_scan(rows)
    print()
    others(rows)
    if len(sys.argv) > 2:
        print()
        torch(sys.argv[2])


if __name__ == "__main__":
    main()
