"""PoseDA: "Global Adaptation meets Local Generalization: Unsupervised Domain Adaptation for 3D Human Pose
Estimation", Chai, Jiang, Hwang, Wang, ICCV 2023 (arXiv 2303.16456). Facts: `shared/reference/poseda.md`.

PoseDA adapts a 2D-to-3D lifter trained on a labelled *source* dataset (Human3.6M) to an unlabelled *target*
dataset (MPI-INF-3DHP) using only the target's 2D keypoints and camera intrinsics, never its 3D labels:

1. Global Position Alignment (GPA, Sec. 3.2; no learnable parameters) moves every source 3D pose to the root
   position and 2D scale of a randomly paired target 2D pose, seen by the target camera; the re-projected source
   2D then follows the target's distribution of positions and sizes on the image.
2. Local Pose Augmentation (LPA, Sec. 3.3) widens the variety of local pose structures: a generator outputs the
   parameters of pre-defined transformations (bone angles, bone lengths, a rotation), trained adversarially
   against an "anchor" discriminator that keeps the augmented poses realistic.
3. The lifter is then trained, separately, on the GPA-aligned source data plus the aligned augmented data.

What is the paper's and what is reconstructed here
--------------------------------------------------
- GPA follows the authors' public "core code" (the README of rese1f/PoseDA, the only code they released; the same
  maths is in hbing-l/PoSynDA): random pairing, s = (w + h) / 2 of the target 2D box, z = (f_x dx + f_y dy) / 2s,
  root = z * ((u0 - c_x) / f_x, (v0 - c_y) / f_y, 1). Departures, both deliberate: (a) the official code uses the
  focal length of row 0 for the whole batch; here every pair uses its own target camera (identical when the
  target has one camera, correct when it has several, as 3DHP's TS5-6 or posekit's synth-3dhp do); (b) the
  camera vector is read as [f_x, f_y, c_x, c_y] in VideoPose3D's normalisation (both axes divided by the image
  width), which is what the official code effectively does (its docstring's "cx, cy, fx, fy" is wrong).
- LPA is NOT public. It is reconstructed from the paper's abstract, the author's answer in PoseDA issue #1 (the
  augmented data is generated first and the lifter trained on it afterwards: no feedback loss between generator
  and lifter) and PoseAug (Zhang et al., CVPR 2021), the documented base: its bone-angle (BA), bone-length (BL)
  and rotation generators (PoseAug's 256-wide MLP template, Kaiming init), its part-aware KCS 3D discriminator
  and 2D discriminator, LSGAN losses with a 4096-sample history pool, and its range regularisers. Reconstruction
  choices, each a guess that the paper might not share:
    * no translation generator (PoseAug's RT has one): GPA already sets the global position (PoseDA issue #3);
    * the rotation is bounded by `max_rotation` (default pi / 4; PoseAug uses pi);
    * "anchor discriminator": the real samples (anchors) are the source 3D poses for the KCS discriminator and
      the *target-domain* 2D poses for the 2D discriminator (AdaptPose's choice), the 2D taken root-relative and
      divided by the 2D box scale so that it judges local structure, not position (GPA's job);
    * the output layers start small (std `out_init`) so that a short CPU schedule starts near the identity;
      PoseAug initialises them like every other layer;
    * a consequence worth knowing: the KCS critic sees unit bones and the 2D critic scale-normalised 2D, so neither
      sees a uniform change of bone lengths; with PoseAug's feedback loss removed (as PoseDA does) only 2D
      proportions and the range penalty steer BL (in posekit's cpu runs its ratios settle near the -10 % bound);
    * posekit's 17 Human3.6M joints (PoseAug: 16, without Neck/Nose); at PoseAug's 16-joint skeleton with the
      translation branch the generator and discriminators have exactly PoseAug's parameter counts (tests).
- Backbone: the single-frame VideoPose3D lifter of PoseAug's framework (filter widths 1,1,1,1,1, 1024 channels,
  dropout 0.25), which the GPA table of the README uses; any posekit lifter works with `adapt`.

Section numbers follow the paper's method section (3.2 GPA, 3.3 LPA) as cited in `shared/reference/poseda.md`; the
paper body itself was not checked line by line (its PDF is not in the reference material).

Shapes: 3D poses (N, J, 3) camera-frame metres (x right, y down, z forward), joint 0 = root; 2D (N, J, 2)
screen-normalised (VideoPose3D: X / w * 2 - [1, h / w]); intrinsics (N, 4) = [f_x, f_y, c_x, c_y] normalised
the same way (`Camera.intrinsics[:4]`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ..camera import Camera
from ..data.dataset import PoseDataset
from ..nn.contract import configuration
from ..nn.tcn import TemporalConvLifter
from ..skeleton import H36M_17, Skeleton

# ============================================================================ the backbone (README's GPA table)

CONFIGS = {
    # PoseAug's single-frame VideoPose3D ("videopose", stages 4): widths 1,1,1,1,1, 1024 channels, dropout 0.25.
    "paper": dict(filter_widths=(1, 1, 1, 1, 1), channels=1024, dropout=0.25),
    "gpu": dict(filter_widths=(1, 1, 1, 1, 1), channels=1024, dropout=0.25),
    "cpu": dict(filter_widths=(1, 1, 1), channels=512, dropout=0.1),
    "smoke": dict(filter_widths=(1, 1), channels=128, dropout=0.1),
}


def build(config: str = "cpu", frames: int | None = None, **overrides) -> TemporalConvLifter:
    """The single-frame VideoPose3D lifter PoseDA adapts (receptive field 1, output 'center').

    Input (B, 1, J, 2), output (B, 1, J, 3). At 'paper' and 17 joints: 8,494,131 parameters (PoseAug's 16-joint
    model, which predicts 15 joints and pads the root, has 8,485,933; see tests/test_poseda.py).
    """
    if frames not in (None, 1):
        raise ValueError(f"PoseDA's backbone is single-frame (frames=1), got frames={frames}; adapt any other "
                         f"posekit lifter with posekit.methods.poseda.adapt")
    return TemporalConvLifter(**configuration(CONFIGS, config, **overrides))


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


def align_dataset(source: PoseDataset, target: TargetPool, seed: int = 0, pairing: str = "frame") -> PoseDataset:
    """GPA applied to a whole source dataset: a new PoseDataset whose 2D inputs are the aligned poses projected with
    the paired target cameras (the 3D labels stay the same root-relative poses).

    pairing 'frame': every source frame gets its own random target frame (the paper's per-sample GPA; right for
    single-frame lifters). 'sequence': every source sequence is paired with a random target sequence, frame t
    with its frame t (cycled), so that the aligned trajectory stays smooth for temporal lifters (posekit's
    extension; the paper's backbones are single-frame). Each Sequence's `camera` is the target camera of its
    first paired frame.
    """
    if pairing not in ("frame", "sequence"):
        raise ValueError(f"pairing must be 'frame' or 'sequence', got {pairing!r}")
    rng = np.random.default_rng(seed)
    total = source.num_frames
    if pairing == "frame":
        idx = pair_randomly(total, len(target), rng)
    else:
        starts = np.r_[0, np.flatnonzero(np.diff(target.sequence_of)) + 1]
        lengths = np.diff(np.r_[starts, len(target)])
        idx = []
        for s in source:
            k = rng.integers(len(starts))
            offset = rng.integers(lengths[k])
            idx.append(starts[k] + (offset + np.arange(s.num_frames)) % lengths[k])
        idx = np.concatenate(idx)
    poses = np.concatenate([s.poses_3d for s in source]).astype(np.float32)
    intr = target.intrinsics[idx]
    aligned = global_position_alignment(poses, target.keypoints_2d[idx], intr)
    kp = project_pinhole(aligned, intr).astype(np.float32)
    sequences, start = [], 0
    for s in source:
        sl = slice(start, start + s.num_frames)
        sequences.append(replace(s, camera=target.cameras[target.camera_of[idx[start]]], keypoints_2d=kp[sl],
                                 keypoints_2d_gt=kp[sl], trajectory=aligned[sl, 0].astype(np.float32),
                                 confidence=None))
        start += s.num_frames
    return replace(source, name=f"{source.name}+GPA", sequences=sequences,
                   info={**source.info, "gpa": {"target": target.name, "seed": seed, "pairing": pairing}})


# ============================================================================ Sec. 3.3: Local Pose Augmentation

# PoseAug's 16-joint skeleton: Human3.6M-17 without Neck/Nose (bones 0-1, 1-2, 2-3, 0-4, ..., 8-13, 13-14, 14-15).
POSEAUG_16 = Skeleton(
    name="poseaug16",
    joint_names=("Hip", "RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "Spine", "Thorax", "Head",
                 "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist"),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 8, 10, 11, 8, 13, 14),
    joints_left=(4, 5, 6, 10, 11, 12),
    joints_right=(1, 2, 3, 13, 14, 15),
)

# The five body parts of PoseAug's part-aware KCS discriminator, by the child joint of each bone. PoseAug labels
# them lh, rh, ll, rl, hb; its 'll' holds the Human3.6M *right* leg (bones 0-2), so its labels are nominal.
KCS_PARTS = {
    "left arm": ("Thorax", "LShoulder", "LElbow", "LWrist"),
    "right arm": ("Thorax", "RShoulder", "RElbow", "RWrist"),
    "right leg": ("RHip", "RKnee", "RFoot", "LHip", "Spine"),
    "left leg": ("RHip", "LHip", "LKnee", "LFoot", "Spine"),
    "torso": ("RHip", "LHip", "Spine", "Thorax", "Neck/Nose", "Head", "LShoulder", "RShoulder"),
}
FIXED_ANGLE_BONES = ("Spine", "Thorax")  # PoseAug keeps pelvis -> spine -> thorax: no pure global rotation via BA
FIXED_LENGTH_BONES = ("Thorax",)         # PoseAug masks this ratio (a tall person far = a short person near)


class BoneModel(nn.Module):
    """Bone vectors of a skeleton and back (PoseAug's incidence matrices, written for any joint set).

    bones(pose (N, J, 3)) -> (N, J-1, 3), bone b = joint b+1 - its parent (joints must be ordered parents first);
    pose(bones) -> root-relative (N, J, 3), the inverse (a sum of the bones on the path from the root).
    """

    def __init__(self, skeleton: Skeleton = H36M_17):
        super().__init__()
        parents = skeleton.parents
        if parents[0] != -1 or any(p >= j for j, p in enumerate(parents) if j > 0):
            raise ValueError(f"skeleton {skeleton.name}: joint 0 must be the root and parents must precede children")
        j = len(parents)
        inc = torch.zeros(j - 1, j)
        path = torch.zeros(j, j - 1)
        for c in range(1, j):
            inc[c - 1, c], inc[c - 1, parents[c]] = 1.0, -1.0
            path[c] = path[parents[c]]
            path[c, c - 1] = 1.0
        self.skeleton = skeleton
        self.register_buffer("incidence", inc, persistent=False)
        self.register_buffer("path", path, persistent=False)

    @property
    def num_bones(self) -> int:
        return self.incidence.shape[0]

    def bone_index(self, names) -> list[int]:
        """Bone indices of the bones ending at the named joints (names the skeleton lacks are skipped)."""
        return [self.skeleton.joint_names.index(n) - 1 for n in names if n in self.skeleton.joint_names]

    def bones(self, pose: torch.Tensor) -> torch.Tensor:
        return self.incidence @ pose

    def pose(self, bones: torch.Tensor) -> torch.Tensor:
        return self.path @ bones


def _mlp_stage(width: int) -> nn.Sequential:
    """PoseAug's `Linear` block: two Linear-BN-LeakyReLU layers (no residual connection)."""
    return nn.Sequential(nn.Linear(width, width), nn.BatchNorm1d(width), nn.LeakyReLU(),
                         nn.Linear(width, width), nn.BatchNorm1d(width), nn.LeakyReLU())


class ParameterMLP(nn.Module):
    """PoseAug's generator template: [input, Gaussian noise] -> Linear(256)-BN-LeakyReLU -> 2 stages -> Linear(out).

    Kaiming-normal init of the Linear weights as PoseAug; the output layer's weights are drawn with std `out_init`
    when given (posekit: start near the identity transformation), else Kaiming like the rest.
    """

    def __init__(self, in_dim: int, out_dim: int, noise_dim: int = 48, width: int = 256, stages: int = 2,
                 out_init: float | None = 1e-3):
        super().__init__()
        self.noise_dim = noise_dim
        self.inp = nn.Sequential(nn.Linear(in_dim + noise_dim, width), nn.BatchNorm1d(width), nn.LeakyReLU())
        self.stages = nn.Sequential(*[_mlp_stage(width) for _ in range(stages)])
        self.out = nn.Linear(width, out_dim)
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.kaiming_normal_(m.weight)
        if out_init is not None:
            nn.init.normal_(self.out.weight, std=out_init)
            nn.init.zeros_(self.out.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        noise = torch.randn(len(x), self.noise_dim, device=x.device, dtype=x.dtype)
        return self.out(self.stages(self.inp(torch.cat([x, noise], -1))))


class BoneAngleGenerator(nn.Module):
    """BA (PoseAug's BAGenerator): rotate every bone direction, keep every length.

    u' = normalise(u + g(pose, noise)) for the unit bone vectors u, except the pelvis -> spine -> thorax bones.
    Returns the new pose (N, J, 3) root-relative and ba_diff = 1 - cos(angle change) per bone (N, J-1).
    """

    def __init__(self, bones: BoneModel, noise_dim: int | None = None, out_init: float | None = 1e-3):
        super().__init__()
        j = bones.num_bones + 1
        self.bone_model = bones
        self.net = ParameterMLP(3 * j, 3 * (j - 1), noise_dim or 3 * j, out_init=out_init)
        mask = torch.ones(j - 1, 1)
        mask[bones.bone_index(FIXED_ANGLE_BONES)] = 0.0
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, pose: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = pose - pose[:, :1]
        b = self.bone_model.bones(x)
        length = b.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        unit = b / length
        delta = self.net(x.flatten(1)).view_as(unit)
        new = unit + delta
        new = new / new.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        new = self.mask * new + (1 - self.mask) * unit
        ba_diff = 1 - (new * unit).sum(-1)
        return self.bone_model.pose(new * length), ba_diff


def bone_length_groups(bones: BoneModel) -> np.ndarray:
    """(ratios, bones) 0/1 matrix sharing one length ratio between each left bone and its right twin (PoseAug's
    9 -> 15 `blaugment9to15` at 16 joints; 10 ratios for posekit's 17 joints)."""
    flip = bones.skeleton.flip_permutation
    keys = [min(c, int(flip[c])) for c in range(1, bones.num_bones + 1)]
    order = list(dict.fromkeys(keys))
    m = np.zeros((len(order), bones.num_bones), dtype=np.float32)
    for b, k in enumerate(keys):
        m[order.index(k), b] = 1.0
    return m


class BoneLengthGenerator(nn.Module):
    """BL (PoseAug's BLGenerator): scale bone lengths by (1 + r), r = tanh(g(pose, lengths, noise)) * limit,
    one ratio per left/right bone pair, the spine -> thorax ratio held at 0. Returns (pose (N, J, 3), r (N, R))."""

    def __init__(self, bones: BoneModel, noise_dim: int | None = None, limit: float = 0.2,
                 out_init: float | None = 1e-3):
        super().__init__()
        j = bones.num_bones + 1
        self.bone_model, self.limit = bones, limit
        groups = torch.from_numpy(bone_length_groups(bones))
        mask = torch.ones(len(groups))
        for b in bones.bone_index(FIXED_LENGTH_BONES):
            mask[groups[:, b] > 0] = 0.0
        self.register_buffer("groups", groups, persistent=False)
        self.register_buffer("mask", mask, persistent=False)
        self.net = ParameterMLP(3 * j + (j - 1), len(groups), noise_dim or 3 * j, out_init=out_init)

    def forward(self, pose: torch.Tensor, augmented: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = pose - pose[:, :1]
        lengths = self.bone_model.bones(x).norm(dim=-1)
        r = torch.tanh(self.net(torch.cat([x.flatten(1), lengths], -1)) * self.mask) * self.limit
        b = self.bone_model.bones(augmented - augmented[:, :1])
        return self.bone_model.pose(b * (1 + r @ self.groups)[..., None]), r


def axis_angle_to_matrix(r: torch.Tensor) -> torch.Tensor:
    """Rodrigues: axis-angle (N, 3) -> rotation matrices (N, 3, 3)."""
    theta = r.norm(dim=-1, keepdim=True).clamp_min(1e-8)
    k = r / theta
    kx, ky, kz = k.unbind(-1)
    zero = torch.zeros_like(kx)
    km = torch.stack([zero, -kz, ky, kz, zero, -kx, -ky, kx, zero], -1).view(-1, 3, 3)
    s, c = torch.sin(theta)[..., None], torch.cos(theta)[..., None]
    eye = torch.eye(3, dtype=r.dtype, device=r.device).expand_as(km)
    return eye + s * km + (1 - c) * (km @ km)


class RotationGenerator(nn.Module):
    """RT without T (PoseAug's RTGenerator minus its translation branch, which GPA replaces): a global rotation
    r = tanh(g(pose, noise)) * max_rotation as an axis-angle, applied about the root. Returns (pose, r (N, 3)).
    `translation=True` adds PoseAug's translation branch (only for parameter parity; its output is unused)."""

    def __init__(self, joints: int, noise_dim: int | None = None, max_rotation: float = math.pi / 4,
                 translation: bool = False, out_init: float | None = 1e-3):
        super().__init__()
        self.max_rotation = max_rotation
        self.net = ParameterMLP(3 * joints, 3, noise_dim or 3 * joints, out_init=out_init)
        self.translation = ParameterMLP(3 * joints, 3, noise_dim or 3 * joints, out_init=out_init) \
            if translation else None

    def forward(self, pose: torch.Tensor, augmented: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = pose - pose[:, :1]
        r = torch.tanh(self.net(x.flatten(1))) * self.max_rotation
        y = augmented - augmented[:, :1]
        return y @ axis_angle_to_matrix(r).transpose(1, 2), r


class LPAGenerator(nn.Module):
    """The augmentation generator: pose -> BA -> BL -> rotation (PoseAug's order), parameters from three MLPs.

    forward(pose (N, J, 3)) -> dict: 'pose' (N, J, 3) root-relative augmented pose, 'pose_ba', 'pose_bl' (the
    intermediate poses), 'ba_diff' (N, J-1), 'blr' (N, R) bone-length ratios, 'rotation' (N, 3) axis-angle.
    """

    def __init__(self, skeleton: Skeleton = H36M_17, max_rotation: float = math.pi / 4, bl_limit: float = 0.2,
                 translation: bool = False, noise_dim: int | None = None, out_init: float | None = 1e-3):
        super().__init__()
        self.skeleton = skeleton
        bones = BoneModel(skeleton)
        self.ba = BoneAngleGenerator(bones, noise_dim, out_init)
        self.bl = BoneLengthGenerator(bones, noise_dim, bl_limit, out_init)
        self.rt = RotationGenerator(skeleton.num_joints, noise_dim, max_rotation, translation, out_init)

    def forward(self, pose: torch.Tensor) -> dict[str, torch.Tensor]:
        if pose.ndim != 3 or pose.shape[1:] != (self.skeleton.num_joints, 3):
            raise ValueError(f"LPAGenerator expects poses (N, {self.skeleton.num_joints}, 3), got "
                             f"{tuple(pose.shape)}")
        if len(pose) < 2 and self.training:
            raise ValueError("training-mode BatchNorm needs at least 2 poses; call .eval() to augment one pose")
        pose_ba, ba_diff = self.ba(pose)
        pose_bl, blr = self.bl(pose, pose_ba)
        out, r = self.rt(pose, pose_bl)
        return {"pose": out, "pose_ba": pose_ba, "pose_bl": pose_bl, "ba_diff": ba_diff, "blr": blr, "rotation": r}


class KCSPath(nn.Module):
    """One part of the KCS discriminator: the flattened Gram matrix of its bones (B^2) -> 256 -> 256 -> 256 (+ the
    first layer's output) -> 100 -> 1, LeakyReLU (PoseAug's KCSpath)."""

    def __init__(self, in_dim: int, width: int = 256, mid: int = 100):
        super().__init__()
        self.l1, self.l2, self.l3 = nn.Linear(in_dim, width), nn.Linear(width, width), nn.Linear(width, width)
        self.last, self.pred = nn.Linear(width, mid), nn.Linear(mid, 1)
        self.act = nn.LeakyReLU()

    def forward(self, psi: torch.Tensor) -> torch.Tensor:
        h = self.act(self.l1(psi))
        y = self.l3(self.act(self.l2(h))) + h
        return self.pred(self.act(self.last(y)))


class KCSDiscriminator(nn.Module):
    """Part-aware Kinematic Chain Space 3D discriminator (PoseAug's Pos3dDiscriminator, after Wandt & Rosenhahn).

    For each of five parts, Psi = B B^T of the *unit* bone vectors with the other bones masked out, (N, B, B),
    flattened into its own `KCSPath`. Unit bones make it judge angles between bones only (not lengths, not the
    global rotation: Psi is rotation invariant). pose (N, J, 3) -> scores (N, 5).
    """

    def __init__(self, skeleton: Skeleton = H36M_17, width: int = 256):
        super().__init__()
        self.bone_model = BoneModel(skeleton)
        nb = self.bone_model.num_bones
        masks = torch.zeros(len(KCS_PARTS), nb, 1)
        for i, names in enumerate(KCS_PARTS.values()):
            masks[i, self.bone_model.bone_index(names)] = 1.0
        self.register_buffer("masks", masks, persistent=False)
        self.paths = nn.ModuleList(KCSPath(nb * nb, width) for _ in KCS_PARTS)

    def kcs(self, pose: torch.Tensor) -> torch.Tensor:
        """The per-part KCS matrices (N, 5, B, B)."""
        b = self.bone_model.bones(pose - pose[:, :1])
        b = b / b.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        bm = b[:, None] * self.masks[None]
        return bm @ bm.transpose(-1, -2)

    def forward(self, pose: torch.Tensor) -> torch.Tensor:
        psi = self.kcs(pose).flatten(2)
        return torch.cat([path(psi[:, i]) for i, path in enumerate(self.paths)], -1)


class PoseDiscriminator2D(nn.Module):
    """PoseAug's Pos2dDiscriminator: (N, J, 2) -> J*2 -> 100 -> 100 -> 100 (+ skip) -> 100 -> 100 -> 1."""

    def __init__(self, joints: int = 17, width: int = 100):
        super().__init__()
        self.l1, self.l2 = nn.Linear(2 * joints, width), nn.Linear(width, width)
        self.l3, self.l4 = nn.Linear(width, width), nn.Linear(width, width)
        self.last, self.pred = nn.Linear(width, width), nn.Linear(width, 1)
        self.act = nn.LeakyReLU()

    def forward(self, kp: torch.Tensor) -> torch.Tensor:
        d1 = self.act(self.l1(kp.flatten(1)))
        d3 = self.act(self.l3(self.act(self.l2(d1))) + d1)
        return self.pred(self.act(self.last(self.l4(d3))))


def normalize_2d_for_discriminator(kp: torch.Tensor) -> torch.Tensor:
    """Root-relative 2D divided by the 2D box scale: the local structure of a 2D pose, free of position and size
    (both GPA's business). (N, J, 2) -> (N, J, 2). posekit's reading of the 'anchor' 2D input."""
    return (kp - kp[:, :1]) / bbox_scale(kp).clamp_min(1e-6)[:, None, None]


class AnchorDiscriminator(nn.Module):
    """The anchor discriminator (reconstructed): the KCS 3D discriminator, whose real samples (anchors) are source
    3D poses, and the 2D discriminator, whose anchors are target-domain 2D poses. forward returns (N, 5), (N, 1)."""

    def __init__(self, skeleton: Skeleton = H36M_17):
        super().__init__()
        self.d3 = KCSDiscriminator(skeleton)
        self.d2 = PoseDiscriminator2D(skeleton.num_joints)

    def forward(self, pose_3d: torch.Tensor, keypoints_2d: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return self.d3(pose_3d), self.d2(normalize_2d_for_discriminator(keypoints_2d))


# ---------------------------------------------------------------------------- losses (LSGAN, PoseAug)

def discriminator_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """LSGAN D loss: 0.5 [MSE(D(real), 1) + MSE(D(fake), 0)]."""
    return 0.5 * (((real - 1) ** 2).mean() + (fake ** 2).mean())


def generator_adversarial_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """PoseAug's G loss: 0.5 [MSE(D(real), 0) + MSE(D(fake), 1)] (the first term carries no gradient to G)."""
    return 0.5 * ((real ** 2).mean() + ((fake - 1) ** 2).mean())


def bone_angle_range_loss(ba_diff: torch.Tensor, m: float = 0.205, w: float = 0.165) -> torch.Tensor:
    """PoseAug's `diff_range_loss` on the mean (1 - cos) per pose: (a - m)^2 where |a - m| > w, else 0."""
    a = ba_diff.mean(-1)
    d = (a - m) ** 2
    return (d * (d > w ** 2)).mean()


def bone_length_range_loss(blr: torch.Tensor, limit: float = 0.1) -> torch.Tensor:
    """PoseAug's `rectifiedL2loss`: r^2 where |r| > limit, else 0."""
    d = blr ** 2
    return (d * (d > limit ** 2)).mean()


class HistoryPool:
    """Shrivastava et al.'s image pool (PoseAug's Sample_from_Pool): until `size` fakes are stored, return the
    new ones; then each new fake is, with probability 1/2, swapped for a stored one (which is returned)."""

    def __init__(self, size: int = 4096, rng: np.random.Generator | None = None):
        self.size, self.items = size, None
        self.count = 0
        self.rng = rng or np.random.default_rng(0)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.detach()
        if self.items is None:
            self.items = x.new_zeros((self.size,) + tuple(x.shape[1:]))
        out = x.clone()
        n_fill = min(self.size - self.count, len(x))
        if n_fill > 0:
            self.items[self.count:self.count + n_fill] = x[:n_fill]
            self.count += n_fill
        rest = np.arange(n_fill, len(x))
        swap = rest[self.rng.random(len(rest)) > 0.5]
        if len(swap):
            slots = torch.as_tensor(self.rng.integers(0, self.size, len(swap)))
            sw = torch.as_tensor(swap)
            out[sw] = self.items[slots]
            self.items[slots] = x[sw]
        return out


# ---------------------------------------------------------------------------- adversarial training

@dataclass
class LPAConfig:
    """LPA's training budget and loss weights (PoseAug's defaults where they exist: Adam 1e-4, D every 2 G steps,
    gradient clipping 1, weights 1 adv2D + 6 adv3D + 3 range)."""

    steps: int = 2000
    batch_size: int = 256
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    d_every: int = 2
    w_adv_2d: float = 1.0
    w_adv_3d: float = 6.0
    w_range: float = 3.0
    ba_range: tuple[float, float] = (0.205, 0.165)
    bl_limit: float = 0.1
    max_rotation: float = math.pi / 4
    pool_size: int = 4096
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "cpu"
    progress: bool = True

    @classmethod
    def from_profile(cls, profile, **overrides) -> "LPAConfig":
        """posekit's LPA budget for a profile (`LPA_BUDGETS`, keyed like the profiles) on the profile's device."""
        base = dict(LPA_BUDGETS.get(profile.name, LPA_BUDGETS["cpu"]),
                    device="cuda" if profile.device == "cuda" and torch.cuda.is_available() else "cpu")
        return cls(**{**base, **overrides})


# LPA's budget per profile (the GAN trains once, before any lifter): posekit's choice. PoseDA's schedule is not
# public; PoseAug trains its GAN for 50 epochs of batch 1,024, alternating with the lifter.
LPA_BUDGETS = {
    "smoke": dict(steps=30, batch_size=128),
    "cpu": dict(steps=400, batch_size=256),
    "gpu": dict(steps=5000, batch_size=1024),
    "paper": dict(steps=19000, batch_size=1024),
}


@dataclass
class LPAResult:
    generator: LPAGenerator
    discriminator: AnchorDiscriminator
    history: list[dict] = field(default_factory=list)

    def curves(self, every: int = 1) -> dict[str, np.ndarray]:
        keys = self.history[0].keys() if self.history else []
        return {k: np.array([h[k] for h in self.history[::every]]) for k in keys}


def train_lpa(source_poses: np.ndarray, target: TargetPool, config: LPAConfig | None = None,
              skeleton: Skeleton = H36M_17) -> LPAResult:
    """Train the LPA generator against the anchor discriminator (Sec. 3.3; reconstructed from PoseAug, see the
    module docstring). No lifter is involved (PoseDA issue #1): the losses are adversarial and range terms only.

    source_poses (N, J, 3) root-relative source 3D (the 3D anchors and the poses to augment); target: the
    unlabelled target pool (its 2D are the 2D anchors; its cameras project the augmented poses after GPA).
    Each step: augment a batch, GPA it to random target frames (differentiably), project, and score
    (3D: KCS, 2D: root-relative, scale-normalised); update G every step, D every `d_every` steps from the pool.
    """
    config = config or LPAConfig()
    device = torch.device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    poses = torch.as_tensor(np.asarray(source_poses, dtype=np.float32))
    if poses.ndim != 3 or poses.shape[1:] != (skeleton.num_joints, 3):
        raise ValueError(f"source_poses must be (N, {skeleton.num_joints}, 3), got {tuple(poses.shape)}")
    if len(poses) < 2 or len(target) < 2:
        raise ValueError("LPA needs at least 2 source poses and 2 target 2D poses")
    poses = poses - poses[:, :1]
    gen = LPAGenerator(skeleton, max_rotation=config.max_rotation).to(device)
    dis = AnchorDiscriminator(skeleton).to(device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr_g)
    opt_d = torch.optim.Adam(dis.parameters(), lr=config.lr_d)
    decay = lambda step: 1 - step / (config.steps + 1)  # PoseAug's linear decay, per step here
    sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, decay)
    sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, decay)
    pool_3d, pool_2d = HistoryPool(config.pool_size, rng), HistoryPool(config.pool_size, rng)
    target_kp = torch.as_tensor(target.keypoints_2d)
    target_k = torch.as_tensor(target.intrinsics)
    n, bs = len(poses), min(config.batch_size, len(poses))
    history = []
    gen.train()
    dis.train()
    bar = tqdm(range(config.steps), desc="LPA (G and D)", disable=not config.progress, mininterval=1.0)
    for step in bar:
        src = poses[rng.integers(0, n, bs)].to(device)
        anchors_3d = poses[rng.integers(0, n, bs)].to(device)
        ti = torch.as_tensor(rng.integers(0, len(target), bs))
        pair_i = torch.as_tensor(rng.integers(0, len(target), bs))
        anchors_2d = target_kp[ti].to(device)
        pair_kp, pair_k = target_kp[pair_i].to(device), target_k[pair_i].to(device)

        out = gen(src)
        fake_3d = out["pose"]
        fake_2d = project_pinhole(global_position_alignment(fake_3d, pair_kp, pair_k), pair_k)
        # --- generator
        set_requires_grad(dis, False)
        real3, real2 = dis(anchors_3d, anchors_2d)
        f3, f2 = dis(fake_3d, fake_2d)
        adv3 = generator_adversarial_loss(real3, f3)
        adv2 = generator_adversarial_loss(real2, f2)
        rng_loss = bone_angle_range_loss(out["ba_diff"], *config.ba_range) + \
            bone_length_range_loss(out["blr"], config.bl_limit)
        loss_g = config.w_adv_2d * adv2 + config.w_adv_3d * adv3 + config.w_range * rng_loss
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        nn.utils.clip_grad_norm_(gen.parameters(), config.grad_clip)
        opt_g.step()
        sched_g.step()
        set_requires_grad(dis, True)
        record = {"step": step + 1, "loss_g": loss_g.item(), "adv_3d": adv3.item(), "adv_2d": adv2.item(),
                  "range": rng_loss.item(), "ba_deg": float(torch.rad2deg(torch.acos(
                      (1 - out["ba_diff"].detach()).clamp(-1, 1))).mean()),
                  "blr_abs": float(out["blr"].detach().abs().mean()),
                  "rot_deg": float(torch.rad2deg(out["rotation"].detach().norm(dim=-1)).mean())}
        # --- discriminator, every d_every generator steps, on fakes from the history pool
        if step % config.d_every == 0:
            r3, r2 = dis(anchors_3d, anchors_2d)
            p3, p2 = dis(pool_3d(fake_3d), pool_2d(fake_2d))
            loss_d = discriminator_loss(r3, p3) + discriminator_loss(r2, p2)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            nn.utils.clip_grad_norm_(dis.parameters(), config.grad_clip)
            opt_d.step()
            record["loss_d"] = loss_d.item()
        elif history:
            record["loss_d"] = history[-1]["loss_d"]
        sched_d.step()
        if not math.isfinite(record["loss_g"]):
            raise FloatingPointError(f"LPA's generator loss became {record['loss_g']} at step {step + 1}; lower lr_g")
        history.append(record)
        bar.set_postfix(G=f"{record['loss_g']:.3f}", D=f"{record.get('loss_d', float('nan')):.3f}", refresh=False)
    bar.close()
    gen.eval()
    dis.eval()
    return LPAResult(gen.cpu(), dis.cpu(), history)


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


@torch.no_grad()
def augment_poses(generator: LPAGenerator, poses: np.ndarray, seed: int = 0, batch_size: int = 4096) -> dict:
    """Run the trained generator offline (eval mode) over poses (N, J, 3): {'pose', 'pose_ba', 'pose_bl'} (N, J, 3)
    root-relative, 'ba_deg' (N,), 'blr' (N, R), 'rotation_deg' (N,)."""
    generator.eval()
    torch.manual_seed(seed)
    x = torch.as_tensor(np.asarray(poses, dtype=np.float32))
    outs = [generator(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    cat = {k: torch.cat([o[k] for o in outs]) for k in outs[0]}
    return {"pose": cat["pose"].numpy(), "pose_ba": cat["pose_ba"].numpy(), "pose_bl": cat["pose_bl"].numpy(),
            "ba_deg": torch.rad2deg(torch.acos((1 - cat["ba_diff"]).clamp(-1, 1))).mean(-1).numpy(),
            "blr": cat["blr"].numpy(), "rotation_deg": torch.rad2deg(cat["rotation"].norm(dim=-1)).numpy()}


def augment_dataset(generator: LPAGenerator, source: PoseDataset, seed: int = 0) -> PoseDataset:
    """An augmented copy of `source`: every pose replaced by the generator's output (the paper's offline
    generation). The 2D and trajectory are left to GPA (`align_dataset`), which re-positions and projects them."""
    poses = np.concatenate([s.poses_3d for s in source]).astype(np.float32)
    aug = augment_poses(generator, poses, seed)["pose"]
    aug = aug - aug[:, :1]
    sequences, start = [], 0
    for s in source:
        sl = slice(start, start + s.num_frames)
        sequences.append(replace(s, poses_3d=aug[sl], action=s.action, confidence=None))
        start += s.num_frames
    return replace(source, name=f"{source.name}+LPA", sequences=sequences)


def drop_out_of_view(dataset: PoseDataset, limit: float = 1.0) -> PoseDataset:
    """Discard frames whose 2D leaves the image (|coordinate| > limit), as PoseAug discards augmented samples
    with a 2D coordinate > 1 (here both bounds). Sequences keep their remaining frames (single-frame lifters)."""
    out = []
    for s in dataset:
        keep = (np.abs(s.keypoints_2d) <= limit).all(axis=(1, 2))
        if keep.all():
            out.append(s)
        elif keep.any():
            idx = np.flatnonzero(keep)
            out.append(replace(s, poses_3d=s.poses_3d[idx], trajectory=s.trajectory[idx],
                               keypoints_2d=s.keypoints_2d[idx],
                               keypoints_2d_gt=None if s.keypoints_2d_gt is None else s.keypoints_2d_gt[idx],
                               confidence=None, valid=None if s.valid is None else s.valid[idx]))
    return replace(dataset, sequences=out)


@torch.no_grad()
def discriminator_scores(discriminator: AnchorDiscriminator, poses_3d=None, keypoints_2d=None) -> dict:
    """What the anchor discriminator thinks: {'3D': (N,) mean KCS score over the parts, '2D': (N,)}; 1 = real."""
    out = {}
    if poses_3d is not None:
        out["3D"] = discriminator.d3(torch.as_tensor(np.asarray(poses_3d, np.float32))).mean(-1).numpy()
    if keypoints_2d is not None:
        kp = torch.as_tensor(np.asarray(keypoints_2d, np.float32))
        out["2D"] = discriminator.d2(normalize_2d_for_discriminator(kp))[:, 0].numpy()
    return out


def distribution_figure(groups: dict, bins: int = 60, title: str | None = None):
    """Overlaid histograms, one panel per quantity: groups = {label: {quantity: (N,) values}} (matplotlib Figure).

    With `domain_statistics` per label this is the supplement's Fig. S1 (2D scale, root x, root y); the legend
    gives each label's mean / std like the paper's figure.
    """
    import matplotlib.pyplot as plt
    keys = list(dict.fromkeys(k for g in groups.values() for k in g))
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.3), squeeze=False)
    plt.close(fig)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, key in zip(axes[0], keys):
        series = {label: np.asarray(g[key], dtype=np.float64) for label, g in groups.items() if key in g}
        lo, hi = np.percentile(np.concatenate(list(series.values())), [0.5, 99.5])
        for i, (label, v) in enumerate(groups.items()):
            if key not in v:
                continue
            v = series[label]
            ax.hist(v, bins=np.linspace(lo, hi, bins), density=True, histtype="step", linewidth=1.6,
                    color=colours[i % len(colours)], label=f"{label}: {v.mean():.2f} / {v.std():.2f}")
        ax.set_title(key)
        ax.legend(fontsize=7, title="mean / std", title_fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def lpa_curves_figure(result: LPAResult, smooth: int = 10):
    """LPA's training: G and D losses, and the size of the transformations it learned (matplotlib Figure)."""
    import matplotlib.pyplot as plt
    c = result.curves()
    k = max(1, min(smooth, len(c["step"]) // 5))
    ma = lambda v: np.convolve(v, np.ones(k) / k, mode="valid")
    steps = c["step"][k - 1:]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    plt.close(fig)
    for key, label in (("loss_g", "G total"), ("adv_3d", "G adv. 3D"), ("adv_2d", "G adv. 2D"), ("loss_d", "D")):
        axes[0].plot(steps, ma(c[key]), label=label)
    axes[0].set(title="losses (moving average)", xlabel="generator step")
    axes[0].legend(fontsize=8)
    axes[1].plot(steps, ma(c["ba_deg"]), label="bone angle change (deg, mean over bones)")
    axes[1].plot(steps, ma(c["rot_deg"]), label="global rotation (deg)")
    axes[1].set(title="angles", xlabel="generator step")
    axes[1].legend(fontsize=8)
    axes[2].plot(steps, 100 * ma(c["blr_abs"]), color="C3")
    axes[2].set(title="|bone-length change| (%)", xlabel="generator step")
    fig.tight_layout()
    return fig


# ============================================================================ the pipeline: generate, then train

VARIANTS = ("source", "gpa", "gpa+lpa", "target")


def concat_datasets(*datasets: PoseDataset, name: str | None = None) -> PoseDataset:
    """One PoseDataset holding the sequences of all (subject names kept, so train/test selection still works)."""
    first = datasets[0]
    subjects = tuple(dict.fromkeys(s for d in datasets for s in d.train_subjects))
    return replace(first, name=name or "+".join(d.name for d in datasets),
                   sequences=[s for d in datasets for s in d.sequences], train_subjects=subjects)


def adaptation_data(variant: str, source_train: PoseDataset, target_train: PoseDataset, seed: int = 0,
                    generator: LPAGenerator | None = None, pairing: str = "frame") -> PoseDataset:
    """The lifter's training set for one arm of the paper's ablation.

    'source': the source data as it is (source-only baseline); 'gpa': GPA-aligned source (target 2D + cameras
    only); 'gpa+lpa': GPA-aligned source plus GPA-aligned LPA-augmented source (needs `generator`), augmented
    frames leaving the image dropped; 'target': the target's own labelled training data (the upper bound, which
    uses target 3D labels and is not domain adaptation).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if variant == "source":
        return source_train
    if variant == "target":
        return target_train
    pool = TargetPool.from_dataset(target_train)
    aligned = align_dataset(source_train, pool, seed=seed, pairing=pairing)
    if variant == "gpa":
        return aligned
    if generator is None:
        raise ValueError("variant 'gpa+lpa' needs the trained LPA generator (train_lpa(...).generator)")
    augmented = align_dataset(augment_dataset(generator, source_train, seed=seed), pool, seed=seed + 7919,
                              pairing=pairing)
    augmented = drop_out_of_view(augmented)
    return concat_datasets(aligned, augmented, name=f"{source_train.name}+GPA+LPA")


def adapt(model: nn.Module, variant: str, source_train: PoseDataset, target_train: PoseDataset, config,
          val: PoseDataset | None = None, generator: LPAGenerator | None = None, seed: int | None = None,
          pairing: str | None = None):
    """Train any posekit lifter for one variant with `posekit.train.fit`; returns its History.

    pairing defaults to 'frame' for single-frame lifters and 'sequence' for temporal ones (see `align_dataset`).
    """
    from ..train import fit
    seed = config.seed if seed is None else seed
    if pairing is None:
        pairing = "frame" if getattr(model, "receptive_field", 1) == 1 else "sequence"
    data = adaptation_data(variant, source_train, target_train, seed=seed, generator=generator, pairing=pairing)
    return fit(model, data, config, val=val)


def target_of(source: str) -> str:
    """The target dataset of PoseDA's cross-dataset setting for a source name: synth -> synth-3dhp, h36m -> 3dhp."""
    table = {"synth": "synth-3dhp", "h36m": "3dhp"}
    if source not in table:
        raise KeyError(f"no PoseDA target for source {source!r}; known sources: {', '.join(table)}")
    return table[source]


__all__ = [
    "CONFIGS", "build", "bbox_scale", "gpa_depth", "global_position_alignment", "pair_randomly", "project_pinhole",
    "GlobalPositionAlignment", "domain_statistics", "TargetPool", "align_dataset", "POSEAUG_16", "KCS_PARTS",
    "BoneModel", "ParameterMLP", "BoneAngleGenerator", "BoneLengthGenerator", "RotationGenerator",
    "LPAGenerator", "KCSPath", "KCSDiscriminator", "PoseDiscriminator2D", "AnchorDiscriminator",
    "discriminator_loss", "generator_adversarial_loss", "bone_angle_range_loss", "bone_length_range_loss",
    "HistoryPool", "LPAConfig", "LPA_BUDGETS", "discriminator_scores", "distribution_figure", "lpa_curves_figure",
    "LPAResult", "train_lpa", "augment_poses", "augment_dataset", "drop_out_of_view",
    "VARIANTS", "adaptation_data", "adapt", "concat_datasets", "target_of", "axis_angle_to_matrix",
]
