"""Which faces can touch which image tile: the candidate lists that keep soft rasterisation cheap.

The dense SoftRas formulation evaluates every face at every pixel (H * W * F terms). A face's coverage
sigmoid(-d^2 / sigma) is below `dist_eps` beyond d^2 = sigma * ln(1 / dist_eps) (SoftRas skips those pairs in its
CUDA kernel, `soft_rasterize_cuda_kernel.cu`), so each face only needs the tiles its expanded bounding box meets.
This module builds, without gradients, a (tiles, K) table of candidate face indices (-1 = padding) per non-empty
tile; K is the largest candidate count of any tile.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass
class Bins:
    """Non-empty tiles: batch index, tile row, tile column (N,) and candidate faces (N, K) (-1 = none)."""

    batch: torch.Tensor
    row: torch.Tensor
    col: torch.Tensor
    faces: torch.Tensor


@torch.no_grad()
def bin_faces(tri: torch.Tensor, valid: torch.Tensor, height: int, width: int, tile: int, margin: float,
              depth: torch.Tensor | None = None, max_faces: int | None = None) -> Bins:
    """tri (B, F, 3, 2) pixel positions of the face corners, valid (B, F); margin in pixels around each face.

    With depth (B, F) and max_faces, a tile keeps only max_faces candidates: first those whose own (unexpanded)
    box meets a pixel centre of the tile, nearest first, then the nearest of the others. Deeper faces are hidden
    behind them and their weight in the depth softmax is negligible.
    """
    batch, n_faces = valid.shape
    n_rows, n_cols = -(-height // tile), -(-width // tile)
    lo = tri.amin(2) - margin
    hi = tri.amax(2) + margin
    valid = valid & (hi[..., 0] >= 0) & (hi[..., 1] >= 0) & (lo[..., 0] <= width) & (lo[..., 1] <= height)
    valid &= torch.isfinite(lo).all(-1) & torch.isfinite(hi).all(-1)
    lo, hi = torch.nan_to_num(lo), torch.nan_to_num(hi)
    c0 = (lo[..., 0] / tile).floor().clamp(0, n_cols - 1).long()
    c1 = (hi[..., 0] / tile).floor().clamp(0, n_cols - 1).long()
    r0 = (lo[..., 1] / tile).floor().clamp(0, n_rows - 1).long()
    r1 = (hi[..., 1] / tile).floor().clamp(0, n_rows - 1).long()
    ncol = c1 - c0 + 1
    count = torch.where(valid, ncol * (r1 - r0 + 1), 0).flatten()
    total = int(count.sum())
    dev = tri.device
    if total == 0:
        empty = torch.zeros(0, dtype=torch.long, device=dev)
        return Bins(empty, empty, empty, torch.full((0, 1), -1, dtype=torch.long, device=dev))
    owner = torch.repeat_interleave(torch.arange(batch * n_faces, device=dev), count)
    local = torch.arange(total, device=dev) - (torch.cumsum(count, 0) - count)[owner]
    cols = c0.flatten()[owner] + local % ncol.flatten()[owner]
    rows = r0.flatten()[owner] + local // ncol.flatten()[owner]
    key = ((owner // n_faces) * n_rows + rows) * n_cols + cols
    if depth is not None:  # nearest first, faces whose own box meets the tile's pixel centres before the rest
        raw_lo, raw_hi = (lo + margin).flatten(0, 1)[owner], (hi - margin).flatten(0, 1)[owner]
        meets = ((raw_hi[:, 0] >= cols * tile + 0.5) & (raw_lo[:, 0] <= cols * tile + tile - 0.5)
                 & (raw_hi[:, 1] >= rows * tile + 0.5) & (raw_lo[:, 1] <= rows * tile + tile - 0.5))
        priority = depth.flatten()[owner] + torch.where(meets, 0.0, 1e6)
        by_depth = torch.argsort(priority, stable=True)
        key, owner = key[by_depth], owner[by_depth]
    key, order = torch.sort(key, stable=True)
    face = (owner % n_faces)[order]
    per_tile = torch.bincount(key, minlength=batch * n_rows * n_cols)
    slot = torch.arange(total, device=dev) - (torch.cumsum(per_tile, 0) - per_tile)[key]
    width_k = int(per_tile.max()) if max_faces is None else min(int(per_tile.max()), max_faces)
    keep = slot < width_k
    table = torch.full((batch * n_rows * n_cols, width_k), -1, dtype=torch.long, device=dev)
    table[key[keep], slot[keep]] = face[keep]
    tiles = torch.nonzero(per_tile > 0)[:, 0]
    return Bins(tiles // (n_rows * n_cols), (tiles // n_cols) % n_rows, tiles % n_cols, table[tiles])
