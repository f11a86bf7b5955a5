"""What the PersPose notebook draws: the same pose at the centre and at the border of a wide-field image (the frame,
the plain crops, the perspective-rotated crop rendered and warped), the PE ray maps of two crops, and the ablation's
errors binned by the off-axis angle and by the field of view.

`two_placements` builds the scene (one pose, two places, one camera) and renders it with posekit's rasteriser;
the figure functions take numpy arrays and return a `matplotlib.figure.Figure` that pyplot does not keep.
matplotlib is imported inside the functions, so importing the package stays light.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import numpy as np
import torch

from .geometry import (box_crop, perspective_rotation, project, ray_map, rotate_points, swing_rotation,
                       warp_image)

ARM_COLORS = {"plain": "tab:gray", "+PE": "tab:orange", "+PR": "tab:green", "+PE+PR": "tab:blue"}


def render(vertices: np.ndarray, faces: np.ndarray, K: np.ndarray, size: int | tuple[int, int],
           colors: np.ndarray | None = None, background=(0.93, 0.93, 0.9)) -> np.ndarray:
    """(H, W, 3) float image of one or more meshes (vertices (V, 3) camera frame) with a pinhole K, part colours
    shaded by the view direction (hard z-buffer render of `posekit.render`)."""
    from ...render import SoftRasterizer, lambert, vertex_normals
    h, w = (size, size) if isinstance(size, int) else size
    v = torch.as_tensor(vertices, dtype=torch.float32)[None]
    f = torch.as_tensor(np.asarray(faces), dtype=torch.long)
    col = torch.full((1, v.shape[1], 3), 0.7) if colors is None else torch.as_tensor(colors, dtype=torch.float32)[None]
    shaded = lambert(col, vertex_normals(v, f), torch.tensor([0.3, -0.5, -1.0]), ambient=0.45, diffuse=0.6)
    out = SoftRasterizer(h, w, hard=True)(v, f, torch.as_tensor(K, dtype=torch.float32)[None], attributes=shaded,
                                          background=torch.tensor(background, dtype=torch.float32))
    return out["image"][0].permute(1, 2, 0).clamp(0, 1).numpy()


def two_placements(vertices: np.ndarray, joints: np.ndarray, faces: np.ndarray, fov: float = 90.0,
                   frame: int = 384, size: int = 64, border=(0.9, 0.5), colors: np.ndarray | None = None) -> dict:
    """One pose (camera-frame vertices (V, 3) and joints (17, 3)) placed twice in a frame x frame camera of
    horizontal field of view `fov`: with its root on the optical axis, and turned about the camera centre so that
    its root lands at `border` (fractions of the frame). Both are the same pose relative to the line of sight (their
    camera-frame labels differ by that turn). Returns the frame render, the plain crops of both, the PR crop of the
    border one rendered in the rotated camera and warped from the frame (A K R K^-1), the ray maps, K, the crops'
    K_crop, the border subject's vertices and joints, and the PR dict."""
    f = frame / 2 / math.tan(math.radians(fov) / 2)
    K = np.array([[f, 0, frame / 2], [0, f, frame / 2], [0, 0, 1.0]])
    depth = float(np.linalg.norm(joints[0]))
    shift = np.array([0, 0, depth]) - joints[0]
    centre = vertices + shift
    turn = swing_rotation(K, K[:2, 2], c_aim=(border[0] * frame, border[1] * frame))  # the axis onto the border ray
    edge = rotate_points(centre, turn)
    border_joints = rotate_points(joints + shift, turn)
    faces = np.asarray(faces)
    both_cols = None if colors is None else np.concatenate([colors, colors])
    image = render(np.concatenate([centre, edge]), np.concatenate([faces, faces + len(centre)]), K, frame, both_cols)
    out = {"K": K, "frame": image, "fov": fov, "border_vertices": edge, "border_joints": border_joints}
    for name, verts in (("centre", centre), ("border", edge)):
        uv = project(verts, K)
        K_crop = box_crop(uv, size) @ K
        out[f"{name}_uv"], out[f"{name}_K_crop"] = uv, K_crop
        out[f"{name}_crop"] = render(verts, faces, K_crop, size, colors)
    pr = perspective_rotation(K, out["border_uv"], size)
    out["pr"] = pr
    out["pr_crop"] = render(rotate_points(edge, pr["R"]), faces, pr["K_crop"], size, colors)
    out["pr_warped"] = warp_image(torch.from_numpy(image.transpose(2, 0, 1)).float(), pr["M"], size).numpy() \
        .transpose(1, 2, 0).clip(0, 1)
    out["rays"] = {k: ray_map(torch.tensor(out[f"{k}_K_crop"]), size, size)[0].numpy() for k in ("centre", "border")}
    out["rays"]["PR"] = ray_map(torch.tensor(pr["K_crop"]), size, size)[0].numpy()
    return out


