"""KTPFormer: Kinematics and Trajectory Prior Knowledge-Enhanced Transformer (Peng, Zhou and Mok, CVPR 2024).

KTPFormer is MixSTE (`posekit.nn.mixste`) whose first layer is given two priors before its attention:

- KPA, Kinematics Prior Attention: a graph convolution over the body's kinematic tree (17 joints of one frame)
  *is* the input embedding (2 -> C); its output feeds the spatial self-attention of layer 0.
- TPA, Trajectory Prior Attention: two graph convolutions over the trajectory of each joint (a chain linking
  frame t to frame t-1), with a residual, feed the temporal self-attention of layer 0.

Both graph convolutions add a learnable dense adjacency to the fixed one ("simulated global topology").
Layers 1..depth-1 are plain MixSTE layers; head, shared norms, drop-path schedule and loss are MixSTE's.

The module follows the paper's method section in order: the spatial and trajectory topologies (the released
`graph_utils.py`), the learnable graph convolution (the paper's H_TN = (M_N ⊙ P̄_TN) A_K with A_K = A_N + Â_N),
Kinematics Prior Attention (KPA), Trajectory Prior Attention (TPA), and the assembled KTPFormer. (The KTPFormer
paper's own section and equation numbers were not verified for posekit, so sections are cited by name.)
Facts and the official code's quirks are in `shared/reference/ktpformer.md`; parameter counts at 243 / 81 / 27
frames (width 512, 8 layers): 35,213,430 / 34,859,622 / 34,765,014.

Departures from the official code (`JihuaPeng/KTPFormer`), none of which changes a parameter count:
- `depth` counts all layers, the prior layer included (MixSTE's convention): the paper configuration is depth 8,
  i.e. the official `-dep 7` plain layers plus the KPA/TPA layer.
- The spatial / temporal positional embeddings live on the backbone (`spatial_pos`, `temporal_pos`) rather than
  inside KPAttention / TPAttention; they are added at the same place (after the GCN, before the attention).
- The official KPA/TPA attention blocks build their first LayerNorm with PyTorch's default eps 1e-5 (the other
  norms use 1e-6); here every block norm uses 1e-6 like the rest of the backbone (a negligible difference).
- Training uses a plain backward of MixSTE's loss, not the official ½L² gradient quirk (see `posekit.train`).
- `kinematic_prior` / `trajectory_prior` switch each prior off for the ablation (KTPFormer with both off is
  exactly MixSTE), and `learn_topology=False` freezes the learnable adjacency at 0.
"""
from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn

from ..nn.contract import configuration
from ..nn.mixste import CONFIGS as MIXSTE_CONFIGS
from ..nn.mixste import MixSTE
from ..skeleton import H36M_17, Skeleton
from ..nn.mixste import mixste_loss

CONFIGS = MIXSTE_CONFIGS  # the backbone's sizes: the ablation compares KTPFormer with the MixSTE of the same name

# The official training recipe (ktpformer.md section 7) where it differs from MixSTE's: 8 clips of 243 frames per
# batch (-b 1024 -s 128), lr 8e-5, 200 epochs; AdamW wd 0.1 and lr decay 0.99 per epoch as MixSTE.
PAPER_TRAINING = dict(epochs=200, batch_size=8, lr=8e-5, lr_decay=0.99, weight_decay=0.1)


# ------------------------------------------------------------------ 1. topologies (paper: KPA, TPA; graph_utils.py)

def prior_adjacency(edges, num_nodes: int) -> np.ndarray:
    """The fixed prior adjacency (N, N) exactly as the official `adj_mx_from_edges` builds it.

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
    local topology")."""
    return prior_adjacency(skeleton.bones, skeleton.num_joints)


def trajectory_adjacency(frames: int) -> np.ndarray:
    """A_T (T, T): the trajectory topology of one joint, a chain linking frame t to frame t-1 (paper: TPA).

    Official `adj_mx_from_skeleton_temporal` with parents [-1, 0, 1, ..., T-2]: interior rows hold 1/2 at t±1,
    the two end rows 1 at their single neighbour; the diagonal is 1.
    """
    if frames < 1:
        raise ValueError(f"frames must be at least 1, got {frames}")
    return prior_adjacency([(t, t - 1) for t in range(1, frames)], frames)


