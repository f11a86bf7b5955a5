"""Global Position Alignment (GPA, PoseDA Sec. 3.2; no learnable parameters), after the authors' "core code" in the
README of `rese1f/PoseDA` (the same maths is in `hbing-l/PoSynDA`, `h36m_3dhp_transfer.py`): every source 3D pose is
moved to the root position and 2D scale of a randomly paired target 2D pose, seen by the target camera.

Shapes: 3D poses (N, J, 3) camera-frame metres (x right, y down, z forward), joint 0 = root; 2D (N, J, 2)
screen-normalised (VideoPose3D: X / w * 2 - [1, h / w]); intrinsics (N, 4) = [f_x, f_y, c_x, c_y] normalised
the same way (`Camera.intrinsics[:4]`). numpy in, numpy out; torch in, torch out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...camera import Camera
from ...data.dataset import PoseDataset

# ============================================================================ helpers

def _torch(x, dtype=torch.float32) -> tuple[torch.Tensor, bool]:
    """(tensor, was_numpy)."""
    if isinstance(x, torch.Tensor):
        return x, False
    return torch.as_tensor(np.asarray(x), dtype=dtype), True


def _back(x: torch.Tensor, was_numpy: bool):
    return x.detach().cpu().numpy() if was_numpy else x


def _check_shape(x, last: int, name: str, ndim: int = 3):
    if x.ndim != ndim or x.shape[-1] != last:
        want = "(N, J, %d)" % last if ndim == 3 else "(N, %d)" % last
        raise ValueError(f"{name} must have shape {want}, got {tuple(x.shape)}")


def _intrinsics4(intrinsics, n: int, like: torch.Tensor) -> torch.Tensor:
    """(4,), (N, 4) or (N, 9) / (9,) VideoPose3D vectors -> (N, 4) [f_x, f_y, c_x, c_y]."""
    k, _ = _torch(intrinsics)
    k = k.to(like)
    if k.ndim == 1:
        k = k[None].expand(n, -1)
    if k.ndim != 2 or k.shape[-1] not in (4, 9) or k.shape[0] not in (1, n):
        raise ValueError(f"intrinsics must be (4,), (N, 4) or (N, 9) [f_x, f_y, c_x, c_y, ...] normalised like the "
                         f"2D; got shape {tuple(k.shape)} for N = {n}")
    return k[:, :4].expand(n, 4)


# ============================================================================ Sec. 3.2: Global Position Alignment

def bbox_scale(keypoints_2d):
    """2D scale of each pose, s = (w + h) / 2 of its joints' bounding box (GPA step 2). (N, J, 2) -> (N,)."""
    kp, was_np = _torch(keypoints_2d)
    _check_shape(kp, 2, "keypoints_2d")
    w = kp[..., 0].amax(-1) - kp[..., 0].amin(-1)
    h = kp[..., 1].amax(-1) - kp[..., 1].amin(-1)
    return _back((w + h) / 2, was_np)


def gpa_depth(source_3d, scale, focal):
    """GPA step 4: the depth z = (f_x dx + f_y dy) / (2 s) at which the source pose's 3D extent (dx, dy) projects
    to the target's 2D scale s (pinhole: projected width ~ f_x dx / z, height ~ f_y dy / z).

    source_3d (N, J, 3) metres; scale (N,); focal (N, 2) = (f_x, f_y). Returns (N,) metres.
    """
    p, was_np = _torch(source_3d)
    s, _ = _torch(scale)
    f, _ = _torch(focal)
    dx = p[..., 0].amax(-1) - p[..., 0].amin(-1)
    dy = p[..., 1].amax(-1) - p[..., 1].amin(-1)
    z = (f[..., 0].to(p) * dx + f[..., 1].to(p) * dy) / (2 * s.to(p).clamp_min(1e-6))
    return _back(z, was_np)


def global_position_alignment(source_3d, target_2d, intrinsics):
    """GPA (Sec. 3.2; the README's `gpa`): move each source pose to the root and 2D scale of its paired target.

    source_3d (N, J, 3) camera-frame metres (absolute or root-relative: only the shape is used); target_2d
    (N, J, 2) the *already paired* target 2D poses; intrinsics of the target camera of each pair, (4,), (N, 4) or
    (N, 9) normalised [f_x, f_y, c_x, c_y, ...]. Returns the re-positioned poses (N, J, 3): the root-relative
    shape and camera-frame orientation are unchanged, the root moves to
    z * ((u0 - c_x) / f_x, (v0 - c_y) / f_y, 1) with z from `gpa_depth` and (u0, v0) the target's root joint.
    numpy in, numpy out; torch in, torch out (differentiable, used inside LPA's training).
    """
    p, was_np = _torch(source_3d)
    t, _ = _torch(target_2d)
    t = t.to(p)
    _check_shape(p, 3, "source_3d")
    _check_shape(t, 2, "target_2d")
    if p.shape[:2] != t.shape[:2]:
        raise ValueError(f"source_3d {tuple(p.shape)} and target_2d {tuple(t.shape)} must have the same N and J "
                         f"(pair them first, e.g. with pair_randomly)")
    k = _intrinsics4(intrinsics, len(p), p)
    f, c = k[:, :2], k[:, 2:4]
    z = gpa_depth(p, bbox_scale(t), f)                             # steps 2-4
    uv = (t[:, 0] - c) / f                                         # step 5: back-project the target root
    root = torch.cat([z[:, None] * uv, z[:, None]], -1)           # step 6
    out = p - p[:, :1] + root[:, None]                             # step 7
    return _back(out, was_np)


