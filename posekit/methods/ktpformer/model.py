"""KTPFormer's forward pass, in the order of the paper's method section: the two prior topologies, the learnable
graph convolution, Kinematics Prior Attention (KPA), Trajectory Prior Attention (TPA), and the assembled model on
the MixSTE backbone, with its loss and builders.

The KTPFormer paper's own section and equation numbers were not verified for posekit, so the paper is cited by
section name and figure notation; the official code (`JihuaPeng/KTPFormer`) by file and class.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ...nn.contract import configuration
from ...nn.mixste import CONFIGS as MIXSTE_CONFIGS
from ...nn.mixste import MixSTE, mixste_loss
from ...skeleton import H36M_17, Skeleton

CONFIGS = MIXSTE_CONFIGS  # the backbone's sizes: the ablation compares KTPFormer with the MixSTE of the same name


# ------------------------------------------------------------------ 1. topologies (paper: KPA, TPA; graph_utils.py)

def prior_adjacency(edges, num_nodes: int) -> np.ndarray:
    """The fixed prior adjacency (N, N) exactly as the official `adj_mx_from_edges` (common/graph_utils.py) builds it.

    1. a symmetric 0/1 matrix of the edges; 2. row-normalised WITHOUT self loops (A[i, j] = 1 / deg(i) for each
    neighbour j); 3. the diagonal set to 1. The result is not symmetric (a hip row holds 1/3 for its three
    neighbours, a knee row 1/2); `LearnableGraphConv` symmetrises it as (A + A^T) / 2 in its forward pass.
    """
    a = np.zeros((num_nodes, num_nodes), dtype=np.float64)
    for i, j in edges:
        if not (0 <= i < num_nodes and 0 <= j < num_nodes):
            raise ValueError(f"edge ({i}, {j}) is outside a graph of {num_nodes} nodes")
        a[i, j] = a[j, i] = 1.0
    deg = a.sum(1, keepdims=True)
    a = a / np.where(deg == 0, 1.0, deg)
    np.fill_diagonal(a, 1.0)
    return a.astype(np.float32)


def kinematic_adjacency(skeleton: Skeleton = H36M_17) -> np.ndarray:
    """A_N (J, J): the kinematic topology, one edge per bone of the skeleton (paper: KPA, "spatial
    local topology"; official `run_ktpformer.py`, built from the skeleton's parents)."""
    return prior_adjacency(skeleton.bones, skeleton.num_joints)


def trajectory_adjacency(frames: int) -> np.ndarray:
    """A_T (T, T): the trajectory topology of one joint, a chain linking frame t to frame t-1 (paper: TPA).

    Official `adj_mx_from_skeleton_temporal` (common/graph_utils.py) with parents [-1, 0, 1, ..., T-2]: interior
    rows hold 1/2 at t±1, the two end rows 1 at their single neighbour; the diagonal is 1.
    """
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    return prior_adjacency([(t, t - 1) for t in range(1, frames)], frames)


# ------------------------------------------------------------------ 2. the learnable graph convolution (paper: KPA)

class LearnableGraphConv(nn.Module):
    """Modulated graph convolution with a learnable topology (official `LearnableGraphConv`,
    common/model_ktpformer.py); input (B, N, C_in) -> (B, N, C_out).

    With X W_0 the self features and X W_1 the neighbour features, M (N, C_out) a per-node, per-channel
    modulation, A the fixed prior adjacency and Â a learnable dense adjacency (the "simulated global topology"):

        A_K = sym(A + Â) = ((A + Â) + (A + Â)^T) / 2
        H   = (A_K ⊙ I) (M ⊙ X W_0) + (A_K ⊙ (1 - I)) (M ⊙ X W_1) + b

    (the paper's figure: H_TN = (M_N ⊙ P̄_TN) A_K with A_K = A_N + Â_N), so the diagonal of A_K weights a node's own
    features and the off-diagonal its neighbours'. Initialisation as in the official code: W Xavier-uniform with
    gain 1.414, M ones, Â 1e-6, b uniform ±1/sqrt(C_out). `learnable=False` keeps Â fixed at 0 (a plain modulated
    GCN on the prior graph; for ablations). The fixed A is a buffer here (the official code keeps a plain tensor
    attribute; neither is a parameter).
    """

    def __init__(self, in_dim: int, out_dim: int, adjacency: np.ndarray | torch.Tensor, learnable: bool = True):
        super().__init__()
        adjacency = torch.as_tensor(np.asarray(adjacency), dtype=torch.float32)
        if adjacency.ndim != 2 or adjacency.shape[0] != adjacency.shape[1]:
            raise ValueError(f"adjacency must be a square (N, N) matrix, got shape {tuple(adjacency.shape)}")
        n = adjacency.shape[0]
        self.in_dim, self.out_dim, self.num_nodes = in_dim, out_dim, n
        self.W = nn.Parameter(torch.empty(2, in_dim, out_dim))
        nn.init.xavier_uniform_(self.W, gain=1.414)
        self.M = nn.Parameter(torch.ones(n, out_dim))
        self.register_buffer("adjacency", adjacency)
        if learnable:
            self.adj2 = nn.Parameter(torch.full((n, n), 1e-6))
        else:
            self.register_buffer("adj2", torch.zeros(n, n))
        bound = 1.0 / math.sqrt(out_dim)
        self.bias = nn.Parameter(torch.empty(out_dim).uniform_(-bound, bound))
        self.register_buffer("eye", torch.eye(n))

    def topology(self) -> torch.Tensor:
        """A_K = ((A + Â) + (A + Â)^T) / 2, the (N, N) adjacency the convolution uses."""
        a = self.adjacency + self.adj2
        return (a + a.T) / 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 3 or x.shape[1] != self.num_nodes or x.shape[2] != self.in_dim:
            raise ValueError(f"LearnableGraphConv expects (batch, {self.num_nodes} nodes, {self.in_dim} channels), "
                             f"got shape {tuple(x.shape)}")
        h0, h1 = x @ self.W[0], x @ self.W[1]
        a = self.topology()
        return (a * self.eye) @ (self.M * h0) + (a * (1 - self.eye)) @ (self.M * h1) + self.bias

    def extra_repr(self) -> str:
        return f"{self.in_dim} -> {self.out_dim}, nodes={self.num_nodes}, learnable={isinstance(self.adj2, nn.Parameter)}"


class GraphPrior(nn.Module):
    """LearnableGraphConv -> BatchNorm1d over channels -> ReLU, on (B, N, C_in) -> (B, N, C_out).

    The official KPA and TPA modules (common/model_ktpformer.py, no dropout). BatchNorm normalises each channel
    over batch and nodes, i.e. it runs on (B, C, N); in evaluation it uses the running statistics.
    """

    def __init__(self, in_dim: int, out_dim: int, adjacency, learnable: bool = True):
        super().__init__()
        self.gconv = LearnableGraphConv(in_dim, out_dim, adjacency, learnable)
        self.bn = nn.BatchNorm1d(out_dim)
        self.relu = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.bn(self.gconv(x).transpose(1, 2)).transpose(1, 2))