# ------------------------------------------------------------------ 2. the learnable graph convolution (paper: KPA)

class LearnableGraphConv(nn.Module):
    """Modulated graph convolution with a learnable topology; input (B, N, C_in) -> (B, N, C_out).

    With X W_0 the self features and X W_1 the neighbour features, M (N, C_out) a per-node, per-channel
    modulation, A the fixed prior adjacency and Â a learnable dense adjacency (the "simulated global topology"):

        A_K = sym(A + Â) = ((A + Â) + (A + Â)^T) / 2
        H   = (A_K ⊙ I) (M ⊙ X W_0) + (A_K ⊙ (1 - I)) (M ⊙ X W_1) + b

    so the diagonal of A_K weights a node's own features and the off-diagonal its neighbours'. Initialisation
    as in the official code: W Xavier-uniform with gain 1.414, M ones, Â 1e-6, b uniform ±1/sqrt(C_out).
    `learnable=False` keeps Â fixed at 0 (a plain modulated GCN on the prior graph; for ablations).
    The fixed A is a buffer here (the official code keeps a plain tensor attribute; neither is a parameter).
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

    The official KPA and TPA modules (no dropout). BatchNorm normalises each channel over batch and nodes,
    i.e. it runs on (B, C, N); in evaluation it uses the running statistics.
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
    """Kinematics prior: the GCN over the kinematic topology A_N that embeds each frame's 2D joints.

    (B·T, J, 2) -> (B·T, J, C). It replaces MixSTE's Linear(2 -> C) joint embedding; the spatial positional
    embedding is added to its output and the result goes through the spatial attention of layer 0. The queries,
    keys and values there are an ordinary Linear(C, 3C) of these graph-mixed features: "Q, K, V with prior
    knowledge" means computed from GCN-enhanced tokens, not a graph bias inside the attention.
    """

    def __init__(self, in_dim: int, dim: int, skeleton: Skeleton = H36M_17, learnable: bool = True):
        super().__init__(in_dim, dim, kinematic_adjacency(skeleton), learnable)


# ------------------------------------------------------------------ 4. Trajectory Prior Attention

class TPA(nn.Module):
    """Trajectory prior: x + G2(G1(x)), two GCN -> BN -> ReLU layers over the trajectory topology A_T.

    (B·J, T, C) -> (B·J, T, C): the nodes are the T frames of one joint's trajectory (the official StackedTPA,
    drawn "2x" in the paper's figure). Its output, plus the temporal positional embedding, feeds the temporal
    attention of layer 0. The weights depend on T through M (T, C) and the learnable adjacency (T, T).
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
    """KTPFormer on the MixSTE backbone. Input (B, T, J, 2) screen-normalised 2D with T = `frames`;
    output (B, T, J, 3) root-relative 3D in metres (every frame, seq2seq).

    Layer 0: KPA embedding (+ spatial pos) -> spatial block 0 -> Spatial_norm -> TPA (+ temporal pos) ->
    temporal block 0 -> Temporal_norm; layers 1..depth-1: plain MixSTE spatial and temporal blocks; head.
    kinematic_prior=False uses MixSTE's Linear embedding instead of KPA, trajectory_prior=False skips TPA; with
    both off the model is exactly MixSTE (same parameters, same function). Training loss: MixSTE's
    (WMPJPE + 0.5 TC + 2 MPJVE), as in the official code.
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
            del self.joint_embed  # no Linear(2 -> C): the GCN is the embedding (ktpformer.md pitfall 1)
            self.kpa = KPA(in_chans, dim, skeleton, learn_topology)
        else:
            self.kpa = None
        self.tpa = TPA(dim, frames, learn_topology) if trajectory_prior else None

    @property
    def name(self) -> str:
        return {(True, True): "KTPFormer", (True, False): "MixSTE + KPA", (False, True): "MixSTE + TPA",
                (False, False): "MixSTE"}[(self.kinematic_prior, self.trajectory_prior)]

    def check_input(self, x: torch.Tensor) -> None:
        expected = f"(batch, {self.receptive_field} frames, {self.joints} joints, {self.in_chans})"
        if not torch.is_tensor(x) or x.ndim != 4:
            raise ValueError(f"KTPFormer expects a tensor {expected}, got {getattr(x, 'shape', type(x).__name__)}")
        b, t, j, c = x.shape
        if j != self.joints or c != self.in_chans:
            raise ValueError(f"KTPFormer expects {expected}, got shape {tuple(x.shape)}")
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
        """MixSTE's training loss, which the official KTPFormer code reuses (ktpformer.md section 7)."""
        return mixste_loss(output, target)

    def prior_parameters(self) -> int:
        """Parameters of the prior modules (KPA, TPA) minus those of the Linear embedding KPA replaces."""
        n = sum(p.numel() for m in (self.kpa, self.tpa) if m is not None for p in m.parameters())
        if self.kpa is not None:
            n -= self.in_chans * self.dim + self.dim
        return n


