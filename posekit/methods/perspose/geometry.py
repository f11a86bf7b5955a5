"""PersPose's geometry: the Perspective Encoding ray map and the Perspective Rotation with its warp and crop.

Hao & Li, "PersPose: 3D Human Pose Estimation with Perspective Encoding and Perspective Rotation", ICCV 2025
(arXiv 2508.17239), Sec. 3; official code `KenAdamsJoseph/PersPose` (1863de7): `src_PersPose/PersPose.py::inner`
(the PE map), `common/geometry.py::adjust_perspective` (the rotation), `datasets/transform.py` (warp and crop).

- PE (Sec. 3.2): a crop is the full image seen with the intrinsics K_crop = A K (A: the crop's shift and scale).
  The network gets them as a map: at each location (u, v) of the crop, [x, y, 1] = K_crop^-1 [u, v, 1], the ray
  through that pixel cut with the plane z = 1 (2 channels, `ray_map`).
- PR (Sec. 3.3): rotate the virtual camera about its centre by the swing R that takes the ray a through the box
  centre onto the ray b through the principal point (the optical axis): axis a x b, angle arccos(a . b)
  (`swing_rotation`). The image follows by the homography K R K^-1 (`homography`, `warp_image`); the crop is then
  made symmetric about the principal point, half-size = max |corner - principal point| (`symmetric_crop`), so its
  principal point is the crop centre. 3D labels are rotated into the centred camera, P' = R P (`rotate_points`),
  and predictions are turned back with R^T for the original camera (`unrotate_points`); root-relative MPJPE and
  P-MPJPE do not change under the same rotation of prediction and ground truth.

Convention: pixel (row r, column c) covers [c, c + 1) x [r, r + 1), its centre at (c + 0.5, r + 0.5), as
`posekit.camera` and `posekit.render` use it. numpy in, numpy out, except `ray_map` and `warp_image` (torch).
"""
from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ...camera import pinhole as project  # camera-frame points -> pixels with a pinhole K


def _h(uv: np.ndarray) -> np.ndarray:
    uv = np.asarray(uv, dtype=np.float64)
    return np.concatenate([uv, np.ones(uv.shape[:-1] + (1,))], -1)


def _check_K(K) -> np.ndarray:
    K = np.asarray(K, dtype=np.float64)
    if K.shape != (3, 3) or not np.allclose(K[2], [0, 0, 1]) or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise ValueError(f"K must be a 3x3 pinhole matrix [[fx, 0, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0, "
                         f"got {K.tolist() if K.size == 9 else K.shape}")
    return K


