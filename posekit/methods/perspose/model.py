"""PersPose's network: an image crop plus its ray map in, a root-relative 3D pose out (ICCV 2025, Sec. 3.2-3.4).

Input (both models): x = (B, 5, S, S), the RGB crop in [0, 1] (3 channels) and the crop's ray map
K_crop^-1 [u, v, 1] at every pixel centre (2 channels, `geometry.ray_map`). The ray map is the only way the model
learns K_crop: Perspective Encoding (pe=True) adds a 1x1 convolution of it (2 -> C, no bias, N(0, 0.01)) to the
features after layer1 (`src_PersPose/PersPose.py::inner`, `common/model/HRNet/HRNet_hybrik.py::forward`); the
back-projection below reads f and c from it in every arm, PE or not, as PersPose always lifts with K_crop.

Output representation (`PersPose.py`): heat-maps -> soft-argmax uv in crop pixels; a global feature -> per-joint
root-relative depth d_j = 2.2 (sigmoid - 0.5) metres (root forced to 0) and the root density
rho_0 = Z_root / f = 7e-3 (256 / S) exp(3 (sigmoid - 0.5)) (the paper's range at S = 256, rescaled with the crop
size); then rho_j = d_j / f + rho_0, xy_j = (uv_j - c) rho_j and the pose [xy_j - xy_root, d_j] with f = (fx + fy)/2.

`PersPose` is the paper's configuration: HRNet-W48 (w48_256x192) with all four stage-4 outputs and the 2048-d
classification head, 25 joints (the 24 SMPL joints and the Human3.6M pelvis, the root, last), and the heads
heat-map 1x1 48 -> 25, depth 2048 -> 25, root density 2048 -> 1, ortho-twist 2048 -> 75, shape 2048 -> 11,
leaf rotations 2048 -> 30: 75,713,559 parameters. Its SMPL analytic IK (which adds no parameters) is not part of
posekit: the twist, shape and leaf outputs are returned beside the pose. `SmallPersPose` is the same recipe on
a from-scratch residual CNN for CPU notebooks: layer1 at 1/4 resolution (PE added there), two more stride-2
stages, heat-maps at 1/4 from the deepest features upsampled onto layer1, the global head on the pooled deepest
features. Both return (root-relative pose, camera-frame joints), each (B, 1, J, 3), and train with `perspose_loss`
on camera-frame targets; `outputs(x)` adds the heads' outputs ('uv', 'depth', 'rho0'; the paper model also
'twist', 'shape', 'leaf').
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ...nn.backbones import HRNetGlobalHead, HRNetW48
from ...nn.backbones.blocks import BasicBlock, conv_bn
from ...nn.contract import configuration
from .geometry import ray_map

CONFIGS = {
    "smoke": dict(widths=(8, 16, 32, 64), size=32, joints=17),
    "cpu": dict(widths=(16, 32, 64, 96), size=64, joints=17),
    "gpu": dict(widths=(32, 64, 128, 256), size=64, joints=17),
    "paper": dict(backbone="hrnet", size=256, joints=25),
}
DEPTH_RANGE = 1.1      # metres, the paper's sigmoid range for root-relative depth
RHO0_AT_256 = 7e-3     # metres per pixel at a 256-pixel crop, the paper's centre of the root-density range


class RayMapInput:
    """`example_input` (a random crop with the ray map of a plausible K_crop), one clear error for a wrong input, and
    what both models share: the forward pass returns (root-relative pose, camera-frame joints) from `outputs`, and
    the loss."""

    size: int
    root: int

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        out = self.outputs(x)
        return out["pose"][:, None], out["absolute"][:, None]

    def loss(self, output, target: torch.Tensor) -> torch.Tensor:
        return perspose_loss(output, target, self.root)


    def example_input(self, batch: int = 1) -> torch.Tensor:
        g = torch.Generator().manual_seed(batch)
        f = self.size * (1.5 + torch.rand(batch, generator=g))
        c = self.size * (0.3 + 0.4 * torch.rand(batch, 2, generator=g))
        K = torch.zeros(batch, 3, 3)
        K[:, 0, 0], K[:, 1, 1], K[:, :2, 2], K[:, 2, 2] = f, f, c, 1
        return torch.cat([torch.rand(batch, 3, self.size, self.size, generator=g),
                          ray_map(K, self.size, self.size)], 1)

    def check_input(self, x: torch.Tensor) -> None:
        if x.ndim != 4 or x.shape[1] != 5 or x.shape[2] != x.shape[3] or x.shape[2] % 16:
            raise ValueError(f"{type(self).__name__} expects (B, 5, S, S) crops, RGB and the 2-channel ray map "
                             f"K_crop^-1 [u, v, 1] (posekit.methods.perspose.geometry.ray_map), with S a multiple "
                             f"of 16; got {tuple(x.shape)}")


def crop_intrinsics(rays: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """(f (B,), c (B, 2)) of the crop from its full-resolution ray map (B, 2, S, S): x = (u - cx) / fx."""
    fx = 1 / (rays[:, 0, 0, 1] - rays[:, 0, 0, 0])
    fy = 1 / (rays[:, 1, 1, 0] - rays[:, 1, 0, 0])
    c = torch.stack([0.5 - rays[:, 0, 0, 0] * fx, 0.5 - rays[:, 1, 0, 0] * fy], -1)
    return (fx + fy) / 2, c


def soft_argmax(heatmaps: torch.Tensor, stride: float) -> torch.Tensor:
    """(B, J, h, w) logits -> (B, J, 2) expected (u, v) in input pixels, cell (i, j) centred at (j + 0.5) stride."""
    B, J, h, w = heatmaps.shape
    p = torch.softmax(heatmaps.reshape(B, J, -1).float(), -1).reshape(B, J, h, w)
    u = (torch.arange(w, device=p.device, dtype=p.dtype) + 0.5) * stride
    v = (torch.arange(h, device=p.device, dtype=p.dtype) + 0.5) * stride
    return torch.stack([(p.sum(2) * u).sum(-1), (p.sum(3) * v).sum(-1)], -1)


def lift(uv: torch.Tensor, depth_logit: torch.Tensor, rho_logit: torch.Tensor, f: torch.Tensor, c: torch.Tensor,
         size: int, root: int) -> dict:
    """PersPose's back-projection: uv (B, J, 2), logits (B, J) and (B, 1), f (B,), c (B, 2) -> {'pose': root-relative
    (B, J, 3), 'absolute': camera-frame joints (B, J, 3), 'depth' (B, J), 'rho0' (B,)}."""
    depth = 2 * DEPTH_RANGE * (torch.sigmoid(depth_logit.float()) - 0.5)
    depth = depth - depth[:, root:root + 1]
    rho0 = RHO0_AT_256 * (256 / size) * torch.exp(3 * (torch.sigmoid(rho_logit.float()[:, 0]) - 0.5))
    rho = depth / f[:, None] + rho0[:, None]
    xy = (uv - c[:, None]) * rho[..., None]
    pose = torch.cat([xy - xy[:, root:root + 1], depth[..., None]], -1)
    absolute = torch.cat([xy, (f[:, None] * rho)[..., None]], -1)
    return {"pose": pose, "absolute": absolute, "depth": depth, "rho0": rho0}


def perspose_loss(output, target: torch.Tensor, root: int = 0, ray_weight: float = 1.0,
                  root_weight: float = 0.1) -> torch.Tensor:
    """Training loss from camera-frame targets (B, 1, J, 3): root-relative MPJPE (metres) + ray_weight x the mean
    error of the joints' rays [x/z, y/z] (PersPose's uv term, divided by f) + root_weight x |log Z_root error|
    (its root-density term, log-scaled). output: the model's (pose, absolute) pair."""
    pose, absolute = output
    if absolute.shape != target.shape:
        raise ValueError(f"PersPose is trained on camera-frame joints {tuple(absolute.shape)}, got targets "
                         f"{tuple(target.shape)}; use posekit.methods.perspose.data.WideField as the batch source")
    rel = target - target[..., root:root + 1, :]
    l_pose = (pose - rel).norm(dim=-1).mean()
    ray = absolute[..., :2] / absolute[..., 2:3]
    ray_gt = target[..., :2] / target[..., 2:3]
    l_ray = (ray - ray_gt).norm(dim=-1).mean()
    l_root = (absolute[..., root, 2].clamp(min=1e-3).log() - target[..., root, 2].log()).abs().mean()
    return l_pose + ray_weight * l_ray + root_weight * l_root


