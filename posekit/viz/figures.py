"""Plotly figures: the animated 3D skeleton viewer, 2D keypoints on the image plane and the camera rig.

3D poses are camera-frame metres (x right, y down, z depth), drawn as (x, z, -y) so that the person stands
upright; 2D keypoints are screen-normalised (VideoPose3D) unless said otherwise and drawn with image y down; the
camera rig is in world metres, z up. Every pose set has its own colour; left bones are a darker and right bones a
lighter shade of it.
"""
from __future__ import annotations

from typing import Mapping, Sequence as Seq

import numpy as np

from ..camera import Camera, image_coordinates
from ..skeleton import H36M_17, Skeleton
from .common import (SHADE_NOTE, as_array, aspect, check_poses, equal_ranges, gapped, palette_colour, plot3d,
                     polyline, pose_dict, shade, subsample)

AXIS_TITLES = ("x right (m)", "z depth (m)", "−y up (m)")


def skeleton_viewer(poses, skeleton: Skeleton = H36M_17, fps: float = 50.0, max_frames: int = 300,
                    title: str | None = None, names=None, joint_values=None, marked_frames=None, *,
                    values_title: str = "value", keypoints_2d=None, camera: Camera | None = None,
                    height: int = 560):
    """Animated 3D skeleton(s) with a frame slider and play/pause buttons (a plotly `go.Figure`).

    poses: (T, J, 3) or (J, 3) camera-frame metres (x right, y down, z depth; root-relative or absolute), or a
        list of such arrays, or {label: array} (e.g. {'ground truth': gt, 'MixSTE': pred}), all with the same T.
        Torch tensors are accepted. Drawn as (x, z, -y) so the person stands upright; axes fixed over the clip.
    skeleton: the joint set (J must match). fps: frame rate of the clip, for the play speed.
    max_frames: longer clips are subsampled evenly to this many frames (first and last kept); slider labels
        show the original frame index.
    names: legend label(s) overriding the dict keys (a str for a single array, else one per pose set).
    joint_values: optional per-joint scalars (J,) or (T, J), e.g. uncertainty, drawn as marker colour and size
        with a colour bar titled `values_title` on the last pose set; or {label: (J,) or (T, J)} per set.
    marked_frames: optional original frame indices to highlight (e.g. frames a pruning step kept): their slider
        label and the title carry a star; they are always among the frames shown.
    keypoints_2d, camera: optional 2D view beside the 3D one: (T, J, 2) screen-normalised keypoints or
        {label: (T, J, 2)}, animated with the same slider; with `camera` drawn in pixels inside the image border.
    """
    pose_sets = pose_dict(poses, skeleton, names, "poses")
    lengths = {k: len(v) for k, v in pose_sets.items()}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"poses: every pose set needs the same number of frames, got {lengths}")
    num_frames = next(iter(lengths.values()))
    values = _joint_values(joint_values, pose_sets, skeleton, num_frames)
    kp_sets = None
    if keypoints_2d is not None:
        kp_sets = pose_dict(keypoints_2d, skeleton, None, "keypoints_2d", dims=2)
        bad = {k: len(v) for k, v in kp_sets.items() if len(v) not in (1, num_frames)}
        if bad:
            raise ValueError(f"keypoints_2d: expected {num_frames} frames like the poses, got {bad}")
    marked = set() if marked_frames is None else {int(f) for f in np.asarray(marked_frames).ravel()}
    shown = subsample(num_frames, max_frames, sorted(marked))

    plot_sets = {k: plot3d(v) for k, v in pose_sets.items()}
    ranges = equal_ranges(np.concatenate([v.reshape(-1, 3) for v in plot_sets.values()]))
    idx, vertex_sides = polyline(skeleton)
    names_at = [skeleton.joint_names[i] if i >= 0 else "" for i in idx]

    traces, animated = [], []  # animated: (trace index, function frame -> update dict)
    for n, (label, p) in enumerate(plot_sets.items()):
        colour = palette_colour(n)
        vcol = [shade(colour, s) for s in vertex_sides]
        has_values = label in values
        traces.append(_swatch(label, colour))
        traces.append(dict(
            type="scatter3d", mode="lines" if has_values else "lines+markers", name=label, legendgroup=label,
            showlegend=False, line=dict(color=vcol, width=6), marker=dict(size=3, color=vcol), text=names_at,
            hovertemplate="%{text}<br>x %{x:.3f} m<br>depth %{y:.3f} m<br>up %{z:.3f} m<extra>" + label + "</extra>"))
        animated.append((len(traces) - 1, lambda t, p=p: {k: gapped(p[t, :, a], idx) for a, k in enumerate("xyz")}))
        if has_values:
            v = values[label]
            lo, hi = values["__range__"]
            first = len([t for t in traces if t.get("mode") == "markers"]) == 0
            traces.append(dict(
                type="scatter3d", mode="markers", name=f"{label}: {values_title}", legendgroup=label,
                showlegend=False, text=list(skeleton.joint_names),
                marker=dict(colorscale="Viridis", cmin=lo, cmax=hi, showscale=first, opacity=0.9,
                            colorbar=dict(title=dict(text=values_title), len=0.6, x=1.0, thickness=14)),
                hovertemplate="%{text}<br>" + values_title + " %{marker.color:.3g}<extra>" + label + "</extra>"))

            def update(t, p=p, v=v, lo=lo, hi=hi):
                vt = v[min(t, len(v) - 1)]
                size = 6 + 12 * (vt - lo) / max(hi - lo, 1e-12)
                return {**{k: [round(float(c), 3) for c in p[t, :, a]] for a, k in enumerate("xyz")},
                        "marker": {"color": [round(float(c), 4) for c in vt],
                                   "size": [round(float(s), 1) for s in size]}}
            animated.append((len(traces) - 1, update))

    layout = dict(
        height=height, margin=dict(l=0, r=0, t=50, b=10), uirevision="posekit",
        legend=dict(title=dict(text=f"bones: {SHADE_NOTE}"), x=0.0, y=1.0, bgcolor="rgba(255,255,255,0.6)"),
        scene=dict(
            xaxis=dict(title=dict(text=AXIS_TITLES[0]), range=ranges[0], autorange=False),
            yaxis=dict(title=dict(text=AXIS_TITLES[1]), range=ranges[1], autorange=False),
            zaxis=dict(title=dict(text=AXIS_TITLES[2]), range=ranges[2], autorange=False),
            aspectmode="manual", aspectratio=aspect(ranges),
            camera=dict(eye=dict(x=0.85, y=-1.6, z=0.35), up=dict(x=0, y=0, z=1), center=dict(x=0, y=0, z=-0.1))))
    if kp_sets is not None:
        n2d_start = len(traces)
        traces_2d, animated_2d, layout_2d = _traces_2d(kp_sets, skeleton, camera, "normalized", 0,
                                                       colour_offset=len(plot_sets))
        traces += traces_2d
        animated += [(n2d_start + i, f) for i, f in animated_2d]
        layout.update(layout_2d)
        layout["xaxis"]["domain"] = [0.0, 0.36]
        layout["scene"]["domain"] = dict(x=[0.4, 1.0], y=[0.0, 1.0])
        layout["legend"].update(x=1.0, xanchor="left")

    title = title if title is not None else (
        "3D pose" + (f" — {len(shown)} of {num_frames} frames shown" if len(shown) < num_frames else ""))
    note = " (★ = marked frame)" if marked else ""

    def frame_title(t):
        return f"{title}{note} — frame {t}" + (" ★" if t in marked else "")

    layout["title"] = dict(text=frame_title(int(shown[0])) if marked else title + note, x=0.5, font=dict(size=14))
    t0 = int(shown[0])
    for i, f in animated:
        _merge(traces[i], f(t0))

    frames, steps = [], []
    trace_ids = [i for i, _ in animated]
    for t in (int(t) for t in shown):
        frame = dict(name=str(t), traces=trace_ids, data=[dict(type=traces[i]["type"], **f(t)) for i, f in animated])
        if marked:
            frame["layout"] = dict(title=dict(text=frame_title(t)))
        frames.append(frame)
        steps.append(dict(method="animate", label=f"{t} ★" if t in marked else str(t), args=[
            [str(t)], dict(mode="immediate", frame=dict(duration=0, redraw=True), transition=dict(duration=0))]))
    if len(shown) > 1:
        duration = max(int(round(1000.0 / fps * (num_frames - 1) / (len(shown) - 1))), 20)
        many = len(shown) > 25
        below = -0.1 if "xaxis" in layout else 0.02   # under the 2D panel's axis title, when there is one
        layout["sliders"] = [dict(
            active=0, steps=steps, x=0.1, len=0.88, y=below, yanchor="top", pad=dict(t=30, b=5),
            currentvalue=dict(prefix="frame ", visible=True, xanchor="left", font=dict(size=12, color="#333")),
            font=dict(color="rgba(0,0,0,0)" if many else "#555", size=9), ticklen=0 if many else 4,
            minorticklen=0 if many else 2,
            transition=dict(duration=0))]
        layout["updatemenus"] = [dict(
            type="buttons", direction="left", showactive=False, x=0.1, y=below, xanchor="right", yanchor="top",
            pad=dict(t=30, r=10), buttons=[
                dict(label="▶", method="animate", args=[None, dict(
                    frame=dict(duration=duration, redraw=True), fromcurrent=True, transition=dict(duration=0),
                    mode="immediate")]),
                dict(label="❚❚", method="animate", args=[[None], dict(
                    frame=dict(duration=0, redraw=False), mode="immediate", transition=dict(duration=0))])])]
        layout["margin"]["b"] = 80 if below > 0 else 120
    return _figure(traces, layout, frames)


