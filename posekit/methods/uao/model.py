"""UAO's lifting network and its training loss (Wang et al., "Uncertainty-Aware Testing-Time Optimization for 3D
Human Pose Estimation", IEEE TMM 2025, arXiv 2402.02339), top to bottom:

1. the lifting network "GUMLP" (official `model/model_Gaussian.py`, graph in `model/graph_frames.py`): a
   single-frame GCN + MLP lifter whose two heads predict, for every joint, the 3D position mu_j and a log-scale s_j
   (the joint's uncertainty): `uao_adjacency` (the fixed 4-subset skeleton graph: self, closer to the spine,
   further, left/right mirror), `SkeletonGCN`, `ChannelUMLP`, `SpatialUMLP`, `GUMLPBlock`, `GUMLP`;
2. the heteroscedastic training loss (official `common/utils.py`, `gaussian_loss`):
   mean_j ||y_j - mu_j|| exp(-s_j) + s_j (`heteroscedastic_loss`).

The test-time optimisation that uses s is in `tto.py`. The paper's section numbers were not checked against its
body; the citations name the official files (`xiu-cs/UAO-Pose3D`, cb50588).
"""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ...nn.contract import KeypointInput, configuration
from ...nn.layers import DropPath, drop_path_rates
from ...skeleton import H36M_17, Skeleton

CONFIGS = {
    # the official defaults (`main.py`, `--channel 512 --layers 3`): width 512, 3 blocks; channel-uMLP hidden 256,
    # spatial-uMLP hidden 6 x 17.
    "paper": dict(channels=512, layers=3, channel_hidden=256, spatial_hidden=102, drop_path=0.2),
    "gpu": dict(channels=512, layers=3, channel_hidden=256, spatial_hidden=102, drop_path=0.2),
    # laptop sizes: the joint-mixing uMLP (102 hidden units per channel) dominates the cost, so it shrinks most
    "cpu": dict(channels=64, layers=2, channel_hidden=32, spatial_hidden=34, drop_path=0.1),
    "smoke": dict(channels=32, layers=1, channel_hidden=16, spatial_hidden=34, drop_path=0.0),
}

S_MIN = float(np.log(1e-4))  # log-scale floor in the loss: 0.1 mm


# ======================================================================== 1. the lifting network (`model_Gaussian.py`)

# Extra edges between mirrored joints (`model/graph_frames.py`, left/right symmetric links): (LFoot, RFoot),
# (LKnee, RKnee), (LHip, RHip), (LShoulder, RShoulder), (LElbow, RElbow), (LWrist, RWrist) in Human3.6M-17 order.
H36M_SYMMETRIC_LINKS = ((6, 3), (5, 2), (4, 1), (11, 14), (12, 15), (13, 16))
SUBSETS = ("self", "closer", "further", "symmetric")


def uao_adjacency(skeleton: Skeleton = H36M_17, symmetric_links=H36M_SYMMETRIC_LINKS, centre: int = 7) -> np.ndarray:
    """The fixed skeleton graph of GUMLP's GCN (official `model/graph_frames.py`, `Graph('hm36_gt', 'spatial')`):
    A (4, J, J) float32, subsets `SUBSETS`.

    Edges are self-loops, bones and the left/right `symmetric_links`. The 0/1 adjacency is column-normalised
    (A D^-1, D the column sums) and split, by each joint's hop distance to the `centre` joint (7, the spine),
    into 4 subsets as in ST-GCN's "spatial" partition: A[0] self-loops, A[1] bones whose receiving joint is
    closer to the centre than the sending one, A[2] the other bones, A[3] the symmetric links. Entry A[k, j, i]
    sends joint j's features to joint i (`x_out[i] = sum_j x[j] A[k, j, i]`), the official orientation.
    """
    n = skeleton.num_joints
    links = [(c, p) for c, p in skeleton.bones] + [tuple(e) for e in symmetric_links]
    adj = np.eye(n)
    for i, j in links:
        adj[i, j] = adj[j, i] = 1.0
    norm = adj / adj.sum(0, keepdims=True)           # A D^-1 (column sums, `normalize_XY_digraph`)
    dist = skeleton.hop_distance()[centre]             # hops along the bones to the centre joint
    sym = {frozenset(e) for e in symmetric_links}
    a = np.zeros((4, n, n))
    for j in range(n):
        for i in range(n):
            if adj[j, i] == 0:
                continue
            if i == j:
                k = 0
            elif frozenset((i, j)) in sym:
                k = 3
            elif dist[j] > dist[i]:                    # i is closer to the centre than j (official `a_close`)
                k = 1
            else:
                k = 2
            a[k, j, i] = norm[j, i]
    return a.astype(np.float32)