def _pe_conv(channels: int) -> nn.Conv2d:
    conv = nn.Conv2d(2, channels, 1, bias=False)
    nn.init.normal_(conv.weight, 0.0, 0.01)
    return conv


class SmallPersPose(RayMapInput, nn.Module):
    """The from-scratch model of the notebook (see the module docstring); pe=False is the 'plain' arm."""

    receptive_field = 1
    output = "center"

    def __init__(self, widths=(16, 32, 64, 96), size: int = 64, joints: int = 17, pe: bool = True, root: int = 0):
        super().__init__()
        if len(widths) != 4 or size % 16:
            raise ValueError(f"SmallPersPose needs four widths and a crop size divisible by 16, got {widths}, {size}")
        w0, w1, w2, w3 = widths
        self.size, self.joints, self.pe, self.root = size, joints, pe, root
        self.stem = conv_bn(3, w0, 3, 2)
        self.layer1 = BasicBlock(w0, w1, 2)                        # 1/4: where PE is added
        self.pe_conv = _pe_conv(w1) if pe else None
        self.deep = nn.Sequential(BasicBlock(w1, w2, 2), BasicBlock(w2, w3, 2))   # 1/16
        self.lateral = conv_bn(w3, w1, 1)
        self.refine = BasicBlock(w1, w1)
        self.heatmap = nn.Conv2d(w1, joints, 1)
        self.globals = nn.Linear(w3, joints + 1)                   # depth per joint, root density

    def outputs(self, x: torch.Tensor) -> dict:
        self.check_input(x)
        image, rays = x[:, :3], x[:, 3:]
        f1 = self.layer1(self.stem((image - 0.5) / 0.25))
        if self.pe_conv is not None:
            f1 = f1 + self.pe_conv(F.avg_pool2d(rays, 4))           # the ray map at the 1/4 cell centres
        deep = self.deep(f1)
        up = F.interpolate(self.lateral(deep), size=f1.shape[-2:], mode="nearest")
        uv = soft_argmax(self.heatmap(self.refine(f1 + up)), 4)
        g = self.globals(deep.mean((-2, -1)))
        f, c = crop_intrinsics(rays)
        return {**lift(uv, g[:, :self.joints], g[:, self.joints:], f, c, self.size, self.root), "uv": uv}