def _swatch(label: str, colour: str) -> dict:
    """A legend-only 3D trace for the group `label` (a per-vertex colour array would draw a black swatch)."""
    return dict(type="scatter3d", mode="lines", name=label, legendgroup=label, x=[None], y=[None], z=[None],
                line=dict(color=colour, width=6), hoverinfo="skip")


def _polylines_3d(lines) -> tuple[list, list, list]:
    """Several (n, 3) polylines -> x, y, z lists (mm-rounded) with None between the polylines: one trace."""
    out = ([], [], [])
    for line in lines:
        for a in range(3):
            out[a].extend([round(float(v), 3) for v in line[:, a]] + [None])
    return tuple(o[:-1] for o in out)


def _merge(dst: dict, src: dict) -> dict:
    """Recursive dict update (nested dicts merged, everything else replaced)."""
    for k, v in src.items():
        if isinstance(v, dict) and isinstance(dst.get(k), dict):
            _merge(dst[k], v)
        else:
            dst[k] = v
    return dst


def _figure(traces: list, layout: dict, frames: list | None = None):
    import plotly.graph_objects as go
    return go.Figure(dict(data=traces, layout=layout, frames=frames or []))


def _joint_values(joint_values, pose_sets: dict, skeleton: Skeleton, num_frames: int) -> dict:
    """{label: (T or 1, J)} plus '__range__': (min, max) over all of them; {} when joint_values is None."""
    if joint_values is None:
        return {}
    items = joint_values.items() if isinstance(joint_values, Mapping) else [(list(pose_sets)[-1], joint_values)]
    out = {}
    for label, v in items:
        if label not in pose_sets:
            raise ValueError(f"joint_values: no pose set {label!r}; pose sets: {list(pose_sets)}")
        a = as_array(v, f"joint_values {label!r}")
        a = a[None] if a.ndim == 1 else a
        if a.ndim != 2 or a.shape[1] != skeleton.num_joints or a.shape[0] not in (1, num_frames):
            raise ValueError(f"joint_values {label!r}: expected shape ({skeleton.num_joints},) or ({num_frames}, "
                             f"{skeleton.num_joints}), got shape {tuple(np.shape(v))}")
        out[label] = a
    allv = np.concatenate([a.ravel() for a in out.values()])
    allv = allv[np.isfinite(allv)]
    if not len(allv):
        raise ValueError("joint_values: no finite value")
    out["__range__"] = (round(float(allv.min()), 4), round(float(allv.max()), 4))
    return out


