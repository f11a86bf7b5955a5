"""Per-vertex clothing classes, a clothing-semantic prior and procedural garments for the anny body.

DSR (Dwivedi et al., ICCV 2021, Sec. 3.2) textures the body with a per-vertex/per-face prior over clothing labels
learned from scanned clothed people (`semantic_prior.npy` in the official repository) and compares its soft
render with a clothing segmentation. No scans or parser weights can be used here, so the garments are procedural:
an `Outfit` says how long the sleeves and trouser legs are, where the waist is, how much hair there is and how
thick each garment is; `labels` turns it into one class per vertex, `dress` inflates the garment vertices along
their normals the way cloth stands off the skin, and `semantic_prior` averages the labels over many outfits (so
it is soft exactly where garments vary, e.g. at sleeve ends), the analogue of DSR's learned prior.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .parts import PARTS, vertex_parts

CLASSES = ("skin", "hair", "upper_clothes", "lower_clothes", "shoes")
SKIN, HAIR, UPPER, LOWER, SHOES = range(5)
CLASS_COLORS = ((0, 0, 0), (230, 190, 150), (60, 40, 20), (200, 40, 40), (40, 60, 160), (30, 30, 30))


@dataclass(frozen=True)
class Outfit:
    """Garment parameters. sleeve / leg: fraction of the arm (shoulder -> wrist) / leg (hip -> ankle) covered;
    waist in [0, 1] between the pelvis and the spine joint; hair: -1 bald, 0 short ... 1 long; thickness in metres
    of the upper, lower garment and the hair."""

    sleeve: float = 0.45
    leg: float = 0.95
    waist: float = 0.5
    hair: float = 0.3
    upper_thickness: float = 0.012
    lower_thickness: float = 0.010
    hair_thickness: float = 0.012

    def thickness(self) -> np.ndarray:
        """(5,) offset along the normal per class: skin 0, hair, upper, lower, shoes 8 mm."""
        return np.array([0.0, self.hair_thickness, self.upper_thickness, self.lower_thickness, 0.008])


def sample_outfit(rng: np.random.Generator) -> Outfit:
    """Sleeveless / short / long sleeves, shorts / trousers, bald to long hair, thin to thick garments."""
    sleeve = rng.choice([rng.uniform(0.0, 0.08), rng.uniform(0.3, 0.55), rng.uniform(0.9, 1.02)], p=[0.15, 0.45, 0.4])
    leg = rng.uniform(0.3, 0.5) if rng.random() < 0.3 else rng.uniform(0.88, 1.0)
    hair = -1.0 if rng.random() < 0.1 else rng.uniform(0.0, 1.0)
    return Outfit(sleeve=float(sleeve), leg=float(leg), waist=float(rng.uniform(0.25, 0.75)), hair=float(hair),
                  upper_thickness=float(rng.uniform(0.004, 0.028)), lower_thickness=float(rng.uniform(0.004, 0.022)),
                  hair_thickness=float(rng.uniform(0.004, 0.03)))


class ClothingLayout:
    """Coordinates of every reference-mesh vertex that garments are defined on (computed once per body)."""

    def __init__(self, body):
        v = body.reference_vertices.detach().cpu().double().numpy()
        heads = body.reference_heads.detach().cpu().double().numpy()
        self.parts = vertex_parts(body).numpy()
        part = {name: i + 1 for i, name in enumerate(PARTS)}

        def along(start: str, end: str, mask):
            a, b = heads[body.bone(start)], heads[body.bone(end)]
            s = (v - a) @ (b - a) / np.dot(b - a, b - a)
            return np.where(mask, s, np.nan)

        p = self.parts
        self.arm = np.full(len(v), np.nan)
        self.leg = np.full(len(v), np.nan)
        for side, s in (("L", "l"), ("R", "r")):
            arm = np.isin(p, [part[f"{s}_upper_arm"], part[f"{s}_forearm"], part[f"{s}_hand"]])
            self.arm = np.where(arm, along(f"upperarm01.{side}", f"wrist.{side}", arm), self.arm)
            leg = np.isin(p, [part[f"{s}_thigh"], part[f"{s}_shin"], part[f"{s}_foot"]])
            self.leg = np.where(leg, along(f"upperleg01.{side}", f"foot.{side}", leg), self.leg)
        root, spine = heads[body.bone("root")][2], heads[body.bone("spine03")][2]
        self.torso_height = np.where(p == part["torso"], (v[:, 2] - root) / (spine - root), np.nan)
        neck, top = heads[body.bone("head")], v[p == part["head"], 2].max()
        self.head_height = np.where(p == part["head"], (v[:, 2] - neck[2]) / (top - neck[2]), np.nan)
        self.head_back = np.where(p == part["head"], np.clip((v[:, 1] - neck[1]) / 0.06 + 0.5, 0, 1), np.nan)
        self.foot = np.isin(p, [part["l_foot"], part["r_foot"]])

    def labels(self, outfit: Outfit) -> np.ndarray:
        """(V,) class index into CLASSES."""
        lab = np.full(self.parts.shape, SKIN)
        with np.errstate(invalid="ignore"):
            lab[self.torso_height >= outfit.waist] = UPPER
            lab[self.torso_height < outfit.waist] = LOWER
            lab[self.arm < outfit.sleeve] = UPPER
            lab[self.leg < outfit.leg] = LOWER
            lab[(self.leg > 0.97) | self.foot] = SHOES
            if outfit.hair >= 0:
                line = 0.78 - 0.9 * outfit.hair * self.head_back
                lab[self.head_height > line] = HAIR
        return lab


def semantic_prior(layout: ClothingLayout, n_outfits: int = 512, seed: int = 0) -> torch.Tensor:
    """(V, 5) probability of each clothing class per vertex, averaged over `n_outfits` sampled outfits."""
    rng = np.random.default_rng(seed)
    counts = np.zeros((len(layout.parts), len(CLASSES)))
    for _ in range(n_outfits):
        counts[np.arange(len(layout.parts)), layout.labels(sample_outfit(rng))] += 1
    return torch.from_numpy(counts / n_outfits).float()


def dress(vertices: torch.Tensor, faces: torch.Tensor, labels: torch.Tensor, thickness: torch.Tensor) -> torch.Tensor:
    """Inflate garments: vertices (B, V, 3) + normal * thickness[label]; labels (B, V) long, thickness (B, 5)."""
    from ..render.shading import vertex_normals
    offset = thickness.to(vertices).gather(1, labels)
    return vertices + vertex_normals(vertices, faces) * offset[..., None]
