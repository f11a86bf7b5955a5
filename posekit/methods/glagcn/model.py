"""GLA-GCN's forward pass and loss (Yu et al., "GLA-GCN: Global-local Adaptive Graph Convolutional Network for 3D
Human Pose Estimation from Monocular Video", ICCV 2023, arXiv 2307.05853), in the order of the paper's Sec. 3:

1. the skeleton graph and its three partitions A_k (Sec. 3.1): the vertex itself, the joints one step closer to
   the root (inward) and one step further away (outward);
2. the adaptive graph convolution (Sec. 3.1, Eq. 1-3): f_out = sum_k W_k f_in (A_k + B_k + C_k), with A_k the fixed
   partition, B_k a learned N x N matrix and C_k a data-dependent joint similarity;
3. the AGCN block: that graph convolution followed by a 9 x 1 temporal convolution, BN, ReLU and a residual;
4. the global representation (Sec. 3.2, "reconstruct 3D pose sequence"): the 2D sequence is expanded to
   F(C, T, J) and an adaptive graph convolution decodes F back to the whole 3D sequence (L_global, Eq. 4);
5. strided learning (Sec. 3.2): pairs of AGCN blocks whose second block has temporal stride 3, with a residual of
   the centre frame of every triple, shrink T = 243 -> 81 -> 27 -> 9 -> 3 -> 1;
6. the individually connected layers (Sec. 3.3, Eq. 5-6): joint i's 3D position is regressed only from its own
   feature v_i = F(C, 1, i), with unshared (W_i, b_i per joint) or shared (one W_s, b_s) weights;
7. the loss: L_local (MPJPE of the centre frame) + L_global (MPJPE of the reconstructed sequence), 1:1.

Official code: `bruceyo/GLA-GCN` (fd72990), `common/agcn.py` (graph, AGCN blocks) and `common/s_agcn.py` (the H36M
model); the package docstring lists where this code departs from it.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from ...nn.contract import KeypointInput, configuration, mpjpe_loss
from ...skeleton import H36M_17, Skeleton

# Model sizes per profile. 'paper' is the released Human3.6M configuration (T = 243, arc 3,3,3,3,3, C = 96) with
# the paper's global branch; 'gpu' is its 81-frame version; 'cpu' and 'smoke' (C = 16 / 8) are our laptop sizes.
CONFIGS = {
    "paper": dict(frames=243, channels=96, dropout=0.1, head="shared", graph="adaptive", global_branch=True),
    "gpu": dict(frames=81, channels=96, dropout=0.1, head="shared", graph="adaptive", global_branch=True),
    "cpu": dict(frames=27, channels=16, dropout=0.1, head="shared", graph="adaptive", global_branch=True),
    "smoke": dict(frames=27, channels=8, dropout=0.1, head="shared", graph="adaptive", global_branch=True),
}
HEADS = ("shared", "unshared", "fc")
GRAPHS = ("adaptive", "learned", "fixed")


# ---------------------------------------------------------------- Sec. 3.1: the graph and its partitions

def partitions(skeleton: Skeleton = H36M_17) -> np.ndarray:
    """The fixed adjacency A_k (3, J, J) of the three partitions: identity, inward (child -> parent), outward.

    Official `common/agcn.py` (`Graph`, `edge2mat`, `normalize_digraph`), the 2s-AGCN 'spatial' labelling: entry
    [i, j] of a partition carries joint i's feature to joint j (`x @ A`); inward and outward are each divided by
    their column sums (A D^-1).
    """
    j = skeleton.num_joints
    inward = np.zeros((j, j))
    for child, parent in skeleton.bones:
        inward[parent, child] = 1.0      # official edge2mat: A[j, i] = 1 for the link (i=child, j=parent)
    outward = inward.T.copy()

    def by_columns(a):
        deg = a.sum(0)
        return a / np.where(deg > 0, deg, 1.0)[None, :]
    return np.stack([np.eye(j), by_columns(inward), by_columns(outward)]).astype(np.float32)


# ---------------------------------------------------------------- Sec. 3.1, Eq. 1-3: adaptive graph convolution

def _channels_last(x: torch.Tensor) -> torch.Tensor:
    """(B, C, T, J) in channels-last memory order: CPU convolutions with few channels run 3-10x faster on it."""
    return x.contiguous(memory_format=torch.channels_last)


class AdaptiveGraphConv(nn.Module):
    """Sec. 3.1, Eq. 1-3 (official `common/agcn.py`, `unit_gcn`):
    f_out = ReLU(BN(sum_k W_k f_in (A_k + B_k + C_k)) + down(f_in)) on (B, C_in, T, J) -> (B, C_out, T, J).

    A_k: fixed partitions (buffer); B_k: learned (K, J, J), init 1e-6; C_k = softmax_j(theta_k(f)^T phi_k(f) /
    (C_inter T)): a per-sample joint similarity from two 1x1 convolutions to C_inter = C_out / 4 channels.
    graph='learned' drops C_k, graph='fixed' drops B_k and C_k (ablations). activation=False omits the final
    ReLU (our decoder of the global branch).
    """

    def __init__(self, in_channels: int, out_channels: int, adjacency: np.ndarray, graph: str = "adaptive",
                 dropout: float = 0.1, activation: bool = True):
        super().__init__()
        if graph not in GRAPHS:
            raise ValueError(f"graph must be one of {GRAPHS}, got {graph!r}")
        self.graph, self.activation = graph, activation
        self.register_buffer("A", torch.as_tensor(adjacency, dtype=torch.float32))
        k = self.A.shape[0]
        self.inter = out_channels // 4 or 3  # the code: C_out / 4, or 3 when that is 0
        self.B = nn.Parameter(torch.full_like(self.A, 1e-6)) if graph != "fixed" else None
        if graph == "adaptive":
            self.theta = nn.ModuleList(nn.Conv2d(in_channels, self.inter, 1) for _ in range(k))
            self.phi = nn.ModuleList(nn.Conv2d(in_channels, self.inter, 1) for _ in range(k))
        self.W = nn.ModuleList(nn.Conv2d(in_channels, out_channels, 1) for _ in range(k))
        self.down = nn.Identity() if in_channels == out_channels else nn.Sequential(
            nn.Conv2d(in_channels, out_channels, 1), nn.BatchNorm2d(out_channels))
        self.bn = nn.BatchNorm2d(out_channels)
        self.drop = nn.Dropout(dropout)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out")
                nn.init.zeros_(m.bias)
        for w in self.W:  # the code's conv_branch_init
            nn.init.normal_(w.weight, 0.0, math.sqrt(2.0 / (out_channels * in_channels * k)))
        nn.init.constant_(self.bn.weight, 1e-6)
        if not activation and isinstance(self.down, nn.Sequential):   # our decoder: start near the zero pose
            nn.init.constant_(self.down[1].weight, 1e-2)
        self.last_similarity = None

    def similarity(self, x: torch.Tensor) -> torch.Tensor:
        """C_k (B, K, J, J): softmax over the first joint axis of theta_k(x)^T phi_k(x) / (C_inter T).

        The 1x1 convolutions run channels-last (much faster on a CPU at few channels); each stays a module, so
        FLOP counters that hook nn.Conv2d (`posekit.complexity.flops_linear`) see it.
        """
        b, _, t, j = x.shape
        xc = _channels_last(x)
        out = []
        for theta, phi in zip(self.theta, self.phi):
            a = theta(xc).permute(0, 3, 1, 2).reshape(b, j, -1)    # (B, J, C_inter T)
            c = phi(xc).reshape(b, -1, j)                           # (B, C_inter T, J)
            out.append(torch.softmax(a @ c / a.shape[-1], dim=-2))
        return torch.stack(out, 1)

    def adjacency(self, x: torch.Tensor | None = None) -> torch.Tensor:
        """A_k + B_k (+ C_k for input x): (K, J, J) or (B, K, J, J)."""
        adj = self.A if self.B is None else self.A + self.B
        if self.graph == "adaptive" and x is not None:
            adj = adj + self.similarity(x)
        return adj

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, c, t, j = x.shape
        adj = self.adjacency(x)
        if self.graph == "adaptive":
            self.last_similarity = (adj - self.adjacency()).detach()
        k = adj.shape[-3]
        # sum_k W_k (x A_k): the K products x A_k in one matmul, then each W_k (a module, so FLOP hooks see it) on a
        # channels-last copy of its slice (much faster on a CPU at few channels).
        flat = x.reshape(b, c * t, j)
        adj_cat = adj.transpose(-3, -2).reshape(*adj.shape[:-3], j, k * j)   # [..., i, k J + l] = adj[..., k, i, l]
        z = (flat @ adj_cat).reshape(b, c, t, k, j).permute(0, 3, 2, 4, 1)  # (B, K, T, J, C)
        y = sum(w(z[:, i].contiguous().permute(0, 3, 1, 2)) for i, w in enumerate(self.W))
        y = self.drop(self.bn(y)) + self.down(_channels_last(x) if isinstance(self.down, nn.Sequential) else x)
        return F.relu(y) if self.activation else y


class TemporalConv(nn.Module):
    """The 1 x Gamma temporal convolution of an AGCN block (Sec. 3.1; Gamma = 9, padding 4) + BN, stride s over
    frames (official `common/agcn.py`, `unit_tcn`: no ReLU inside, it follows the residual sum)."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 9, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel, 1), padding=((kernel - 1) // 2, 0),
                              stride=(stride, 1))
        self.bn = nn.BatchNorm2d(out_channels)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out")
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(_channels_last(x)))


