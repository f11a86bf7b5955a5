"""What notebook 01_ktpformer draws: the prior topologies, heatmaps of similarities, attention maps and learned
adjacencies, and the ablation bars; with the inspection helpers that compute what those figures show.

matplotlib is imported inside the plotting functions, so importing the package does not load it. Every figure is
closed in pyplot and returned, so a notebook shows it once, as the cell's value (the convention of `posekit.viz`).
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ...nn.mixste import MixSTE
from ...skeleton import H36M_17, Skeleton
from .model import KTPFormer, kinematic_adjacency, trajectory_adjacency


# ------------------------------------------------------------------ inspection: what the figures show

def attention_qkv(block: nn.Module, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Q, K, V (B, heads, N, C/heads) that a TransformerBlock computes from its input tokens (B, N, C)."""
    b, n, c = tokens.shape
    heads = block.attn.heads
    qkv = block.attn.qkv(block.norm1(tokens)).reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    return qkv[0], qkv[1], qkv[2]


@torch.no_grad()
def token_similarity(tokens: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity between the N tokens of each item: (B, N, C) -> (N, N)."""
    t = nn.functional.normalize(tokens.float(), dim=-1)
    return (t @ t.transpose(1, 2)).mean(0)


@torch.no_grad()
def qkv_similarity(model: KTPFormer | MixSTE, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Joint-by-joint cosine similarity (J, J) of Q, K and V in the spatial attention of layer 0 on clip(s) x, for a
    KTPFormer (any priors) or a plain MixSTE (its Linear joint embedding plus the spatial positional embedding).

    With KPA the tokens are graph-mixed before the projection, so the queries/keys/values of joints that are
    neighbours in the kinematic tree start out alike; with MixSTE's Linear embedding a token sees only its own
    joint's 2D position (plus the positional embedding).
    """
    was_training = model.training
    model.eval()
    tokens = model.layer0_tokens(x)["spatial"] if hasattr(model, "layer0_tokens") else model.embed(x)
    b, t, j, c = tokens.shape
    q, k, v = attention_qkv(model.spatial_blocks[0], tokens.reshape(b * t, j, c))
    flat = lambda z: z.transpose(1, 2).reshape(b * t, j, c)  # heads concatenated: (B·T, J, C)
    model.train(was_training)
    return {"Q": token_similarity(flat(q)), "K": token_similarity(flat(k)), "V": token_similarity(flat(v))}


def neighbour_contrast(similarity, adjacency) -> float:
    """Mean similarity of graph neighbours minus that of non-neighbours (off-diagonal pairs only)."""
    s, a = np.asarray(similarity, dtype=np.float64), np.asarray(adjacency) > 0
    off = ~np.eye(len(s), dtype=bool)
    return float(s[a & off].mean() - s[~a & off].mean())


@torch.no_grad()
def layer_attention(model: MixSTE, x: torch.Tensor, layer: int = 0) -> dict[str, torch.Tensor]:
    """Attention maps of one layer on clip(s) x (B, T, J, 2), averaged over heads:
    'spatial' (J, J) averaged over the clips' frames, 'temporal' (J, T, T) one map per joint."""
    blocks = (model.spatial_blocks[layer].attn, model.temporal_blocks[layer].attn)
    was_training = model.training
    model.eval()
    for a in blocks:
        a.keep_attention = True
    try:
        model(x)
    finally:
        for a in blocks:
            a.keep_attention = False
        model.train(was_training)
    b, t, j = x.shape[:3]
    spatial = blocks[0].attention_map.mean(1).reshape(b, t, j, j).mean((0, 1))
    temporal = blocks[1].attention_map.mean(1).reshape(b, j, t, t).mean(0)
    return {"spatial": spatial, "temporal": temporal}


def learned_topologies(model: KTPFormer) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{'KPA' / 'TPA 1' / 'TPA 2': (fixed sym(A), learned A_K)} of the model's graph convolutions."""
    out = {}
    named = {"KPA": model.kpa.gconv if model.kpa is not None else None,
             "TPA 1": model.tpa.gconv1.gconv if model.tpa is not None else None,
             "TPA 2": model.tpa.gconv2.gconv if model.tpa is not None else None}
    for label, gc in named.items():
        if gc is not None:
            a = gc.adjacency.detach().cpu().numpy()
            out[label] = ((a + a.T) / 2, gc.topology().detach().cpu().numpy())
    return out


# ------------------------------------------------------------------ figures

def _finish(fig, title):
    """Title and layout; the figure is closed in pyplot and returned, so a notebook shows it once, as a value
    (the convention of `posekit.viz`)."""
    import matplotlib.pyplot as plt

    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_matrices(matrices: dict, *, labels=None, title: str | None = None, cmap: str = "viridis",
                  symmetric=False, annotate: bool = False, ncols: int | None = None):
    """Heatmaps side by side (matplotlib): {title: (N, N) array}. `symmetric`: True, or the titles of the
    matrices whose colour scale is centred on 0 (red/blue, for differences)."""
    import matplotlib.pyplot as plt

    n = len(matrices)
    ncols = ncols or n
    nrows = int(math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 3.2 * nrows), squeeze=False)
    for ax, (name, m) in zip(axes.ravel(), matrices.items()):
        m = np.asarray(m.detach().cpu() if torch.is_tensor(m) else m, dtype=np.float64)
        if symmetric is True or (not isinstance(symmetric, bool) and name in symmetric):
            lim = np.abs(m).max() or 1.0
            im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
        else:
            im = ax.imshow(m, cmap=cmap)
        ax.set_title(name)
        ax.grid(False)
        if labels is not None and len(labels) == len(m):
            ax.set_xticks(range(len(m)), labels, rotation=90, fontsize=6)
            ax.set_yticks(range(len(m)), labels, fontsize=6)
        if annotate and len(m) <= 17:
            for (i, j), v in np.ndenumerate(m):
                if abs(v) >= 0.005:
                    ax.text(j, i, f"{v:.2f}".lstrip("0").replace("-0", "-"), ha="center", va="center",
                            fontsize=4.5, color="w" if v < 0.6 * m.max() else "k")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    return _finish(fig, title)


