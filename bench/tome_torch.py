"""ToMe's bipartite soft matching and size-weighted merge in PyTorch (class token 0 kept), the
baseline that bench/compare_torch.py (CPU) and bench/cuda/compare_torch_gpu.py (GPU) time against
rescan. Written from the algorithm: cosine similarity of L2-normalized rows, A = even tokens,
B = odd tokens, the class token never a source, stable descending sort of each A token's best
score, the top r of A reduced into their best B, output = the unmerged A in original order then B,
x <- merge(x * size, sum) / merge(size, sum), sizes summed.
"""
import math

import torch


def tome_plan_merge(x, size, r):
    """x (batch, T, C), size (batch, T, 1) -> merged x (batch, T - r, C) and sizes (batch, T - r, 1)."""
    with torch.no_grad():
        metric = x / x.norm(dim=-1, keepdim=True)
        a, b = metric[:, ::2, :], metric[:, 1::2, :]
        scores = a @ b.transpose(-1, -2)
        scores[:, 0, :] = -math.inf  # the class token is never a source
        node_max, node_idx = scores.max(dim=-1)
        ranked = node_max.argsort(dim=-1, descending=True, stable=True)[..., None]
        kept = ranked[:, r:, :].sort(dim=1)[0]  # unmerged A tokens, in original order
        sources = ranked[:, :r, :]
        destinations = node_idx[..., None].gather(dim=1, index=sources)

    def merge(t):
        evens, odds = t[:, ::2, :], t[:, 1::2, :]
        n, count, c = evens.shape
        unmerged = evens.gather(dim=1, index=kept.expand(n, count - r, c))
        moved = evens.gather(dim=1, index=sources.expand(n, r, c))
        odds = odds.scatter_reduce(1, destinations.expand(n, r, c), moved, reduce="sum")
        return torch.cat([unmerged, odds], dim=1)

    merged = merge(x * size)
    merged_size = merge(size)
    return merged / merged_size, merged_size