# ------------------------------------------------------------------ 3. Kinematics Prior Attention

class KPA(GraphPrior):
    """Kinematics prior (paper: KPA; official `KPA` and `KPAttention`): the GCN over the kinematic topology A_N
    that embeds each frame's 2D joints.

    (B·T, J, 2) -> (B·T, J, C). It replaces MixSTE's Linear(2 -> C) joint embedding; the spatial positional
    embedding is added to its output and the result goes through the spatial attention of layer 0. The queries,
    keys and values there are an ordinary Linear(C, 3C) of these graph-mixed features: "Q, K, V with prior
    knowledge" means computed from GCN-enhanced tokens, not a graph bias inside the attention.
    """

    def __init__(self, in_dim: int, dim: int, skeleton: Skeleton = H36M_17, learnable: bool = True):
        super().__init__(in_dim, dim, kinematic_adjacency(skeleton), learnable)


# ------------------------------------------------------------------ 4. Trajectory Prior Attention

class TPA(nn.Module):
    """Trajectory prior (paper: TPA; official `StackedTPA`): x + G2(G1(x)), two GCN -> BN -> ReLU layers over the
    trajectory topology A_T.

    (B·J, T, C) -> (B·J, T, C): the nodes are the T frames of one joint's trajectory (drawn "2x" in the paper's
    figure). Its output, plus the temporal positional embedding, feeds the temporal attention of layer 0. The
    weights depend on T through M (T, C) and the learnable adjacency (T, T).
    """

    def __init__(self, dim: int, frames: int, learnable: bool = True):
        super().__init__()
        adjacency = trajectory_adjacency(frames)
        self.gconv1 = GraphPrior(dim, dim, adjacency, learnable)
        self.gconv2 = GraphPrior(dim, dim, adjacency, learnable)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.gconv2(self.gconv1(x))