def plot_topologies(pose_2d: np.ndarray, trajectory_2d: np.ndarray, skeleton: Skeleton = H36M_17,
                    joint: int | None = None, title: str | None = None):
    """The two prior graphs and their fixed adjacency matrices (matplotlib, 2 x 2).

    pose_2d: (J, 2) one frame's 2D joints (screen-normalised, y down) for the kinematic graph; trajectory_2d:
    (T, 2) one joint's 2D path over the clip for the trajectory graph (each frame a node, t linked to t-1).
    """
    import matplotlib.pyplot as plt

    pose_2d, trajectory_2d = np.asarray(pose_2d), np.asarray(trajectory_2d)
    frames = len(trajectory_2d)
    a_n, a_t = kinematic_adjacency(skeleton), trajectory_adjacency(frames)
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 8.2))
    ax = axes[0, 0]
    for c, p in skeleton.bones:
        ax.plot(*pose_2d[[c, p]].T, color="#888", lw=2, zorder=1)
    deg = (a_n > 0).sum(1) - 1
    sc = ax.scatter(*pose_2d.T, c=deg, cmap="plasma", s=70, zorder=2, vmin=1, vmax=deg.max())
    for i, (x, y) in enumerate(pose_2d):
        ax.annotate(str(i), (x, y), textcoords="offset points", xytext=(5, 3), fontsize=7)
    if joint is not None:
        ax.scatter(*pose_2d[joint], s=220, facecolors="none", edgecolors="k", lw=1.5, zorder=3)
    ax.invert_yaxis()
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.15)
    ax.set_title(f"kinematic topology: {skeleton.num_joints} joints, {len(skeleton.bones)} bones")
    fig.colorbar(sc, ax=ax, fraction=0.046, pad=0.04, label="neighbours")
    ax = axes[0, 1]
    im = ax.imshow(a_n, cmap="viridis")
    ax.set_xticks(range(len(a_n)), skeleton.joint_names, rotation=90, fontsize=6)
    ax.set_yticks(range(len(a_n)), skeleton.joint_names, fontsize=6)
    ax.grid(False)
    ax.set_title("A_N (row-normalised, diagonal 1)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax = axes[1, 0]
    ax.plot(*trajectory_2d.T, color="#888", lw=1, zorder=1)
    sc = ax.scatter(*trajectory_2d.T, c=np.arange(frames), cmap="viridis", s=25, zorder=2)
    ax.invert_yaxis()
    ax.set_aspect("equal", adjustable="datalim")
    name = skeleton.joint_names[joint] if joint is not None else "one joint"
    ax.set_title(f"trajectory topology: {name} over {frames} frames")
    fig.colorbar(sc, ax=ax, fraction=0.046, pad=0.04, label="frame")
    ax = axes[1, 1]
    im = ax.imshow(a_t, cmap="viridis")
    ax.grid(False)
    ax.set_xlabel("frame")
    ax.set_ylabel("frame")
    ax.set_title(f"A_T ({frames} x {frames} chain)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return _finish(fig, title)


def plot_ablation(stats: dict, *, title: str | None = None):
    """Bars of MPJPE and P-MPJPE per ablation arm with std error bars: {arm: {'MPJPE': [..], 'P-MPJPE': [..]}}."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.2))
    arms = list(stats)
    for ax, metric in zip(axes, ("MPJPE", "P-MPJPE")):
        vals = [np.asarray(stats[a][metric], dtype=np.float64) for a in arms]
        means = np.array([v.mean() for v in vals])
        stds = np.array([v.std(ddof=1) if len(v) > 1 else 0.0 for v in vals])
        ax.bar(range(len(arms)), means, yerr=stds, capsize=4, color=["#888", "#1f77b4", "#2ca02c", "#d62728"][:len(arms)])
        for i, v in enumerate(vals):
            ax.scatter(np.full(len(v), i), v, color="k", s=10, zorder=3)
        lo = min(v.min() for v in vals)
        hi = max(v.max() for v in vals)
        ax.set_ylim(max(0.0, lo - 0.6 * (hi - lo) - 1), hi + 0.4 * (hi - lo) + 1)
        ax.set_xticks(range(len(arms)), arms, rotation=20, ha="right")
        ax.set_ylabel(f"{metric} (mm)")
        ax.grid(axis="x", visible=False)
    return _finish(fig, title)
