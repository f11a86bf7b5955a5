"""A plotly mesh viewer: the body with part colours, its joints, the camera frustum and the image on its plane.

Input is in the camera frame of `posekit.data.images` (metres, x right, y down, z forward); like the skeleton
viewer, the plot shows (x, z, -y) so the person stands upright. The figure is self-contained plotly, so it works
in JupyterLab, VS Code and in exported HTML without a kernel.
"""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ..skeleton import H36M_17
from .common import as_array, aspect, equal_ranges, plot3d, polyline


def _rgb(c) -> str:
    return f"rgb({int(c[0])},{int(c[1])},{int(c[2])})"


def mesh_viewer(vertices, faces, parts=None, joints=None, K=None, image=None, plane_depth: float | None = None,
                title: str = "body mesh", part_colors=None) -> go.Figure:
    """vertices (V, 3), faces (F, 3), parts (V,) labels 1..14 (coloured by `posekit.body.PART_COLORS`), joints
    (17, 3) Human3.6M, K (3, 3) intrinsics of `image` (3, H, W) uint8 or (H, W, 3); the image is drawn on the plane
    z = plane_depth (default: half the subject's depth) inside the camera's frustum, drawn up to the body."""
    v = as_array(vertices, "vertices")
    f = np.asarray(faces, dtype=int)
    if v.ndim != 2 or v.shape[1] != 3 or f.ndim != 2 or f.shape[1] != 3:
        raise ValueError(f"vertices must be (V, 3) and faces (F, 3), got {v.shape} and {f.shape}")
    p = plot3d(v)
    mesh = dict(x=p[:, 0], y=p[:, 1], z=p[:, 2], i=f[:, 0], j=f[:, 1], k=f[:, 2], name="body",
                flatshading=True, lighting=dict(ambient=0.55, diffuse=0.6), showlegend=True)
    if parts is not None:
        from ..body.parts import PART_COLORS
        colors = np.asarray(part_colors or PART_COLORS)
        mesh["vertexcolor"] = [_rgb(c) for c in colors[np.asarray(parts, dtype=int)]]
    else:
        mesh["color"] = "rgb(200,170,140)"
    traces = [go.Mesh3d(**mesh)]
    points = [p]
    if joints is not None:
        jp = plot3d(as_array(joints, "joints"))
        idx, _ = polyline(H36M_17)
        line = [np.where(idx < 0, np.nan, jp[np.maximum(idx, 0), a]) for a in range(3)]
        traces.append(go.Scatter3d(x=line[0], y=line[1], z=line[2], mode="lines+markers", name="joints",
                                   line=dict(color="black", width=5), marker=dict(size=3, color="black")))
    if K is not None:
        K = as_array(K, "K")
        img = None if image is None else np.asarray(image)
        if img is not None and img.shape[0] == 3:
            img = img.transpose(1, 2, 0)
        h, w = (img.shape[:2] if img is not None else (2 * K[1, 2], 2 * K[0, 2]))
        depth = plane_depth or float(np.median(v[:, 2])) / 2
        corners = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)
        rays = np.c_[corners, np.ones(4)] @ np.linalg.inv(K).T
        c = plot3d(rays * float(v[:, 2].max()))  # the frustum reaches past the body
        frustum = [np.zeros(3), c[0], np.zeros(3), c[1], np.zeros(3), c[2], np.zeros(3), c[3], c[0], c[1], c[2],
                   c[3], c[0]]
        fr = np.array(frustum)
        traces.append(go.Scatter3d(x=fr[:, 0], y=fr[:, 1], z=fr[:, 2], mode="lines", name="camera",
                                   line=dict(color="gray", width=3)))
        points.append(fr)
        if img is not None:
            traces.append(_image_plane(img, K, depth))
    ranges = equal_ranges(np.concatenate(points))
    fig = go.Figure(traces)
    axes = {f"{a}axis": dict(range=r, title=t) for a, r, t in zip("xyz", ranges, ("x (m)", "depth z (m)", "up -y (m)"))}
    fig.update_layout(title=title, scene=dict(**axes, aspectmode="manual", aspectratio=aspect(ranges),
                                              camera=dict(eye=dict(x=1.1, y=-1.5, z=0.35))),
                      margin=dict(l=0, r=0, t=40, b=0), legend=dict(x=0, y=1))
    return fig


def _image_plane(img: np.ndarray, K: np.ndarray, depth: float, cells: int = 32) -> go.Mesh3d:
    """The image as a grid of coloured quads on the plane z = depth (at most cells x cells quads)."""
    h, w = img.shape[:2]
    n = min(cells, h, w)
    us, vs = np.linspace(0, w, n + 1), np.linspace(0, h, n + 1)
    gu, gv = np.meshgrid(us, vs)
    pts = np.c_[gu.ravel(), gv.ravel(), np.ones(gu.size)] @ np.linalg.inv(K).T * depth
    p = plot3d(pts)
    i, j, k, colors = [], [], [], []
    for r in range(n):
        for c in range(n):
            a = r * (n + 1) + c
            px = img[min(int((r + 0.5) * h / n), h - 1), min(int((c + 0.5) * w / n), w - 1)]
            i += [a, a]
            j += [a + 1, a + n + 2]
            k += [a + n + 2, a + n + 1]
            colors += [_rgb(px), _rgb(px)]
    return go.Mesh3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], i=i, j=j, k=k, facecolor=colors, name="image plane",
                     flatshading=True, lighting=dict(ambient=1.0, diffuse=0.0, specular=0.0), showlegend=True)
