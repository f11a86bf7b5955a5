"""The clothing-semantic prior on the body and the image-side targets of DSR-MC and DSR-C.

DSR (Dwivedi et al., ICCV 2021, Sec. 3.2-3.3) textures the body with a prior over the 20 Graphonomy labels learned
from scans (`dsr_data/semantic_prior.npy`, used per face in `dsr/semantic_rendering`) and compares its soft render
with a Graphonomy segmentation of the image. Here both sides come from the synthetic people of
`posekit.data.images`: the clothing classes of `posekit.body.CLASSES` (skin, hair, upper, lower clothes, shoes)
split by body part and side give the Graphonomy labels DSR uses (face, arms, legs, shoes per side, hair, upper
clothes, pants). The per-vertex prior is `posekit.body.semantic_prior` (the class of each vertex averaged over
many sampled outfits, soft where garments vary) split the same way.

Targets, as in the official `dsr/dataset/base_dataset.py` and `dsr/semantic_rendering/data_utils.py`:
- DSR-MC: the minimally clothed labels (face, left/right arm, left/right shoe) present in the image (more than
  `min_pixels`, DSR's 60 px at 224^2 scaled to the image area) form the binary target; the texture is the sum of
  the prior's columns of those present labels.
- DSR-C: the labels merged into 8 classes (background, head, upper clothes, pants, left/right arm, left/right leg
  with the shoe) form the label map; the class weights are (pixels of the rarest present class) / (pixels of the
  class) for classes over `min_pixels`, 0 for the others (`get_class_ratio`).
"""
from __future__ import annotations

import numpy as np
import torch

from ...body.clothing import CLASSES
from ...body.parts import PARTS

LABELS = ("background", "hair", "upper_clothes", "pants", "face", "left_arm", "right_arm", "left_leg", "right_leg",
          "left_shoe", "right_shoe")
MC_LABELS = ("face", "left_arm", "right_arm", "left_shoe", "right_shoe")
MERGED = ("background", "head", "upper_clothes", "pants", "left_arm", "right_arm", "left_leg", "right_leg")
# label -> merged class (DSR's 8-class grouping of the Graphonomy labels)
MERGE = {"background": "background", "hair": "head", "face": "head", "upper_clothes": "upper_clothes",
         "pants": "pants", "left_arm": "left_arm", "right_arm": "right_arm", "left_leg": "left_leg",
         "left_shoe": "left_leg", "right_leg": "right_leg", "right_shoe": "right_leg"}
LABEL_COLORS = ((0, 0, 0), (60, 40, 20), (255, 85, 0), (0, 85, 85), (0, 0, 255), (51, 170, 221), (0, 255, 255),
                (85, 255, 170), (170, 255, 85), (255, 255, 0), (255, 170, 0))  # Graphonomy's colours
MERGED_COLORS = ((0, 0, 0), (0, 0, 255), (255, 85, 0), (0, 85, 85), (51, 170, 221), (0, 255, 255),
                 (85, 255, 170), (170, 255, 85))


def _side(part: str) -> str:
    return "left" if part.startswith("l_") else "right"


def label_table() -> np.ndarray:
    """(1 + 14, 1 + 5) label index of every (body part, clothing class) pair; index 0 of each axis is background."""
    table = np.zeros((1 + len(PARTS), 1 + len(CLASSES)), dtype=np.int64)
    lab = {name: i for i, name in enumerate(LABELS)}
    for p, part in enumerate(PARTS, start=1):
        limb = "arm" if any(k in part for k in ("arm", "hand")) else "leg" if part != "head" and part != "torso" \
            else None
        for c, cls in enumerate(CLASSES, start=1):
            if cls == "hair":
                name = "hair"
            elif cls == "upper_clothes":
                name = "upper_clothes"
            elif cls == "lower_clothes":
                name = "pants"
            elif cls == "shoes":
                name = f"{_side(part)}_shoe" if limb == "leg" else "pants"
            elif part == "head":
                name = "face"
            elif limb is not None:
                name = f"{_side(part)}_{limb}"
            else:  # bare torso skin (rare: outfits always cover the torso) counts as upper clothes
                name = "upper_clothes"
            table[p, c] = lab[name]
    return table


