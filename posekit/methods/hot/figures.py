"""What notebook 04_hot draws: TPC's choice of frames (distance matrix, decision graph, scores), the TRA attention,
the kept frames across settings and MPJPE against FLOPs; with the inspection helpers that compute what they show.

matplotlib is imported inside the plotting functions, so importing the package does not load it. Every figure is
closed in pyplot and returned, so a notebook shows it once, as the cell's value (the convention of `posekit.viz`).
"""
from __future__ import annotations

from contextlib import contextmanager

import torch

from .model import DPCResult, HoTMixSTE, TPCMixSTE, dpc_knn, frame_features


def select_frames(model: HoTMixSTE | TPCMixSTE, x: torch.Tensor, tokens: int | None = None, layer: int | None = None,
                  generator: torch.Generator | None = None) -> DPCResult:
    """The DPC-kNN choice a model would make for clips x (B, F, J, 2) if it pruned to `tokens` frames (default: its
    f) after `layer` full-length layers (default: its prune layer); how the choice moves with f and the layer."""
    with torch.no_grad():
        feats = frame_features(model.features(x, layer))
    return dpc_knn(feats, tokens or model.tokens, model.tpc.k, model.tpc.keep_index, generator)


def _cluster_colours(n: int):
    import matplotlib.pyplot as plt
    cmap = plt.get_cmap("tab20")
    return [cmap(i % 20) for i in range(n)]


def plot_selection(result: DPCResult, sample: int = 0, title: str | None = None):
    """What TPC saw on one clip (matplotlib Figure): the distance matrix, the decision graph (density rho against
    distance to a denser frame delta; the kept frames are the stars, top right) and the timeline of scores with
    every frame coloured by the cluster of its nearest kept frame."""
    import matplotlib.pyplot as plt
    d = result.distance_matrix[sample].cpu().numpy()
    rho, delta, score = (t[sample].cpu().numpy() for t in (result.density, result.delta, result.score))
    kept = result.kept[sample].cpu().numpy()
    order = result.centres[sample].cpu().numpy()       # cluster id c is centre order[c]
    cluster = result.assignment[sample].cpu().numpy()
    colours = _cluster_colours(len(order))
    frame_colour = [colours[c] for c in cluster]
    fig, ax = plt.subplots(1, 3, figsize=(13, 3.8), gridspec_kw=dict(width_ratios=[1, 1, 1.6]))
    im = ax[0].imshow(d, cmap="viridis")
    ax[0].scatter(kept, kept, marker="*", s=60, c="white", edgecolors="k", linewidths=0.5)
    ax[0].set(title="distances d_ij between frame features", xlabel="frame j", ylabel="frame i")
    ax[0].grid(False)
    fig.colorbar(im, ax=ax[0], fraction=0.046)
    ax[1].scatter(rho, delta, c=frame_colour, s=18)
    ax[1].scatter(rho[order], delta[order], c=[colours[c] for c in range(len(order))], marker="*", s=160,
                  edgecolors="k", linewidths=0.6, label="kept (top scores)")
    ax[1].set(title="decision graph", xlabel="density rho", ylabel="distance to a denser frame delta")
    ax[1].ticklabel_format(axis="x", useOffset=False)
    ax[1].tick_params(axis="x", labelrotation=30)
    ax[1].legend(loc="upper left")
    frames = range(len(score))
    ax[2].bar(frames, score, color=frame_colour, width=1.0)
    ax[2].scatter(kept, score[kept], marker="*", s=90, c="k", zorder=3, label="kept frame")
    ax[2].set(title="score s = rho * delta per frame (colour: cluster of the nearest kept frame)", xlabel="frame",
              ylabel="score", xlim=(-0.5, len(score) - 0.5))
    ax[2].legend(loc="upper right")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)  # returned, not auto-shown: a notebook displays it once, as the cell's value
    return fig


def plot_recovery_attention(attention: torch.Tensor, kept, title: str | None = None):
    """TRA weights (F, f) of every recovered frame (rows) on the kept tokens (columns), with a dot where a row is
    the kept token's own frame (matplotlib Figure).

    The colour scale always runs from 0 to at least 3/f with the uniform weight 1/f marked on the colour bar, so an
    attention that is uniform (every weight 1/f) shows as one flat colour instead of stretching rounding noise over
    the whole range.
    """
    import matplotlib.pyplot as plt
    a = torch.as_tensor(attention).float().cpu().numpy()
    kept = list(map(int, kept))
    uniform = 1.0 / a.shape[1]
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    im = ax.imshow(a, aspect="auto", cmap="magma", interpolation="nearest", vmin=0.0,
                   vmax=max(float(a.max()), 3 * uniform))
    ax.scatter(range(len(kept)), kept, s=10, c="cyan", label="the kept token's own frame")
    step = max(1, len(kept) // 20)
    ax.set_xticks(range(0, len(kept), step), [str(k) for k in kept[::step]], rotation=90)
    ax.set(xlabel="kept token (its original frame)", ylabel="recovered frame (query)")
    ax.set_title(title or "Token Recovering Attention", loc="right")
    ax.grid(False)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.06), fontsize=8)
    bar = fig.colorbar(im, ax=ax, label=f"attention weight (cyan: uniform 1/f = {uniform:.3f})")
    bar.ax.axhline(uniform, color="cyan", lw=2)
    fig.tight_layout()
    plt.close(fig)  # returned, not auto-shown: a notebook displays it once, as the cell's value
    return fig


