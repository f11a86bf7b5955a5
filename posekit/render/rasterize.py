"""A soft rasteriser in pure PyTorch with SoftRas semantics (Liu et al., "Soft Rasterizer", ICCV 2019, Sec. 3).

Coverage of face j at pixel i: D_j(i) = sigmoid(delta_ij * d^2(i, j) / sigma), d the distance from the pixel
centre to the triangle's edges in pixels, delta = +1 inside and -1 outside (Eq. 1). Silhouette (aggregate "prod"):
A(i) = 1 - prod_j (1 - D_j(i)) (Eq. 5). Attributes (aggregate "softmax", Eqs. 3-4): C(i) = sum_j w_j C_j(i) + w_b C_b
with w_j proportional to D_j exp(z_j / gamma), w_b to exp(eps / gamma), z_j = (far - depth) / (far - near) the
normalised inverse depth at the pixel. C_j(i) interpolates per-vertex attributes with perspective-correct
barycentric weights, clamped to the triangle outside it (as SoftRas does). Back faces are drawn (fill_back=True).
`hard=True` is the sigma -> 0 limit with a z-buffer: exact coverage and the nearest face's attributes.

Units differ from SoftRas's: sigma is in squared pixels (SoftRas's NDC sigma times (W / 2)^2), and pixel (row r,
column c) covers [c, c + 1) x [r, r + 1), its centre at (c + 0.5, r + 0.5), the convention of `posekit.camera`
intrinsics K. Faces are binned per tile (`binning.py`), so the cost follows the faces near each pixel, not H*W*F.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .binning import bin_faces


def project(vertices: torch.Tensor, K: torch.Tensor) -> torch.Tensor:
    """Camera-frame points (B, V, 3) (x right, y down, z forward, metres) -> (B, V, 3): pixel u, v and depth z."""
    K = K.to(vertices).reshape(-1, 3, 3)
    z = vertices[..., 2:3]
    uv = vertices[..., :2] / z * torch.stack([K[:, 0, 0], K[:, 1, 1]], -1)[:, None] + K[:, None, :2, 2]
    return torch.cat([uv, z], -1)


def _cross(a, b):
    return a[..., 0] * b[..., 1] - a[..., 1] * b[..., 0]


class SoftRasterizer(torch.nn.Module):
    """Render a batch of meshes: silhouette and any per-vertex attributes (colours, parts, class probabilities).

    sigma: sharpness in px^2 (coverage falls to 1/(1+e) at sqrt(sigma) pixels outside a face); gamma: depth
    temperature of the softmax; near / far: depth range in metres; tile: tile size in pixels for face binning
    (1: a candidate list per pixel); max_faces: candidates kept per tile, the nearest ones. aggregate: 'softras'
    is Eqs. 3-4 exactly (the background competes with exp(eps / gamma), so any face within reach of a pixel
    dominates it and colours bleed by the margin); 'alpha' (default) takes the softmax over faces only and
    composites it with the soft silhouette, image = A * sum_j w_j C_j + (1 - A) * background.
    """

    def __init__(self, height: int, width: int, sigma: float = 0.1, gamma: float = 1e-4, near: float = 0.05,
                 far: float = 100.0, eps: float = 1e-3, dist_eps: float = 1e-4, tile: int = 1, max_faces: int = 24,
                 aggregate: str = "alpha", hard: bool = False):
        super().__init__()
        if height < 1 or width < 1 or tile < 1:
            raise ValueError(f"image size and tile must be positive, got {height}x{width}, tile {tile}")
        if not hard and (sigma <= 0 or gamma <= 0):
            raise ValueError(f"sigma and gamma must be > 0 for soft rendering (use hard=True for sigma -> 0), "
                             f"got sigma={sigma}, gamma={gamma}")
        self.height, self.width, self.sigma, self.gamma = height, width, sigma, gamma
        self.near, self.far, self.eps, self.dist_eps, self.tile, self.hard = near, far, eps, dist_eps, tile, hard
        self.max_faces = max_faces
        if aggregate not in ("alpha", "softras"):
            raise ValueError(f"aggregate must be 'alpha' or 'softras', got {aggregate!r}")
        self.aggregate = aggregate

    def forward(self, vertices: torch.Tensor, faces: torch.Tensor, K: torch.Tensor,
                attributes: torch.Tensor | None = None, background: torch.Tensor | None = None) -> dict:
        """vertices (B, V, 3) camera frame, faces (F, 3) long, K (B, 3, 3) or (3, 3) pixels,
        attributes (B, V, C) or (V, C), background (C,) or (B, C, H, W).

        Returns alpha (B, H, W), and with attributes: image (B, C, H, W) (background composited, zero if none) and
        background_weight (B, H, W), the weight w_b the background got at each pixel.
        """
        if vertices.ndim != 3 or vertices.shape[-1] != 3:
            raise ValueError(f"vertices must be (B, V, 3) in the camera frame, got {tuple(vertices.shape)}")
        if faces.ndim != 2 or faces.shape[1] != 3:
            raise ValueError(f"faces must be (F, 3) vertex indices, got {tuple(faces.shape)}")
        batch, H, W, T = vertices.shape[0], self.height, self.width, self.tile
        if attributes is not None and attributes.ndim == 2:
            attributes = attributes.expand(batch, -1, -1)
        proj = project(vertices, K)
        tri = proj[:, faces]  # (B, F, 3, 3)
        valid = (tri[..., 2] > self.near).all(-1)
        margin = 0.0 if self.hard else math.sqrt(self.sigma * math.log(1 / self.dist_eps))
        bins = bin_faces(tri[..., :2], valid, H, W, T, margin, tri[..., 2].detach().amin(-1), self.max_faces)
        n, k = bins.faces.shape
        # pixel centres of each tile (P = T * T), and the candidate triangles (N, K, 3, 3)
        offs = torch.arange(T, device=vertices.device, dtype=vertices.dtype) + 0.5
        py, px = torch.meshgrid(offs, offs, indexing="ij")
        pix = torch.stack([px.flatten(), py.flatten()], -1)  # (P, 2)
        pix = pix[None] + torch.stack([bins.col, bins.row], -1).to(pix)[:, None] * T  # (N, P, 2)
        used = (bins.faces >= 0)[:, None]  # (N, 1, K)
        cand = tri[bins.batch[:, None], bins.faces.clamp(min=0)]  # (N, K, 3, 3)
        a, b, c = (cand[:, None, :, i, :2] for i in range(3))  # (N, 1, K, 2)
        p = pix[:, :, None]  # (N, P, 1, 2)
        area = _cross(b - a, c - a)
        used = used & (area.abs() > 1e-9)
        area = torch.where(area.abs() > 1e-9, area, torch.ones_like(area))
        w0, w1 = _cross(b - p, c - p) / area, _cross(c - p, a - p) / area
        bary = torch.stack([w0, w1, 1 - w0 - w1], -1)  # (N, P, K, 3)
        inside = (bary >= 0).all(-1)
        used = used.expand_as(inside)
        if self.hard:
            cover = inside & used
            alpha = cover.any(-1).to(vertices.dtype)
        else:
            d2 = torch.stack([self._edge_d2(p, a, b), self._edge_d2(p, b, c), self._edge_d2(p, c, a)], -1).amin(-1)
            logit = torch.where(inside, d2, -d2) / self.sigma
            log_not = torch.where(used, F.logsigmoid(-logit), torch.zeros_like(logit))
            alpha = 1 - torch.exp(log_not.sum(-1))
        out = {"alpha": self._assemble(alpha[..., None], bins, batch)[:, 0]}
        if attributes is None:
            return out
        # perspective-correct clamped barycentrics, depth at the pixel
        wc = bary.clamp(0, 1)
        wc = wc / wc.sum(-1, keepdim=True).clamp(min=1e-12)
        inv_z = wc / cand[:, None, :, :, 2]
        depth = 1 / inv_z.sum(-1)
        wp = inv_z * depth[..., None]
        zn = (self.far - depth) / (self.far - self.near)
        if self.hard:  # the nearest covering face only: gather its attributes instead of weighting all K
            best = torch.where(cover, zn, torch.full_like(zn, -math.inf)).argmax(-1)  # (N, P)
            face = faces[bins.faces.clamp(min=0).gather(1, best)]  # (N, P, 3)
            attr = attributes[bins.batch[:, None, None], face]  # (N, P, 3, C)
            w = wp.gather(2, best[..., None, None].expand(-1, -1, 1, 3))[:, :, 0] * alpha[..., None]
            value = torch.einsum("npv,npvc->npc", w, attr)
            return self._finish(out, value, bins, batch, 1 - alpha, background)
        else:
            logits = torch.where(used, F.logsigmoid(logit) + zn / self.gamma, torch.full_like(zn, -math.inf))
            if self.aggregate == "softras":  # SoftRas's kernel skips faces beyond its dist_eps threshold per pixel
                logits = torch.where(inside | (d2 <= margin ** 2), logits, torch.full_like(zn, -math.inf))
                logits = torch.cat([logits, torch.full_like(zn[..., :1], self.eps / self.gamma)], -1)
                soft = torch.softmax(logits, -1)
                weight, w_bg = soft[..., :-1], soft[..., -1]
            else:
                weight = torch.nan_to_num(torch.softmax(logits, -1)) * alpha[..., None]
                w_bg = 1 - alpha
        attr = attributes[bins.batch[:, None, None], faces[bins.faces.clamp(min=0)]]  # (N, K, 3, C)
        value = torch.einsum("npkv,nkvc->npc", weight[..., None] * wp, attr)
        return self._finish(out, value, bins, batch, w_bg, background)

    def _finish(self, out, value, bins, batch, w_bg, background):
        image = self._assemble(value, bins, batch)
        w_b = self._assemble(w_bg[..., None], bins, batch, fill=1.0)[:, 0]
        if background is not None:
            bg = background.to(image)
            bg = bg.reshape(1, -1, 1, 1) if bg.ndim == 1 else bg
            image = image + w_b[:, None] * bg
        out.update(image=image, background_weight=w_b)
        return out

    @staticmethod
    def _edge_d2(p, a, b):
        ab = b - a
        t = (((p - a) * ab).sum(-1) / (ab * ab).sum(-1).clamp(min=1e-12)).clamp(0, 1)
        return ((p - a - t[..., None] * ab) ** 2).sum(-1)

    def _assemble(self, values: torch.Tensor, bins, batch: int, fill: float = 0.0) -> torch.Tensor:
        """Per-tile pixel values (N, P, C) -> images (B, C, H, W); tiles without faces get `fill`."""
        T, H, W = self.tile, self.height, self.width
        rows, cols = -(-H // T), -(-W // T)
        C = values.shape[-1]
        grid = values.new_full((batch * rows * cols, T * T, C), fill)
        grid = grid.index_copy(0, (bins.batch * rows + bins.row) * cols + bins.col, values) if len(bins.batch) \
            else grid
        grid = grid.reshape(batch, rows, cols, T, T, C).permute(0, 5, 1, 3, 2, 4)
        return grid.reshape(batch, C, rows * T, cols * T)[:, :, :H, :W]