def pair_randomly(n_source: int, n_target: int, rng: np.random.Generator) -> np.ndarray:
    """GPA step 1: a target index for every source sample. A random permutation when the sets are equally large
    (the README), else a random sub-selection (PoSynDA) or, if the target set is smaller, draws with replacement."""
    if n_target <= 0:
        raise ValueError("the target set is empty: GPA needs target 2D keypoints to pair with")
    if n_target == n_source:
        return rng.permutation(n_target)
    if n_target > n_source:
        return rng.permutation(n_target)[:n_source]
    return rng.integers(0, n_target, n_source)


def project_pinhole(x_cam, intrinsics):
    """Linear projection (no distortion) of camera-frame points (N, J, 3) with (N, 4) / (4,) normalised
    [f_x, f_y, c_x, c_y]: f * (x / z, y / z) + c. After GPA the projected root lands exactly on the target root."""
    x, was_np = _torch(x_cam)
    _check_shape(x, 3, "x_cam")
    k = _intrinsics4(intrinsics, len(x), x)
    uv = x[..., :2] / x[..., 2:3].clamp_min(1e-6)
    return _back(uv * k[:, None, :2] + k[:, None, 2:4], was_np)


class GlobalPositionAlignment(nn.Module):
    """GPA as a module with no learnable parameters (the paper's point: the gain costs no parameters).

    forward(source_3d (N, J, 3), target_2d (N, J, 2), intrinsics) -> (aligned 3D (N, J, 3), re-projected 2D
    (N, J, 2)); pairing is the caller's (`pair_randomly`).
    """

    def forward(self, source_3d, target_2d, intrinsics):
        aligned = global_position_alignment(source_3d, target_2d, intrinsics)
        return aligned, project_pinhole(aligned, intrinsics)


def domain_statistics(keypoints_2d) -> dict[str, np.ndarray]:
    """The three quantities of the supplement's Fig. S1, per pose: 2D scale and root x, root y. (N, J, 2) -> dict."""
    kp = np.asarray(keypoints_2d)
    return {"2D scale": np.asarray(bbox_scale(kp)), "root x": kp[:, 0, 0], "root y": kp[:, 0, 1]}


@dataclass
class TargetPool:
    """The unlabelled target domain as GPA and LPA see it: 2D keypoints and the camera of every frame, no 3D.

    keypoints_2d (M, J, 2); camera_of (M,) index into `cameras`; intrinsics (M, 4) [f_x, f_y, c_x, c_y];
    sequence_of / frame_of (M,) where each frame came from (for sequence pairing).
    """

    keypoints_2d: np.ndarray
    cameras: list[Camera]
    camera_of: np.ndarray
    sequence_of: np.ndarray
    frame_of: np.ndarray
    name: str = "target"

    @property
    def intrinsics(self) -> np.ndarray:
        table = np.stack([c.intrinsics[:4] for c in self.cameras]).astype(np.float32)
        return table[self.camera_of]

    def __len__(self) -> int:
        return len(self.keypoints_2d)

    @classmethod
    def from_dataset(cls, dataset: PoseDataset) -> "TargetPool":
        """Take the 2D inputs and cameras of `dataset` (its 3D is never read)."""
        if len(dataset) == 0:
            raise ValueError(f"target dataset {dataset.name!r} has no sequences")
        kps, cam_of, seq_of, frame_of = [], [], [], []
        for i, s in enumerate(dataset):
            kps.append(s.keypoints_2d)
            cam_of.append(np.full(s.num_frames, i))
            seq_of.append(np.full(s.num_frames, i))
            frame_of.append(np.arange(s.num_frames))
        return cls(np.concatenate(kps).astype(np.float32), [s.camera for s in dataset], np.concatenate(cam_of),
                   np.concatenate(seq_of), np.concatenate(frame_of), name=dataset.name)

    def sample(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """n random (2D (n, J, 2), intrinsics (n, 4)) pairs."""
        idx = rng.integers(0, len(self), n)
        return self.keypoints_2d[idx], self.intrinsics[idx]
