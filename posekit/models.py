"""Model registry: every lifter in posekit by name, built at a named configuration.

`build_model('mixste', config='cpu')` imports the module that defines the model and calls its builder with the
configuration ('paper' = the paper's exact settings; 'gpu', 'cpu', 'smoke' = the sizes of those profiles).
A paper's module adds its entries here when it is written (`'name': 'module:builder'`).
"""
from __future__ import annotations

import importlib

from torch import nn

CONFIG_NAMES = ("paper", "gpu", "cpu", "smoke")

REGISTRY = {
    "mlp": "posekit.nn.mlp_lifter:build",
    "tcn": "posekit.nn.tcn:build",
    "mixste": "posekit.nn.mixste:build",
    "convformer": "posekit.methods.convformer:build",
    "convformer-single": "posekit.methods.convformer:build_single",
    "convformer-linear": "posekit.methods.convformer:build_linear",
    "poseda": "posekit.methods.poseda:build",
    "uao": "posekit.methods.uao:build",
    "hot": "posekit.methods.hot:build",
    "hot-tpc": "posekit.methods.hot:build_tpc",
    "ktpformer": "posekit.methods.ktpformer:build",
    "ktpformer-kpa": "posekit.methods.ktpformer:build_kpa_only",
    "ktpformer-tpa": "posekit.methods.ktpformer:build_tpa_only",
    "glagcn": "posekit.methods.glagcn:build",
    "glagcn-released": "posekit.methods.glagcn:build_released",
    "glagcn-unshared": "posekit.methods.glagcn:build_unshared",
}


def model_names() -> list[str]:
    return sorted(REGISTRY)


def build_model(name: str, config: str = "cpu", frames: int | None = None, **overrides) -> nn.Module:
    """Build model `name` at configuration `config`; `frames` overrides the clip length where it applies."""
    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(model_names())}")
    if config not in CONFIG_NAMES:
        raise ValueError(f"unknown configuration {config!r}; choose one of {', '.join(CONFIG_NAMES)}")
    module, func = REGISTRY[name].split(":")
    return getattr(importlib.import_module(module), func)(config, frames=frames, **overrides)


def configuration(table: dict, config: str, frames: int | None = None, **overrides) -> dict:
    """The keyword arguments of a model at configuration `config` of its `table` (the module's CONFIGS), with the
    clip length `frames` (when given) and `overrides` applied; one clear error for an unknown configuration."""
    if config not in table:
        raise ValueError(f"unknown configuration {config!r}; choose one of {', '.join(table)}")
    return {**table[config], **({"frames": frames} if frames else {}), **overrides}


def count_parameters(model: nn.Module) -> int:
    """sum(p.numel()) over model.parameters(): the papers' convention (buffers excluded)."""
    return sum(p.numel() for p in model.parameters())