def _box(ax, uv, color, label):
    lo, hi = uv.min(0), uv.max(0)
    ax.plot([lo[0], hi[0], hi[0], lo[0], lo[0]], [lo[1], lo[1], hi[1], hi[1], lo[1]], color=color, lw=1.5,
            label=label)


def placements_figure(scene: dict):
    """The frame with both boxes, the two plain crops, the border subject's PR crop rendered and warped."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, 5, figsize=(16, 3.6), gridspec_kw=dict(width_ratios=[1.6, 1, 1, 1, 1]))
    plt.close(fig)
    h = scene["frame"].shape[0]
    axes[0].imshow(scene["frame"], extent=(0, h, h, 0))
    _box(axes[0], scene["centre_uv"], "tab:blue", "centre")
    _box(axes[0], scene["border_uv"], "tab:red", "border")
    axes[0].plot(h / 2, h / 2, "k+", ms=10)
    axes[0].set_title(f"one pose, two places ({scene['fov']:.0f} deg FOV)")
    axes[0].legend(loc="lower left", fontsize=8)
    panels = [("centre_crop", "plain crop, centre"), ("border_crop", "plain crop, border"),
              ("pr_crop", f"PR crop, border (rotated {scene['pr']['angle']:.0f} deg)"),
              ("pr_warped", "PR crop, warped by A K R K^-1")]
    for ax, (key, title) in zip(axes[1:], panels):
        ax.imshow(scene[key], extent=(0, scene[key].shape[1], scene[key].shape[0], 0))
        ax.set_title(title, fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout()
    return fig


def ray_map_figure(rays: Mapping[str, np.ndarray]):
    """The PE map's x and y channels ({label: (2, S, S)}) on one colour scale per channel."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(2, len(rays), figsize=(3.2 * len(rays), 6), squeeze=False)
    plt.close(fig)
    for c, name in enumerate(("x = (u - cx) / fx", "y = (v - cy) / fy")):
        lim = max(np.abs(r[c]).max() for r in rays.values())
        for k, (label, r) in enumerate(rays.items()):
            im = axes[c, k].imshow(r[c], cmap="coolwarm", vmin=-lim, vmax=lim)
            axes[c, k].set_title(f"{label}: {name}", fontsize=9)
            axes[c, k].set_xticks([])
            axes[c, k].set_yticks([])
        fig.colorbar(im, ax=list(axes[c]), shrink=0.8)
    return fig


def binned_figure(tables: Mapping[str, Mapping[str, Sequence[float]]], labels: Mapping[str, Sequence[str]],
                  floors: Mapping[str, Sequence[float]] | None = None, unit: str = "MPJPE (mm)"):
    """One panel per binning ({binning: {arm: per-bin means}}, bin labels per binning): error per bin and arm,
    and the mean-pose floor per bin ({binning: per-bin values}) dashed on a second axis when given."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(tables), figsize=(5.5 * len(tables), 3.8), squeeze=False)
    plt.close(fig)
    for ax, (binning, arms) in zip(axes[0], tables.items()):
        x = np.arange(len(labels[binning]))
        for arm, values in arms.items():
            ax.plot(x, values, "o-", color=ARM_COLORS.get(arm), label=arm)
        if floors and binning in floors:
            ax.plot(x, floors[binning], "k--", lw=1, label="mean pose (floor)")
        ax.set_xticks(x, labels[binning])
        ax.set_xlabel(binning)
        ax.set_ylabel(unit)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


__all__ = ["render", "two_placements", "placements_figure", "ray_map_figure", "binned_figure", "ARM_COLORS"]
