"""HRNet-W48 (Sun et al., "Deep High-Resolution Representation Learning", CVPR 2019) as PersPose uses it.

PersPose (ICCV 2025) takes HybrIK's HRNet-W48 (`common/model/HRNet/HRNet_hybrik.py`, config w48_256x192): a stem
of two stride-2 3x3 convolutions, layer1 (four Bottlenecks, 256 channels at 1/4), then stages 2-4 with 1, 4 and 3
multi-resolution modules of four BasicBlocks per branch (widths 48, 96, 192, 384), exchanging information in fuse
layers. All four stage-4 branch outputs are kept. The trunk has 65,325,120 parameters. PersPose reads the 48-channel
1/4-resolution branch for heat-maps and a 2048-d global feature from HRNet's classification head (Wang et al.,
TPAMI 2020): per branch one Bottleneck raising the widths to 128 / 256 / 512 / 1024, stride-2 3x3 convolutions
merging them from high to low resolution, a 1x1 convolution to 2048 channels and average pooling (10,095,744
parameters). `HRNetW48.features(x)` also returns the output of layer1, where PersPose adds its 1x1-conv ray map.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .blocks import BasicBlock, Bottleneck, conv_bn, stack


class FuseModule(nn.Module):
    """One multi-resolution module: BasicBlocks per branch, then every output sums all branches resampled."""

    def __init__(self, widths: list[int], blocks: int = 4, keep_all: bool = True):
        super().__init__()
        self.branches = nn.ModuleList(stack(BasicBlock, w, w, blocks) for w in widths)
        outs = len(widths) if keep_all else 1
        self.fuse = nn.ModuleList()
        for i in range(outs):
            row = nn.ModuleList()
            for j, w in enumerate(widths):
                if j > i:  # lower resolution: 1x1 conv, upsample in forward
                    row.append(conv_bn(w, widths[i], 1, relu=False))
                elif j == i:
                    row.append(nn.Identity())
                else:  # higher resolution: (i - j) stride-2 3x3 convs, ReLU between them
                    steps = [conv_bn(w, w, 3, 2) for _ in range(i - j - 1)]
                    row.append(nn.Sequential(*steps, conv_bn(w, widths[i], 3, 2, relu=False)))
            self.fuse.append(row)

    def forward(self, xs: list[torch.Tensor]) -> list[torch.Tensor]:
        xs = [b(x) for b, x in zip(self.branches, xs)]
        outs = []
        for i, row in enumerate(self.fuse):
            y = 0
            for j, layer in enumerate(row):
                z = layer(xs[j])
                if j > i:
                    z = F.interpolate(z, size=xs[i].shape[-2:], mode="nearest")
                y = y + z
            outs.append(torch.relu(y))
        return outs


class HRNetW48(nn.Module):
    """(B, 3, H, W) -> four maps (48, 96, 192, 384 channels at H/4 .. H/32)."""

    widths = (48, 96, 192, 384)

    def __init__(self, in_channels: int = 3):
        super().__init__()
        w = self.widths
        self.stem = nn.Sequential(conv_bn(in_channels, 64, 3, 2), conv_bn(64, 64, 3, 2))
        self.layer1 = stack(Bottleneck, 64, 64, 4)
        self.transition1 = nn.ModuleList([conv_bn(256, w[0], 3), conv_bn(256, w[1], 3, 2)])
        self.stage2 = nn.Sequential(FuseModule(list(w[:2])))
        self.transition2 = conv_bn(w[1], w[2], 3, 2)
        self.stage3 = nn.Sequential(*[FuseModule(list(w[:3])) for _ in range(4)])
        self.transition3 = conv_bn(w[2], w[3], 3, 2)
        self.stage4 = nn.Sequential(*[FuseModule(list(w)) for _ in range(3)])

    def features(self, x: torch.Tensor, after_layer1=None) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """(layer1 output (B, 256, H/4, W/4), the four branch outputs); `after_layer1(f)` may add to layer1."""
        f = self.layer1(self.stem(x))
        if after_layer1 is not None:
            f = f + after_layer1(f)
        xs = [t(f) for t in self.transition1]
        xs = self.stage2(xs)
        xs = self.stage3(xs + [self.transition2(xs[-1])])
        return f, self.stage4(xs + [self.transition3(xs[-1])])

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:
        return self.features(x)[1]


class HRNetGlobalHead(nn.Module):
    """HRNet's classification head without its fc: four branch maps -> (B, 2048) average-pooled feature."""

    head_widths = (32, 64, 128, 256)

    def __init__(self, widths=HRNetW48.widths):
        super().__init__()
        h = self.head_widths
        self.incre = nn.ModuleList(Bottleneck(c, p) for c, p in zip(widths, h))
        self.down = nn.ModuleList(conv_bn(h[i] * 4, h[i + 1] * 4, 3, 2, bias=True) for i in range(3))
        self.final = conv_bn(h[3] * 4, 2048, 1, bias=True)

    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        y = self.incre[0](xs[0])
        for i, down in enumerate(self.down):
            y = self.incre[i + 1](xs[i + 1]) + down(y)
        return self.final(y).mean((-2, -1))
