"""What notebook 03_convformer draws: which inputs one convolutional (or linear) query depends on, in the spatial and
the temporal stream, and how the parameter count grows with the clip length against the paper's Table 5; with the
inspection helper that computes the first.

matplotlib is imported inside the plotting functions, so importing the package does not load it. Every figure is
closed in pyplot and returned, so a notebook shows it once, as the cell's value (the convention of `posekit.viz`).
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import torch

from .model import ConvAttention, ConvFormer, parameter_count

# Table 5 of the paper: parameters (M) of the ConvFormer trained at each clip length T.
TABLE5_PARAMS = {9: 2.56, 27: 2.65, 81: 3.43, 143: 5.24, 243: 10.24}


def projection_support(attention: ConvAttention, token: int, channel: int, which: str = "q",
                       x: torch.Tensor | None = None) -> torch.Tensor:
    """Which inputs one projected value depends on: |d Q[token, channel] / d X| as an (N, C) map (zero where the
    value does not look). For the spatial stream N = J joints; for the temporal stream N = T frames, C = J*d.
    A convolutional projection gives a band of k channels over every frame (temporal) or k neighbouring joints
    (spatial); a linear one gives exactly one token row."""
    if which not in ("q", "k", "v"):
        raise ValueError(f"which must be 'q', 'k' or 'v', got {which!r}")
    if x is None:
        x = torch.randn(1, attention.tokens, attention.dim, generator=torch.Generator().manual_seed(0))
    x = x[:1].detach().clone().requires_grad_(True)
    with torch.enable_grad():
        was = attention.qkv_drop.training
        attention.qkv_drop.eval()
        try:
            out = attention.project(x)["qkv".index(which)]
        finally:
            attention.qkv_drop.train(was)
        (grad,) = torch.autograd.grad(out[0, token, channel], x)
    return grad[0].abs()


def plot_projection_support(models: Mapping[str, ConvFormer], joint_names: Sequence[str], joint: int,
                            feature: int | None = None, title: str | None = None):
    """Which inputs one query depends on, one column per model ({label: ConvFormer}), from `projection_support`.

    Top: the spatial stream of block 0, the joints the query of `joint` (channel 0) reads (a band of k neighbouring
    joints in index order for a convolution, the joint alone for a linear map). Bottom: the temporal stream of
    block 0, the (frame, feature) inputs of Q[centre frame, `feature`] (default: the middle channel of `joint`'s
    block of d features): every frame over k features for the temporal joints profile, one frame for a linear map.
    """
    import matplotlib.pyplot as plt

    if not models:
        raise ValueError("models: give at least one {label: ConvFormer}")
    fig, axes = plt.subplots(2, len(models), figsize=(5 * len(models), 6.5), squeeze=False,
                             gridspec_kw={"height_ratios": [1.0, 0.8]})
    for col, (label, m) in enumerate(models.items()):
        j, d, t = m.joints, m.dim, m.receptive_field
        if len(joint_names) != j or not 0 <= joint < j:
            raise ValueError(f"joint_names must name the model's {j} joints and joint be one of them, got "
                             f"{len(joint_names)} names and joint {joint}")
        channel = joint * d + d // 2 if feature is None else feature
        reads = (projection_support(m.spatial_blocks[0].attn, token=joint, channel=0).sum(1) > 0).numpy()
        ax = axes[0, col]
        ax.bar(range(j), reads.astype(float), color=np.where(reads, "#1f77b4", "#ccc"))
        ax.set_xticks(range(j), joint_names, rotation=60, ha="right", fontsize=7)
        ax.set_yticks([])
        ax.set_title(f"spatial, {label}:\ninputs the query of the {joint_names[joint]} depends on")
        support = projection_support(m.temporal_blocks[0].attn, token=t // 2, channel=channel)
        ax = axes[1, col]
        ax.imshow((support > 0).float().numpy(), aspect="auto", cmap="Blues", interpolation="nearest", vmin=0,
                  vmax=1.3)
        ax.set_xlabel(f"input feature (joint x {d} channels = {j * d})")
        ax.set_ylabel("input frame")
        ax.set_title(f"temporal, {label}:\ninputs of Q[frame {t // 2}, feature {channel}]")
        for k in range(1, j):
            ax.axvline(k * d - 0.5, color="#ddd", lw=0.4)
        ax.grid(False)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_parameter_growth(frames: Sequence[int] = tuple(TABLE5_PARAMS), title: str | None = None):
    """Parameters of the paper configuration (`parameter_count`, millions) against the clip length T, with the
    values the paper prints in Table 5 where it has one: the quadratic growth of the T -> T convolutions."""
    import matplotlib.pyplot as plt

    frames = [int(t) for t in frames]
    if not frames or min(frames) < 1:
        raise ValueError(f"frames: give positive clip lengths, got {frames}")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(frames, [parameter_count(t) / 1e6 for t in frames], "o-", label="reconstruction (posekit)")
    printed = [t for t in frames if t in TABLE5_PARAMS]
    if printed:
        ax.plot(printed, [TABLE5_PARAMS[t] for t in printed], "x", ms=10, color="#d62728", label="paper, Table 5")
    ax.set_xlabel("clip length T (frames)")
    ax.set_ylabel("parameters (M)")
    ax.set_title(title or "ConvFormer parameters against clip length")
    ax.legend()
    fig.tight_layout()
    plt.close(fig)
    return fig
