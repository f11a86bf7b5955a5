"""Benchmark: prints a table of data generation speed, training throughput and inference latency.

    posekit bench [--profile cpu] [--device auto|cpu|cuda] [--only models] [--official PATH]

Rows: generating the embedded dataset (frames of 3D motion per second, each seen by 4 cameras, with exact and
detector-like 2D; the default dataset must take at most 30 s on 2 cores), loading it,
then for each lifter at the profile's size (MLP, TCN and the MixSTE family: MixSTE, KTPFormer, HoT): training
throughput (clip frames per second through forward + backward + AdamW step) and inference latency of one clip
(batch 1) and throughput at batch 64. With the image extra installed: the anny body forward (batch 64), the soft
rasteriser forward + backward (batch 32, 64 x 64) and the synthetic image generation rate (64 x 64).
`--only models` prints the lifter rows alone; `--official PATH` (your clone of JinluZhang1126/MixSTE) adds the
training-step and inference ratio of posekit's MixSTE to the official one at the same size (`bench_official`).
"""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from . import models, profiles
from .complexity import flops_linear, latency
from .evaluation import resolve_device
from .nn.contract import example_input, pose_of


def _train_throughput(model, batch, device, steps=5):
    """Clip frames per second through forward + backward + AdamW step, on the model's own example input."""
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = example_input(model, batch).to(device)
    with torch.no_grad():
        y = torch.zeros_like(pose_of(model(x)))
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for i in range(steps + 2):
        if i == 2:
            sync()
            t0 = time.perf_counter()
        loss = (pose_of(model(x)) - y).norm(dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    sync()
    return steps * batch * model.receptive_field / (time.perf_counter() - t0)


def _timed(fn, repeats: int = 3) -> float:
    fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def _image_rows() -> list[tuple[str, str, str, str]]:
    """Body forward, render forward + backward, image generation; none if the image extra is missing."""
    try:
        from .body import AnnyBody, Retargeter, part_onehot, sample_angles
    except ImportError:
        return [("image rows", "skipped", "pip install 'posekit[image]'", "")]
    from .data.images import ImageGenerator
    from .render import SoftRasterizer
    body = AnnyBody("3pc")
    rng = np.random.default_rng(0)
    pose = Retargeter(body)(sample_angles(rng, 64)[0])
    with torch.no_grad():
        t_body = _timed(lambda: body(pose))
    rot = torch.tensor([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]])  # world (Z up, facing -Y) -> camera looking at it
    K = torch.tensor([[70.0, 0, 32], [0, 70, 32], [0, 0, 1]])
    parts = part_onehot(body)
    rows = [("anny body forward (3pc, 369 vertices)", "batch 64", f"{t_body * 1e3:.0f} ms",
             f"{64 / t_body:,.0f} bodies/s")]
    for what, attrs in (("silhouette", None), ("14-part map", parts)):
        raster = SoftRasterizer(64, 64)

        def step():
            p = pose[:32].clone().requires_grad_(True)
            v = body(p)["vertices"] @ rot.T + torch.tensor([0, 0, 3.0])
            out = raster(v, body.faces, K, attributes=attrs)
            (out["alpha"].sum() + (out["image"].sum() if attrs is not None else 0)).backward()
        t = _timed(step)
        rows.append((f"soft render {what} fwd+bwd (3pc)", "batch 32, 64 x 64", f"{t:.2f} s", f"{32 / t:,.0f} images/s"))
    gen = ImageGenerator(size=64, seed=0)
    t = _timed(lambda: gen.generate(64), repeats=1)
    rows.append(("synthetic people in images (hard render)", "64 samples, 64 x 64", f"{t:.2f} s",
                 f"{64 / t:,.0f} samples/s"))
    return rows


def main(profile: str = "cpu", device: str = "auto", only: str | None = None, official: str | None = None) -> int:
    from .data.synthetic import VERSION, ensure_synthetic, load_synthetic
    if only not in (None, "models"):
        raise ValueError(f"only must be None or 'models', got {only!r}")
    prof = profiles.get_profile(profile)
    dev = resolve_device(device)
    rows = []
    if official is not None:  # fail before the long rows when the clone is not usable
        from .bench_official import load_official
        load_official(Path(official).expanduser())
    with tempfile.TemporaryDirectory() as tmp:
        if only == "models":
            return _print_rows(_model_rows(prof, dev), dev, prof, official)
        t0 = time.perf_counter()
        ensure_synthetic("synth", root=tmp, verbose=False)
        gen = time.perf_counter() - t0
        t0 = time.perf_counter()
        ds = load_synthetic("synth", root=tmp)
        load = time.perf_counter() - t0
    n3d = ds.num_frames // 4
    rows.append((f"generate synth v{VERSION} (cached to disk, 2 processes)", f"{n3d:,} frames x 4 cameras",
                 f"{gen:.1f} s (limit 30 s)", f"{n3d / gen:,.0f} 3D frames/s"))
    rows.append(("load synth (npz -> camera frame)", f"{ds.num_frames:,} camera frames", f"{load:.1f} s",
                 f"{ds.num_frames / load:,.0f} frames/s"))
    rows += _model_rows(prof, dev)
    rows += _image_rows()
    return _print_rows(rows, dev, prof, official)


def _model_rows(prof, dev) -> list[tuple[str, str, str, str]]:
    """Training throughput and inference of each lifter at the profile's size."""
    rows = []
    for name in ("mlp", "tcn", "mixste", "ktpformer", "hot"):
        frames = 1 if name == "mlp" else prof.frames
        model = models.build_model(name, prof.name, frames=frames)
        tput = _train_throughput(model, prof.batch_size, dev)
        lat = latency(model, device=str(dev), repeats=10)
        big = latency(model, device=str(dev), repeats=5, batch=64)
        rows.append((f"{name} ({prof.name} size, T={frames})",
                     f"{models.count_parameters(model):,} params, {flops_linear(model) / 1e6:,.1f} MFLOPs/clip",
                     f"train {tput:,.0f} frames/s",
                     f"infer {lat['median_ms']:.2f} ms/clip (b=1), {big['frames_per_s']:,.0f} frames/s (b=64)"))
    return rows


def _print_rows(rows, dev, prof, official) -> int:
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("what", "size", "time / training", "throughput / inference")
    widths = [max(w, len(h)) for w, h in zip(widths, header)]
    print(f"posekit bench on {dev} ({torch.get_num_threads()} threads), profile {prof.name}")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
    if official is not None:
        from .bench_official import compare, table
        size = prof.name if prof.name in ("smoke", "cpu", "gpu", "paper") else "cpu"
        print()
        print(table(compare(official, size, prof.batch_size, rounds=5)))
    return 0
