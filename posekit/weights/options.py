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
  makes the model's TPC use the default mode (`TokenPruningCluster.exact_distances = False`).

Both are set on a built model by `apply_options(model, {'official_ln_eps': True})`.
"""
from __future__ import annotations

from torch import nn

OPTIONS = ("official_ln_eps", "official_cdist")


def official_ln_eps(model: nn.Module) -> nn.Module:
    """KTPFormer: layer 0's pre-attention LayerNorms get eps 1e-5, as in the official KPA/TPA blocks."""
    for blocks in (model.spatial_blocks, model.temporal_blocks):
        blocks[0].norm1.eps = 1e-5
    return model


def official_cdist(model: nn.Module) -> nn.Module:
    """HoT: the model's TPC selects frames with `torch.cdist`'s default (matrix-product) distances."""
    if model.tpc.selection != "dpc":
        raise ValueError("official_cdist applies to DPC-kNN selection only")
    model.tpc.exact_distances = False
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
