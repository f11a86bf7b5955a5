"""Fourteen body parts per vertex, from anny's skinning weights (each vertex goes to its dominant bone's part).

The parts follow the usual 14-part split of human parsing and of DSR's minimally-clothed regions (head, torso and,
per side, upper arm, forearm, hand, thigh, shin, foot). Part index 0 is kept for the background in rendered maps,
so vertex labels are 1..14.
"""
from __future__ import annotations

import torch

PARTS = ("head", "torso", "l_upper_arm", "l_forearm", "l_hand", "r_upper_arm", "r_forearm", "r_hand",
         "l_thigh", "l_shin", "l_foot", "r_thigh", "r_shin", "r_foot")
# RGB colour per part (background first) for viewers and part maps.
PART_COLORS = ((0, 0, 0), (230, 190, 150), (90, 110, 160), (214, 39, 40), (255, 127, 14), (255, 200, 60),
               (44, 160, 44), (152, 223, 138), (23, 190, 207), (148, 103, 189), (197, 176, 213),
               (140, 86, 75), (227, 119, 194), (127, 127, 127), (188, 189, 34))


def _part_of_bone(label: str) -> str:
    side = "l" if label.endswith(".L") else "r"
    stem = label.split(".")[0]
    if stem.startswith(("head", "neck", "eye", "jaw", "tongue")):
        return "head"
    if stem.startswith(("upperarm",)):
        return f"{side}_upper_arm"
    if stem.startswith(("lowerarm",)):
        return f"{side}_forearm"
    if stem.startswith(("wrist", "finger", "metacarpal")):
        return f"{side}_hand"
    if stem.startswith("upperleg"):
        return f"{side}_thigh"
    if stem.startswith("lowerleg"):
        return f"{side}_shin"
    if stem.startswith(("foot", "toe")):
        return f"{side}_foot"
    return "torso"  # root, pelvis, spine, clavicle, shoulder


def bone_parts(body) -> torch.Tensor:
    """(104,) part label 1..14 of every bone."""
    return torch.tensor([1 + PARTS.index(_part_of_bone(b)) for b in body.bone_labels])


def vertex_parts(body) -> torch.Tensor:
    """(V,) part label 1..14 of every vertex (that of the bone with the largest skinning weight)."""
    dominant = body.weight_bones.gather(1, body.weights.argmax(1, keepdim=True))[:, 0]
    return bone_parts(body)[dominant.cpu()]


def part_onehot(body, dtype=torch.float32) -> torch.Tensor:
    """(V, 14) one-hot part attributes, ready to render as a soft part map."""
    return torch.nn.functional.one_hot(vertex_parts(body) - 1, len(PARTS)).to(dtype)
