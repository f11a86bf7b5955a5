"""Local Pose Augmentation's networks (LPA, PoseDA Sec. 3.3), reconstructed: LPA's code is not public. The
generator outputs the parameters of pre-defined transformations (bone angles, bone lengths, a rotation) as in
PoseAug (`jfzhang95/PoseAug`, `models_poseaug/gan_generator.py`); the anchor discriminator is PoseAug's part-aware
KCS 3D discriminator and its 2D discriminator, with target-domain 2D poses as the 2D anchors (AdaptPose's
choice). The package docstring lists the reconstruction choices; the adversarial training is in
`lpa_training.py`.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ...skeleton import H36M_17, Skeleton
from .gpa import bbox_scale

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


def keep_total_length(lengths: torch.Tensor, factor: torch.Tensor, free: torch.Tensor) -> torch.Tensor:
    """Rescale per-bone length factors (N, B) so that the free bones' summed length stays what it was.

    posekit's fix of BL: the overall size of a skeleton is no local structure. Neither critic can see it (the KCS
    critic reads unit bones, the 2D critic scale-normalised 2D) and GPA undoes it in 2D (it sets the 2D size from the
    target), so a uniform change of bone lengths only mislabels the 3D: a lifter trained on 7 % smaller skeletons
    that project at normal size learns a scale bias. Removing that direction from BL leaves it the proportions.
    lengths (N, B) bone lengths, factor (N, B) 1 + ratio, free (B,) 1 for bones BL may change. Returns (N, B).
    """
    before = (lengths * free).sum(-1, keepdim=True)
    after = (lengths * factor * free).sum(-1, keepdim=True).clamp_min(1e-8)
    return torch.where(free > 0, factor * before / after, factor)


def apply_length_ratios(bones: BoneModel, groups: torch.Tensor, mask: torch.Tensor, pose: torch.Tensor,
                        augmented: torch.Tensor, r: torch.Tensor, keep_size: bool = True):
    """Scale the bones of `augmented` (N, J, 3) by 1 + r, r (N, R) one ratio per bone group (`bone_length_groups`),
    masked groups unchanged; with keep_size the free bones' summed length of `pose` is kept (`keep_total_length`).
    Returns (pose (N, J, 3) root-relative, the ratios actually applied (N, R))."""
    lengths = bones.bones(pose - pose[:, :1]).norm(dim=-1)
    factor = 1 + (r * mask) @ groups
    if keep_size:
        factor = keep_total_length(lengths, factor, mask @ groups)
    applied = (factor @ groups.T) / groups.sum(1) - 1
    b = bones.bones(augmented - augmented[:, :1])
    return bones.pose(b * factor[..., None]), applied



def free_length_groups(bones: BoneModel) -> tuple[torch.Tensor, torch.Tensor]:
    """The bone-length groups as a tensor and a 0/1 mask that leaves out every group holding a fixed-length bone."""
    groups = torch.from_numpy(bone_length_groups(bones))
    fixed = groups[:, bones.bone_index(FIXED_LENGTH_BONES)].sum(1) > 0
    return groups, (~fixed).float()

class BoneLengthGenerator(nn.Module):
    """BL (PoseAug's BLGenerator): scale bone lengths by (1 + r), r = tanh(g(pose, lengths, noise)) * limit,
    one ratio per left/right bone pair, the spine -> thorax ratio held at 0; then (posekit) all free bones are
    rescaled together so that their summed length is kept (`keep_total_length`): BL changes proportions, not size.
    Returns (pose (N, J, 3), r (N, R): the ratios actually applied, after that rescaling)."""

    def __init__(self, bones: BoneModel, noise_dim: int | None = None, limit: float = 0.2,
                 out_init: float | None = 1e-3, keep_size: bool = True):
        super().__init__()
        j = bones.num_bones + 1
        self.bone_model, self.limit, self.keep_size = bones, limit, keep_size
        groups, mask = free_length_groups(bones)
        self.register_buffer("groups", groups, persistent=False)
        self.register_buffer("mask", mask, persistent=False)
        self.net = ParameterMLP(3 * j + (j - 1), len(groups), noise_dim or 3 * j, out_init=out_init)

    def apply(self, pose: torch.Tensor, augmented: torch.Tensor, r: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Scale the bones of `augmented` by the per-pair ratios r (N, R) (kept size when keep_size)."""
        return apply_length_ratios(self.bone_model, self.groups, self.mask, pose, augmented, r, self.keep_size)

    def forward(self, pose: torch.Tensor, augmented: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = pose - pose[:, :1]
        lengths = self.bone_model.bones(x).norm(dim=-1)
        r = torch.tanh(self.net(torch.cat([x.flatten(1), lengths], -1)) * self.mask) * self.limit
        return self.apply(pose, augmented, r)


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
    keep_size=False: PoseAug's BL as it is (the skeleton's overall size may drift; see `keep_total_length`).
    """

    def __init__(self, skeleton: Skeleton = H36M_17, max_rotation: float = math.pi / 4, bl_limit: float = 0.2,
                 translation: bool = False, noise_dim: int | None = None, out_init: float | None = 1e-3,
                 keep_size: bool = True):
        super().__init__()
        self.skeleton = skeleton
        bones = BoneModel(skeleton)
        self.ba = BoneAngleGenerator(bones, noise_dim, out_init)
        self.bl = BoneLengthGenerator(bones, noise_dim, bl_limit, out_init, keep_size)
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


class RandomAugmenter(nn.Module):
    """The control arm of LPA: the same three transformations with random parameters of set sizes, no networks and
    no critic ("GPA + random BA/BL"). Each movable bone turns about a random axis perpendicular to it by a uniform
    angle, each left/right pair's length ratio is uniform around 0 (the total length kept as in LPA's BL), and the
    pose turns about a random axis by an angle uniform in [0, 2 rot_deg]. The sizes are the means that
    `augment_poses` reports for LPA (over all bones and ratios, the fixed ones included): mean bone-angle change
    ba_deg, mean |ratio| bl, mean rotation rot_deg, so a control can match a trained generator's sizes. Same outputs as `LPAGenerator`; its draws come from torch's global generator (seeded by
    `augment_poses`).
    """

    def __init__(self, skeleton: Skeleton = H36M_17, ba_deg: float = 10.0, bl: float = 0.05, rot_deg: float = 10.0):
        super().__init__()
        if min(ba_deg, bl, rot_deg) < 0:
            raise ValueError(f"RandomAugmenter sizes must be >= 0, got ba_deg={ba_deg}, bl={bl}, rot_deg={rot_deg}")
        self.skeleton, self.ba_deg, self.bl_size, self.rot_deg = skeleton, ba_deg, bl, rot_deg
        self.bones = bones = BoneModel(skeleton)
        groups, length_mask = free_length_groups(bones)
        self.register_buffer("groups", groups, persistent=False)
        self.register_buffer("length_mask", length_mask, persistent=False)
        mask = torch.ones(bones.num_bones, 1)  # bone-angle mask: pelvis -> spine -> thorax kept
        mask[bones.bone_index(FIXED_ANGLE_BONES)] = 0.0
        self.register_buffer("mask", mask, persistent=False)

    def forward(self, pose: torch.Tensor) -> dict[str, torch.Tensor]:
        n, x = len(pose), pose - pose[:, :1]
        b = self.bones.bones(x)
        length = b.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        unit = b / length
        axis = torch.randn_like(unit)
        axis = axis - (axis * unit).sum(-1, keepdim=True) * unit
        axis = axis / axis.norm(dim=-1, keepdim=True).clamp_min(1e-8)
        spread = self.mask.numel() / self.mask.sum()  # the sizes are means over all bones / ratios, fixed ones too
        theta = torch.deg2rad(torch.rand(n, unit.shape[1], 1, dtype=x.dtype) * 2 * self.ba_deg * spread)
        new = torch.cos(theta) * unit + torch.sin(theta) * axis
        new = self.mask * new + (1 - self.mask) * unit
        pose_ba = self.bones.pose(new * length)
        spread = self.length_mask.numel() / self.length_mask.sum()
        r = (torch.rand(n, len(self.groups), dtype=x.dtype) * 2 - 1) * 2 * self.bl_size * spread
        pose_bl, blr = apply_length_ratios(self.bones, self.groups, self.length_mask, x, pose_ba, r)
        rot_axis = torch.nn.functional.normalize(torch.randn(n, 3, dtype=x.dtype), dim=-1)
        rotation = rot_axis * torch.deg2rad(torch.rand(n, 1, dtype=x.dtype) * 2 * self.rot_deg)
        out = pose_bl @ axis_angle_to_matrix(rotation).transpose(1, 2)
        return {"pose": out, "pose_ba": pose_ba, "pose_bl": pose_bl, "ba_diff": 1 - (new * unit).sum(-1),
                "blr": blr, "rotation": rotation}


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
