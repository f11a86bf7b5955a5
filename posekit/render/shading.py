"""Vertex normals and Lambertian shading of per-vertex colours (Gouraud), differentiable in the vertices."""
from __future__ import annotations

import torch


def vertex_normals(vertices: torch.Tensor, faces: torch.Tensor) -> torch.Tensor:
    """Area-weighted unit vertex normals (B, V, 3) of a triangle mesh; vertices (B, V, 3), faces (F, 3)."""
    tri = vertices[:, faces]  # (B, F, 3, 3)
    face_n = torch.cross(tri[:, :, 1] - tri[:, :, 0], tri[:, :, 2] - tri[:, :, 0], dim=-1)
    normals = torch.zeros_like(vertices)
    for k in range(3):
        normals = normals.index_add(1, faces[:, k], face_n)
    return torch.nn.functional.normalize(normals, dim=-1, eps=1e-12)


def lambert(colors: torch.Tensor, normals: torch.Tensor, light_dir: torch.Tensor, ambient=0.45,
            diffuse=0.65) -> torch.Tensor:
    """Shaded colours (B, V, 3): colour * (ambient + diffuse * |n . l|).

    light_dir (B, 3) or (3,) points from the surface towards the light, in the frame of the normals. The absolute
    value lights both sides (the renderer fills back faces, as SoftRas's fill_back=True does).
    """
    light = torch.nn.functional.normalize(light_dir.to(normals).reshape(-1, 1, 3), dim=-1)
    ambient = torch.as_tensor(ambient, dtype=normals.dtype, device=normals.device).reshape(-1, 1, 1)
    diffuse = torch.as_tensor(diffuse, dtype=normals.dtype, device=normals.device).reshape(-1, 1, 1)
    return colors * (ambient + diffuse * (normals * light).sum(-1, keepdim=True).abs())