# ----------------------------------------------------------------------------------------------- 2D keypoints

def _traces_2d(kp_sets: dict, skeleton: Skeleton, camera: Camera | None, units: str, frame: int,
               colour_offset: int = 0):
    """Plotly 2D traces (three per set: centre, left, right bones), animation updaters and axis layout."""
    if units not in ("normalized", "pixels"):
        raise ValueError(f"units must be 'normalized' or 'pixels', got {units!r}")
    to_px = camera is not None and units == "normalized"
    if to_px:
        kp_sets = {k: image_coordinates(v, camera.res_w, camera.res_h) for k, v in kp_sets.items()}
    in_px = camera is not None or units == "pixels"
    traces, animated = [], []
    for n, (label, kp) in enumerate(kp_sets.items()):
        for side in ("centre", "left", "right"):
            idx, _ = polyline(skeleton, (side,))
            if not len(idx):
                continue
            names_at = [skeleton.joint_names[i] if i >= 0 else "" for i in idx]
            traces.append(dict(
                type="scatter", mode="lines+markers", name=label, legendgroup=f"2d {label}",
                showlegend=side == "centre", xaxis="x", yaxis="y", text=names_at,
                line=dict(color=shade(palette_colour(n + colour_offset), side), width=3), marker=dict(size=5),
                hovertemplate="%{text}<br>(%{x:.3f}, %{y:.3f})<extra>" + label + "</extra>"))
            dec = 1 if in_px else 4
            animated.append((len(traces) - 1, lambda t, kp=kp, idx=idx, dec=dec: {
                "x": gapped(kp[min(t, len(kp) - 1), :, 0], idx, dec),
                "y": gapped(kp[min(t, len(kp) - 1), :, 1], idx, dec)}))
    for i, f in animated:
        _merge(traces[i], f(frame))
    pts = np.concatenate([v.reshape(-1, 2) for v in kp_sets.values()])
    pts = pts[np.isfinite(pts).all(axis=1)]
    if camera is not None:
        border = np.array([[0, 0], [camera.res_w, 0], [camera.res_w, camera.res_h], [0, camera.res_h], [0, 0]],
                          dtype=float)
        traces.insert(0, dict(type="scatter", mode="lines", x=border[:, 0].tolist(), y=border[:, 1].tolist(),
                              xaxis="x", yaxis="y", name=f"image {camera.id} ({camera.res_w}x{camera.res_h})",
                              line=dict(color="#888", width=1, dash="dot"), hoverinfo="skip"))
        animated = [(i + 1, f) for i, f in animated]
        pts = np.concatenate([pts, border])
    lo, hi = pts.min(axis=0), pts.max(axis=0)
    half = np.maximum((hi - lo) / 2 * 1.1, 1e-3)
    half = np.maximum(half, 0.6 * half.max())  # never a sliver: at least 0.6 as wide as tall, or vice versa
    lo, hi = (lo + hi) / 2 - half, (lo + hi) / 2 + half
    unit = "px" if in_px else "normalised screen units"
    layout = dict(
        xaxis=dict(title=dict(text=f"u ({unit}, right)"), range=[float(lo[0]), float(hi[0])],
                   zeroline=False, constrain="domain"),
        yaxis=dict(title=dict(text=f"v ({unit}, down)"), range=[float(hi[1]), float(lo[1])],
                   scaleanchor="x", scaleratio=1, zeroline=False, constrain="domain"),
        plot_bgcolor="white")
    return traces, animated, layout