# ------------------------------------------------------------------ 5. KTPFormer (paper: overall architecture)

class KTPFormer(MixSTE):
    """KTPFormer on the MixSTE backbone (official `KTPFormer`, common/model_ktpformer.py). Input (B, T, J, 2)
    screen-normalised 2D with T = `frames`; output (B, T, J, 3) root-relative 3D in metres (every frame, seq2seq).

    Layer 0: KPA embedding (+ spatial pos) -> spatial block 0 -> Spatial_norm -> TPA (+ temporal pos) ->
    temporal block 0 -> Temporal_norm; layers 1..depth-1: plain MixSTE spatial and temporal blocks; head.
    kinematic_prior=False uses MixSTE's Linear embedding instead of KPA, trajectory_prior=False skips TPA; with
    both off the model is exactly MixSTE (same parameters, same function). Training loss: MixSTE's
    (WMPJPE + 0.5 TC + 2 MPJVE), as in the official code (`run_ktpformer.py`).
    """

    def __init__(self, frames: int = 243, joints: int = 17, in_chans: int = 2, dim: int = 512, depth: int = 8,
                 heads: int = 8, mlp_ratio: float = 2.0, qkv_bias: bool = True, drop_path: float = 0.1,
                 out_dim: int = 3, kinematic_prior: bool = True, trajectory_prior: bool = True,
                 learn_topology: bool = True, skeleton: Skeleton = H36M_17):
        if skeleton.num_joints != joints:
            raise ValueError(f"skeleton {skeleton.name!r} has {skeleton.num_joints} joints, the model {joints}")
        super().__init__(frames, joints, in_chans, dim, depth, heads, mlp_ratio, qkv_bias, drop_path, out_dim)
        self.in_chans, self.skeleton = in_chans, skeleton
        self.kinematic_prior, self.trajectory_prior = kinematic_prior, trajectory_prior
        if kinematic_prior:
            del self.joint_embed  # no Linear(2 -> C): the GCN is the embedding
            self.kpa = KPA(in_chans, dim, skeleton, learn_topology)
        else:
            self.kpa = None
        self.tpa = TPA(dim, frames, learn_topology) if trajectory_prior else None

    @property
    def name(self) -> str:
        return {(True, True): "KTPFormer", (True, False): "MixSTE + KPA", (False, True): "MixSTE + TPA",
                (False, False): "MixSTE"}[(self.kinematic_prior, self.trajectory_prior)]

    def check_input(self, x: torch.Tensor, frames: int | None = None) -> None:
        """Refuse anything but 2D keypoints (B, T, J, C_in): T = `frames` when given, otherwise exactly the built
        clip length with the trajectory prior (its graph and weights are T x T) and at most it without."""
        expected = f"(batch, {frames or self.receptive_field} frames, {self.joints} joints, {self.in_chans})"
        if not torch.is_tensor(x) or x.ndim != 4:
            raise ValueError(f"KTPFormer expects a tensor {expected}, got {getattr(x, 'shape', type(x).__name__)}")
        b, t, j, c = x.shape
        if j != self.joints or c != self.in_chans:
            raise ValueError(f"KTPFormer expects {expected}, got shape {tuple(x.shape)}")
        if frames and t != frames:
            raise ValueError(f"KTPFormer expects exactly {frames} frames here, got a clip of {t} frames")
        if self.tpa is not None and t != self.receptive_field:
            raise ValueError(f"KTPFormer's trajectory prior is built for exactly {self.receptive_field} frames "
                             f"(its graph and weights are T x T), got a clip of {t} frames")
        if t > self.receptive_field:
            raise ValueError(f"clip has {t} frames but the model was built for {self.receptive_field}")

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """KPA (or MixSTE's Linear) embedding plus the spatial positional embedding: (B, T, J, 2) -> (B, T, J, C)."""
        if self.kpa is None:
            return super().embed(x)
        b, t, j, c = x.shape
        return self.kpa(x.reshape(b * t, j, c)).reshape(b, t, j, -1) + self.spatial_pos

    def trajectory(self, x: torch.Tensor) -> torch.Tensor:
        """TPA over the frames of each joint (identity without the prior): (B, T, J, C) -> (B, T, J, C)."""
        if self.tpa is None:
            return x
        b, t, j, c = x.shape
        y = self.tpa(x.permute(0, 2, 1, 3).reshape(b * j, t, c))
        return y.reshape(b, j, t, c).permute(0, 2, 1, 3)

    def layer0_tokens(self, x: torch.Tensor) -> dict[str, torch.Tensor]:
        """The tokens that enter the two attentions of layer 0, for inspection: {'spatial': (B, T, J, C) after
        KPA/Linear + pos, 'temporal': (B, T, J, C) after spatial block 0, TPA and the temporal pos}."""
        self.check_input(x)
        s = self.embed(x)
        return {"spatial": s, "temporal": self.add_temporal_pos(self.trajectory(self.spatial(s, 0)))}

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        x = self.spatial(self.embed(x), 0)
        x = self.temporal(self.add_temporal_pos(self.trajectory(x)), 0)
        for i in range(1, self.depth):
            x = self.temporal(self.spatial(x, i), i)
        return self.head(x)

    def loss(self, output, target: torch.Tensor) -> torch.Tensor:
        """MixSTE's training loss, which the official KTPFormer code reuses (`run_ktpformer.py`)."""
        return mixste_loss(output, target)

    def prior_parameters(self) -> int:
        """Parameters of the prior modules (KPA, TPA) minus those of the Linear embedding KPA replaces."""
        n = sum(p.numel() for m in (self.kpa, self.tpa) if m is not None for p in m.parameters())
        if self.kpa is not None:
            n -= self.in_chans * self.dim + self.dim
        return n


# ------------------------------------------------------------------ 6. builders

def build(config: str = "cpu", frames: int | None = None, **overrides) -> KTPFormer:
    """KTPFormer at a named configuration ('paper', 'gpu', 'cpu', 'smoke'); `frames` and keywords override it."""
    return KTPFormer(**configuration(CONFIGS, config, frames, **overrides))


def build_kpa_only(config: str = "cpu", frames: int | None = None, **overrides) -> KTPFormer:
    """Ablation arm: MixSTE + KPA (the trajectory prior off)."""
    return build(config, frames, **{"trajectory_prior": False, **overrides})


def build_tpa_only(config: str = "cpu", frames: int | None = None, **overrides) -> KTPFormer:
    """Ablation arm: MixSTE + TPA (Linear joint embedding instead of KPA)."""
    return build(config, frames, **{"kinematic_prior": False, **overrides})
