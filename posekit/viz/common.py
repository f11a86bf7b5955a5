"""Helpers shared by the posekit figures: input checks, colours, bone polylines, axis ranges, frame subsampling.

Shapes: poses (T, J, 3) camera-frame metres (x right, y down, z depth); keypoints (T, J, 2). The 3D figures plot
(x, z, -y), so that plot z points up.
"""
from __future__ import annotations

from typing import Mapping, Sequence as Seq

import numpy as np

from ..skeleton import Skeleton

# One colour per pose set: matplotlib's tab10 order (blue, red, green first), then six darker hues.
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22",
           "#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
SHADE_NOTE = "darker = left, lighter = right"


# ----------------------------------------------------------------------------------------------- input checks

def as_array(x, what: str) -> np.ndarray:
    """A numpy float64 copy of an array-like or torch tensor; ValueError naming `what` if it is not numeric."""
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    try:
        return np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what}: expected a numeric array, got {type(x).__name__}") from None


def check_poses(x, skeleton: Skeleton, what: str, dims: int = 3) -> np.ndarray:
    """(T, J, dims) or (J, dims) -> float64 (T, J, dims); ValueError naming the shape otherwise."""
    a = as_array(x, what)
    if a.ndim == 2:
        a = a[None]
    if a.ndim != 3 or a.shape[1] != skeleton.num_joints or a.shape[2] != dims or a.shape[0] == 0:
        raise ValueError(f"{what}: expected shape (T, {skeleton.num_joints}, {dims}) or ({skeleton.num_joints}, "
                         f"{dims}) for the {skeleton.num_joints} joints of skeleton '{skeleton.name}', got shape "
                         f"{tuple(np.shape(x))}")
    return a


def pose_dict(poses, skeleton: Skeleton, names, what: str, dims: int = 3) -> dict[str, np.ndarray]:
    """An array, a list of arrays or a {label: array} dict -> {label: (T, J, dims)}; `names` overrides labels."""
    if isinstance(poses, Mapping):
        items = list(poses.items())
    elif isinstance(poses, (list, tuple)) and len(poses) and np.ndim(poses[0]) >= 2:
        items = [(f"poses {i}", p) for i, p in enumerate(poses)]
    else:
        items = [(what, poses)]
    if not items:
        raise ValueError(f"{what}: nothing to draw (empty dict)")
    if names is not None:
        names = [names] if isinstance(names, str) else list(names)
        if len(names) != len(items):
            raise ValueError(f"names: {len(names)} names for {len(items)} pose sets")
        items = [(n, p) for n, (_, p) in zip(names, items)]
    return {str(k): check_poses(v, skeleton, f"{what} {k!r}", dims) for k, v in items}


# ----------------------------------------------------------------------------------------------- colours, bones

def hex_to_rgb(colour: str) -> np.ndarray:
    """'#rrggbb' -> float array (3,) in 0..255."""
    c = colour.lstrip("#")
    return np.array([int(c[i:i + 2], 16) for i in (0, 2, 4)], dtype=np.float64)


def shade(colour: str, side: str) -> str:
    """The colour of a bone on `side` ('left', 'right', 'centre') of a pose set drawn in `colour`."""
    rgb = hex_to_rgb(colour)
    if side == "left":
        rgb = rgb * 0.6
    elif side == "right":
        rgb = rgb + (255 - rgb) * 0.5
    r, g, b = np.round(rgb).astype(int)
    return f"#{r:02x}{g:02x}{b:02x}"


def palette_colour(i: int) -> str:
    """The i-th pose set's colour (cycling through PALETTE)."""
    return PALETTE[i % len(PALETTE)]


