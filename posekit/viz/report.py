"""Static matplotlib figures for reports: frame grid, training curves, per-joint and per-action errors.

Each function returns a `matplotlib.figure.Figure` that pyplot does not keep, so a notebook shows it once, as the
cell's value (or with `display(fig)`), and `fig.savefig(path)` writes it to a file.
"""
from __future__ import annotations

from typing import Mapping, Sequence as Seq

import numpy as np

from ..skeleton import H36M_17, Skeleton
from .common import SHADE_NOTE, as_array, aspect, equal_ranges, palette_colour, plot3d, pose_dict, shade


def _mpl_figure(figsize):
    import matplotlib.pyplot as plt
    fig = plt.figure(figsize=figsize)
    plt.close(fig)  # returned, not auto-shown: a notebook displays it once, as the cell's value
    return fig


def frame_grid(poses, skeleton: Skeleton = H36M_17, frames: Seq[int] | None = None, *, elev: float = 10.0,
               azim: float = -75.0, panel_size: float = 2.4, title: str | None = None):
    """Static fallback of the 3D viewer: one column per frame, all pose sets overlaid (matplotlib Figure).

    poses: (T, J, 3) or {label: (T, J, 3)} camera-frame metres, drawn upright as (x, z, -y).
    frames: frame indices (default six evenly spread). elev, azim: matplotlib view angles (azim -90 looks
    from the camera).
    """
    sets = {k: plot3d(v) for k, v in pose_dict(poses, skeleton, None, "poses").items()}
    num_frames = min(len(v) for v in sets.values())
    frames = list(np.unique(np.linspace(0, num_frames - 1, min(6, num_frames)).round().astype(int))) \
        if frames is None else [int(f) for f in frames]
    if not frames:
        raise ValueError("frames: give at least one frame index")
    bad = [f for f in frames if not 0 <= f < num_frames]
    if bad:
        raise ValueError(f"frames {bad} are out of range for poses with {num_frames} frames")
    ranges = equal_ranges(np.concatenate([v[frames].reshape(-1, 3) for v in sets.values()]))
    fig = _mpl_figure((panel_size * len(frames), panel_size * 1.25 + 0.7))
    for col, f in enumerate(frames):
        ax = fig.add_subplot(1, len(frames), col + 1, projection="3d")
        for n, p in enumerate(sets.values()):
            for c, par in skeleton.bones:
                ax.plot(*p[f, [c, par]].T, color=shade(palette_colour(n), skeleton.side(c)), lw=2)
        ax.set_xlim(ranges[0]), ax.set_ylim(ranges[1]), ax.set_zlim(ranges[2])
        ax.set_box_aspect(tuple(aspect(ranges).values()), zoom=0.95)
        ax.view_init(elev=elev, azim=azim)
        ax.set_title(f"frame {f}", y=1.0)
        ax.set_xticklabels([]), ax.set_yticklabels([]), ax.set_zticklabels([])
        if col == 0:
            ax.set_xlabel("x", labelpad=-12), ax.set_ylabel("depth", labelpad=-12), ax.set_zlabel("up", labelpad=-12)
    from matplotlib.lines import Line2D
    handles = [Line2D([], [], color=palette_colour(n), lw=2) for n in range(len(sets))]
    fig.legend(handles, list(sets), loc="lower center", ncol=len(sets) + 1, title=f"bones: {SHADE_NOTE}",
               bbox_to_anchor=(0.5, 0.0), fontsize=8, title_fontsize=8)
    if title:
        fig.suptitle(title, y=0.99)
    fig.subplots_adjust(left=0.0, right=1.0, bottom=0.16, top=0.88 if title else 0.95, wspace=0.0)
    return fig


def _records(h, label: str) -> list[dict]:
    """The list of per-epoch dicts of a History (its `.records`) or of a plain list; ValueError if malformed."""
    records = getattr(h, "records", h)
    if not isinstance(records, (list, tuple)) or not all(isinstance(r, Mapping) for r in records):
        raise ValueError(f"history {label!r}: expected a History (with .records) or a list of dicts, "
                         f"got {type(h).__name__}")
    for i, r in enumerate(records):
        if "epoch" not in r or "loss" not in r:
            raise ValueError(f"history {label!r}: record {i} needs keys 'epoch' and 'loss', has {sorted(r)}")
    return list(records)


