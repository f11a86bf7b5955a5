"""Converting an official state dict into a posekit model, and posekit's own checkpoint with its run card."""
from __future__ import annotations

import datetime
import platform
from collections import OrderedDict
from pathlib import Path

import torch
from torch import nn

from .. import models
from .checkpoint import read_state_dict, sha256
from .layouts import LAYOUTS, Layout
from .options import apply_options

SHOWN = 12  # keys listed per kind in a mismatch message


class CheckpointMismatch(ValueError):
    """The file's tensors do not match the official layout: `missing`, `unexpected` and `misshaped` list them."""

    def __init__(self, layout: Layout, source: str, missing: list, unexpected: list, misshaped: list, size: dict):
        self.missing, self.unexpected, self.misshaped = missing, unexpected, misshaped
        parts = []
        for label, keys in (("missing", missing), ("unexpected", unexpected), ("mis-shaped", misshaped)):
            if keys:
                more = f" ... and {len(keys) - SHOWN} more" if len(keys) > SHOWN else ""
                parts.append(f"{len(keys)} {label}: {', '.join(keys[:SHOWN])}{more}")
        super().__init__(
            f"{source} does not match the official {layout.method} layout ({layout.repository}, {layout.source}; "
            f"model size read from the file: {size}). " + "; ".join(parts) + ". Check that the file is a "
            f"{layout.method} checkpoint saved by the official code (a different method, or a modified model, "
            f"gives this error); keys are compared after removing any 'module.' prefix.")


def _optional(key: str) -> bool:
    return key.endswith("num_batches_tracked")  # absent from files saved before PyTorch 0.4.1


def convert(layout: Layout, official: dict, model: nn.Module, source: str = "checkpoint",
            size: dict | None = None) -> OrderedDict:
    """The posekit state dict of `model` filled from the official state dict `official`.

    Every posekit tensor must come from exactly one official tensor of the right shape, except the derived
    constants (fixed adjacencies) the official code does not save; otherwise one `CheckpointMismatch` lists all
    missing, unexpected and mis-shaped keys.
    """
    target = model.state_dict()
    plan = {k: layout.official_name(k) for k in target}
    wanted = {o for o in plan.values() if o is not None}
    missing = [o for k, o in plan.items() if o is not None and o not in official and not _optional(k)]
    unexpected = [k for k in official if k not in wanted and not layout.ignored(k)]
    misshaped = []
    for k, o in plan.items():
        if o is not None and o in official:
            want, got = layout.official_shape(k, target[k].shape), tuple(official[o].shape)
            if want != got:
                misshaped.append(f"{o} {list(got)} (expected {list(want)})")
    if missing or unexpected or misshaped:
        raise CheckpointMismatch(layout, source, missing, unexpected, misshaped, size or {})
    out = OrderedDict()
    for k, value in target.items():
        o = plan[k]
        out[k] = value if o is None or o not in official else \
            layout.to_posekit(k, official[o]).to(dtype=value.dtype).clone()
    return out


def build_for(method: str, official: dict, config: str = "paper", **overrides) -> tuple[nn.Module, dict]:
    """The posekit model sized like the official state dict: (model, the build keywords used)."""
    layout = layout_for(method)
    size = {**layout.build_overrides(official), **overrides}
    frames = size.pop("frames", None)
    return models.build_model(method, config=config, frames=frames, **size), {"frames": frames, **size}


def layout_for(method: str) -> Layout:
    if method not in LAYOUTS:
        raise KeyError(f"no official checkpoint layout for {method!r}; importable: {', '.join(LAYOUTS)}")
    return LAYOUTS[method]


def import_official(method: str, path: str | Path, config: str = "paper", trust: bool = False,
                    options: dict | None = None, **overrides) -> tuple[nn.Module, dict]:
    """Read an official checkpoint file and return (posekit model with its weights, run card).

    `options` defaults to the layout's official-behaviour options all on (see `posekit.weights.options`);
    `overrides` are build keywords the file cannot tell (e.g. HoT's `prune_layer`).
    """
    layout = layout_for(method)
    official, info = read_state_dict(path, trust)
    model, size = build_for(method, official, config, **overrides)
    model.load_state_dict(convert(layout, official, model, str(path), size))
    options = {name: True for name in layout.options} if options is None else dict(options)
    apply_options(model, options)
    model.eval()
    card = {
        "method": method, "config": config, "build": size, "frames": getattr(model, "receptive_field", None),
        "options": options, "parameters": models.count_parameters(model),
        "source": {"file": Path(path).name, "sha256": info["sha256"], "repository": layout.repository,
                   "layout": layout.source, "wrapper": info["wrapper"], "prefix": info["prefix"],
                   "extra": info["extra"]},
        **versions(), "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
    return model, card


def versions() -> dict:
    from .. import __version__
    return {"posekit": __version__, "torch": str(torch.__version__), "python": platform.python_version()}


def save(model: nn.Module, card: dict, out: str | Path) -> Path:
    """Write a posekit checkpoint {'model': state dict, 'method', 'config', 'frames', 'card'}."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"model": model.state_dict(), "method": card["method"], "config": card["config"],
                "frames": card["frames"], "card": card}, out)
    return out


def load(path: str | Path, method: str | None = None) -> tuple[nn.Module, dict]:
    """A posekit checkpoint back as (model in eval mode, card): an imported one is rebuilt from its card (size and
    options), one written by `posekit train` from its method / config / frames."""
    from ..checkpoints import read_checkpoint
    path = Path(path)
    state = read_checkpoint(path)  # one reader, one clear error, for trained and imported checkpoints alike
    if "method" not in state:
        raise ValueError(f"{path} is not a posekit checkpoint (no 'method'); import an official file first with "
                         f"`posekit import METHOD FILE --out model.pt`")
    card = dict(state.get("card") or {"method": state["method"], "config": state.get("config", "paper"),
                                      "build": {"frames": state.get("frames")}, "options": {}})
    if method is not None and method != card["method"]:
        raise ValueError(f"{path} holds a {card['method']!r} model, not {method!r}")
    build = dict(card.get("build") or {})
    frames = build.pop("frames", None)
    build = {k: tuple(v) if isinstance(v, list) else v for k, v in build.items()}
    model = models.build_model(card["method"], config=card["config"], frames=frames, **build)
    model.load_state_dict(state["model"])
    apply_options(model, card.get("options") or {})
    card["checkpoint_sha256"] = sha256(path)
    return model.eval(), card
