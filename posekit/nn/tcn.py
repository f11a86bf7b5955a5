"""VideoPose3D-style temporal convolution lifter (Pavllo et al., "3D human pose estimation in video with temporal
convolutions and semi-supervised training", CVPR 2019, Sec. 3; official `common/model.py`, TemporalModel).

Dilated 1D convolutions over time with residual blocks; the receptive field is the product of the filter widths
(3,3,3 -> 27 frames; 3,3,3,3,3 -> 243). A clip of exactly the receptive field gives one output frame, the centre
(sequence-to-frame); a longer clip gives T - RF + 1 frames.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from .contract import KeypointInput, configuration

CONFIGS = {
    "paper": dict(filter_widths=(3, 3, 3, 3, 3), channels=1024, dropout=0.25),
    "gpu": dict(filter_widths=(3, 3, 3, 3), channels=512, dropout=0.25),
    "cpu": dict(filter_widths=(3, 3, 3), channels=256, dropout=0.1),
    "smoke": dict(filter_widths=(3, 3, 3), channels=64, dropout=0.1),
}


class TemporalConvLifter(KeypointInput, nn.Module):
    """Input (B, T, J, C_in) with T >= receptive field; output (B, T - RF + 1, J, 3)."""

    output = "center"

    def __init__(self, joints: int = 17, in_chans: int = 2, filter_widths=(3, 3, 3), channels: int = 1024,
                 dropout: float = 0.25, out_dim: int = 3):
        super().__init__()
        for w in filter_widths:
            if w % 2 == 0:
                raise ValueError(f"filter widths must be odd, got {filter_widths}")
        self.joints, self.in_chans, self.out_dim = joints, in_chans, out_dim
        self.receptive_field = math.prod(filter_widths)
        self.pad = [w // 2 for w in filter_widths]
        self.expand = nn.Sequential(nn.Conv1d(joints * in_chans, channels, filter_widths[0], bias=False),
                                    nn.BatchNorm1d(channels, momentum=0.1), nn.ReLU(), nn.Dropout(dropout))
        self.blocks = nn.ModuleList()
        self.dilations = []
        dilation = filter_widths[0]
        for w in filter_widths[1:]:
            self.dilations.append(dilation)
            self.blocks.append(nn.Sequential(
                nn.Conv1d(channels, channels, w, dilation=dilation, bias=False), nn.BatchNorm1d(channels, momentum=0.1),
                nn.ReLU(), nn.Dropout(dropout),
                nn.Conv1d(channels, channels, 1, bias=False), nn.BatchNorm1d(channels, momentum=0.1),
                nn.ReLU(), nn.Dropout(dropout)))
            dilation *= w
        self.shrink = nn.Conv1d(channels, joints * out_dim, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        b, t, j, c = x.shape
        if t < self.receptive_field:
            raise ValueError(f"clip has {t} frames, fewer than the receptive field {self.receptive_field}")
        h = self.expand(x.reshape(b, t, j * c).transpose(1, 2))
        for block, dilation, pad in zip(self.blocks, self.dilations, self.pad[1:]):
            cut = pad * dilation
            h = h[:, :, cut:h.shape[2] - cut] + block(h)
        out = self.shrink(h).transpose(1, 2)
        return out.reshape(b, -1, self.joints, self.out_dim)


def build(config: str = "cpu", frames: int | None = None, **overrides) -> TemporalConvLifter:
    """TCN at a named configuration; `frames` (a power of 3) picks filter widths of 3 giving that receptive field."""
    cfg = configuration(CONFIGS, config, **overrides)
    if frames:
        n = round(math.log(frames, 3))
        if 3 ** n != frames:
            raise ValueError(f"the TCN receptive field must be a power of 3 (27, 81, 243), got {frames}")
        cfg["filter_widths"] = (3,) * n
    return TemporalConvLifter(**cfg)
