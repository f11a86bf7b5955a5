"""Single-frame MLP lifter, "A simple yet effective baseline" (Martinez et al., ICCV 2017).

Linear(J*2 -> C), BatchNorm, ReLU, dropout, then residual blocks of two such layers, then Linear(C -> J*3).
"""
from __future__ import annotations

import torch
from torch import nn

from .contract import KeypointInput, configuration

CONFIGS = {
    "paper": dict(channels=1024, blocks=2, dropout=0.5),
    "gpu": dict(channels=1024, blocks=2, dropout=0.25),
    "cpu": dict(channels=512, blocks=2, dropout=0.1),
    "smoke": dict(channels=128, blocks=1, dropout=0.1),
}


def _layer(c: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(c, c), nn.BatchNorm1d(c), nn.ReLU(), nn.Dropout(dropout))


class MLPLifter(KeypointInput, nn.Module):
    """Input (B, 1, J, C_in) (or (B, T, J, C_in), each frame lifted alone); output (B, T, J, 3)."""

    output = "center"
    receptive_field = 1

    def __init__(self, joints: int = 17, in_chans: int = 2, channels: int = 1024, blocks: int = 2,
                 dropout: float = 0.5, out_dim: int = 3):
        super().__init__()
        self.joints, self.in_chans, self.out_dim = joints, in_chans, out_dim
        self.inp = nn.Sequential(nn.Linear(joints * in_chans, channels), nn.BatchNorm1d(channels), nn.ReLU(),
                                 nn.Dropout(dropout))
        self.blocks = nn.ModuleList(nn.Sequential(_layer(channels, dropout), _layer(channels, dropout))
                                    for _ in range(blocks))
        self.out = nn.Linear(channels, joints * out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        b, t, j, c = x.shape
        h = self.inp(x.reshape(b * t, j * c))
        for block in self.blocks:
            h = h + block(h)
        return self.out(h).reshape(b, t, self.joints, self.out_dim)


def build(config: str = "cpu", frames: int | None = None, **overrides) -> MLPLifter:
    if frames not in (None, 1):
        raise ValueError(f"the MLP lifter is single-frame; frames must be 1, got {frames}")
    return MLPLifter(**configuration(CONFIGS, config, **overrides))