def keypoints_2d_figure(keypoints, skeleton: Skeleton = H36M_17, camera: Camera | None = None, frame: int = 0, *,
                        units: str = "normalized", title: str | None = None, height: int = 480):
    """2D keypoints on the image plane (plotly), y pointing down.

    keypoints: (J, 2) or (T, J, 2), or {label: (J, 2) or (T, J, 2)} (e.g. {'input 2D': kp, 'GT 2D': gt}); in
        screen-normalised units (the dataset layout) or, with units='pixels', in pixels.
    camera: when given, normalised keypoints are converted to pixels and the image border is drawn.
    frame: which frame of (T, J, 2) arrays to draw.
    """
    kp_sets = pose_dict(keypoints, skeleton, None, "keypoints", dims=2)
    for k, v in kp_sets.items():
        if len(v) > 1 and not -len(v) <= frame < len(v):
            raise ValueError(f"frame {frame} is out of range for keypoints {k!r} of shape {v.shape}")
    traces, _, layout = _traces_2d(kp_sets, skeleton, camera, units, frame)
    layout.update(height=height, margin=dict(l=50, r=10, t=50, b=40),
                  legend=dict(title=dict(text=f"bones: {SHADE_NOTE}")),
                  title=dict(text=title or f"2D keypoints, frame {frame}", x=0.5))
    return _figure(traces, layout)


