#!/usr/bin/env python3
"""Times PyTorch on the GPU against rescan_cuda_bench's JSON on the same card, in the same session.

PyTorch side (this script's own implementations, float32 unless said, CUDA events, the L2 flushed
before each timed call, median of --repetitions calls after two warm-ups; the selective-scan loop,
which takes up to a second a call, max(3, repetitions / 2) calls):
  copy        y.copy_(x) at 2^28 floats (the bandwidth ceiling)         vs rescan memcpy_float
  cumsum      torch.cumsum at 2^28 floats                               vs rescan_inclusive_scan_float
  scan_loop   Mamba's sequential selective-scan reference: softplus(delta + bias), exp(delta A),
              then h = dA_t h + dBu_t, y_t = C_t h over L, + D u, * silu(z)   vs selective_scan_forward
  tome        ToMe's bipartite soft matching + size-weighted merge           vs rescan_tome_plan_merge
              (bench/tome_torch.py, the function bench/compare_torch.py times on the CPU)
  kendall     batched tau-b from every pair's sign product (groups x n x n)  vs rescan_kendall_tau_batched
Also the selective scan's roofline from the rescan run's own ceilings (copy bandwidth, the exp
throughput of exp2f, what the float kernels call): max(bytes / copy GB/s, updates / exps per
second), and the fraction reached.

usage: compare_torch_gpu.py --rescan-json results/cuda_bench.json [--out results/torch_compare.json]
                            [--repetitions 5]
Prints a table; writes the numbers (milliseconds, ratios) as JSON.
"""
import argparse
import json
import os
import statistics
import sys

import torch

from benchmark_json import load_benchmarks, selective_scan_roofline_us  # beside this script

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from tome_torch import tome_plan_merge  # bench/tome_torch.py, shared with bench/compare_torch.py

SCAN_SHAPES = [(32, 384, 197, 16), (32, 768, 197, 16), (1, 1536, 4096, 16)]  # batch, dim, L, N
MERGE_SHAPES = [(128, 197, 192, 5), (64, 197, 384, 11), (32, 577, 1024, 23)]  # batch, tokens, C, r


def timed(fn, repetitions):
    """Median milliseconds of fn() over repetitions, the L2 flushed before each."""
    flush = torch.empty(256 << 20, dtype=torch.uint8, device="cuda")
    for _ in range(2):
        fn()
    times = []
    for _ in range(repetitions):
        flush.zero_()
        start, stop = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        start.record()
        fn()
        stop.record()
        stop.synchronize()
        times.append(start.elapsed_time(stop))
    return statistics.median(times)


def selective_scan_loop(u, delta, A, B, C, D, z, delta_bias):
    """u, delta, z (b, d, L); A (d, N); B, C (b, 1, N, L); D, delta_bias (d) -> (b, d, L)."""
    delta = torch.nn.functional.softplus(delta + delta_bias[None, :, None])
    decay = torch.exp(torch.einsum("bdl,dn->bdln", delta, A))
    drive = torch.einsum("bdl,bnl,bdl->bdln", delta, B[:, 0], u)
    h = u.new_zeros(u.shape[0], u.shape[1], A.shape[1])
    ys = []
    for t in range(u.shape[2]):
        h = decay[:, :, t] * h + drive[:, :, t]
        ys.append(torch.einsum("bdn,bn->bd", h, C[:, 0, :, t]))
    y = torch.stack(ys, dim=2) + D[None, :, None] * u
    return y * torch.nn.functional.silu(z)


