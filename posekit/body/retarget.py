"""Drive the anny body with posekit's synthetic motion, so image data and motion data share actions and limits.

posekit's motion generator (`posekit.data.motion`) describes a pose by anatomical angles q (hip flexion, knee,
shoulder abduction, ...) clipped to joint limits, on a skeleton whose frame is x forward, y left, z up. Here those
angles become anny local-ref bone rotations: the global rotation of each H36M segment (the product of the posekit
rotations down the chain) is moved into anny's frame (forward -Y, left +X) and composed with a fixed correction
that turns anny's reference limb direction (arms half raised, legs slightly apart) into posekit's rest direction
(limbs hanging straight); each anny bone's local rotation is then its parent's global rotation inverted times its
own. Bones without a posekit counterpart (pelvis, clavicles, twist bones, fingers, toes) keep the identity.
"""
from __future__ import annotations

import numpy as np
import torch

from ..data.actions import H36M_ACTIONS, MPI3DHP_ACTIONS
from ..data.motion import HI, LO, NEUTRAL, REST_OFFSETS, bone_rotations

# posekit (x forward, y left, z up) -> anny (forward -Y, left +X, Z up)
TO_ANNY = np.array([[0.0, 1, 0], [-1, 0, 0], [0, 0, 1]])
# anny bone -> the H36M joint j whose posekit segment frame (parent(j) -> j) the bone follows.
DRIVEN = {"root": 0, "spine05": 7, "spine03": 8, "neck01": 9, "head": 10,
          "upperleg01.L": 5, "lowerleg01.L": 6, "upperleg01.R": 2, "lowerleg01.R": 3,
          "upperarm01.L": 12, "lowerarm01.L": 13, "upperarm01.R": 15, "lowerarm01.R": 16}
# limb bones corrected from anny's reference direction (head -> child head) to posekit's rest offset.
LIMB_CHILD = {"upperleg01.L": "lowerleg01.L", "lowerleg01.L": "foot.L", "upperleg01.R": "lowerleg01.R",
              "lowerleg01.R": "foot.R", "upperarm01.L": "lowerarm01.L", "lowerarm01.L": "wrist.L",
              "upperarm01.R": "lowerarm01.R", "lowerarm01.R": "wrist.R"}


def _align(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Smallest rotation taking direction a to direction b (3, 3)."""
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    v, c = np.cross(a, b), float(np.dot(a, b))
    vx = np.array([[0, -v[2], v[1]], [v[2], 0, -v[0]], [-v[1], v[0], 0]])
    return np.eye(3) + vx + vx @ vx / (1 + c)


class Retargeter:
    """q (T, 28) posekit joint angles -> anny local-ref rotations (T, 104, 3, 3)."""

    def __init__(self, body):
        heads = body.reference_heads.detach().cpu().double().numpy()
        self.parents = body.parents
        self.driven = {body.bone(name): j for name, j in DRIVEN.items()}
        self.correction = {}
        for name, child in LIMB_CHILD.items():
            ref = heads[body.bone(child)] - heads[body.bone(name)]
            self.correction[body.bone(name)] = _align(ref, TO_ANNY @ REST_OFFSETS[DRIVEN[name]])
        self.num_bones = body.num_bones

    def __call__(self, q: np.ndarray) -> torch.Tensor:
        q = np.atleast_2d(np.asarray(q, dtype=np.float64))
        local = bone_rotations(q)
        glob = {0: local[0]}
        for j in range(1, 17):
            glob[j] = glob[(-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15)[j]] @ local[j]
        eye = np.broadcast_to(np.eye(3), (len(q), 3, 3))
        target, out = [None] * self.num_bones, np.empty((len(q), self.num_bones, 3, 3))
        for b in range(self.num_bones):  # parents come before children in anny's bone order
            p = self.parents[b]
            parent = eye if p < 0 else target[p]
            if b in self.driven:
                target[b] = TO_ANNY @ glob[self.driven[b]] @ TO_ANNY.T @ self.correction.get(b, np.eye(3))
                out[:, b] = np.swapaxes(parent, -1, -2) @ target[b]
            else:
                target[b] = parent
                out[:, b] = np.eye(3)
        return torch.from_numpy(out).float()


def sample_angles(rng: np.random.Generator, n: int, actions: str = "h36m", spread: float = 0.08,
                  yaw: bool = True) -> tuple[np.ndarray, list[str]]:
    """n key poses (n, 28) drawn from posekit's action samplers, jittered and clipped to the joint limits.

    actions: 'h36m' (the 15 Human3.6M actions), '3dhp' (the 7 MPI-INF-3DHP activities) or 'all'. Returns the
    angles and the action name of each pose; the root yaw is uniform when `yaw`.
    """
    pool = {"h36m": H36M_ACTIONS, "3dhp": MPI3DHP_ACTIONS, "all": H36M_ACTIONS + MPI3DHP_ACTIONS}
    if actions not in pool:
        raise ValueError(f"unknown action set {actions!r}; choose h36m, 3dhp or all")
    chosen = rng.integers(len(pool[actions]), size=n)
    q, names = np.empty((n, len(NEUTRAL))), []
    for i, a in enumerate(chosen):
        act = pool[actions][a]
        q[i] = act.sampler(rng, int(rng.integers(4)), {}) + rng.normal(0, spread, len(NEUTRAL))
        names.append(act.name)
    q = np.clip(q, LO, HI)
    q[:, 0] = rng.uniform(-np.pi, np.pi, n) if yaw else 0.0
    return q, names


def sample_phenotype(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 6) phenotypes: gender uniform, adults mostly (age 0.4-1), the others around the middle."""
    ph = np.clip(rng.normal(0.5, 0.18, (n, 6)), 0, 1)
    ph[:, 0] = rng.uniform(0, 1, n)
    ph[:, 1] = rng.uniform(0.4, 1.0, n)
    return ph