# ----------------------------------------------------------------------------------------------- camera rig

def camera_rig_figure(cameras: Seq[Camera], poses_world=None, skeleton: Skeleton = H36M_17, *, frame: int = 0,
                      frustum_depth: float | None = None, title: str | None = None, height: int = 560):
    """Cameras as frusta around the subject, in world coordinates (metres, z up) (plotly).

    cameras: `posekit.camera.Camera`s (extrinsics camera -> world). poses_world: optional (T, J, 3) or (J, 3)
    world metres: the pose at `frame` is drawn, and the root's path over the clip. frustum_depth: length of each
    frustum in metres (default a fifth of the mean camera-subject distance). Each frustum's thick top edge marks
    the image's upper border.
    """
    cameras = list(cameras)
    if not cameras or not all(isinstance(c, Camera) for c in cameras):
        raise ValueError(f"cameras: expected a non-empty list of posekit.camera.Camera, got {cameras!r:.100}")
    centres = np.stack([c.translation for c in cameras])
    target = centres.mean(axis=0)
    traces = []
    if poses_world is not None:
        p = check_poses(poses_world, skeleton, "poses_world")
        if not -len(p) <= frame < len(p):
            raise ValueError(f"frame {frame} is out of range for poses_world of shape {p.shape}")
        target = np.nanmean(p[:, skeleton.root], axis=0)
        idx, sides = polyline(skeleton)
        colour, label = palette_colour(0), f"pose (frame {frame})"
        traces.append(_swatch(label, colour))
        traces.append(dict(type="scatter3d", mode="lines+markers", name=label, legendgroup=label, showlegend=False,
                           x=gapped(p[frame, :, 0], idx), y=gapped(p[frame, :, 1], idx),
                           z=gapped(p[frame, :, 2], idx), line=dict(color=[shade(colour, s) for s in sides], width=5),
                           marker=dict(size=2, color=[shade(colour, s) for s in sides])))
        if len(p) > 1:
            x, y, z = _polylines_3d([p[:, skeleton.root]])
            traces.append(dict(type="scatter3d", mode="lines", name="root path", x=x, y=y, z=z,
                               line=dict(color="#999", width=2)))
    depth = frustum_depth or 0.2 * float(np.mean(np.linalg.norm(centres - target, axis=1)) or 5.0)
    frusta, tops = [], []
    for cam in cameras:
        w, h = cam.res_w, cam.res_h
        px = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=float)  # image corners, top edge first
        rays = np.concatenate([(px - cam.center) / cam.focal_length, np.ones((4, 1))], axis=1) * depth
        corners = cam.camera_to_world(rays)
        frusta += [np.stack([cam.translation, k]) for k in corners] + [corners[[0, 1, 2, 3, 0]]]
        tops.append(corners[:2])
    for name, lines, style in (("camera frusta", frusta, dict(color="#444", width=3)),
                               ("image top edge", tops, dict(color="#e6550d", width=8))):
        x, y, z = _polylines_3d(lines)
        traces.append(dict(type="scatter3d", mode="lines", name=name, x=x, y=y, z=z, line=style, hoverinfo="skip"))
    traces.append(dict(type="scatter3d", mode="markers+text", name="camera centres", x=centres[:, 0].round(3),
                       y=centres[:, 1].round(3), z=centres[:, 2].round(3), text=[str(c.id) for c in cameras],
                       textposition="top center", marker=dict(size=4, color="#444"), showlegend=False))
    layout = dict(
        height=height, margin=dict(l=0, r=0, t=40, b=0), title=dict(text=title or "Camera rig (world, z up)", x=0.5),
        scene=dict(aspectmode="data", xaxis=dict(title=dict(text="x (m)")), yaxis=dict(title=dict(text="y (m)")),
                   zaxis=dict(title=dict(text="z (m, up)")),
                   camera=dict(up=dict(x=0, y=0, z=1), eye=dict(x=1.7, y=-2.2, z=1.5))),
        legend=dict(x=0, y=1))
    return _figure(traces, layout)
