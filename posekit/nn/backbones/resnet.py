"""ResNet-50 as DSR / SPIN use it (He et al., CVPR 2016, Table 1): the trunk without average pooling and fc.

Same layers and parameter count as torchvision's `resnet50` minus its fc (25,557,032 - 2,049,000 = 23,508,032);
DSR's regressor (`dsr/models/hmr.py`, after SPIN) average-pools the 2048 x 7 x 7 output itself. No weights are
loaded: ImageNet weights cannot be downloaded here, so it trains from scratch (or loads a user's state dict).
"""
from __future__ import annotations

import torch
from torch import nn

from .blocks import Bottleneck, conv_bn, stack


class ResNet50(nn.Module):
    """(B, 3, H, W) -> (B, 2048, H / 32, W / 32)."""

    out_channels = 2048
    stride = 32

    def __init__(self, in_channels: int = 3):
        super().__init__()
        self.stem = nn.Sequential(conv_bn(in_channels, 64, 7, 2), nn.MaxPool2d(3, 2, 1))
        self.layer1 = stack(Bottleneck, 64, 64, 3)
        self.layer2 = stack(Bottleneck, 256, 128, 4, 2)
        self.layer3 = stack(Bottleneck, 512, 256, 6, 2)
        self.layer4 = stack(Bottleneck, 1024, 512, 3, 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer4(self.layer3(self.layer2(self.layer1(self.stem(x)))))
