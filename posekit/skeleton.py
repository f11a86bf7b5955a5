"""Joint sets, kinematic trees and graphs.

Facts follow VideoPose3D (`common/h36m_dataset.py`, `common/humaneva_dataset.py`) and the MPI-INF-3DHP
toolkit (`mpii_get_joint_set.m`): the VideoPose3D Human3.6M 17-joint order,
the MPI-INF-3DHP 17-joint test order (root at index 14), HumanEva-I 15 joints, COCO-17 keypoints, and the
index maps between them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Skeleton:
    """A named joint set: joint names, parent of each joint (-1 for the root) and left/right symmetry."""

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    joints_left: tuple[int, ...]
    joints_right: tuple[int, ...]
    root: int = 0

    def __post_init__(self):
        n = len(self.joint_names)
        if len(self.parents) != n:
            raise ValueError(f"skeleton {self.name}: {n} names but {len(self.parents)} parents")
        if len(self.joints_left) != len(self.joints_right):
            raise ValueError(f"skeleton {self.name}: left and right joint lists differ in length")

    @property
    def num_joints(self) -> int:
        return len(self.joint_names)

    @property
    def bones(self) -> list[tuple[int, int]]:
        """(child, parent) pairs, one per non-root joint."""
        return [(j, p) for j, p in enumerate(self.parents) if p >= 0]

    @property
    def flip_permutation(self) -> np.ndarray:
        """Index array that swaps every left joint with its right counterpart."""
        perm = np.arange(self.num_joints)
        perm[list(self.joints_left)] = self.joints_right
        perm[list(self.joints_right)] = self.joints_left
        return perm

    def side(self, joint: int) -> str:
        """'left', 'right' or 'centre'."""
        if joint in self.joints_left:
            return "left"
        if joint in self.joints_right:
            return "right"
        return "centre"

    def index(self, name: str) -> int:
        try:
            return self.joint_names.index(name)
        except ValueError:
            raise KeyError(f"skeleton {self.name} has no joint {name!r}; joints: {', '.join(self.joint_names)}") from None

    def adjacency(self, self_loops: bool = False) -> np.ndarray:
        """Symmetric 0/1 adjacency (J, J) of the bones, optionally with self loops."""
        a = np.zeros((self.num_joints, self.num_joints), dtype=np.float32)
        for c, p in self.bones:
            a[c, p] = a[p, c] = 1.0
        if self_loops:
            a += np.eye(self.num_joints, dtype=np.float32)
        return a

    def hop_distance(self) -> np.ndarray:
        """Number of bones on the path between every pair of joints (J, J)."""
        n = self.num_joints
        a = self.adjacency() > 0
        dist = np.full((n, n), np.inf)
        np.fill_diagonal(dist, 0)
        reach = np.eye(n, dtype=bool)
        for hop in range(1, n):
            reach = reach | (reach.astype(np.int32) @ a.astype(np.int32) > 0)
            dist[(dist == np.inf) & reach] = hop
        return dist

    def bone_lengths(self, poses: np.ndarray) -> np.ndarray:
        """Bone lengths (..., J-1) of poses (..., J, 3), in the poses' unit."""
        child, parent = zip(*self.bones)
        return np.linalg.norm(poses[..., list(child), :] - poses[..., list(parent), :], axis=-1)


