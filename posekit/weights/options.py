"""Options that make an imported model compute exactly what the official code computes.

posekit's paper models depart from the official code in two places that change outputs slightly but not the
weights; the importer switches these options on so that released weights give the released numbers:

- `official_ln_eps` (KTPFormer): the official KPAttention / TPAttention build their pre-attention LayerNorm with
  PyTorch's default eps 1e-5 (common/model_ktpformer.py, KPA_Block and TPA_Block pass `norm_layer=nn.LayerNorm`),
  every other norm uses 1e-6; posekit uses 1e-6 throughout. The option sets layer 0's two `norm1.eps` to 1e-5.
- `official_cdist` (HoT): the official DPC-kNN (model/mixste/hot_mixste.py, `cluster_dpc_knn`) calls
  `torch.cdist(x, x)` with its default compute mode, which uses the matrix-product formula
  sqrt(|x|^2 + |y|^2 - 2 x.y) for more than 25 tokens; its rounding (about 1e-4) reorders near-equal densities
  and keeps 1-5 of 81 frames differently from exact distances. posekit computes exact distances; the option
  swaps the model's TPC frame selection for one using the default mode.

Both are set on a built model by `apply_options(model, {'official_ln_eps': True})`.
"""
from __future__ import annotations

import types

import torch
from torch import nn

OPTIONS = ("official_ln_eps", "official_cdist")


def official_ln_eps(model: nn.Module) -> nn.Module:
    """KTPFormer: layer 0's pre-attention LayerNorms get eps 1e-5, as in the official KPA/TPA blocks."""
    for blocks in (model.spatial_blocks, model.temporal_blocks):
        blocks[0].norm1.eps = 1e-5
    return model


def _dpc_knn_default_cdist(features: torch.Tensor, num_keep: int, k: int, keep_index, generator):
    """DPC-kNN exactly as `posekit.methods.hot.dpc_knn`, except that the distances use `torch.cdist`'s default
    compute mode (the official code's call). Returns a `posekit.methods.hot.DPCResult`."""
    from ..methods.hot import DPCResult
    b, n, c = features.shape
    x = features.float()
    dist = torch.cdist(x, x) / c ** 0.5
    density = torch.exp(-(dist.topk(k, dim=-1, largest=False).values ** 2).mean(dim=-1))
    rand = torch.rand(density.shape, generator=generator, device="cpu" if generator is not None else x.device)
    density = density + rand.to(x.device, x.dtype) * 1e-6
    denser = density[:, None, :] > density[:, :, None]
    delta = torch.where(denser, dist, dist.flatten(1).max(dim=-1).values[:, None, None]).min(dim=-1).values
    score = delta * density
    if keep_index is None:
        centres = score.topk(num_keep, dim=-1).indices
    else:
        masked = score.clone()
        masked[:, keep_index] = -torch.inf
        centres = torch.cat([masked.topk(num_keep - 1, dim=-1).indices, score.new_full((b, 1), keep_index).long()], 1)
    assignment = torch.gather(dist, 1, centres[:, :, None].expand(b, num_keep, n)).argmin(dim=1)
    assignment.scatter_(1, centres, torch.arange(num_keep, device=x.device).expand(b, num_keep))
    return DPCResult(centres, dist, density, delta, score, assignment)


@torch.no_grad()
def _select_default_cdist(tpc, x: torch.Tensor) -> torch.Tensor:
    if tpc.selection != "dpc":
        raise ValueError("official_cdist applies to DPC-kNN selection only")
    if x.shape[1] != tpc.frames:
        raise ValueError(f"TPC was built for {tpc.frames} frames, got {x.shape[1]}")
    tpc.last = _dpc_knn_default_cdist(x.detach().mean(dim=2), tpc.tokens, tpc.k, tpc.keep_index, tpc.generator)
    return tpc.last.kept


def official_cdist(model: nn.Module) -> nn.Module:
    """HoT: the model's TPC selects frames with `torch.cdist`'s default (matrix-product) distances."""
    model.tpc.select = types.MethodType(_select_default_cdist, model.tpc)
    return model


def apply_options(model: nn.Module, options: dict) -> nn.Module:
    """Switch on every option named with a true value in `options` (keys of OPTIONS)."""
    unknown = set(options) - set(OPTIONS)
    if unknown:
        raise ValueError(f"unknown import option(s) {sorted(unknown)}; known: {', '.join(OPTIONS)}")
    for name, on in options.items():
        if on:
            globals()[name](model)
    return model