class AGCNBlock(nn.Module):
    """AGCN block (Sec. 3.1; official `common/agcn.py`, `TCN_GCN_unit`):
    ReLU(TemporalConv(AdaptiveGraphConv(x)) + residual(x)).

    (B, C_in, T, J) -> (B, C_out, ceil(T / stride), J). residual: identity when shapes match and stride is 1, a
    strided 1x1 convolution + BN when they do not, none when residual=False.
    """

    def __init__(self, in_channels: int, out_channels: int, adjacency: np.ndarray, stride: int = 1,
                 residual: bool = True, graph: str = "adaptive", dropout: float = 0.1):
        super().__init__()
        self.gcn = AdaptiveGraphConv(in_channels, out_channels, adjacency, graph, dropout)
        self.tcn = TemporalConv(out_channels, out_channels, stride=stride)
        if not residual:
            self.residual = None
        elif in_channels == out_channels and stride == 1:
            self.residual = nn.Identity()
        else:
            self.residual = TemporalConv(in_channels, out_channels, kernel=1, stride=stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.tcn(self.gcn(x))
        return F.relu(y if self.residual is None else y + self.residual(x))


# ---------------------------------------------------------------- Sec. 3.2: strided learning

class StridedStage(nn.Module):
    """Two AGCN blocks, the second with temporal stride w and no residual of its own, plus the centre frame of
    every w-frame group as the stage's residual: (B, C, T, J) -> (B, C, T / w, J).

    Sec. 3.2 "strided learning"; the stage loop of the official `common/s_agcn.py` (`_forward_blocks`)."""

    def __init__(self, channels: int, adjacency: np.ndarray, width: int = 3, graph: str = "adaptive",
                 dropout: float = 0.1):
        super().__init__()
        self.width = width
        self.block = AGCNBlock(channels, channels, adjacency, graph=graph, dropout=dropout)
        self.strided = AGCNBlock(channels, channels, adjacency, stride=width, residual=False, graph=graph,
                                 dropout=dropout)
        self.drop = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = x[:, :, self.width // 2::self.width]
        return res + self.drop(self.strided(self.drop(self.block(x))))


# ---------------------------------------------------------------- Sec. 3.3, Eq. 5-6: individually connected layers

class IndividuallyConnected(nn.Module):
    """Joint i's 3D position from its own feature only: (B, C, J) -> (B, J, 3).

    shared (Eq. 6): p_i = v_i W_s + b_s, one C x 3 map for every joint (the released head of
    `common/s_agcn.py`, C*3+3 parameters);
    unshared (Eq. 5): p_i = v_i W_i + b_i, a separate map per joint (J*(C*3+3) parameters).
    """

    def __init__(self, channels: int, joints: int, shared: bool = True, out_dim: int = 3):
        super().__init__()
        self.shared = shared
        n = 1 if shared else joints
        self.weight = nn.Parameter(torch.empty(n, channels, out_dim))
        self.bias = nn.Parameter(torch.empty(n, out_dim))
        bound = 1.0 / math.sqrt(channels)  # PyTorch's Conv1d default, as the code's nn.Conv1d(C, 3, 1)
        nn.init.uniform_(self.weight, -bound, bound)
        nn.init.uniform_(self.bias, -bound, bound)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return torch.einsum("bcj,jcd->bjd", v, self.weight.expand(v.shape[-1], -1, -1)) + self.bias


class FullyConnectedHead(nn.Module):
    """Ablation baseline: one linear layer from all joints' features (C J) to all coordinates (3 J)."""

    def __init__(self, channels: int, joints: int, out_dim: int = 3):
        super().__init__()
        self.joints, self.out_dim = joints, out_dim
        self.linear = nn.Linear(channels * joints, joints * out_dim)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        return self.linear(v.transpose(1, 2).reshape(len(v), -1)).reshape(len(v), self.joints, self.out_dim)


# ---------------------------------------------------------------- the model

class GLAGCN(KeypointInput, nn.Module):
    """GLA-GCN (Sec. 3, Fig. 1; official `common/s_agcn.py`, `S_AGCN`, plus the paper's global branch).

    Input (B, T, J, 2) with T = the receptive field (a product of the filter widths).

    Output: the centre frame (B, 1, J, 3); with the global branch, the tuple (centre (B, 1, J, 3), reconstructed
    sequence (B, T, J, 3)). Root-relative metres.
    """

    output = "center"

    def __init__(self, frames: int = 243, joints: int = 17, in_chans: int = 2, channels: int = 96,
                 filter_widths: tuple[int, ...] | None = None, dropout: float = 0.1, head: str = "shared",
                 graph: str = "adaptive", global_branch: bool = True, skeleton: Skeleton = H36M_17):
        super().__init__()
        if head not in HEADS:
            raise ValueError(f"head must be one of {HEADS}, got {head!r}")
        if skeleton.num_joints != joints:
            raise ValueError(f"skeleton {skeleton.name} has {skeleton.num_joints} joints, not {joints}")
        if filter_widths is None:
            n = round(math.log(frames, 3))
            if 3 ** n != frames:
                raise ValueError(f"GLA-GCN's strided stages need a power of 3 frames (27, 81, 243), got {frames}")
            filter_widths = (3,) * n
        if any(w % 2 == 0 for w in filter_widths):
            raise ValueError(f"filter widths must be odd, got {filter_widths}")
        self.filter_widths = tuple(filter_widths)
        self.receptive_field = math.prod(self.filter_widths)
        self.joints, self.in_chans, self.channels = joints, in_chans, channels
        self.head_kind, self.graph, self.global_branch = head, graph, global_branch
        adj = partitions(skeleton)
        self.data_bn = nn.BatchNorm1d(joints * in_chans)                      # Fig. 1, "BatchNorm 1D"
        self.expand = AGCNBlock(in_chans, channels, adj, graph=graph, dropout=dropout)  # AGCN(2, C) -> F(C, T, J)
        self.reconstruct = AdaptiveGraphConv(channels, 3, adj, graph=graph, dropout=0.0, activation=False) \
            if global_branch else None
        self.stages = nn.ModuleList(StridedStage(channels, adj, w, graph, dropout) for w in self.filter_widths)
        self.head = FullyConnectedHead(channels, joints) if head == "fc" else \
            IndividuallyConnected(channels, joints, shared=head == "shared")

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Input BN and the expanding AGCN block: (B, T, J, 2) -> F (B, C, T, J)."""
        b, t, j, c = x.shape
        if x.dim() != 4 or j != self.joints or c != self.in_chans:
            raise ValueError(f"expected input (B, T, {self.joints}, {self.in_chans}), got {tuple(x.shape)}")
        if t != self.receptive_field:
            raise ValueError(f"GLA-GCN takes clips of exactly its receptive field, {self.receptive_field} frames; "
                             f"got {t}")
        x = self.data_bn(x.permute(0, 2, 3, 1).reshape(b, j * c, t))
        return self.expand(x.reshape(b, j, c, t).permute(0, 2, 3, 1))

    def strided(self, f: torch.Tensor, keep: bool = False):
        """The strided stages: F (B, C, T, J) -> (B, C, 1, J); keep=True also returns every stage's output."""
        outs = []
        for stage in self.stages:
            f = stage(f)
            outs.append(f)
        return (f, outs) if keep else f

    def forward(self, x: torch.Tensor):
        f = self.features(x)
        v = self.strided(f)[:, :, 0]                                           # (B, C, J): v_i = F(C, 1, i)
        centre = self.head(v)[:, None]                                         # (B, 1, J, 3)
        if self.reconstruct is None:
            return centre
        return centre, self.reconstruct(f).permute(0, 2, 3, 1)                 # (B, T, J, 3)

    def loss(self, output, target: torch.Tensor) -> torch.Tensor:
        return glagcn_loss(output, target)


# ---------------------------------------------------------------- Eq. 4 and the objective

def glagcn_loss(output, target: torch.Tensor, global_weight: float = 1.0) -> torch.Tensor:
    """L_local + global_weight * L_global (the 3DHP script's 1:1).

    L_local: MPJPE of the centre frame. L_global (Eq. 4): MPJPE of the reconstructed sequence (B, T, J, 3) against
    the whole target window. `target` is the whole window (B, T, J, 3) (`training.fit` provides it) or only its
    centre frame (B, 1, J, 3), in which case L_global cannot be computed and is left out. The 1:1 weighting is the
    official 3DHP script's (`main_sagcn_gpus_individual_fc_3dhp.py`, the only released trace of L_global).
    """
    centre, sequence = (output if isinstance(output, (tuple, list)) else (output, None))
    mid = target[:, (target.shape[1] - 1) // 2][:, None]
    loss = mpjpe_loss(centre, mid)
    if sequence is not None and target.shape[1] == sequence.shape[1] and global_weight:
        loss = loss + global_weight * mpjpe_loss(sequence, target)
    return loss


# ---------------------------------------------------------------- builders (the registry's entries)

def build(config: str = "cpu", frames: int | None = None, **overrides) -> GLAGCN:
    """GLA-GCN at a named configuration; `frames` (27, 81, 243) and keywords (head, graph, global_branch,
    channels, ...) override it. build('paper', global_branch=False) is the released H36M model."""
    return GLAGCN(**configuration(CONFIGS, config, frames, **overrides))


def build_released(config: str = "cpu", frames: int | None = None, **overrides) -> GLAGCN:
    """The released H36M architecture (`common/s_agcn.py`): shared individually connected head, no global branch."""
    return build(config, frames, **{"head": "shared", "global_branch": False, **overrides})


def build_unshared(config: str = "cpu", frames: int | None = None, **overrides) -> GLAGCN:
    """The paper's unshared individually connected head (Eq. 5) with the global branch (the 3DHP model's layout)."""
    return build(config, frames, **{"head": "unshared", **overrides})