def kendall_tau_b(x, y):
    """Tau-b per row of (groups, n), ties counted: every pair's sign product."""
    sx = torch.sign(x[:, :, None] - x[:, None, :])
    sy = torch.sign(y[:, :, None] - y[:, None, :])
    s = (sx * sy).sum(dim=(1, 2)) / 2
    n = x.shape[1]
    pairs = n * (n - 1) / 2
    tx = (sx == 0).sum(dim=(1, 2)).double() / 2 - n / 2
    ty = (sy == 0).sum(dim=(1, 2)).double() / 2 - n / 2
    return s / torch.sqrt((pairs - tx) * (pairs - ty))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rescan-json", required=True)
    parser.add_argument("--out", default=None)
    parser.add_argument("--repetitions", type=int, default=5)
    args = parser.parse_args()
    torch.manual_seed(0)
    reps = args.repetitions
    _, counters = load_benchmarks(args.rescan_json)  # empty when the benchmark run was cut off
    ours = {name: entry["us"] * 1e-3 for name, entry in counters.items()}  # milliseconds
    rows = []

    def row(what, torch_ms, rescan_name, note=""):
        mine = ours.get(rescan_name)
        rows.append({"case": what, "torch_ms": torch_ms, "rescan": rescan_name, "rescan_ms": mine,
                     "speedup": (torch_ms / mine) if mine else None, "note": note})

    n = 1 << 28
    x = torch.ones(n, device="cuda")
    y = torch.empty_like(x)
    copy_ms = timed(lambda: y.copy_(x), reps)
    row("copy 2^28 floats", copy_ms, "memcpy_float/n:268435456", f"{2 * 4 * n / copy_ms / 1e6:.0f} GB/s")
    row("cumsum 2^28 floats", timed(lambda: torch.cumsum(x, 0, out=y), reps), "rescan_inclusive_scan_float/n:268435456")
    del x, y

    for batch, dim, L, N in SCAN_SHAPES:
        g = torch.Generator(device="cuda").manual_seed(1)
        u = torch.randn(batch, dim, L, device="cuda", generator=g)
        delta = torch.randn(batch, dim, L, device="cuda", generator=g) * 0.5 - 1
        z = torch.randn(batch, dim, L, device="cuda", generator=g)
        A = -torch.rand(dim, N, device="cuda", generator=g) * 4
        B = torch.randn(batch, 1, N, L, device="cuda", generator=g)
        C = torch.randn(batch, 1, N, L, device="cuda", generator=g)
        D = torch.randn(dim, device="cuda", generator=g)
        bias = torch.randn(dim, device="cuda", generator=g) * 0.1
        ms = timed(lambda: selective_scan_loop(u, delta, A, B, C, D, z, bias), max(3, reps // 2))
        name = f"selective_scan_forward/batch:{batch}/dim:{dim}/L:{L}/N:{N}"
        note = ""
        roof_us = selective_scan_roofline_us(counters, counters[name]) if name in counters else None
        if roof_us:
            note = f"roofline {roof_us:.1f} us, reached {roof_us * 1e-3 / ours[name]:.0%}"
        row(f"selective scan loop {batch}x{dim}x{L}x{N}", ms, name, note)
        del u, delta, z, B, C

    for shape, (batch, tokens, channels, r) in enumerate(MERGE_SHAPES):
        x = torch.randn(batch, tokens, channels, device="cuda")
        size = torch.ones(batch, tokens, 1, device="cuda")
        ms = timed(lambda: tome_plan_merge(x, size, r), reps)
        row(f"ToMe plan+merge {batch}x{tokens}x{channels} r {r}", ms, f"rescan_tome_plan_merge/shape:{shape}")

    for group in (5, 16):
        gx = torch.rand(100000, group, device="cuda", dtype=torch.float64)
        gy = gx + torch.rand(100000, group, device="cuda", dtype=torch.float64)
        ms = timed(lambda: kendall_tau_b(gx, gy), reps)
        row(f"Kendall tau-b 1e5 x {group}", ms, f"rescan_kendall_tau_batched_{group}/rows:100000")

    device = torch.cuda.get_device_name()
    print(f"device: {device}, torch {torch.__version__}")
    print(f"{'case':44} {'torch ms':>10} {'rescan ms':>10} {'speed-up':>9}  note")
    for r in rows:
        mine = f"{r['rescan_ms']:.4f}" if r["rescan_ms"] else "-"
        ratio = f"{r['speedup']:.1f}x" if r["speedup"] else "-"
        print(f"{r['case']:44} {r['torch_ms']:10.4f} {mine:>10} {ratio:>9}  {r['note']}")
    if args.out:
        with open(args.out, "w") as f:
            json.dump({"device": device, "torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
