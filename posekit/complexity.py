"""Model complexity: parameters, FLOPs in two conventions, and latency, for any model of the contract
(`posekit.nn.contract`: the example input comes from the model's own `example_input(batch)`).

- `flops_linear`: the papers' convention (thop-style): only nn.Linear and nn.Conv layers, 2 x multiply-accumulates,
  biases ignored; LayerNorm, softmax and the attention matrix products are not counted.
- `flops_full`: everything `torch.utils.flop_counter` sees, attention products (matmul / SDPA) included.
Always name the convention next to a FLOPs figure.
"""
from __future__ import annotations

import math
import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from .nn.contract import count_parameters, example_input
from .nn.layers import explicit_attention


@torch.no_grad()
def flops_linear(model: nn.Module, x: torch.Tensor | None = None) -> int:
    """FLOPs of one forward pass of x (default: the model's example input, batch 1) counting only Linear/Conv
    layers as 2 x MACs (the papers' convention, as thop counts them)."""
    x = example_input(model) if x is None else x
    total = 0

    def linear_hook(mod, inp, out):
        nonlocal total
        total += 2 * out.numel() * mod.in_features

    def conv_hook(mod, inp, out):
        nonlocal total
        k = math.prod(mod.kernel_size) * (mod.in_channels // mod.groups)
        total += 2 * out.numel() * k

    handles = []
    for m in model.modules():
        if isinstance(m, nn.Linear):
            handles.append(m.register_forward_hook(linear_hook))
        elif isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            handles.append(m.register_forward_hook(conv_hook))
    was_training = model.training
    model.eval()
    try:
        model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return total


@torch.no_grad()
def flops_full(model: nn.Module, x: torch.Tensor | None = None, by_module: bool = False):
    """FLOPs of one forward pass from torch.utils.flop_counter (matmuls, convs and attention products).

    With by_module, also returns {module name: FLOPs} for the top-level children.
    """
    x = example_input(model) if x is None else x
    was_training = model.training
    model.eval()
    counter = FlopCounterMode(display=False, depth=2)
    try:
        with counter, explicit_attention():
            model(x)
    finally:
        model.train(was_training)
    total = counter.get_total_flops()
    if not by_module:
        return total
    per = {k: sum(v.values()) for k, v in counter.get_flop_counts().items() if k.count(".") == 1}
    return total, per


@torch.no_grad()
def latency(model: nn.Module, x: torch.Tensor | None = None, device: str = "cpu", warmup: int = 3, repeats: int = 10,
            batch: int = 1) -> dict:
    """Median and spread of the wall-clock time of one forward pass (ms), after warm-up; CUDA synchronised."""
    x = (example_input(model, batch) if x is None else x).to(device)
    model = model.to(device).eval()
    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)
    for _ in range(warmup):
        model(x)
    sync()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        model(x)
        sync()
        times.append((time.perf_counter() - t0) * 1000)
    return {"median_ms": statistics.median(times), "min_ms": min(times), "max_ms": max(times),
            "frames_per_s": x.shape[0] * getattr(model, "receptive_field", 1) / (statistics.median(times) / 1000)}


def report(model: nn.Module, latency_repeats: int = 0, device: str = "cpu") -> dict:
    """Parameters, both FLOPs conventions (per clip and per output frame) and, optionally, latency."""
    x = example_input(model)
    frames = getattr(model, "receptive_field", 1)
    out_frames = frames if getattr(model, "output", "sequence") == "sequence" else 1
    lin, full = flops_linear(model, x), flops_full(model, x)
    row = {"params": count_parameters(model), "frames": frames, "flops_linear": lin, "flops_full": full,
           "flops_linear_per_frame": lin / out_frames, "flops_full_per_frame": full / out_frames}
    if latency_repeats:
        row.update({f"latency_{k}": v for k, v in latency(model, x, device=device, repeats=latency_repeats).items()})
    return row
