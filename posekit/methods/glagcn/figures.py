"""What the GLA-GCN notebook draws: the graph partitions, the frames alive at every strided stage with the input
saliency, and adjacency-like matrices (learned B_k, similarity C_k, which joints an output head depends on).
matplotlib is imported inside the plotting functions, so importing the package stays light."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...skeleton import H36M_17, Skeleton
from .model import GLAGCN


def receptive_fields(model: GLAGCN) -> list[np.ndarray]:
    """For each level (the input, then every strided stage) the input frame each remaining frame is centred on.

    The stage residual keeps the centre frame of every triple, so the frames alive after stage s sit at the
    centres of ever wider groups: 27 -> 9 (frames 1, 4, 7, ...) -> 3 (4, 13, 22) -> 1 (13).
    """
    pos = np.arange(model.receptive_field)
    levels = [pos]
    for w in model.filter_widths:
        pos = pos[w // 2::w]
        levels.append(pos)
    return levels


def input_saliency(model: GLAGCN, x: torch.Tensor) -> np.ndarray:
    """|d centre prediction / d input frame|, summed over joints and coordinates: (T,) for one clip (1, T, J, 2)."""
    was = model.training
    model.eval()
    x = x.clone().requires_grad_(True)
    out = model(x)
    centre = out[0] if isinstance(out, tuple) else out
    centre.abs().sum().backward()
    model.train(was)
    return x.grad[0].abs().sum((1, 2)).numpy()


def joint_dependency(head: nn.Module, channels: int, joints: int = 17) -> np.ndarray:
    """(J, J) matrix: entry [i, j] is 1 when output joint i changes with joint j's feature (a finite difference)."""
    v = torch.randn(1, channels, joints, generator=torch.Generator().manual_seed(0))
    base = head(v)
    dep = np.zeros((joints, joints))
    with torch.no_grad():
        for j in range(joints):
            w = v.clone()
            w[:, :, j] += 1.0
            dep[:, j] = ((head(w) - base).abs().sum((0, 2)) > 0).numpy()
    return dep


def plot_partitions(adjacency: np.ndarray, skeleton: Skeleton = H36M_17, title: str | None = None):
    """The K partitions as J x J heatmaps (row: sending joint, column: receiving joint; `x @ A`) (matplotlib)."""
    import matplotlib.pyplot as plt
    names = ["identity: the joint itself", "inward: each joint hears its parent",
             "outward: each joint hears its children"]
    k = len(adjacency)
    fig, axes = plt.subplots(1, k, figsize=(4.2 * k, 4.2))
    plt.close(fig)
    for i, ax in enumerate(np.atleast_1d(axes)):
        im = ax.imshow(adjacency[i], cmap="viridis")
        ax.set_title(names[i] if k == 3 else f"A_{i}", fontsize=10)
        ax.set_xticks(range(skeleton.num_joints), skeleton.joint_names, rotation=90, fontsize=6)
        ax.set_yticks(range(skeleton.num_joints), skeleton.joint_names, fontsize=6)
        ax.set_xlabel("receiving joint", fontsize=8)
        ax.set_ylabel("sending joint", fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_receptive_field(model: GLAGCN, saliency: np.ndarray | None = None, title: str | None = None):
    """Frames alive at every level of the strided stages, and optionally the input saliency (matplotlib Figure)."""
    import matplotlib.pyplot as plt
    levels = receptive_fields(model)
    rows = 2 if saliency is not None else 1
    fig, axes = plt.subplots(rows, 1, figsize=(9, 2.0 + 1.6 * rows), sharex=True,
                             gridspec_kw={"height_ratios": [2, 1][:rows]})
    plt.close(fig)
    axes = np.atleast_1d(axes)
    ax = axes[0]
    for i, pos in enumerate(levels):
        ax.scatter(pos, np.full(len(pos), -i), s=22 if i else 8, color=f"C{min(i, 9)}")
        if i:
            w = model.filter_widths[i - 1]
            for p in pos:                                  # the group of previous-level frames each one stands for
                prev = levels[i - 1]
                k = np.searchsorted(prev, p)
                lo, hi = prev[max(k - w // 2, 0)], prev[min(k + w // 2, len(prev) - 1)]
                ax.plot([lo, p, hi], [-i + 1, -i, -i + 1], color="0.6", lw=0.8)
    ax.set_yticks([-i for i in range(len(levels))],
                  [f"{'input' if i == 0 else f'after stage {i}'}: T = {len(p)}" for i, p in enumerate(levels)])
    ax.set_xlim(-1, len(levels[0]))
    ax.set_title(title or "strided learning: T shrinks by 3 per stage, the residual keeps each triple's centre")
    if saliency is not None:
        axes[1].bar(np.arange(len(saliency)), saliency / saliency.max(), color="C0")
        axes[1].set_ylabel("|d out / d x_t|\n(normalised)")
        axes[1].set_xlabel("input frame t")
    fig.tight_layout()
    return fig


def plot_adjacencies(matrices: dict, skeleton: Skeleton = H36M_17, title: str | None = None):
    """Heatmaps of named (J, J) matrices side by side, e.g. {'A_1 + B_1': ..., 'C_1 (mean)': ...}."""
    import matplotlib.pyplot as plt
    n = len(matrices)
    fig, axes = plt.subplots(1, n, figsize=(3.9 * n, 4.0))
    plt.close(fig)
    for ax, (label, m) in zip(np.atleast_1d(axes), matrices.items()):
        m = np.asarray(m)
        lim = np.abs(m).max() or 1.0
        im = ax.imshow(m, cmap="RdBu_r" if m.min() < 0 else "viridis", vmin=-lim if m.min() < 0 else 0, vmax=lim)
        ax.set_title(label, fontsize=10)
        ax.set_xticks(range(skeleton.num_joints), skeleton.joint_names, rotation=90, fontsize=6)
        ax.set_yticks(range(skeleton.num_joints), skeleton.joint_names, fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.046)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
