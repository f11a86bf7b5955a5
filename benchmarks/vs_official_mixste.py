"""Time posekit's MixSTE against the official MixSTE at the same configuration, in one process.

    python benchmarks/vs_official_mixste.py --official PATH/TO/MixSTE [--size cpu] [--threads 1] [--rounds 9]

PATH is your own clone of github.com/JinluZhang1126/MixSTE (its `common/model_cross.py`, class MixSTE2); nothing
of it is copied into posekit. Its imports need `einops` (pip install einops); `timm` and `local_attention`, which
model_cross.py imports but MixSTE2 does not need beyond timm's DropPath and trunc_normal_, are replaced by small
stand-ins when they are not installed.

Both models get the same weights (the official state dict converted by posekit.weights), so the script first
checks that they compute the same function. Then it alternates the two, `--rounds` times, and reports the median
of: one training step (forward + loss + backward + AdamW, `--batch` clips of T frames) and one inference of one
clip (batch 1, no gradient). Times are CPU seconds of this process (time.process_time), which a shared machine
disturbs less than wall time; with --threads 1 they equal the wall time of an idle core.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import time
import types
from pathlib import Path

import torch
from torch import nn


def _stand_ins() -> None:
    """Minimal modules for the official file's imports that MixSTE2 does not use (or uses only trivially)."""
    try:
        import timm  # noqa: F401
        return
    except ImportError:
        pass
    from posekit.nn.layers import DropPath

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
        raise SystemExit(f"{path} has no common/model_cross.py: pass --official the root of your clone of "
                         f"github.com/JinluZhang1126/MixSTE")
    try:
        import einops  # noqa: F401
    except ImportError:
        raise SystemExit("the official model needs einops: pip install einops") from None
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


def main(argv=None) -> int:
    from posekit import models
    from posekit.nn.mixste import CONFIGS
    from posekit.weights.convert import convert, layout_for

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--official", type=Path, required=True, help="root of your clone of JinluZhang1126/MixSTE")
    ap.add_argument("--size", default="cpu", choices=list(CONFIGS), help="posekit configuration (default cpu)")
    ap.add_argument("--batch", type=int, default=16, help="clips per training step (cpu profile: 16)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--rounds", type=int, default=9)
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    cfg = dict(CONFIGS[args.size], drop_path=0.0)  # no stochastic depth: both runs do the same work every step
    MixSTE2 = load_official(args.official.expanduser())
    torch.manual_seed(0)
    official = MixSTE2(num_frame=cfg["frames"], num_joints=17, in_chans=2, embed_dim_ratio=cfg["dim"],
                       depth=cfg["depth"], num_heads=cfg["heads"], mlp_ratio=cfg["mlp_ratio"], qkv_bias=True,
                       qk_scale=None, drop_path_rate=0.0)
    ours = models.build_model("mixste", args.size, drop_path=0.0)
    ours.load_state_dict(convert(layout_for("mixste"), official.state_dict(), ours))
    x = torch.randn(args.batch, cfg["frames"], 17, 2)
    y = torch.randn(args.batch, cfg["frames"], 17, 3) * 0.1
    official.eval(), ours.eval()
    with torch.no_grad():
        diff = (official(x) - ours(x)).abs().max().item()
    if diff > 1e-4:
        raise SystemExit(f"the two models disagree by {diff:.2e} with the same weights: not the same function")
    nparams = sum(p.numel() for p in ours.parameters())

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

    train = median_times({"official": trainer(official), "posekit": trainer(ours)}, args.rounds, 3)
    infer = median_times({"official": inferer(official), "posekit": inferer(ours)}, args.rounds, 10)
    frames = args.batch * cfg["frames"]
    print(f"MixSTE at posekit's {args.size} size (T={cfg['frames']}, width {cfg['dim']}, depth {cfg['depth']}, "
          f"{cfg['heads']} heads, {nparams:,} params), {args.threads} thread(s), torch {torch.__version__}; "
          f"same weights, outputs agree to {diff:.1e}; medians of {args.rounds} alternating rounds, CPU time")
    print("| what | official | posekit | posekit speed-up |")
    print("|---|---|---|---|")
    print(f"| training step (batch {args.batch}) | {train['official'] * 1e3:.1f} ms ({frames / train['official']:,.0f} "
          f"frames/s) | {train['posekit'] * 1e3:.1f} ms ({frames / train['posekit']:,.0f} frames/s) | "
          f"{train['official'] / train['posekit']:.2f}x |")
    print(f"| inference, 1 clip | {infer['official'] * 1e3:.2f} ms | {infer['posekit'] * 1e3:.2f} ms | "
          f"{infer['official'] / infer['posekit']:.2f}x |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
