"""Benchmark: prints a table of data generation speed, training throughput and inference latency.

    posekit bench [--profile cpu] [--device auto|cpu|cuda]

Rows: generating the embedded dataset (frames of 3D motion per second, each seen by 4 cameras, with exact and
detector-like 2D; the default dataset must take at most 30 s on 2 cores), loading it,
then for each backbone at the profile's size: training throughput (clip frames per second through forward +
backward + AdamW step) and inference latency of one clip (batch 1) and throughput at batch 64.
"""
from __future__ import annotations

import tempfile
import time

import numpy as np
import torch

from . import models, profiles
from .complexity import flops_linear, latency
from .train import resolve_device


def _train_throughput(model, frames, batch, device, steps=5):
    model.to(device).train()
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4)
    x = torch.randn(batch, frames, 17, 2, device=device)
    out_frames = frames if model.output == "sequence" else 1
    y = torch.zeros(batch, out_frames, 17, 3, device=device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)
    for i in range(steps + 2):
        if i == 2:
            sync()
            t0 = time.perf_counter()
        loss = (model(x) - y).norm(dim=-1).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    sync()
    return steps * batch * frames / (time.perf_counter() - t0)


def main(profile: str = "cpu", device: str = "auto") -> int:
    from .data.synthetic import VERSION, ensure_synthetic, load_synthetic
    prof = profiles.get_profile(profile)
    dev = resolve_device(device)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
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
    for name in ("mlp", "tcn", "mixste"):
        frames = 1 if name == "mlp" else prof.frames
        model = models.build_model(name, prof.name, frames=frames)
        tput = _train_throughput(model, frames, prof.batch_size, dev)
        lat = latency(model, frames=frames, device=str(dev), repeats=10)
        big = latency(model, frames=frames, device=str(dev), repeats=5, batch=64)
        rows.append((f"{name} ({prof.name} size, T={frames})",
                     f"{models.count_parameters(model):,} params, {flops_linear(model) / 1e6:,.1f} MFLOPs/clip",
                     f"train {tput:,.0f} frames/s",
                     f"infer {lat['median_ms']:.2f} ms/clip (b=1), {big['frames_per_s']:,.0f} frames/s (b=64)"))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    header = ("what", "size", "time / training", "throughput / inference")
    widths = [max(w, len(h)) for w, h in zip(widths, header)]
    print(f"posekit bench on {dev} ({torch.get_num_threads()} threads), profile {prof.name}")
    print(" | ".join(h.ljust(w) for h, w in zip(header, widths)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths)))
    return 0
