"""GLA-GCN: Global-local Adaptive Graph Convolutional Network (Yu et al., ICCV 2023), facts in
`shared/reference/glagcn.md`.

The model, in the order of the paper (Sec. 3):
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

Paper versus released code (`bruceyo/GLA-GCN` fd72990, an earlier version of the method):
- The released H36M model (`common/s_agcn.py`) has the shared individually connected head and no global branch;
  `build('paper', head='shared', global_branch=False)` (registry name 'glagcn-released') is exactly it,
  1,348,856 parameters at T = 243, C = 96. The global branch and the unshared head come from the paper and from
  the 3DHP script's loss (the only released trace of L_global + L_local, weighted 1:1); their modules are missing
  from the repository, so their layout here is ours: the paper draws the decoder as AGCN(96, 3, 1) on F(96, 243, 17);
  a ReLU there could not produce negative coordinates, so our decoder is the adaptive graph convolution of an
  AGCN block without its final ReLU and without the temporal convolution (3,789 parameters at C = 96).
- Partitions: the paper writes the symmetric normalisation L^-1/2 A L^-1/2 (alpha = 0.001); the code uses the
  2s-AGCN 'spatial' labelling, identity / inward / outward each normalised by column sums (A D^-1). We follow
  the code: the parameter count does not depend on it and the trained checkpoints were made with it.
- B_k is initialised to 1e-6 (the code) rather than 0 (the paper); C_k is softmax(a^T b / (C_inter T)) over the
  first joint axis, scaled by C_inter * T as in the code (not sqrt(d)); the gcn's BN gamma starts at 1e-6 so each
  block starts close to its residual; Kaiming init (fan_out) for convolutions; dropout 0.1 inside every gcn and
  after every block of a stage.
- The released model only runs on CUDA (it allocates its output with `.cuda()`); this one runs anywhere.
- Training (`fit` below): posekit's AdamW loop with exponential decay instead of Ranger (RAdam + Lookahead) with
  cosine annealing, and without the exponential BN-momentum decay; the code's always-on `random_move` target
  jitter (in-plane rotation of the 3D target by {-5, 0, +5} degrees and scaling of its x, y by
  {0.95, 1, 1.05}, 2D input untouched) is available as `fit(..., random_move=True)` and off by default, because it
  is not in the paper and it adds label noise of a few centimetres.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

from .. import metrics
from .. import train as training
from ..data.dataset import PoseDataset
from ..nn.contract import configuration
from ..data.samplers import ClipBank, edge_index
from ..skeleton import H36M_17, Skeleton, flip_poses

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

    Released code's 2s-AGCN 'spatial' labelling: entry [i, j] of a partition carries joint i's feature to joint j
    (`x @ A`); inward and outward are each divided by their column sums (A D^-1).
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

class AdaptiveGraphConv(nn.Module):
    """f_out = ReLU(BN(sum_k W_k f_in (A_k + B_k + C_k)) + down(f_in)) on (B, C_in, T, J) -> (B, C_out, T, J).

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
        """C_k (B, K, J, J): softmax over the first joint axis of theta_k(x)^T phi_k(x) / (C_inter T)."""
        b, _, t, j = x.shape
        out = []
        for theta, phi in zip(self.theta, self.phi):
            a = theta(x).permute(0, 3, 1, 2).reshape(b, j, -1)     # (B, J, C_inter T)
            c = phi(x).reshape(b, -1, j)                            # (B, C_inter T, J)
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
        flat = x.reshape(b, c * t, j)
        y = 0
        for k, w in enumerate(self.W):
            y = y + w((flat @ adj[..., k, :, :]).reshape(b, c, t, j))
        y = self.drop(self.bn(y)) + self.down(x)
        return F.relu(y) if self.activation else y