def attention_uniformity(attention: torch.Tensor) -> float:
    """Largest deviation of a TRA map (F, f) from the uniform weight 1/f, relative to 1/f: 0 for an attention that
    spreads every recovered frame evenly over the kept tokens (then all recovered frames read the same mixture and
    differ only through their own learnt queries)."""
    a = torch.as_tensor(attention).float().cpu()
    f = a.shape[-1]
    return float((a - 1.0 / f).abs().max() * f)


@contextmanager
def fixed_selection(model: HoTMixSTE | TPCMixSTE, kept: torch.Tensor):
    """Within the block, `model`'s TPC keeps the frames `kept` ((f,) or (B, f)) instead of running DPC-kNN, so every
    figure of a clip shows the same choice (DPC-kNN's 1e-6 tie-breaking noise can otherwise swap near-equal
    frames between two forward passes)."""
    kept = torch.as_tensor(kept).long()
    tpc = model.tpc
    original = tpc.select

    def select(x: torch.Tensor) -> torch.Tensor:
        index = kept if kept.ndim == 2 else kept[None].expand(x.shape[0], -1)
        if index.shape != (x.shape[0], tpc.tokens):
            raise ValueError(f"fixed_selection: {tuple(index.shape)} kept frames for a batch of {x.shape[0]} clips "
                             f"keeping {tpc.tokens}")
        return index.to(x.device)
    tpc.select = select
    try:
        yield model
    finally:
        tpc.select = original


def plot_pose_spread(runs: dict, per_epoch: int, target: float, title: str | None = None,
                     references: dict | None = None):
    """The cold start of TRA: the spread (mm) of the predicted poses over the frames of a probe clip against
    optimiser steps, one colour per arm ({label: [History or experiment.Arm, one per seed]}; records carry
    'pose_spread' after every epoch and 'pose_spread_start' before the first), with the ground truth's spread as
    a dashed line and `references` ({label: spread in mm}, e.g. trained models) as dotted lines (matplotlib Figure).
    Zero means every frame of the clip gets the same pose."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    colours = plt.get_cmap("tab10")
    for i, (label, histories) in enumerate(runs.items()):
        for n, h in enumerate(histories):
            records = getattr(h, "history", h).records
            if not records or records[0].get("pose_spread") is None:
                continue
            steps = [0] + [r["epoch"] * per_epoch for r in records]
            spread = [records[0].get("pose_spread_start", float("nan"))] + [r["pose_spread"] for r in records]
            ax.plot(steps, spread, color=colours(i), marker="o", ms=3, lw=1.2,
                    label=label if n == 0 else None)
    ax.axhline(target, color="k", ls="--", lw=1.2, label=f"ground truth {target:.1f} mm")
    for n, (label, value) in enumerate((references or {}).items()):
        ax.axhline(value, color=colours(len(runs) + n), ls=":", lw=1.4, label=f"{label}: {value:.1f} mm")
    ax.set(xlabel="optimiser steps of the run (a plug-in counts from the start of its fine-tuning)",
           ylabel="pose spread over the clip (mm)",
           title=title or "recovered frames: how different their poses are")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout()
    plt.close(fig)  # returned, not auto-shown: a notebook displays it once, as the cell's value
    return fig


def local_attention_mass(attention: torch.Tensor, kept, nearest: int = 2) -> float:
    """Mean TRA weight (attention (F, f)) that a recovered frame puts on the `nearest` kept tokens closest to it in
    time: 1 for a pure interpolation between neighbours, nearest / f for attention spread evenly."""
    a = torch.as_tensor(attention).float().cpu()
    kept = torch.as_tensor(kept).cpu().float()
    gap = (torch.arange(a.shape[0]).float()[:, None] - kept[None]).abs()          # (F, f) distance in frames
    near = gap.argsort(dim=1)[:, :nearest]
    return float(a.gather(1, near).sum(1).mean())


def plot_kept_frames(rows: dict, frames: int, title: str | None = None):
    """One row per setting ({label: kept frame indices}), a mark at every kept frame (matplotlib Figure)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(9, 0.45 * len(rows) + 1.2))
    for r, (label, kept) in enumerate(rows.items()):
        kept = torch.as_tensor(kept).cpu().numpy().ravel()
        ax.scatter(kept, [r] * len(kept), marker="|", s=120, color=_cluster_colours(len(rows))[r])
    ax.set_yticks(range(len(rows)), list(rows))
    ax.set(xlim=(-0.5, frames - 0.5), xlabel="frame", title=title or "kept frames")
    ax.invert_yaxis()
    ax.grid(axis="y", visible=False)
    fig.tight_layout()
    plt.close(fig)  # returned, not auto-shown: a notebook displays it once, as the cell's value
    return fig


def plot_flops_vs_error(points: dict, title: str | None = None, flops_unit: str = "MFLOPs per clip"):
    """MPJPE against FLOPs like the paper's Fig. 1: {label: (flops, mpjpe mean, mpjpe std or 0)} (matplotlib)."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, (label, (flops, mean, std)) in enumerate(points.items()):
        ax.errorbar(flops, mean, yerr=std or None, fmt="s" if "MixSTE" in label else "o", ms=7, capsize=3,
                    color=_cluster_colours(len(points) + 1)[i], label=label)
    ax.set(xlabel=f"FLOPs ({flops_unit}, Linear layers, 2 x MACs)", ylabel="MPJPE (mm)",
           title=title or "accuracy against compute")
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    plt.close(fig)  # returned, not auto-shown: a notebook displays it once, as the cell's value
    return fig