def chains(skeleton: Skeleton) -> list[tuple[str, list[int]]]:
    """Split the kinematic tree into polylines whose bones all lie on one side: [(side, [joint, ...])].

    A bone's side is its child joint's side; each chain starts at the parent of its first bone. A joint set with
    several roots (parent -1) is drawn tree by tree.
    """
    children = {j: [] for j in range(skeleton.num_joints)}
    for c, p in skeleton.bones:
        children[p].append(c)
    roots = [skeleton.root] + [j for j, p in enumerate(skeleton.parents) if p < 0 and j != skeleton.root]
    out: list[tuple[str, list[int]]] = []
    stack = [(r, None) for r in reversed(roots)]
    while stack:
        joint, chain = stack.pop()
        for i, c in enumerate(children[joint]):
            side = skeleton.side(c)
            if chain is not None and i == 0 and chain[0] == side:  # continue the chain through its first child
                chain[1].append(c)
                stack.append((c, chain))
            else:
                new = (side, [joint, c])
                out.append(new)
                stack.append((c, new))
    return out


def polyline(skeleton: Skeleton, sides: Seq[str] = ("centre", "left", "right")):
    """Vertex order drawing every bone of the given sides once: (joint index per vertex, -1 = gap; side per vertex)."""
    idx, side_of = [], []
    for side, chain in chains(skeleton):
        if side in sides:
            idx += chain + [-1]
            side_of += [side] * (len(chain) + 1)
    return np.array(idx[:-1], dtype=int), side_of[:-1]


def gapped(a: np.ndarray, idx: np.ndarray, decimals: int = 3) -> list:
    """Coordinates a[idx] (one axis) rounded to `decimals`, with None where idx == -1 (a gap in the line)."""
    vals = np.round(a[np.maximum(idx, 0)], decimals)
    return [None if i < 0 or not np.isfinite(v) else float(v) for i, v in zip(idx, vals)]


def plot3d(p: np.ndarray) -> np.ndarray:
    """Camera-frame (..., 3) [x right, y down, z depth] -> plot coordinates (x, z, -y): z of the plot is up."""
    return np.stack([p[..., 0], p[..., 2], -p[..., 1]], axis=-1)


def equal_ranges(points: np.ndarray, pad: float = 0.08, min_ratio: float = 0.4) -> list[list[float]]:
    """[lo, hi] per axis covering every finite point (..., 3), for a box drawn at equal scale on all axes.

    Each half-length is at least `min_ratio` of the longest so the box is never paper-thin; pair with
    `aspect(ranges)` so that a metre has the same length along every axis.
    """
    p = points.reshape(-1, points.shape[-1])
    p = p[np.isfinite(p).all(axis=1)]
    if not len(p):
        raise ValueError("no finite coordinates to draw (all NaN or inf)")
    lo, hi = p.min(axis=0), p.max(axis=0)
    half = np.maximum((hi - lo) / 2 * (1 + pad), 0.05)
    half = np.maximum(half, min_ratio * half.max())
    centre = (lo + hi) / 2
    return [[round(float(c - h), 3), round(float(c + h), 3)] for c, h in zip(centre, half)]


def aspect(ranges) -> dict:
    """plotly scene aspect ratio {x, y, z} for `equal_ranges` output: the same length per metre on every axis."""
    spans = np.array([hi - lo for lo, hi in ranges])
    return {k: round(float(v), 3) for k, v in zip("xyz", spans / spans.max())}


def subsample(num_frames: int, max_frames: int, keep: Seq[int] = ()) -> np.ndarray:
    """At most `max_frames` frame indices, evenly spread, always the first and last, plus the frames in `keep`."""
    if max_frames < 2:
        raise ValueError(f"max_frames must be at least 2, got {max_frames}")
    if num_frames <= max_frames:
        return np.arange(num_frames)
    keep = np.unique([k for k in keep if 0 <= k < num_frames]).astype(int)
    if len(keep) > max_frames - 2:
        keep = keep[np.round(np.linspace(0, len(keep) - 1, max_frames - 2)).astype(int)]
    n_even = max_frames - len(keep)
    even = np.round(np.linspace(0, num_frames - 1, n_even)).astype(int)
    return np.union1d(even, keep)  # at most n_even + len(keep) == max_frames indices
