"""PersPose: 3D Human Pose Estimation with Perspective Encoding and Perspective Rotation (Xiaoyang Hao, Han Li;
ICCV 2025, arXiv 2508.17239; official code `KenAdamsJoseph/PersPose`, 1863de7).

`geometry`: the PE ray map K_crop^-1 [u, v, 1], the PR swing rotation, the warp K R K^-1, the crop symmetric about
the principal point, the rotation of 3D labels and its inverse; `model`: the paper's configuration (HRNet-W48,
75,713,559 parameters) and a small from-scratch model with the same PE injection and output representation;
`data`: wide-field synthetic crops, plain or perspective-rotated, as a batch source; `figures`: the notebook's
pictures.
"""
from .geometry import (apply_homography, box_crop, homography, off_axis_angle, perspective_rotation, project,
                       ray_map, rodrigues, rotate_points, swing_rotation, symmetric_crop, unrotate_points, warp_image)
from .model import CONFIGS, PersPose, SmallPersPose, build, crop_intrinsics, lift, perspose_loss, soft_argmax
from .data import WideField, evaluate, wide_field