def ray_map(K_crop: torch.Tensor, height: int, width: int, stride: int = 1) -> torch.Tensor:
    """The PE map: (B, 2, height // stride, width // stride), [x, y] of K_crop^-1 [u, v, 1] at cell centres.

    Cell (i, j) of a stride-s grid is centred at u = (j + 0.5) s, v = (i + 0.5) s (PersPose samples a 256 x 256 crop
    at u = (j + 0.5) 4 for its 64 x 64 map). K_crop: (B, 3, 3) or (3, 3) in crop pixels.
    """
    K = torch.as_tensor(K_crop, dtype=torch.float32)
    K = K.reshape(-1, 3, 3)
    if height % stride or width % stride:
        raise ValueError(f"the crop {height}x{width} is not a whole number of stride-{stride} cells")
    u = (torch.arange(width // stride, dtype=K.dtype) + 0.5) * stride
    v = (torch.arange(height // stride, dtype=K.dtype) + 0.5) * stride
    # K^-1 [u, v, 1] for a pinhole K without skew: x = (u - cx) / fx, y = (v - cy) / fy
    x = (u[None, None, :] - K[:, 0, 2, None, None]) / K[:, 0, 0, None, None]
    y = (v[None, :, None] - K[:, 1, 2, None, None]) / K[:, 1, 1, None, None]
    return torch.stack([x.expand(-1, len(v), -1), y.expand(-1, -1, len(u))], 1)


def rodrigues(axis_angle: np.ndarray) -> np.ndarray:
    """Rotation matrix of an axis-angle vector (3,) (angle = its norm, radians)."""
    w = np.asarray(axis_angle, dtype=np.float64)
    angle = float(np.linalg.norm(w))
    if angle < 1e-12:
        return np.eye(3)
    k = w / angle
    kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(angle) * kx + (1 - math.cos(angle)) * kx @ kx


def swing_rotation(K, c_obj, c_aim=None) -> np.ndarray:
    """The PR rotation R (3, 3): the swing taking the ray through pixel c_obj onto the ray through c_aim.

    c_aim defaults to the principal point, whose ray is the optical axis (0, 0, 1). a = normalize(K^-1 [c_obj, 1]),
    b = normalize(K^-1 [c_aim, 1]), R = Rodrigues(n phi) with n = a x b / |a x b| and phi = arccos(a . b), so
    R a = b and R leaves the direction a x b alone (no twist about the optical axis).
    """
    K = _check_K(K)
    Kinv = np.linalg.inv(K)
    c_aim = K[:2, 2] if c_aim is None else np.asarray(c_aim, dtype=np.float64)
    a = Kinv @ _h(c_obj)
    b = Kinv @ _h(c_aim)
    a, b = a / np.linalg.norm(a), b / np.linalg.norm(b)
    n = np.cross(a, b)
    s = np.linalg.norm(n)
    if s < 1e-12:
        return np.eye(3)
    phi = math.acos(float(np.clip(a @ b, -1.0, 1.0)))
    return rodrigues(n / s * phi)


def off_axis_angle(K, c_obj) -> float:
    """Degrees between the ray through pixel c_obj and the optical axis (the angle PR rotates by)."""
    ray = np.linalg.inv(_check_K(K)) @ _h(c_obj)
    return math.degrees(math.acos(float(ray[2] / np.linalg.norm(ray))))


def homography(K, R, K_out=None) -> np.ndarray:
    """K_out R K^-1 (K_out defaults to K): where a pixel of the original camera lands in the rotated one."""
    K = _check_K(K)
    return (K if K_out is None else np.asarray(K_out, dtype=np.float64)) @ np.asarray(R) @ np.linalg.inv(K)


def apply_homography(M, uv) -> np.ndarray:
    """Pixels (..., 2) mapped by a 3x3 matrix, with the homogeneous divide."""
    p = _h(uv) @ np.asarray(M, dtype=np.float64).T
    return p[..., :2] / p[..., 2:3]


def symmetric_crop(K, uv_rotated, size: int, margin: float = 1.25) -> tuple[np.ndarray, np.ndarray]:
    """The square crop about the principal point that holds the points uv_rotated (N, 2) (e.g. the rotated box
    corners or the projected subject), scaled to size x size: returns (A, K_crop = A K).

    half-size = margin * max |uv - principal point| (one value for both axes: a square crop whose centre is the
    principal point), so K_crop's principal point is (size / 2, size / 2).
    """
    K = _check_K(K)
    if size < 1 or margin <= 0:
        raise ValueError(f"need size >= 1 and margin > 0, got size={size}, margin={margin}")
    pp = K[:2, 2]
    half = margin * float(np.abs(np.asarray(uv_rotated, dtype=np.float64) - pp).max())
    if half <= 0:
        raise ValueError("the points to crop all sit on the principal point; there is nothing to frame")
    s = size / (2 * half)
    A = np.array([[s, 0, -s * (pp[0] - half)], [0, s, -s * (pp[1] - half)], [0, 0, 1.0]])
    return A, A @ K


def box_crop(uv, size: int, margin: float = 1.25) -> np.ndarray:
    """The plain crop (no PR): the square of side margin * max(box width, height) about the box centre -> A."""
    uv = np.asarray(uv, dtype=np.float64)
    lo, hi = uv.min(0), uv.max(0)
    mid, side = (lo + hi) / 2, margin * float((hi - lo).max())
    s = size / side
    return np.array([[s, 0, -s * (mid[0] - side / 2)], [0, s, -s * (mid[1] - side / 2)], [0, 0, 1.0]])


def perspective_rotation(K, uv_subject, size: int, margin: float = 1.25) -> dict:
    """The whole PR of one subject, from its projected points uv_subject (N, 2) in the full image.

    Returns R (rotation of the camera, P' = R P), M = A K R K^-1 (full image -> PR crop pixels), A, K_crop = A K,
    and angle (degrees between the box-centre ray and the optical axis).
    """
    K = _check_K(K)
    uv = np.asarray(uv_subject, dtype=np.float64)
    box = (uv.min(0) + uv.max(0)) / 2
    R = swing_rotation(K, box)
    A, K_crop = symmetric_crop(K, apply_homography(homography(K, R), uv), size, margin)
    return {"R": R, "M": A @ homography(K, R), "A": A, "K_crop": K_crop, "angle": off_axis_angle(K, box)}


def rotate_points(points, R) -> np.ndarray:
    """3D labels into the rotated (centred) camera: P' = R P for points (..., 3)."""
    return np.asarray(points) @ np.asarray(R).T


def unrotate_points(points, R) -> np.ndarray:
    """Predictions made in the rotated camera back to the original one: P = R^T P' (R (3, 3) or (B, 3, 3) with
    points (B, ..., 3))."""
    points, R = np.asarray(points), np.asarray(R)
    if R.ndim == 3:
        return np.einsum("b...i,bij->b...j", points, R)
    return points @ R


def warp_image(image: torch.Tensor, M, size: int | tuple[int, int]) -> torch.Tensor:
    """Warp image (C, H, W) or (B, C, H, W) by the 3x3 map M (source pixels -> output pixels) into size x size:
    every output pixel centre is pulled back through M^-1 and sampled bilinearly (zero outside the source)."""
    batched = image.ndim == 4
    img = image if batched else image[None]
    h_out, w_out = (size, size) if isinstance(size, int) else size
    Minv = torch.as_tensor(np.linalg.inv(np.asarray(M, dtype=np.float64)), dtype=torch.float64)
    v, u = torch.meshgrid(torch.arange(h_out, dtype=torch.float64) + 0.5,
                          torch.arange(w_out, dtype=torch.float64) + 0.5, indexing="ij")
    src = torch.stack([u, v, torch.ones_like(u)], -1) @ Minv.T
    src = src[..., :2] / src[..., 2:3]
    H, W = img.shape[-2:]
    grid = torch.stack([src[..., 0] / W * 2 - 1, src[..., 1] / H * 2 - 1], -1).to(img.dtype)
    out = F.grid_sample(img.float(), grid[None].expand(len(img), -1, -1, -1).float(), mode="bilinear",
                        padding_mode="zeros", align_corners=False).to(img.dtype if img.is_floating_point() else
                                                                       torch.float32)
    return out if batched else out[0]


__all__ = ["ray_map", "rodrigues", "swing_rotation", "off_axis_angle", "homography", "apply_homography", "project",
           "symmetric_crop", "box_crop", "perspective_rotation", "rotate_points", "unrotate_points", "warp_image"]
