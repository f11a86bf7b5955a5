"""HoT's forward pass, in the order of the paper: Token Pruning Cluster (Sec. 3.2: frame features, DPC-kNN, the
gather), Token Recovering Attention (Sec. 3.3), HoT w. MixSTE (Sec. 3, Fig. 2) and the seq2frame TPC w. MixSTE,
with their losses and builders. Official code: `NationalGAILab/HoT`, `model/mixste/hot_mixste.py` and
`model/mixste/tpc_mixste.py`.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ...nn.contract import configuration
from ...nn.layers import attention_is_explicit, scaled_dot_product
from ...nn.mixste import CONFIGS as MIXSTE_CONFIGS
from ...nn.mixste import MixSTE, mixste_loss

# Model sizes per configuration: the MixSTE backbone of the same name plus where to prune and how many frames to
# keep. 'paper' is HoT w. MixSTE (official `hot_mixste.py` at the defaults of its `common/arguments.py`:
# --frames 243 --token_num 81 --layer_index 3): F = 243, keep f = 81 after layer 3 of 8. The smaller ones keep
# F / 3 like the paper and prune after about 3/8 of the depth (gpu: 3 of 8; cpu: 2 of 4; smoke: 1 of 2).
CONFIGS = {
    "paper": dict(MIXSTE_CONFIGS["paper"], tokens=81, prune_layer=3),
    "gpu": dict(MIXSTE_CONFIGS["gpu"], tokens=27, prune_layer=3),
    "cpu": dict(MIXSTE_CONFIGS["cpu"], tokens=9, prune_layer=2),
    "smoke": dict(MIXSTE_CONFIGS["smoke"], tokens=9, prune_layer=1),
}

# The seq2frame TPC variant (official `tpc_mixste.py`, `main_mixste_tpc.py`): the official README's setting,
# f = 61 kept tokens at layer 7 (the last of 8).
TPC_CONFIGS = {
    "paper": dict(MIXSTE_CONFIGS["paper"], tokens=61, prune_layer=7),
    "gpu": dict(MIXSTE_CONFIGS["gpu"], tokens=21, prune_layer=7),
    "cpu": dict(MIXSTE_CONFIGS["cpu"], tokens=7, prune_layer=3),
    "smoke": dict(MIXSTE_CONFIGS["smoke"], tokens=7, prune_layer=1),
}

SELECTIONS = ("dpc", "uniform", "random")


# ------------------------------------------------------------------------------------------- TPC (Sec. 3.2)

def frame_features(x: torch.Tensor) -> torch.Tensor:
    """One feature per frame: the pose tokens of a frame averaged over its joints, (B, F, J, C) -> (B, F, C).

    The official code does this with AdaptiveAvgPool1d(1) over the joint axis.
    """
    if x.ndim != 4:
        raise ValueError(f"expected pose tokens (B, F, J, C), got shape {tuple(x.shape)}")
    return x.mean(dim=2)


@dataclass
class DPCResult:
    """What DPC-kNN computed for a batch of N tokens (all tensors detached).

    centres: (B, f) indices of the selected tokens, in descending score order (not yet sorted in time);
    distance_matrix: (B, N, N) pairwise distances ||x_i - x_j|| / sqrt(C);
    density: (B, N) local density rho; delta: (B, N) distance to the nearest denser token; score: rho * delta;
    assignment: (B, N) cluster of every token (index into `centres`: its nearest centre; a centre is its own).
    """

    centres: torch.Tensor
    distance_matrix: torch.Tensor
    density: torch.Tensor
    delta: torch.Tensor
    score: torch.Tensor
    assignment: torch.Tensor

    @property
    def kept(self) -> torch.Tensor:
        """(B, f) the kept token indices in time order (what HoT gathers)."""
        return self.centres.sort(dim=-1).values


@torch.no_grad()
def dpc_knn(features: torch.Tensor, num_keep: int, k: int = 2, keep_index: int | None = None,
            generator: torch.Generator | None = None, noise: float = 1e-6, exact: bool = True) -> DPCResult:
    """Density-peaks clustering with k nearest neighbours (paper Sec. 3.2, Eq. 1-3); no gradient flows through it.

    features: (B, N, C) one token per frame. Following the official `cluster_dpc_knn` (`hot_mixste.py`):
    1. distances d_ij = ||x_i - x_j||_2 / sqrt(C);
    2. density rho_i = exp(-mean of d_ij^2 over the k nearest tokens j), where the k nearest include token i itself
       (distance 0), so k = 2 means one real neighbour; plus U(0, 1) * 1e-6 noise that breaks ties (identical
       frames, e.g. the edge-padded ends of a clip, would otherwise tie);
    3. delta_i = min d_ij over the tokens j with rho_j > rho_i; for the densest token (no denser one) it is the
       largest distance of that sample's whole matrix;
    4. score s_i = rho_i * delta_i; the `num_keep` highest scores are the cluster centres;
    5. every token is assigned to its nearest centre (HoT does not use this; the notebook draws it).
    keep_index: a token that must be kept (the seq2frame variant's centre frame, `cluster_dpc_knn_center`): its
    score is set to -inf, the other num_keep - 1 centres are chosen and it is appended last.
    exact=False computes the distances as the official code does (`torch.cdist`'s default mode: the matrix-product
    formula above 25 tokens, whose rounding of about 1e-4 can reorder near-equal densities); posekit's default is exact.
    """
    if features.ndim != 3:
        raise ValueError(f"dpc_knn expects frame features (B, N, C), got shape {tuple(features.shape)}")
    b, n, c = features.shape
    if not 1 <= num_keep <= n:
        raise ValueError(f"cannot keep {num_keep} of {n} tokens: num_keep must be in [1, {n}]")
    if not 1 <= k <= n:
        raise ValueError(f"k = {k} nearest neighbours needs 1 <= k <= N = {n}")
    x = features.float()
    mode = "donot_use_mm_for_euclid_dist" if exact else "use_mm_for_euclid_dist_if_necessary"
    dist = torch.cdist(x, x, compute_mode=mode) / c ** 0.5                           # (B, N, N)
    knn = dist.topk(k, dim=-1, largest=False).values                                # (B, N, k), self included
    density = torch.exp(-(knn ** 2).mean(dim=-1))
    rand = torch.rand(density.shape, generator=generator, device="cpu" if generator is not None else x.device)
    density = density + rand.to(x.device, x.dtype) * noise
    denser = density[:, None, :] > density[:, :, None]                             # [b, i, j]: rho_j > rho_i
    dist_max = dist.flatten(1).max(dim=-1).values[:, None, None]
    delta = torch.where(denser, dist, dist_max).min(dim=-1).values
    score = delta * density
    if keep_index is None:
        centres = score.topk(num_keep, dim=-1).indices
    else:
        if not 0 <= keep_index < n:
            raise ValueError(f"keep_index {keep_index} is outside the {n} tokens")
        masked = score.clone()
        masked[:, keep_index] = -torch.inf
        centres = masked.topk(num_keep - 1, dim=-1).indices
        centres = torch.cat([centres, centres.new_full((b, 1), keep_index)], dim=1)
    to_centre = torch.gather(dist, 1, centres[:, :, None].expand(b, num_keep, n))  # (B, f, N)
    assignment = to_centre.argmin(dim=1)
    assignment.scatter_(1, centres, torch.arange(num_keep, device=x.device).expand(b, num_keep))
    return DPCResult(centres, dist, density, delta, score, assignment)


def uniform_index(frames: int, num_keep: int, batch: int = 1, device=None) -> torch.Tensor:
    """(B, f) evenly spaced frame indices (the 'uniform' ablation; not in the paper's method)."""
    idx = torch.linspace(0, frames - 1, num_keep, device=device).round().long()
    return idx[None].expand(batch, num_keep)


class TokenPruningCluster(nn.Module):
    """TPC (paper Sec. 3.2): keep the pose tokens of f representative frames, (B, F, J, C) -> (B, f, J, C).

    The frames are the DPC-kNN cluster centres of the joint-averaged frame features, sorted ascending so that the
    kept tokens stay in temporal order; the same frames are kept for every joint. A learnable positional embedding
    (1, f, C), zero-initialised, is then added, indexed by the *rank* of a kept token (0..f-1), not by its original
    frame index (official `pos_embed_token`). `last` holds the most recent DPCResult and `last_index` the kept frames (B, f).
    `exact_distances = False` makes DPC-kNN use the official code's distance formula (see `dpc_knn`).
    """

    def __init__(self, frames: int, tokens: int, dim: int, k: int = 2, selection: str = "dpc",
                 keep_index: int | None = None, pos_embed: bool = True):
        super().__init__()
        if not 1 <= tokens <= frames:
            raise ValueError(f"tokens must be in [1, frames={frames}], got {tokens}")
        if selection not in SELECTIONS:
            raise ValueError(f"selection must be one of {SELECTIONS}, got {selection!r}")
        self.frames, self.tokens, self.k, self.selection, self.keep_index = frames, tokens, k, selection, keep_index
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, dim)) if pos_embed else None
        self.generator: torch.Generator | None = None
        self.exact_distances = True
        self.last: DPCResult | None = None
        self.last_index: torch.Tensor | None = None

    def select(self, x: torch.Tensor) -> torch.Tensor:
        """(B, f) kept frame indices, ascending, for pose tokens x (B, F, J, C)."""
        b, f = x.shape[:2]
        if f != self.frames:
            raise ValueError(f"TPC was built for {self.frames} frames, got {f}")
        if self.selection == "dpc":
            self.last = dpc_knn(frame_features(x.detach()), self.tokens, self.k, self.keep_index, self.generator,
                                exact=self.exact_distances)
            return self.last.kept
        self.last = None
        if self.selection == "uniform":
            return uniform_index(f, self.tokens, b, x.device)
        rand = torch.rand(b, f, generator=self.generator).to(x.device)
        return rand.topk(self.tokens, dim=-1).indices.sort(dim=-1).values

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        index = self.select(x)
        self.last_index = index
        kept = x[torch.arange(x.shape[0], device=x.device)[:, None], index]       # (B, f, J, C)
        if self.pos_embed is not None:
            kept = kept + self.pos_embed[:, :, None, :]
        return kept, index