class SkeletonGCN(nn.Module):
    """The GCN of a block (official `model/model_Gaussian.py`, `GCN`): a 1x1 conv to 4 x C channels, contracted
    with the fixed A (4, J, J).

    (B, J, C) -> (B, J, C): y_i = sum_k sum_j A[k, j, i] W_k x_j + b_k, one weight matrix W_k per subset.
    """

    def __init__(self, channels: int, adjacency: np.ndarray):
        super().__init__()
        self.register_buffer("adjacency", torch.as_tensor(adjacency, dtype=torch.float32))
        self.subsets = self.adjacency.shape[0]
        self.conv = nn.Conv1d(channels, channels * self.subsets, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, j, c = x.shape
        h = self.conv(x.transpose(1, 2)).reshape(b, self.subsets, c, j)     # (B, K, C, J)
        return torch.einsum("bkcj,kji->bic", h, self.adjacency)


def _linear_block(c_in: int, c_out: int, drop: float) -> nn.Sequential:
    """Linear -> GELU -> Dropout, the official `linear_block`."""
    return nn.Sequential(nn.Linear(c_in, c_out), nn.GELU(), nn.Dropout(drop))


class ChannelUMLP(nn.Module):
    """U-shaped MLP over the channels of each joint (official `channel_uMLP`): C -> H -> H (+ skip) -> C;
    (B, J, C) -> (B, J, C)."""

    def __init__(self, channels: int, hidden: int, drop: float = 0.1):
        super().__init__()
        self.down = _linear_block(channels, hidden, drop)
        self.mid = _linear_block(hidden, hidden, drop)
        self.up = _linear_block(hidden, channels, drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.down(x)
        return self.up(self.mid(h) + h)


class SpatialUMLP(nn.Module):
    """U-shaped MLP over the joint axis (official `spatial_uMLP_Multi`): J -> 3J -> 6J -> 6J (+ skip) -> 3J -> J.

    Mixes joints, channel by channel: (B, C, J) -> (B, C, J) (17 -> 51 -> 102 -> 102 -> 51 -> 17 for Human3.6M;
    `hidden` is 6 J in the official code).
    """

    def __init__(self, joints: int = 17, hidden: int = 102, drop: float = 0.05):
        super().__init__()
        self.up1 = _linear_block(joints, hidden // 2, drop)
        self.up2 = _linear_block(hidden // 2, hidden, drop)
        self.mid = _linear_block(hidden, hidden, drop)
        self.down1 = _linear_block(hidden, hidden // 2, drop)
        self.down2 = _linear_block(hidden // 2, joints, drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.up2(self.up1(x))
        return self.down2(self.down1(self.mid(h) + h))


class GUMLPBlock(nn.Module):
    """One GCN-MLP block (official `model/model_Gaussian.py`, `Block`), (B, J, C) -> (B, J, C):

        x <- x + DropPath(GCN(LN_J(x)))                                  (LN_J: LayerNorm over the joint axis)
        x <- x + DropPath(ChannelUMLP(LN_C(x)) + SpatialUMLP(LN_J(x)))   (the two branches in parallel)
    """

    def __init__(self, joints: int, channels: int, channel_hidden: int, adjacency: np.ndarray,
                 drop_path: float = 0.0, spatial_hidden: int = 102):
        super().__init__()
        self.norm_gcn = nn.LayerNorm(joints, eps=1e-6)
        self.gcn = SkeletonGCN(channels, adjacency)
        self.norm_channel = nn.LayerNorm(channels, eps=1e-6)
        self.channel_mlp = ChannelUMLP(channels, channel_hidden, drop=0.1)
        self.norm_spatial = nn.LayerNorm(joints, eps=1e-6)
        self.spatial_mlp = SpatialUMLP(joints, spatial_hidden, drop=0.05)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.norm_gcn(x.transpose(1, 2)).transpose(1, 2)
        x = x + self.drop_path(self.gcn(g))
        spatial = self.spatial_mlp(self.norm_spatial(x.transpose(1, 2))).transpose(1, 2)
        return x + self.drop_path(self.channel_mlp(self.norm_channel(x)) + spatial)


class GUMLP(KeypointInput, nn.Module):
    """The UAO lifter (official `model/model_Gaussian.py`): single-frame 2D (B, 1, J, 2) -> (mu (B, 1, J, 3) metres,
    s (B, 1, J, 1)).

    Encoder Linear(2 -> 64) -> Linear(64 -> C) (no activation between, as in the official code), `layers`
    GCN-MLP blocks (drop path rising linearly from 0 to `drop_path`), then two LayerNorms and two linear heads:
    mu = Linear(C -> C/2) -> Linear(C/2 -> 3) (made root-relative), s = Linear(C -> C/2) -> Linear(C/2 -> 1).
    s is the joint's log-scale: exp(s) is its expected error (metres) under the Laplace-like likelihood of the loss.
    Several frames (B, T, J, 2) are lifted one by one into (B, T, J, 3) and (B, T, J, 1).
    """

    output = "center"
    receptive_field = 1

    def __init__(self, joints: int = 17, in_chans: int = 2, channels: int = 512, layers: int = 3,
                 channel_hidden: int = 256, spatial_hidden: int = 102, embed_hidden: int = 64,
                 drop_path: float = 0.2, skeleton: Skeleton = H36M_17):
        super().__init__()
        if skeleton.num_joints != joints:
            raise ValueError(f"skeleton {skeleton.name} has {skeleton.num_joints} joints, the model {joints}")
        self.joints, self.in_chans, self.skeleton = joints, in_chans, skeleton
        self.embed = nn.Sequential(nn.Linear(in_chans, embed_hidden), nn.Linear(embed_hidden, channels))
        adjacency = uao_adjacency(skeleton) if skeleton is H36M_17 else uao_adjacency(skeleton, ())
        dpr = drop_path_rates(drop_path, layers)
        self.blocks = nn.ModuleList(GUMLPBlock(joints, channels, channel_hidden, adjacency, p, spatial_hidden)
                                    for p in dpr)
        self.norm_mu = nn.LayerNorm(channels, eps=1e-6)
        self.norm_s = nn.LayerNorm(channels, eps=1e-6)
        self.head_mu = nn.Sequential(nn.Linear(channels, channels // 2), nn.Linear(channels // 2, 3))
        self.head_s = nn.Sequential(nn.Linear(channels, channels // 2), nn.Linear(channels // 2, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder and blocks: (B, J, C_in) -> (B, J, C)."""
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return h

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        self.check_input(x)
        b, t = x.shape[:2]
        h = self.features(x.reshape(b * t, self.joints, self.in_chans))
        mu = self.head_mu(self.norm_mu(h)).reshape(b, t, self.joints, 3)
        mu = mu - mu[:, :, self.skeleton.root:self.skeleton.root + 1]     # root-relative: the root is exactly 0
        s = self.head_s(self.norm_s(h)).reshape(b, t, self.joints, 1)
        return mu, s

    def loss(self, output, target: torch.Tensor) -> torch.Tensor:
        return heteroscedastic_loss(output, target, root=self.skeleton.root)


def build(config: str = "cpu", frames: int | None = None, **overrides) -> GUMLP:
    """GUMLP at a named configuration ('paper' = the official defaults, 4,509,059 parameters)."""
    if frames not in (None, 1):
        raise ValueError(f"the UAO lifter is single-frame; frames must be 1 (or None), got {frames}")
    return GUMLP(**configuration(CONFIGS, config, **overrides))


# ======================================================================== 2. the heteroscedastic loss (`gaussian_loss`)

def heteroscedastic_loss(output, target: torch.Tensor, root: int | None = 0) -> torch.Tensor:
    """L = mean over samples and joints of ||y_j - mu_j||_2 exp(-s_j) + s_j (official `common/utils.py`,
    `gaussian_loss`; Kendall & Gal style).

    output: (mu (B, T, J, 3), s (B, T, J, 1) or (B, T, J)); target (B, T, J, 3), root-relative metres. The norm is
    the unsquared Euclidean distance, as in the official `gaussian_loss`; for a fixed error e the loss is
    smallest at s = log e, so exp(s) learns to predict the joint's error. The `root` joint (target identically 0)
    is left out, and s is floored at `S_MIN` (see the package docstring).
    """
    if not isinstance(output, (tuple, list)) or len(output) < 2:
        raise TypeError("heteroscedastic_loss needs the model output (pose, log_scale); got a single tensor")
    mu, s = output[0], output[1]
    s = s.squeeze(-1) if s.ndim == mu.ndim else s
    if mu.shape != target.shape or s.shape != mu.shape[:-1]:
        raise ValueError(f"shapes do not match: pose {tuple(mu.shape)}, log-scale {tuple(s.shape)}, "
                         f"target {tuple(target.shape)}")
    err = torch.linalg.norm(target - mu, dim=-1)
    s = s.clamp_min(S_MIN)
    per_joint = err * torch.exp(-s) + s
    if root is not None:
        keep = [j for j in range(mu.shape[-2]) if j != root]
        per_joint = per_joint[..., keep]
    return per_joint.mean()