class TemporalConv(nn.Module):
    """The 1 x Gamma temporal convolution of an AGCN block (Gamma = 9, padding 4) + BN, stride s over frames."""

    def __init__(self, in_channels: int, out_channels: int, kernel: int = 9, stride: int = 1):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, (kernel, 1), padding=((kernel - 1) // 2, 0),
                              stride=(stride, 1))
        self.bn = nn.BatchNorm2d(out_channels)
        nn.init.kaiming_normal_(self.conv.weight, mode="fan_out")
        nn.init.zeros_(self.conv.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.bn(self.conv(x))


class AGCNBlock(nn.Module):
    """AGCN block (the code's TCN_GCN_unit): ReLU(TemporalConv(AdaptiveGraphConv(x)) + residual(x)).

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
    every w-frame group as the stage's residual: (B, C, T, J) -> (B, C, T / w, J)."""

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

    shared (Eq. 6): p_i = v_i W_s + b_s, one C x 3 map for every joint (the released head, C*3+3 parameters);
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

class GLAGCN(nn.Module):
    """GLA-GCN. Input (B, T, J, 2) with T = the receptive field (a product of the filter widths).

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
    the whole target window. `target` is the whole window (B, T, J, 3) (`fit` below provides it) or only its
    centre frame (B, 1, J, 3), in which case L_global cannot be computed and is left out.
    """
    centre, sequence = (output if isinstance(output, (tuple, list)) else (output, None))
    mid = target[:, (target.shape[1] - 1) // 2][:, None]
    loss = metrics.mpjpe_torch(centre, mid)
    if sequence is not None and target.shape[1] == sequence.shape[1] and global_weight:
        loss = loss + global_weight * metrics.mpjpe_torch(sequence, target)
    return loss


def random_move(poses: np.ndarray, rng: np.random.Generator, angles=(-5.0, 0.0, 5.0),
                scales=(0.95, 1.0, 1.05)) -> np.ndarray:
    """The released code's target jitter: rotate x, y of each 3D window (B, T, J, 3) in-plane by a random angle and
    scale them by a random factor (z unchanged). One draw per window; the 2D input is not touched."""
    a = np.deg2rad(rng.choice(angles, len(poses)))
    s = rng.choice(scales, len(poses))
    cos, sin = (np.cos(a) * s)[:, None, None], (np.sin(a) * s)[:, None, None]
    out = poses.copy()
    out[..., 0] = cos * poses[..., 0] - sin * poses[..., 1]
    out[..., 1] = sin * poses[..., 0] + cos * poses[..., 1]
    return out


class WindowTargets(ClipBank):
    """VideoPose3D's centre-frame windows (one per frame, edge padding) whose targets are the whole window
    (B, T, J, 3), so that L_global sees the sequence; optional `random_move` target jitter."""

    def __init__(self, dataset: PoseDataset, frames: int, jitter: bool = False, seed: int = 0):
        super().__init__(dataset, frames, "center")
        self.jitter, self.rng = jitter, np.random.default_rng(seed)

    def gather(self, windows: np.ndarray, flip: np.ndarray | None = None):
        seq = self.window_seq[windows]
        idx = edge_index(self.window_start[windows], self.frames, self.lengths[seq]) + self.offsets[seq][:, None]
        x, y = self.inputs[idx], self.targets[idx]
        if flip is not None and flip.any():
            x[flip] = flip_poses(x[flip], self.skeleton)
            y[flip] = flip_poses(y[flip], self.skeleton)
        if self.jitter:
            y = random_move(y, self.rng).astype(np.float32)
        return torch.from_numpy(x), torch.from_numpy(y)


def fit(model: nn.Module, data, config: training.TrainConfig, val: PoseDataset | None = None, loss_fn=None,
        profile=None, random_move: bool = False) -> training.History:
    """`posekit.train.fit` with whole-window targets for GLA-GCN's global loss.

    random_move=True adds the released code's target jitter (`random_move` above) to every training window. Any
    other model, or a prepared ClipBank, goes to the generic loop unchanged.
    """
    if isinstance(data, PoseDataset) and isinstance(model, GLAGCN):
        data = WindowTargets(data, model.receptive_field, jitter=random_move, seed=config.seed)
    return training.fit(model, data, config, val=val, loss_fn=loss_fn, profile=profile)


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


# ---------------------------------------------------------------- pictures for the notebook

def receptive_fields(model: GLAGCN) -> list[np.ndarray]:
    """For each level (the input, then every strided stage) the input frame each remaining frame is centred on.

    The stage residual keeps the centre frame of every triple, so the frames alive after stage s sit at the
    centres of ever wider groups: 27 -> 9 (frames 1, 4, 7, ...) -> 3 (4, 13, 22) -> 1 (13).
    """
    pos = np.arange(model.receptive_field)
    levels = [pos]
    for w in model.filter_widths:
        pos = pos[w // 2::w]
        levels.append(pos)
    return levels


def input_saliency(model: GLAGCN, x: torch.Tensor) -> np.ndarray:
    """|d centre prediction / d input frame|, summed over joints and coordinates: (T,) for one clip (1, T, J, 2)."""
    was = model.training
    model.eval()
    x = x.clone().requires_grad_(True)
    out = model(x)
    centre = out[0] if isinstance(out, tuple) else out
    centre.abs().sum().backward()
    model.train(was)
    return x.grad[0].abs().sum((1, 2)).numpy()


def joint_dependency(head: nn.Module, channels: int, joints: int = 17) -> np.ndarray:
    """(J, J) matrix: entry [i, j] is 1 when output joint i changes with joint j's feature (a finite difference)."""
    v = torch.randn(1, channels, joints, generator=torch.Generator().manual_seed(0))
    base = head(v)
    dep = np.zeros((joints, joints))
    with torch.no_grad():
        for j in range(joints):
            w = v.clone()
            w[:, :, j] += 1.0
            dep[:, j] = ((head(w) - base).abs().sum((0, 2)) > 0).numpy()
    return dep


def plot_partitions(adjacency: np.ndarray, skeleton: Skeleton = H36M_17, title: str | None = None):
    """The K partitions as J x J heatmaps (row: sending joint, column: receiving joint; `x @ A`) (matplotlib)."""
    import matplotlib.pyplot as plt
    names = ["identity: the joint itself", "inward: each joint hears its parent",
             "outward: each joint hears its children"]
    k = len(adjacency)
    fig, axes = plt.subplots(1, k, figsize=(4.2 * k, 4.2))
    plt.close(fig)
    for i, ax in enumerate(np.atleast_1d(axes)):
        im = ax.imshow(adjacency[i], cmap="viridis")
        ax.set_title(names[i] if k == 3 else f"A_{i}", fontsize=10)
        ax.set_xticks(range(skeleton.num_joints), skeleton.joint_names, rotation=90, fontsize=6)
        ax.set_yticks(range(skeleton.num_joints), skeleton.joint_names, fontsize=6)
        ax.set_xlabel("receiving joint", fontsize=8)
        ax.set_ylabel("sending joint", fontsize=8)
        fig.colorbar(im, ax=ax, fraction=0.046)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_receptive_field(model: GLAGCN, saliency: np.ndarray | None = None, title: str | None = None):
    """Frames alive at every level of the strided stages, and optionally the input saliency (matplotlib Figure)."""
    import matplotlib.pyplot as plt
    levels = receptive_fields(model)
    rows = 2 if saliency is not None else 1
    fig, axes = plt.subplots(rows, 1, figsize=(9, 2.0 + 1.6 * rows), sharex=True,
                             gridspec_kw={"height_ratios": [2, 1][:rows]})
    plt.close(fig)
    axes = np.atleast_1d(axes)
    ax = axes[0]
    for i, pos in enumerate(levels):
        ax.scatter(pos, np.full(len(pos), -i), s=22 if i else 8, color=f"C{min(i, 9)}")
        if i:
            w = model.filter_widths[i - 1]
            for p in pos:                                  # the group of previous-level frames each one stands for
                prev = levels[i - 1]
                k = np.searchsorted(prev, p)
                lo, hi = prev[max(k - w // 2, 0)], prev[min(k + w // 2, len(prev) - 1)]
                ax.plot([lo, p, hi], [-i + 1, -i, -i + 1], color="0.6", lw=0.8)
    ax.set_yticks([-i for i in range(len(levels))],
                  [f"{'input' if i == 0 else f'after stage {i}'}: T = {len(p)}" for i, p in enumerate(levels)])
    ax.set_xlim(-1, len(levels[0]))
    ax.set_title(title or "strided learning: T shrinks by 3 per stage, the residual keeps each triple's centre")
    if saliency is not None:
        axes[1].bar(np.arange(len(saliency)), saliency / saliency.max(), color="C0")
        axes[1].set_ylabel("|d out / d x_t|\n(normalised)")
        axes[1].set_xlabel("input frame t")
    fig.tight_layout()
    return fig


def plot_adjacencies(matrices: dict, skeleton: Skeleton = H36M_17, title: str | None = None):
    """Heatmaps of named (J, J) matrices side by side, e.g. {'A_1 + B_1': ..., 'C_1 (mean)': ...}."""
    import matplotlib.pyplot as plt
    n = len(matrices)
    fig, axes = plt.subplots(1, n, figsize=(3.9 * n, 4.0))
    plt.close(fig)
    for ax, (label, m) in zip(np.atleast_1d(axes), matrices.items()):
        m = np.asarray(m)
        lim = np.abs(m).max() or 1.0
        im = ax.imshow(m, cmap="RdBu_r" if m.min() < 0 else "viridis", vmin=-lim if m.min() < 0 else 0, vmax=lim)
        ax.set_title(label, fontsize=10)
        ax.set_xticks(range(skeleton.num_joints), skeleton.joint_names, rotation=90, fontsize=6)
        ax.set_yticks(range(skeleton.num_joints), skeleton.joint_names, fontsize=6)
        fig.colorbar(im, ax=ax, fraction=0.046)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig
