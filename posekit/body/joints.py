"""Human3.6M-17 joints from the anny mesh: bone heads, plus the head top as a mesh vertex.

The Human3.6M joint regressor (`J_regressor_h36m.npy` of SPIN / PersPose) is licensed with SMPL; anny's rig gives a
free equivalent. Each joint is the head of one bone (the point the bone rotates about), except the head top, which
is the highest head vertex of the reference mesh. The mapping, in `posekit.skeleton.H36M_17` order:
pelvis = root, hips = upperleg01, knees = lowerleg01, ankles = foot, spine = spine03, thorax = neck01,
neck/nose = head, head top = highest head vertex, shoulders = upperarm01, elbows = lowerarm01, wrists = wrist.
"""
from __future__ import annotations

import torch

H36M_BONES = ("root", "upperleg01.R", "lowerleg01.R", "foot.R", "upperleg01.L", "lowerleg01.L", "foot.L",
              "spine03", "neck01", "head", None, "upperarm01.L", "lowerarm01.L", "wrist.L",
              "upperarm01.R", "lowerarm01.R", "wrist.R")
HEAD_TOP = 10


def head_top_vertex(body) -> int:
    """Index of the highest reference-mesh vertex skinned mostly to the head bone."""
    dominant = body.weight_bones.gather(1, body.weights.argmax(1, keepdim=True))[:, 0]
    head = torch.nonzero(dominant == body.bone("head"))[:, 0]
    return int(head[body.reference_vertices[head, 2].argmax()])


class H36MRegressor:
    """(vertices (B, V, 3), bone_heads (B, 104, 3)) -> joints (B, 17, 3)."""

    def __init__(self, bone_index: list[int], top_vertex: int):
        self.bone_index = torch.tensor(bone_index)
        self.top_vertex = top_vertex

    def __call__(self, vertices: torch.Tensor, heads: torch.Tensor) -> torch.Tensor:
        joints = heads[:, self.bone_index]
        return torch.cat([joints[:, :HEAD_TOP], vertices[:, self.top_vertex][:, None], joints[:, HEAD_TOP + 1:]], 1)


def h36m_regressor(body) -> H36MRegressor:
    index = [0 if name is None else body.bone(name) for name in H36M_BONES]
    return H36MRegressor(index, head_top_vertex(body))
