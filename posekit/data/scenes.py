"""Procedural scenes and appearance for the synthetic image set: floors, walls, light, skin and garment colours.

The background is a scene seen through the same camera as the person, not a flat colour: each pixel's ray
K^-1 [u, v, 1] is intersected with the floor (z = 0, a tiled or planked texture that recedes in perspective) and
otherwise hits a wall at a random distance (smooth colour bands and noise); the horizon follows the camera's
pitch and roll. Garment colours are drawn per outfit with a procedural texture (solid, stripes, checks) laid on
the reference-pose coordinates of the vertices, so the pattern moves with the body.
"""
from __future__ import annotations

import math

import numpy as np
import torch

SKIN_TONES = np.array([[255, 224, 196], [234, 192, 160], [198, 150, 110], [160, 110, 75], [110, 72, 48],
                       [80, 52, 35]]) / 255.0
HAIR_COLORS = np.array([[20, 15, 10], [60, 40, 25], [110, 75, 40], [180, 140, 80], [120, 120, 120],
                        [150, 50, 30]]) / 255.0


def random_color(rng: np.random.Generator, saturation=(0.2, 0.9), value=(0.15, 0.95)) -> np.ndarray:
    """An RGB colour in [0, 1] from random hue, saturation and value."""
    h, s, v = rng.uniform(0, 1), rng.uniform(*saturation), rng.uniform(*value)
    k = (np.array([5, 3, 1]) + h * 6) % 6
    return v - v * s * np.clip(np.minimum(k, 4 - k), 0, 1)


def vertex_colors(rng: np.random.Generator, labels: np.ndarray, rest: np.ndarray) -> np.ndarray:
    """(V, 3) colours for clothing labels (V,) (skin, hair, upper, lower, shoes) on reference coordinates (V, 3)."""
    colors = np.empty((len(labels), 3))
    tone = SKIN_TONES[rng.integers(len(SKIN_TONES))] * rng.uniform(0.9, 1.1)
    colors[:] = tone
    colors[labels == 1] = HAIR_COLORS[rng.integers(len(HAIR_COLORS))]
    colors[labels == 4] = random_color(rng, value=(0.05, 0.6))
    for cls in (2, 3):
        a, b = random_color(rng), random_color(rng)
        kind = rng.choice(["solid", "stripes", "checks", "vertical"], p=[0.4, 0.3, 0.15, 0.15])
        period = rng.uniform(0.04, 0.12)
        x, z = rest[:, 0], rest[:, 2]
        if kind == "solid":
            pattern = np.zeros(len(labels))
        elif kind == "stripes":
            pattern = np.sin(2 * math.pi * z / period) > 0
        elif kind == "vertical":
            pattern = np.sin(2 * math.pi * x / period) > 0
        else:
            pattern = (np.sin(2 * math.pi * x / period) > 0) ^ (np.sin(2 * math.pi * z / period) > 0)
        mask = labels == cls
        colors[mask] = np.where(np.asarray(pattern, bool)[mask, None], b, a)
    return np.clip(colors, 0, 1)


def scene_background(rng: np.random.Generator, K: torch.Tensor, R_wc: torch.Tensor, centre: torch.Tensor,
                     height: int, width: int) -> torch.Tensor:
    """(3, H, W) background for camera K (3, 3), world->camera rotation R_wc (3, 3), camera centre (3,) in metres."""
    ys, xs = torch.meshgrid(torch.arange(height) + 0.5, torch.arange(width) + 0.5, indexing="ij")
    rays_cam = torch.stack([xs, ys, torch.ones_like(xs)], -1) @ torch.linalg.inv(K).T
    rays = rays_cam @ R_wc  # world directions (R_wc^T applied to each row)
    t_floor = -centre[2] / rays[..., 2].clamp(max=-1e-6)
    hit = centre + t_floor[..., None] * rays
    floor_a, floor_b = (torch.from_numpy(random_color(rng, (0.0, 0.5), (0.25, 0.8))).float() for _ in range(2))
    tile = rng.uniform(0.3, 1.2)
    if rng.random() < 0.5:  # square tiles
        check = ((hit[..., 0] / tile).floor() + (hit[..., 1] / tile).floor()) % 2
    else:  # planks
        check = ((hit[..., 0] / (tile / 4)).floor() % 2) * 0.6 + 0.2 * torch.sin(hit[..., 1] * 3)
    floor = floor_a + check[..., None].clamp(0, 1) * (floor_b - floor_a)
    fade = torch.exp(-t_floor / rng.uniform(8, 30))[..., None]  # far floor fades to a haze
    haze = torch.from_numpy(random_color(rng, (0.0, 0.3), (0.5, 0.9))).float()
    floor = floor * fade + haze * (1 - fade)
    # walls: colour bands by azimuth and height, plus smooth noise
    azimuth = torch.atan2(rays[..., 1], rays[..., 0])
    elevation = rays[..., 2] / rays.norm(dim=-1)
    n_bands = int(rng.integers(2, 7))
    band_colors = torch.from_numpy(np.stack([random_color(rng, (0.0, 0.7), (0.3, 0.95)) for _ in range(n_bands)]))
    phase = rng.uniform(0, 2 * math.pi)
    band = ((azimuth + math.pi + phase) / (2 * math.pi) * n_bands).floor().long() % n_bands
    wall = band_colors.float()[band]
    ripple = torch.zeros_like(azimuth)
    for _ in range(3):
        fa, fe, ph = rng.uniform(1, 8), rng.uniform(2, 12), rng.uniform(0, 2 * math.pi)
        ripple = ripple + torch.sin(fa * azimuth + fe * elevation + ph) / 3
    wall = wall * (0.85 + 0.15 * ripple[..., None]) * (0.8 + 0.3 * elevation[..., None].clamp(0, 1))
    image = torch.where((rays[..., 2] < 0)[..., None] & (t_floor < 60)[..., None], floor, wall)
    return image.clamp(0, 1).permute(2, 0, 1)
