"""posekit's MixSTE against the official MixSTE (github.com/JinluZhang1126/MixSTE, `common/model_cross.py`, class
MixSTE2) at the same configuration, timed in one process: `compare(path)` with the root of the user's own clone
(nothing of it is copied into posekit). Used by `posekit bench --official PATH` and
`benchmarks/vs_official_mixste.py`.

The official file imports `einops` (pip install einops); `timm` and `local_attention`, which it imports but MixSTE2
does not need beyond timm's DropPath and trunc_normal_, are replaced by small stand-ins when they are not installed.
Both models get the same weights (the official state dict converted by posekit.weights) and must compute the same
function; then they alternate, round by round, and the medians are reported: one training step (forward + loss +
backward + AdamW) and one inference of one clip (batch 1, no gradient). Times are CPU seconds of this process
(time.process_time), which a shared machine disturbs less than wall time; with one thread they equal the wall
time of an idle core.
"""
from __future__ import annotations

import statistics
import sys
import time
import types
from pathlib import Path

import torch
from torch import nn

from . import models
from .nn.layers import DropPath
from .nn.mixste import CONFIGS
from .weights.convert import convert, layout_for


def _stand_ins() -> None:
    """Minimal modules for the official file's imports that MixSTE2 does not use (or uses only trivially)."""
    try:
        import timm  # noqa: F401
        return
    except ImportError:
        pass

    def to_2tuple(x):
        return tuple(x) if isinstance(x, (tuple, list)) else (x, x)

    mods = {name: types.ModuleType(name) for name in
            ("timm", "timm.data", "timm.models", "timm.models.helpers", "timm.models.layers", "timm.models.registry")}
    mods["timm.data"].IMAGENET_DEFAULT_MEAN, mods["timm.data"].IMAGENET_DEFAULT_STD = (0.485, 0.456, 0.406), \
        (0.229, 0.224, 0.225)
    mods["timm.models.helpers"].load_pretrained = lambda *a, **k: None
    mods["timm.models.layers"].DropPath = DropPath
    mods["timm.models.layers"].to_2tuple = to_2tuple
    mods["timm.models.layers"].trunc_normal_ = nn.init.trunc_normal_
    mods["timm.models.registry"].register_model = lambda fn: fn
    sys.modules.update(mods)
    try:
        import local_attention  # noqa: F401
    except ImportError:
        la = types.ModuleType("local_attention")
        la.LocalAttention = nn.Identity  # routing_transformer.py imports it; MixSTE2 never builds it
        sys.modules["local_attention"] = la


def load_official(path: Path):
    if not (path / "common" / "model_cross.py").is_file():
        raise FileNotFoundError(f"{path} has no common/model_cross.py: pass --official the root of your clone of "
                         f"github.com/JinluZhang1126/MixSTE")
    try:
        import einops  # noqa: F401
    except ImportError:
        raise ImportError("the official MixSTE code needs einops: pip install einops") from None
    _stand_ins()
    sys.path.insert(0, str(path))
    from common.model_cross import MixSTE2
    return MixSTE2


def median_times(fns: dict, rounds: int, inner: int) -> dict:
    """Median CPU seconds per call of each function, alternating them round by round."""
    times = {k: [] for k in fns}
    for fn in fns.values():
        fn()
        fn()
    for _ in range(rounds):
        for k, fn in fns.items():
            t0 = time.process_time()
            for _ in range(inner):
                fn()
            times[k].append((time.process_time() - t0) / inner)
    return {k: statistics.median(v) for k, v in times.items()}


def compare(official_path: str | Path, size: str = "cpu", batch: int = 16, rounds: int = 9) -> dict:
    """Median CPU seconds of a training step and of a one-clip inference of both models at posekit's `size`
    (drop path off), in the current thread setting: {'train': {'official', 'posekit'}, 'infer': {...}, 'frames',
    'params', 'diff', ...}."""
    if size not in CONFIGS:
        raise ValueError(f"size must be one of {', '.join(CONFIGS)}, got {size!r}")
    cfg = dict(CONFIGS[size], drop_path=0.0)  # no stochastic depth: both do the same work every step
    MixSTE2 = load_official(Path(official_path).expanduser())
    torch.manual_seed(0)
    official = MixSTE2(num_frame=cfg["frames"], num_joints=17, in_chans=2, embed_dim_ratio=cfg["dim"],
                       depth=cfg["depth"], num_heads=cfg["heads"], mlp_ratio=cfg["mlp_ratio"], qkv_bias=True,
                       qk_scale=None, drop_path_rate=0.0)
    ours = models.build_model("mixste", size, drop_path=0.0)
    ours.load_state_dict(convert(layout_for("mixste"), official.state_dict(), ours))
    x = torch.randn(batch, cfg["frames"], 17, 2)
    y = torch.randn(batch, cfg["frames"], 17, 3) * 0.1
    official.eval(), ours.eval()
    with torch.no_grad():
        diff = (official(x) - ours(x)).abs().max().item()
    if diff > 1e-4:
        raise RuntimeError(f"the two models disagree by {diff:.2e} with the same weights: not the same function")

    def trainer(model):
        opt = torch.optim.AdamW(model.parameters(), lr=1e-4)

        def step():
            model.train()
            loss = (model(x) - y).norm(dim=-1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
        return step

    def inferer(model):
        clip = x[:1]

        def infer():
            model.eval()
            with torch.no_grad():
                model(clip)
        return infer

    return {"train": median_times({"official": trainer(official), "posekit": trainer(ours)}, rounds, 3),
            "infer": median_times({"official": inferer(official), "posekit": inferer(ours)}, rounds, 10),
            "frames": batch * cfg["frames"], "batch": batch, "params": sum(p.numel() for p in ours.parameters()),
            "diff": diff, "config": cfg, "size": size, "rounds": rounds, "threads": torch.get_num_threads()}


def table(r: dict) -> str:
    """The comparison as a markdown table with a one-line caption."""
    cfg, tr, inf, frames = r["config"], r["train"], r["infer"], r["frames"]
    return "\n".join([
        f"MixSTE at posekit's {r['size']} size (T={cfg['frames']}, width {cfg['dim']}, depth {cfg['depth']}, "
        f"{cfg['heads']} heads, {r['params']:,} params), {r['threads']} thread(s), torch {torch.__version__}; same "
        f"weights, outputs agree to {r['diff']:.1e}; medians of {r['rounds']} alternating rounds, CPU time",
        "| what | official | posekit | posekit speed-up |",
        "|---|---|---|---|",
        f"| training step (batch {r['batch']}) | {tr['official'] * 1e3:.1f} ms ({frames / tr['official']:,.0f} "
        f"frames/s) | {tr['posekit'] * 1e3:.1f} ms ({frames / tr['posekit']:,.0f} frames/s) | "
        f"{tr['official'] / tr['posekit']:.2f}x |",
        f"| inference, 1 clip | {inf['official'] * 1e3:.2f} ms | {inf['posekit'] * 1e3:.2f} ms | "
        f"{inf['official'] / inf['posekit']:.2f}x |"])
