"""Differentiable soft rasteriser (SoftRas semantics) in pure PyTorch, with a hard z-buffer mode.

    raster = SoftRasterizer(64, 64, sigma=0.5)
    out = raster(vertices_cam, faces, K, attributes=colours, background=torch.zeros(3))
    out["alpha"], out["image"]       # (B, 64, 64) soft silhouette, (B, 3, 64, 64)
"""
from .rasterize import SoftRasterizer, project
from .shading import lambert, vertex_normals

__all__ = ["SoftRasterizer", "project", "vertex_normals", "lambert"]
