"""The model registry: every posekit model by name, built at a named configuration.

`build_model('mixste', config='cpu')` imports the module that defines the model and calls its builder with the
configuration ('paper' = the paper's exact settings; 'gpu', 'cpu', 'smoke' = the sizes of those profiles).
`trainer_for(name)` gives the training and evaluation functions of a model: the generic ones of `posekit.train`
unless the method brings its own procedure. The contract every entry follows is in `posekit.nn.contract`.
"""
from __future__ import annotations

import importlib
from typing import Callable, NamedTuple

from torch import nn

from .nn.contract import CONFIG_NAMES, count_parameters

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
    "perspose": "posekit.methods.perspose:build",
    "dsr": "posekit.methods.dsr:build",
}

__all__ = ["REGISTRY", "CONFIG_NAMES", "model_names", "build_model", "trainer_for", "Trainer", "count_parameters"]


def model_names() -> list[str]:
    return sorted(REGISTRY)


def _module(name: str):
    if name not in REGISTRY:
        raise KeyError(f"unknown model {name!r}; known: {', '.join(model_names())}")
    return importlib.import_module(REGISTRY[name].split(":")[0])


def build_model(name: str, config: str = "cpu", frames: int | None = None, **overrides) -> nn.Module:
    """Build model `name` at configuration `config`; `frames` overrides the clip length where it applies."""
    module = _module(name)
    if config not in CONFIG_NAMES:
        raise ValueError(f"unknown configuration {config!r}; choose one of {', '.join(CONFIG_NAMES)}")
    return getattr(module, REGISTRY[name].split(":")[1])(config, frames=frames, **overrides)


class Trainer(NamedTuple):
    """How a model trains and is scored: `fit(model, data, config, val=None)` and `evaluate(model, dataset)` with
    the signatures of `posekit.train.fit` / `posekit.train.evaluate`."""

    fit: Callable
    evaluate: Callable


def trainer_for(name: str) -> Trainer:
    """The method's own `fit`/`evaluate` where its package defines them (GLA-GCN's whole-window targets, HoT's
    seq2frame clips, UAO's uncertainty output), else the generic loop of `posekit.train`."""
    from . import train
    module = _module(name)
    return Trainer(getattr(module, "fit", train.fit), getattr(module, "evaluate", train.evaluate))
