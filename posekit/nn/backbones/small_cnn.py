"""A small image CNN for the CPU notebooks, trained from scratch (no pretrained weights can be downloaded).

Residual stages of BasicBlocks (He et al., CVPR 2016), each halving the resolution: a 64 x 64 crop becomes a
(widths[-1], 4, 4) feature map (stride 16) that heads pool or read as heat-maps. `extra_channels` adds inputs
concatenated to the image (e.g. PersPose's ray map of K_crop^-1 [u, v, 1]).
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import BasicBlock, conv_bn


class SmallImageCNN(nn.Module):
    """(B, 3 + extra_channels, H, W) -> (B, widths[-1], H / 2^len(widths), W / 2^len(widths))."""

    def __init__(self, widths=(32, 64, 128, 256), extra_channels: int = 0, blocks_per_stage: int = 1):
        super().__init__()
        if not widths:
            raise ValueError("SmallImageCNN needs at least one stage width")
        self.out_channels, self.stride = widths[-1], 2 ** len(widths)
        self.stem = conv_bn(3 + extra_channels, widths[0], 3)
        stages, cin = [], widths[0]
        for w in widths:
            stages.append(nn.Sequential(BasicBlock(cin, w, 2), *[BasicBlock(w, w) for _ in range(blocks_per_stage - 1)]))
            cin = w
        self.stages = nn.Sequential(*stages)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.stages(self.stem(x))