H36M_17 = Skeleton(
    name="h36m",
    joint_names=("Hip", "RHip", "RKnee", "RFoot", "LHip", "LKnee", "LFoot", "Spine", "Thorax", "Neck/Nose",
                 "Head", "LShoulder", "LElbow", "LWrist", "RShoulder", "RElbow", "RWrist"),
    parents=(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
    joints_left=(4, 5, 6, 11, 12, 13),
    joints_right=(1, 2, 3, 14, 15, 16),
)

# Full 32-joint Human3.6M mocap skeleton and the 17 joints VideoPose3D keeps (`common/h36m_dataset.py`).
H36M_32_PARENTS = (-1, 0, 1, 2, 3, 4, 0, 6, 7, 8, 9, 0, 11, 12, 13, 14, 12, 16, 17, 18, 19, 20, 19, 22, 12, 24,
                   25, 26, 27, 28, 27, 30)
H36M_17_FROM_32 = (0, 1, 2, 3, 6, 7, 8, 12, 13, 14, 15, 17, 18, 19, 25, 26, 27)

MPI3DHP_17 = Skeleton(
    name="3dhp",
    joint_names=("head_top", "neck", "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
                 "left_elbow", "left_wrist", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee",
                 "left_ankle", "pelvis", "spine", "head"),
    parents=(1, 15, 1, 2, 3, 1, 5, 6, 14, 8, 9, 14, 11, 12, -1, 14, 1),
    joints_left=(5, 6, 7, 11, 12, 13),
    joints_right=(2, 3, 4, 8, 9, 10),
    root=14,
)
# H36M-17 joint i is 3DHP-17 joint H36M_FROM_3DHP[i] (the 3DHP toolkit's 17-joint order).
H36M_FROM_3DHP = (14, 8, 9, 10, 11, 12, 13, 15, 1, 16, 0, 5, 6, 7, 2, 3, 4)
# The 17 test joints inside the 28 'all' joints of the MPI-INF-3DHP training annotations.
MPI3DHP_17_FROM_28 = (7, 5, 14, 15, 16, 9, 10, 11, 23, 24, 25, 18, 19, 20, 4, 3, 6)
# The 14 joints the official PCK/AUC uses (3DHP order): all but pelvis, spine and head.
MPI3DHP_PCK_JOINTS = tuple(range(14))

HUMANEVA_15 = Skeleton(
    name="humaneva15",
    joint_names=("pelvis", "thorax", "lshoulder", "lelbow", "lwrist", "rshoulder", "relbow", "rwrist", "lhip",
                 "lknee", "lankle", "rhip", "rknee", "rankle", "head"),
    parents=(-1, 0, 1, 2, 3, 1, 5, 6, 0, 8, 9, 0, 11, 12, 1),
    joints_left=(2, 3, 4, 8, 9, 10),
    joints_right=(5, 6, 7, 11, 12, 13),
)
# HumanEva-15 joints that have an H36M-17 counterpart: {h36m index: humaneva index}.
H36M_TO_HUMANEVA = {0: 0, 1: 11, 2: 12, 3: 13, 4: 8, 5: 9, 6: 10, 8: 1, 10: 14, 11: 2, 12: 3, 13: 4, 14: 5,
                    15: 6, 16: 7}

COCO_17 = Skeleton(
    name="coco",
    joint_names=("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
                 "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip", "left_knee",
                 "right_knee", "left_ankle", "right_ankle"),
    # COCO has no true root; the tree below hangs everything off the nose for drawing.
    parents=(-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    joints_left=(1, 3, 5, 7, 9, 11, 13, 15),
    joints_right=(2, 4, 6, 8, 10, 12, 14, 16),
)

SKELETONS = {s.name: s for s in (H36M_17, MPI3DHP_17, HUMANEVA_15, COCO_17)}


def get_skeleton(name: str) -> Skeleton:
    """Look a joint set up by name ('h36m', '3dhp', 'humaneva15', 'coco')."""
    try:
        return SKELETONS[name]
    except KeyError:
        raise KeyError(f"unknown joint set {name!r}; known: {', '.join(SKELETONS)}") from None


def h36m_from_32(poses: np.ndarray) -> np.ndarray:
    """Reduce Human3.6M 32-joint arrays (..., 32, C) to the VideoPose3D 17-joint order (..., 17, C)."""
    if poses.shape[-2] != 32:
        raise ValueError(f"expected 32 joints on axis -2, got shape {poses.shape}")
    return poses[..., list(H36M_17_FROM_32), :]


def h36m_from_3dhp(poses: np.ndarray) -> np.ndarray:
    """Reorder MPI-INF-3DHP 17-joint arrays (..., 17, C) into the Human3.6M 17-joint order."""
    if poses.shape[-2] != 17:
        raise ValueError(f"expected 17 joints on axis -2, got shape {poses.shape}")
    return poses[..., list(H36M_FROM_3DHP), :]


def flip_poses(poses: np.ndarray, skeleton: Skeleton = H36M_17):
    """Mirror poses (..., J, C>=2): negate x and swap left/right joints. Works for numpy and torch."""
    perm = skeleton.flip_permutation
    out = poses[..., perm, :]
    out = out.clone() if hasattr(out, "clone") else out.copy()
    out[..., 0] = -out[..., 0]
    return out