def training_curves(histories, *, log_loss: bool = True, title: str | None = None):
    """Loss, validation MPJPE (mm) and learning rate against epoch, one line per run (matplotlib Figure).

    histories: {label: History or list of dicts}; each record has 'epoch' and 'loss', optionally 'val_mpjpe'
    (mm), 'lr' and 'seconds' (the legend shows the total time). A single History or list is accepted too.
    Panels without data (no 'val_mpjpe' or 'lr' anywhere) are left out.
    """
    if not isinstance(histories, Mapping):
        histories = {"run": histories}
    runs = {label: _records(h, label) for label, h in histories.items()}
    keys = [("loss", "training loss"), ("val_mpjpe", "validation MPJPE (mm)"), ("lr", "learning rate")]
    keys = [(k, t) for k, t in keys if any(r.get(k) is not None for rec in runs.values() for r in rec)]
    fig = _mpl_figure((3.4 * len(keys), 3.0))
    axes = [fig.add_subplot(1, len(keys), i + 1) for i in range(len(keys))]
    for n, (label, rec) in enumerate(runs.items()):
        secs = [r["seconds"] for r in rec if r.get("seconds") is not None]
        name = label + (f" ({sum(secs):.0f} s)" if secs else "")
        for ax, (k, _) in zip(axes, keys):
            pts = [(r["epoch"], r[k]) for r in rec if r.get(k) is not None]
            if pts:
                x, y = zip(*pts)
                ax.plot(x, y, color=palette_colour(n), marker="o" if len(pts) < 30 else None, ms=3, label=name)
    from matplotlib.ticker import MaxNLocator
    for ax, (k, t) in zip(axes, keys):
        ax.set_title(t)
        ax.set_xlabel("epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        if k == "lr" or (k == "loss" and log_loss):
            ax.set_yscale("log")
    axes[0].legend()
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def _grouped_bars(ax, categories: list[str], series: dict[str, np.ndarray], ylabel: str):
    """One group of bars per category, one bar (and colour) per series; legend outside on the right."""
    width = 0.8 / max(len(series), 1)
    x = np.arange(len(categories))
    for n, (label, vals) in enumerate(series.items()):
        ax.bar(x + (n - (len(series) - 1) / 2) * width, vals, width, color=palette_colour(n), label=label)
    ax.set_xticks(x, categories, rotation=45, ha="right")
    ax.set_xlim(-0.6, len(categories) - 0.4)
    ax.set_ylabel(ylabel)
    ax.grid(axis="x", visible=False)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))


def per_joint_bars(errors, skeleton: Skeleton = H36M_17, *, title: str | None = None, unit: str = "mm"):
    """Per-joint error as grouped bars, one colour per model (matplotlib Figure).

    errors: {label: (J,) errors in mm} (or a single (J,) array); J must match the skeleton. The legend shows
    each model's mean.
    """
    if not isinstance(errors, Mapping):
        errors = {"error": errors}
    series = {}
    for label, e in errors.items():
        a = as_array(e, f"errors {label!r}")
        if a.shape != (skeleton.num_joints,):
            raise ValueError(f"errors {label!r}: expected shape ({skeleton.num_joints},) for skeleton "
                             f"'{skeleton.name}', got shape {tuple(np.shape(e))}")
        series[f"{label} (mean {np.nanmean(a):.1f} {unit})"] = a
    fig = _mpl_figure((max(6.0, 0.45 * skeleton.num_joints * max(1, len(series) ** 0.5)), 3.4))
    ax = fig.add_subplot(1, 1, 1)
    _grouped_bars(ax, list(skeleton.joint_names), series, f"error ({unit})")
    ax.set_title(title or "Per-joint error")
    fig.tight_layout()
    return fig


def per_action_bars(errors, *, title: str | None = None, unit: str = "mm"):
    """Per-action error as grouped bars, one colour per model; an 'Average' entry is drawn last (matplotlib).

    errors: {label: {action: error in mm}}; actions missing for a model leave a gap.
    """
    if not isinstance(errors, Mapping) or not all(isinstance(v, Mapping) for v in errors.values()):
        raise ValueError("errors: expected {label: {action: error in mm}}")
    average = [a for v in errors.values() for a in v if str(a).lower() in ("average", "mean", "avg")]
    actions = sorted({a for v in errors.values() for a in v} - set(average), key=str)
    actions += list(dict.fromkeys(average))
    if not actions:
        raise ValueError("errors: no action in any entry")
    series = {label: np.array([float(v[a]) if a in v else np.nan for a in actions]) for label, v in errors.items()}
    fig = _mpl_figure((max(6.0, 0.5 * len(actions) * max(1, len(series) ** 0.5)), 3.4))
    ax = fig.add_subplot(1, 1, 1)
    _grouped_bars(ax, [str(a) for a in actions], series, f"error ({unit})")
    if average and len(actions) > len(set(average)):
        ax.axvline(len(actions) - len(set(average)) - 0.5, color="#888", lw=0.8, ls="--")
        for t in ax.get_xticklabels()[-len(set(average)):]:
            t.set_fontweight("bold")
    ax.set_title(title or "Per-action error")
    fig.tight_layout()
    return fig