def image_labels(parts, classes) -> np.ndarray | torch.Tensor:
    """Label maps (..., H, W) in `LABELS` from the part map (0, 1..14) and clothing-class map (0, 1..5) of an image."""
    table = label_table()
    if isinstance(parts, torch.Tensor):
        return torch.from_numpy(table).to(parts.device)[parts.long(), classes.long()]
    return table[np.asarray(parts, dtype=np.int64), np.asarray(classes, dtype=np.int64)]


def merge_matrix() -> torch.Tensor:
    """(len(LABELS), 8) 0/1 matrix summing label probabilities into DSR-C's merged classes."""
    m = torch.zeros(len(LABELS), len(MERGED))
    for i, name in enumerate(LABELS):
        m[i, MERGED.index(MERGE[name])] = 1
    return m


def vertex_prior(body, n_outfits: int = 512, seed: int = 0) -> torch.Tensor:
    """(V, len(LABELS)) per-vertex probability of each label: the clothing-class prior of `posekit.body` split by
    the vertex's part and side (the analogue of DSR's `semantic_prior.npy`; its background column is 0)."""
    from ...body import ClothingLayout, semantic_prior, vertex_parts
    classes = semantic_prior(ClothingLayout(body), n_outfits, seed)  # (V, 5)
    parts = vertex_parts(body)
    table = torch.from_numpy(label_table())
    prior = torch.zeros(len(parts), len(LABELS))
    for c in range(len(CLASSES)):
        prior.index_put_((torch.arange(len(parts)), table[parts, c + 1]), classes[:, c], accumulate=True)
    return prior


def min_pixels(size: int) -> int:
    """DSR's 60-pixel presence threshold at 224 x 224, scaled to a size x size image (at least 1)."""
    return max(1, round(60 * (size / 224) ** 2))


def targets(labels: torch.Tensor, prior: torch.Tensor, threshold: int | None = None) -> dict[str, torch.Tensor]:
    """DSR-MC and DSR-C targets and textures of a batch of label maps (B, H, W) (indices into `LABELS`).

    Returns mc_mask (B, H, W) float, mc_valid (B,) (some MC label present), mc_texture (B, V), c_label (B, H, W)
    long, c_weight (B, 8), c_texture (V, 8).
    """
    if labels.ndim != 3:
        raise ValueError(f"label maps must be (B, H, W), got {tuple(labels.shape)}")
    threshold = min_pixels(labels.shape[-1]) if threshold is None else threshold
    labels = labels.long()
    counts = torch.nn.functional.one_hot(labels, len(LABELS)).flatten(1, 2).sum(1)  # (B, L)
    present = counts > threshold
    mc = torch.tensor([LABELS.index(n) for n in MC_LABELS], device=labels.device)
    mc_present = present[:, mc].float()  # (B, 5)
    on = torch.zeros(labels.shape[0], len(LABELS), device=labels.device)
    on[:, mc] = mc_present
    mc_mask = on.gather(1, labels.flatten(1)).reshape(labels.shape)
    merge = merge_matrix().to(prior)
    lut = merge.argmax(1).to(labels.device)
    c_label = lut[labels]
    c_counts = counts.float() @ merge.to(counts.device)  # (B, 8)
    c_present = c_counts > threshold
    smallest = torch.where(c_present, c_counts, torch.full_like(c_counts, float("inf"))).amin(1, keepdim=True)
    c_weight = torch.where(c_present, smallest / c_counts.clamp(min=1), torch.zeros_like(c_counts))
    return {"mc_mask": mc_mask, "mc_valid": mc_present.sum(1) > 0, "mc_texture": mc_present.to(prior) @ prior[:, mc].T,
            "c_label": c_label, "c_weight": c_weight, "c_texture": prior @ merge}


def downsample_labels(labels: torch.Tensor, size: int) -> torch.Tensor:
    """Nearest-neighbour resize of label maps (B, H, W) to size x size (pixel centres sampled)."""
    if labels.shape[-1] == size and labels.shape[-2] == size:
        return labels
    h, w = labels.shape[-2:]
    rows = ((torch.arange(size) + 0.5) * h / size).long().clamp(max=h - 1)
    cols = ((torch.arange(size) + 0.5) * w / size).long().clamp(max=w - 1)
    return labels[:, rows][:, :, cols]