def attention_qkv(block: nn.Module, tokens: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Q, K, V (B, heads, N, C/heads) that a TransformerBlock computes from its input tokens (B, N, C)."""
    b, n, c = tokens.shape
    heads = block.attn.heads
    qkv = block.attn.qkv(block.norm1(tokens)).reshape(b, n, 3, heads, c // heads).permute(2, 0, 3, 1, 4)
    return qkv[0], qkv[1], qkv[2]


def build(config: str = "cpu", frames: int | None = None, **overrides) -> KTPFormer:
    """KTPFormer at a named configuration ('paper', 'gpu', 'cpu', 'smoke'); `frames` and keywords override it."""
    return KTPFormer(**configuration(CONFIGS, config, frames, **overrides))


def build_kpa_only(config: str = "cpu", frames: int | None = None, **overrides) -> KTPFormer:
    """Ablation arm: MixSTE + KPA (the trajectory prior off)."""
    return build(config, frames, **{"trajectory_prior": False, **overrides})


def build_tpa_only(config: str = "cpu", frames: int | None = None, **overrides) -> KTPFormer:
    """Ablation arm: MixSTE + TPA (Linear joint embedding instead of KPA)."""
    return build(config, frames, **{"kinematic_prior": False, **overrides})


# ------------------------------------------------------------------ 6. inspection and figures (for the notebook)

@torch.no_grad()
def token_similarity(tokens: torch.Tensor) -> torch.Tensor:
    """Mean cosine similarity between the N tokens of each item: (B, N, C) -> (N, N)."""
    t = nn.functional.normalize(tokens.float(), dim=-1)
    return (t @ t.transpose(1, 2)).mean(0)


@torch.no_grad()
def qkv_similarity(model: KTPFormer, x: torch.Tensor) -> dict[str, torch.Tensor]:
    """Joint-by-joint cosine similarity (J, J) of Q, K and V in the spatial attention of layer 0 on clip(s) x.

    With KPA the tokens are graph-mixed before the projection, so the queries/keys/values of joints that are
    neighbours in the kinematic tree start out alike; with MixSTE's Linear embedding a token sees only its own
    joint's 2D position (plus the positional embedding).
    """
    was_training = model.training
    model.eval()
    tokens = model.layer0_tokens(x)["spatial"]
    b, t, j, c = tokens.shape
    q, k, v = attention_qkv(model.spatial_blocks[0], tokens.reshape(b * t, j, c))
    flat = lambda z: z.transpose(1, 2).reshape(b * t, j, c)  # heads concatenated: (B·T, J, C)
    model.train(was_training)
    return {"Q": token_similarity(flat(q)), "K": token_similarity(flat(k)), "V": token_similarity(flat(v))}


def neighbour_contrast(similarity, adjacency) -> float:
    """Mean similarity of graph neighbours minus that of non-neighbours (off-diagonal pairs only)."""
    s, a = np.asarray(similarity, dtype=np.float64), np.asarray(adjacency) > 0
    off = ~np.eye(len(s), dtype=bool)
    return float(s[a & off].mean() - s[~a & off].mean())


@torch.no_grad()
def layer_attention(model: MixSTE, x: torch.Tensor, layer: int = 0) -> dict[str, torch.Tensor]:
    """Attention maps of one layer on clip(s) x (B, T, J, 2), averaged over heads:
    'spatial' (J, J) averaged over the clips' frames, 'temporal' (J, T, T) one map per joint."""
    blocks = (model.spatial_blocks[layer].attn, model.temporal_blocks[layer].attn)
    was_training = model.training
    model.eval()
    for a in blocks:
        a.keep_attention = True
    try:
        model(x)
    finally:
        for a in blocks:
            a.keep_attention = False
        model.train(was_training)
    b, t, j = x.shape[:3]
    spatial = blocks[0].attention_map.mean(1).reshape(b, t, j, j).mean((0, 1))
    temporal = blocks[1].attention_map.mean(1).reshape(b, j, t, t).mean(0)
    return {"spatial": spatial, "temporal": temporal}


def learned_topologies(model: KTPFormer) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{'KPA' / 'TPA 1' / 'TPA 2': (fixed sym(A), learned A_K)} of the model's graph convolutions."""
    out = {}
    named = {"KPA": model.kpa.gconv if model.kpa is not None else None,
             "TPA 1": model.tpa.gconv1.gconv if model.tpa is not None else None,
             "TPA 2": model.tpa.gconv2.gconv if model.tpa is not None else None}
    for label, gc in named.items():
        if gc is not None:
            a = gc.adjacency.detach().cpu().numpy()
            out[label] = ((a + a.T) / 2, gc.topology().detach().cpu().numpy())
    return out


def _finish(fig, title):
    """Title and layout; the figure is closed in pyplot and returned, so a notebook shows it once, as a value
    (the convention of `posekit.viz`)."""
    import matplotlib.pyplot as plt

    if title:
        fig.suptitle(title)
    fig.tight_layout()
    plt.close(fig)
    return fig


def plot_matrices(matrices: dict, *, labels=None, title: str | None = None, cmap: str = "viridis",
                  symmetric=False, annotate: bool = False, ncols: int | None = None):
    """Heatmaps side by side (matplotlib): {title: (N, N) array}. `symmetric`: True, or the titles of the
    matrices whose colour scale is centred on 0 (red/blue, for differences)."""
    import matplotlib.pyplot as plt

    n = len(matrices)
    ncols = ncols or n
    nrows = int(math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(3.3 * ncols, 3.2 * nrows), squeeze=False)
    for ax, (name, m) in zip(axes.ravel(), matrices.items()):
        m = np.asarray(m.detach().cpu() if torch.is_tensor(m) else m, dtype=np.float64)
        if symmetric is True or (not isinstance(symmetric, bool) and name in symmetric):
            lim = np.abs(m).max() or 1.0
            im = ax.imshow(m, cmap="RdBu_r", vmin=-lim, vmax=lim)
        else:
            im = ax.imshow(m, cmap=cmap)
        ax.set_title(name)
        ax.grid(False)
        if labels is not None and len(labels) == len(m):
            ax.set_xticks(range(len(m)), labels, rotation=90, fontsize=6)
            ax.set_yticks(range(len(m)), labels, fontsize=6)
        if annotate and len(m) <= 17:
            for (i, j), v in np.ndenumerate(m):
                if abs(v) >= 0.005:
                    ax.text(j, i, f"{v:.2f}".lstrip("0").replace("-0", "-"), ha="center", va="center",
                            fontsize=4.5, color="w" if v < 0.6 * m.max() else "k")
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    return _finish(fig, title)


def plot_topologies(pose_2d: np.ndarray, trajectory_2d: np.ndarray, skeleton: Skeleton = H36M_17,
                    joint: int | None = None, title: str | None = None):
    """The two prior graphs and their fixed adjacency matrices (matplotlib, 2 x 2).

    pose_2d: (J, 2) one frame's 2D joints (screen-normalised, y down) for the kinematic graph; trajectory_2d:
    (T, 2) one joint's 2D path over the clip for the trajectory graph (each frame a node, t linked to t-1).
    """
    import matplotlib.pyplot as plt

    pose_2d, trajectory_2d = np.asarray(pose_2d), np.asarray(trajectory_2d)
    frames = len(trajectory_2d)
    a_n, a_t = kinematic_adjacency(skeleton), trajectory_adjacency(frames)
    fig, axes = plt.subplots(2, 2, figsize=(9.0, 8.2))
    ax = axes[0, 0]
    for c, p in skeleton.bones:
        ax.plot(*pose_2d[[c, p]].T, color="#888", lw=2, zorder=1)
    deg = (a_n > 0).sum(1) - 1
    sc = ax.scatter(*pose_2d.T, c=deg, cmap="plasma", s=70, zorder=2, vmin=1, vmax=deg.max())
    for i, (x, y) in enumerate(pose_2d):
        ax.annotate(str(i), (x, y), textcoords="offset points", xytext=(5, 3), fontsize=7)
    if joint is not None:
        ax.scatter(*pose_2d[joint], s=220, facecolors="none", edgecolors="k", lw=1.5, zorder=3)
    ax.invert_yaxis()
    ax.set_aspect("equal", adjustable="datalim")
    ax.margins(0.15)
    ax.set_title(f"kinematic topology: {skeleton.num_joints} joints, {len(skeleton.bones)} bones")
    fig.colorbar(sc, ax=ax, fraction=0.046, pad=0.04, label="neighbours")
    ax = axes[0, 1]
    im = ax.imshow(a_n, cmap="viridis")
    ax.set_xticks(range(len(a_n)), skeleton.joint_names, rotation=90, fontsize=6)
    ax.set_yticks(range(len(a_n)), skeleton.joint_names, fontsize=6)
    ax.grid(False)
    ax.set_title("A_N (row-normalised, diagonal 1)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    ax = axes[1, 0]
    ax.plot(*trajectory_2d.T, color="#888", lw=1, zorder=1)
    sc = ax.scatter(*trajectory_2d.T, c=np.arange(frames), cmap="viridis", s=25, zorder=2)
    ax.invert_yaxis()
    ax.set_aspect("equal", adjustable="datalim")
    name = skeleton.joint_names[joint] if joint is not None else "one joint"
    ax.set_title(f"trajectory topology: {name} over {frames} frames")
    fig.colorbar(sc, ax=ax, fraction=0.046, pad=0.04, label="frame")
    ax = axes[1, 1]
    im = ax.imshow(a_t, cmap="viridis")
    ax.grid(False)
    ax.set_xlabel("frame")
    ax.set_ylabel("frame")
    ax.set_title(f"A_T ({frames} x {frames} chain)")
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
    return _finish(fig, title)


def plot_ablation(stats: dict, *, title: str | None = None):
    """Bars of MPJPE and P-MPJPE per ablation arm with std error bars: {arm: {'MPJPE': [..], 'P-MPJPE': [..]}}."""
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(8.5, 3.2))
    arms = list(stats)
    for ax, metric in zip(axes, ("MPJPE", "P-MPJPE")):
        vals = [np.asarray(stats[a][metric], dtype=np.float64) for a in arms]
        means = np.array([v.mean() for v in vals])
        stds = np.array([v.std(ddof=1) if len(v) > 1 else 0.0 for v in vals])
        ax.bar(range(len(arms)), means, yerr=stds, capsize=4, color=["#888", "#1f77b4", "#2ca02c", "#d62728"][:len(arms)])
        for i, v in enumerate(vals):
            ax.scatter(np.full(len(v), i), v, color="k", s=10, zorder=3)
        lo = min(v.min() for v in vals)
        hi = max(v.max() for v in vals)
        ax.set_ylim(max(0.0, lo - 0.6 * (hi - lo) - 1), hi + 0.4 * (hi - lo) + 1)
        ax.set_xticks(range(len(arms)), arms, rotation=20, ha="right")
        ax.set_ylabel(f"{metric} (mm)")
        ax.grid(axis="x", visible=False)
    return _finish(fig, title)