# ------------------------------------------------------------------------------------------- TRA (Sec. 3.3)

class TokenRecoveringAttention(nn.Module):
    """TRA (paper Sec. 3.3): F learnable queries cross-attend to the f kept tokens of each joint.

    x (B, f, J, C) -> (B, F, J, C) with, per joint, out = Q + proj(softmax(q(Q) k(x)^T / sqrt(d)) v(x)), where
    Q (1, F, C) are the zero-initialised learnable queries (`queries`, official `x_token`); separate q, k, v
    projections with bias, 8 heads at the paper configuration. As in the official code there is no LayerNorm
    before it, no MLP after it, and no residual other than the one to the queries (official `Cross_Attention` and its call in `hot_mixste.py`).
    Set `keep_attention = True` to store the map (B*J, heads, F, f) in `attention_map`.
    """

    def __init__(self, frames: int, dim: int, heads: int = 8, qkv_bias: bool = True):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.frames, self.heads, self.scale = frames, heads, (dim // heads) ** -0.5
        self.queries = nn.Parameter(torch.zeros(1, frames, dim))
        self.linear_q = nn.Linear(dim, dim, bias=qkv_bias)
        self.linear_k = nn.Linear(dim, dim, bias=qkv_bias)
        self.linear_v = nn.Linear(dim, dim, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.keep_attention = False
        self.attention_map: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, f, j, c = x.shape
        kv = x.permute(0, 2, 1, 3).reshape(b * j, f, c)
        queries = self.queries.repeat(b * j, 1, 1)             # repeated per (clip, joint), like the official code
        h, d = self.heads, c // self.heads
        q = self.linear_q(queries).reshape(b * j, self.frames, h, d).transpose(1, 2)
        k = self.linear_k(kv).reshape(b * j, f, h, d).transpose(1, 2)
        v = self.linear_v(kv).reshape(b * j, f, h, d).transpose(1, 2)
        if self.keep_attention or attention_is_explicit():
            attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
            if self.keep_attention:
                self.attention_map = attn.detach()
            y = attn @ v
        else:
            y = scaled_dot_product(q, k, v, self.scale)
        y = self.proj(y.transpose(1, 2).reshape(b * j, self.frames, c))
        y = queries + y
        return y.reshape(b, j, self.frames, c).permute(0, 2, 1, 3)


# ------------------------------------------------------------------------------------------- HoT w. MixSTE

class _PrunedMixSTE(MixSTE):
    """MixSTE whose first `prune_layer` layers see the whole clip; shared by HoT and the seq2frame TPC model."""

    def check_input(self, x: torch.Tensor, frames: int | None = None) -> None:
        """Refuse anything but 2D keypoints (B, T, J, C_in) with T = `frames` (default: the built clip length,
        which TPC's and TRA's sizes depend on)."""
        frames = frames or self.receptive_field
        if x.ndim != 4 or x.shape[2] != self.joints or x.shape[3] != self.in_chans:
            raise ValueError(f"expected 2D keypoints (B, T, {self.joints}, {self.in_chans}), "
                             f"got shape {tuple(x.shape)}")
        if x.shape[1] != frames:
            raise ValueError(f"{type(self).__name__} was built for clips of {frames} frames (its TPC "
                             f"and TRA sizes depend on it), got {x.shape[1]}")

    def features(self, x: torch.Tensor, upto: int | None = None) -> torch.Tensor:
        """Pose tokens (B, F, J, C) after the first `upto` full-length layers (default: prune_layer)."""
        self.check_input(x)
        upto = self.prune_layer if upto is None else upto
        x = self.temporal(self.add_temporal_pos(self.spatial(self.embed(x), 0)), 0)
        for i in range(1, upto):
            x = self.temporal(self.spatial(x, i), i)
        return x


class HoTMixSTE(_PrunedMixSTE):
    """HoT w. MixSTE (paper Sec. 3, Fig. 2; official `hot_mixste.py`): (B, F, J, 2) -> (B, F, J, 3).

    Layers 0..prune_layer-1 run on all F frames as in MixSTE; TPC then keeps `tokens` frames; layers
    prune_layer..depth-1 run on them; TRA recovers F frames; MixSTE's head regresses every frame.
    prune_layer = depth prunes after the last layer (TRA then reads the kept tokens directly). The kept frames
    of the last forward are in `self.tpc.last_index` (B, f) and the DPC-kNN values behind them in `self.tpc.last`.
    """

    output = "sequence"

    def __init__(self, frames: int = 243, joints: int = 17, in_chans: int = 2, dim: int = 512, depth: int = 8,
                 heads: int = 8, mlp_ratio: float = 2.0, qkv_bias: bool = True, drop_path: float = 0.1,
                 out_dim: int = 3, tokens: int = 81, prune_layer: int = 3, k: int = 2, selection: str = "dpc"):
        super().__init__(frames, joints, in_chans, dim, depth, heads, mlp_ratio, qkv_bias, drop_path, out_dim)
        if not 1 <= prune_layer <= depth:
            raise ValueError(f"prune_layer must be in [1, depth={depth}], got {prune_layer}")
        self.tokens, self.prune_layer = tokens, prune_layer
        self.tpc = TokenPruningCluster(frames, tokens, dim, k, selection)
        self.tra = TokenRecoveringAttention(frames, dim, heads, qkv_bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.features(x)                                   # full-length layers
        x, _ = self.tpc(x)                                     # TPC: (B, F, J, C) -> (B, f, J, C)
        for i in range(self.prune_layer, self.depth):          # the waist of the hourglass
            x = self.temporal(self.spatial(x, i), i)
        x = self.tra(x)                                        # TRA: (B, f, J, C) -> (B, F, J, C)
        return self.head(x)

    def loss(self, output, target: torch.Tensor) -> torch.Tensor:
        """The official training loss: MixSTE's WMPJPE + 0.5 temporal consistency + 2.0 MPJVE, plain backward."""
        return mixste_loss(output, target)


# ------------------------------------------------------------------------------------------- TPC w. MixSTE

class TPCMixSTE(_PrunedMixSTE):
    """TPC w. MixSTE, seq2frame (official `tpc_mixste.py`): no TRA.

    (B, F, J, 2) -> (centre pose (B, 1, J, 3), kept poses (B, f, J, 3), kept frame indices (B, f)).
    TPC always keeps the centre frame (F-1)//2 plus f-1 DPC-kNN centres, and adds no positional embedding. The
    model predicts the kept frames only; the centre frame's prediction is the output (`output = 'center'`).
    Training follows the official recipe when `fit` below is used: non-overlapping F-frame clips, loss on the
    kept frames against their ground truth (`loss` gathers the target at the kept indices). Departure: with flip
    test-time augmentation (`posekit.train.predict`) the mirrored clip runs its own clustering, whereas the official
    test loop reuses the kept indices of the un-mirrored clip; the centre frame is kept either way.
    """

    output = "center"

    def __init__(self, frames: int = 243, joints: int = 17, in_chans: int = 2, dim: int = 512, depth: int = 8,
                 heads: int = 8, mlp_ratio: float = 2.0, qkv_bias: bool = True, drop_path: float = 0.1,
                 out_dim: int = 3, tokens: int = 61, prune_layer: int = 7, k: int = 2):
        super().__init__(frames, joints, in_chans, dim, depth, heads, mlp_ratio, qkv_bias, drop_path, out_dim)
        if not 1 <= prune_layer <= depth:
            raise ValueError(f"prune_layer must be in [1, depth={depth}], got {prune_layer}")
        self.tokens, self.prune_layer, self.center = tokens, prune_layer, (frames - 1) // 2
        self.tpc = TokenPruningCluster(frames, tokens, dim, k, keep_index=self.center, pos_embed=False)

    def forward(self, x: torch.Tensor):
        x = self.features(x)
        x, index = self.tpc(x)
        for i in range(self.prune_layer, self.depth):
            x = self.temporal(self.spatial(x, i), i)
        kept = self.head(x)                                               # (B, f, J, 3)
        where = (index == self.center).int().argmax(dim=1)               # position of the centre frame
        centre = kept[torch.arange(len(kept), device=kept.device), where][:, None]   # (B, 1, J, 3)
        return centre, kept, index

    def loss(self, output, target: torch.Tensor) -> torch.Tensor:
        """MixSTE's loss on the kept frames (target (B, F, J, 3)) or on the centre frame (target (B, 1, J, 3))."""
        centre, kept, index = output
        if target.shape[1] == 1:
            return mixste_loss(centre, target)
        if target.shape[1] != self.receptive_field:
            raise ValueError(f"target must have 1 or {self.receptive_field} frames, got {target.shape[1]}")
        index = index.long()
        gathered = target[torch.arange(target.shape[0], device=target.device)[:, None], index]
        return mixste_loss(kept, gathered)


# ------------------------------------------------------------------------------------------- builders

def _config(table: dict, config: str, frames: int | None, overrides: dict) -> dict:
    cfg = configuration(table, config)
    if frames and frames != cfg["frames"] and "tokens" not in overrides:
        cfg["tokens"] = max(1, round(frames * cfg["tokens"] / cfg["frames"]))  # keep the ratio f / F
    if frames:
        cfg["frames"] = frames
    cfg.update(overrides)
    return cfg


def build(config: str = "cpu", frames: int | None = None, **overrides) -> HoTMixSTE:
    """HoT w. MixSTE at a named configuration; `frames` keeps the ratio tokens/frames unless `tokens` is given."""
    return HoTMixSTE(**_config(CONFIGS, config, frames, overrides))


def build_tpc(config: str = "cpu", frames: int | None = None, **overrides) -> TPCMixSTE:
    """TPC w. MixSTE (seq2frame) at a named configuration."""
    return TPCMixSTE(**_config(TPC_CONFIGS, config, frames, overrides))