class PersPose(RayMapInput, nn.Module):
    """The paper's configuration (see the module docstring): 75,713,559 trainable parameters with PE."""

    receptive_field = 1
    output = "center"

    def __init__(self, size: int = 256, joints: int = 25, pe: bool = True, root: int | None = None):
        super().__init__()
        self.size, self.joints, self.pe = size, joints, pe
        self.root = joints - 1 if root is None else root           # the Human3.6M pelvis, appended last
        self.backbone, self.global_head = HRNetW48(), HRNetGlobalHead()
        self.cam_layer = _pe_conv(256) if pe else None
        self.heatmap = nn.Conv2d(HRNetW48.widths[0], joints, 1)
        self.depth = nn.Linear(2048, joints)
        self.root_density = nn.Linear(2048, 1)
        self.twist = nn.Linear(2048, joints * 3)
        self.shape = nn.Linear(2048, 11)
        self.leaf = nn.Linear(2048, 5 * 6)

    def outputs(self, x: torch.Tensor) -> dict:
        self.check_input(x)
        image, rays = x[:, :3], x[:, 3:]
        pe = None if self.cam_layer is None else (lambda f1: self.cam_layer(F.avg_pool2d(rays, 4)))
        _, xs = self.backbone.features((image - 0.5) / 0.25, after_layer1=pe)
        g = self.global_head(xs)
        uv = soft_argmax(self.heatmap(xs[0]), 4)
        f, c = crop_intrinsics(rays)
        return {**lift(uv, self.depth(g), self.root_density(g), f, c, self.size, self.root), "uv": uv,
                "twist": self.twist(g).reshape(-1, self.joints, 3), "shape": self.shape(g),
                "leaf": self.leaf(g).reshape(-1, 5, 6)}


def build(config: str = "cpu", frames: int | None = None, **overrides) -> nn.Module:
    """PersPose at a named configuration ('paper': HRNet-W48, 256 x 256, 25 joints); overrides e.g. pe=False."""
    if frames not in (None, 1):
        raise ValueError(f"PersPose is a single-image model; frames must be 1 or None, got {frames}")
    kwargs = configuration(CONFIGS, config, **overrides)
    if kwargs.pop("backbone", "small") == "hrnet":
        return PersPose(**kwargs)
    return SmallPersPose(**kwargs)
