"""The lifter PoseDA adapts: PoseAug's single-frame VideoPose3D (`jfzhang95/PoseAug`, "videopose", filter widths
1,1,1,1,1, 1024 channels, dropout 0.25). The GPA table of the official README (`rese1f/PoseDA`) lists PoseAug's four
backbones, so this is most likely its VideoPose3D row; the paper's implementation section was not checked. PoseDA
adds no layers to the lifter: its two contributions change the training data (`gpa.py`, `lpa.py`, `adapt.py`), and
the lifter trains with the contract's MPJPE loss.
"""
from __future__ import annotations

from ...nn.contract import configuration
from ...nn.tcn import TemporalConvLifter

CONFIGS = {
    # PoseAug's single-frame VideoPose3D ("videopose", stages 4): widths 1,1,1,1,1, 1024 channels, dropout 0.25.
    "paper": dict(filter_widths=(1, 1, 1, 1, 1), channels=1024, dropout=0.25),
    "gpu": dict(filter_widths=(1, 1, 1, 1, 1), channels=1024, dropout=0.25),
    "cpu": dict(filter_widths=(1, 1, 1), channels=512, dropout=0.1),
    "smoke": dict(filter_widths=(1, 1), channels=128, dropout=0.1),
}


def build(config: str = "cpu", frames: int | None = None, **overrides) -> TemporalConvLifter:
    """The single-frame VideoPose3D lifter PoseDA adapts (receptive field 1, output 'center').

    Input (B, 1, J, 2), output (B, 1, J, 3). At 'paper' and 17 joints: 8,494,131 parameters (PoseAug's 16-joint
    model, which predicts 15 joints and pads the root, has 8,485,933; see tests/test_poseda.py).
    """
    if frames not in (None, 1):
        raise ValueError(f"PoseDA's backbone is single-frame (frames=1), got frames={frames}; adapt any other "
                         f"posekit lifter with posekit.methods.poseda.adapt")
    return TemporalConvLifter(**configuration(CONFIGS, config, **overrides))
