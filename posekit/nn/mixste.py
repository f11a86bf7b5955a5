"""MixSTE (Zhang et al., "MixSTE: Seq2seq Mixed Spatio-Temporal Encoder for 3D Human Pose Estimation in Video",
CVPR 2022; official code github.com/JinluZhang1126/MixSTE, `common/model_cross.py`): a seq2seq lifter alternating
spatial attention over the joints of a frame with temporal attention over the frames of one joint ("joint
separation", Sec. 3.2). As in the official code: one Spatial_norm / Temporal_norm instance shared by all layers,
positional embeddings added once in layer 0, drop-path linspace(0, 0.1, depth), LayerNorm eps 1e-6 (the head's
default 1e-5), PyTorch default init. At 243 frames, width 512, depth 8, 8 heads, MLP ratio 2: 33,783,811 parameters.
"""
from __future__ import annotations

import torch
from torch import nn

from .. import metrics
from .contract import KeypointInput, configuration, pose_of
from .layers import TransformerBlock, drop_path_rates

CONFIGS = {
    "paper": dict(frames=243, dim=512, depth=8, heads=8, mlp_ratio=2.0, drop_path=0.1),
    "gpu": dict(frames=81, dim=256, depth=8, heads=8, mlp_ratio=2.0, drop_path=0.1),
    "cpu": dict(frames=27, dim=32, depth=4, heads=4, mlp_ratio=2.0, drop_path=0.0),
    "smoke": dict(frames=27, dim=32, depth=2, heads=4, mlp_ratio=2.0, drop_path=0.0),
}


# WMPJPE joint weights (Sec. 3.4), Human3.6M-17 order: limbs' ends weigh more.
JOINT_WEIGHTS = (1, 1, 2.5, 2.5, 1, 2.5, 2.5, 1, 1, 1, 1.5, 1.5, 4, 4, 1.5, 4, 4)


def mixste_loss(output, target: torch.Tensor) -> torch.Tensor:
    """MixSTE's loss (Sec. 3.4, Eq. 7-10): WMPJPE + 0.5 * temporal consistency + 2.0 * MPJVE, (B, T, J, 3) in metres.

    Uses a plain backward, as HoT's re-implementation does, not the official code's 1/2 L^2 gradient quirk.
    """
    pred = pose_of(output)
    if pred.shape != target.shape:
        raise ValueError(f"prediction {tuple(pred.shape)} and target {tuple(target.shape)} differ in shape")
    w = pred.new_tensor(JOINT_WEIGHTS if pred.shape[-2] == 17 else [1.0] * pred.shape[-2])
    loss = metrics.mpjpe_torch(pred, target, w)
    if pred.shape[1] > 1:
        dp, dt = pred[:, 1:] - pred[:, :-1], target[:, 1:] - target[:, :-1]
        tc = (w[:, None] * dp ** 2).mean()
        mpjve = torch.linalg.norm(dp - dt, dim=-1).mean()
        loss = loss + 0.5 * tc + 2.0 * mpjve
    return loss


class MixSTE(KeypointInput, nn.Module):
    """Input (B, T, J, C_in) screen-normalised 2D; output (B, T, J, 3) root-relative 3D (metres)."""

    output = "sequence"

    def __init__(self, frames: int = 243, joints: int = 17, in_chans: int = 2, dim: int = 512, depth: int = 8,
                 heads: int = 8, mlp_ratio: float = 2.0, qkv_bias: bool = True, drop_path: float = 0.1,
                 out_dim: int = 3):
        super().__init__()
        self.receptive_field, self.joints, self.in_chans, self.dim, self.depth = frames, joints, in_chans, dim, depth
        self.joint_embed = nn.Linear(in_chans, dim)
        self.spatial_pos = nn.Parameter(torch.zeros(1, joints, dim))
        self.temporal_pos = nn.Parameter(torch.zeros(1, frames, dim))
        dpr = drop_path_rates(drop_path, depth)
        hidden = int(dim * mlp_ratio)
        self.spatial_blocks = nn.ModuleList(TransformerBlock(dim, heads, hidden, qkv_bias, drop_path=p) for p in dpr)
        self.temporal_blocks = nn.ModuleList(TransformerBlock(dim, heads, hidden, qkv_bias, drop_path=p) for p in dpr)
        self.spatial_norm = nn.LayerNorm(dim, eps=1e-6)  # one instance shared by all layers, as in the official code
        self.temporal_norm = nn.LayerNorm(dim, eps=1e-6)
        self.head = nn.Sequential(nn.LayerNorm(dim), nn.Linear(dim, out_dim))

    def spatial(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """Spatial block i over the J joints of every frame: (B, T, J, C) -> (B, T, J, C)."""
        b, t, j, c = x.shape
        return self.spatial_norm(self.spatial_blocks[i](x.reshape(b * t, j, c))).reshape(b, t, j, c)

    def temporal(self, x: torch.Tensor, i: int) -> torch.Tensor:
        """Temporal block i over the T frames of each joint separately: (B, T, J, C) -> (B, T, J, C)."""
        b, t, j, c = x.shape
        y = x.permute(0, 2, 1, 3).reshape(b * j, t, c)
        y = self.temporal_norm(self.temporal_blocks[i](y))
        return y.reshape(b, j, t, c).permute(0, 2, 1, 3)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Joint embedding plus the spatial positional embedding: (B, T, J, C_in) -> (B, T, J, C)."""
        return self.joint_embed(x) + self.spatial_pos

    def add_temporal_pos(self, x: torch.Tensor) -> torch.Tensor:
        t = x.shape[1]
        if t > self.temporal_pos.shape[1]:
            raise ValueError(f"clip has {t} frames but the model was built for {self.temporal_pos.shape[1]}")
        return x + self.temporal_pos[:, :t, None, :]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        x = self.spatial(self.embed(x), 0)
        x = self.temporal(self.add_temporal_pos(x), 0)
        for i in range(1, self.depth):
            x = self.temporal(self.spatial(x, i), i)
        return self.head(x)


def build(config: str = "cpu", frames: int | None = None, **overrides) -> MixSTE:
    """MixSTE at a named configuration ('paper', 'gpu', 'cpu', 'smoke'); `frames` and keywords override it."""
    return MixSTE(**configuration(CONFIGS, config, frames, **overrides))
