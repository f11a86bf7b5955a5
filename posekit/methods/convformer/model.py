"""ConvFormer's forward pass, top to bottom in the order of the paper (arXiv 2304.02147, Sec. 3): the dynamic
convolution (Eq. 4-6), the convolutional multi-head attention (Eq. 3, 7), the pre-LN block (Eq. 8) and the model
(Eq. 1, the spatial and temporal streams, the head), then the builders and the closed-form parameter count.

1. `DynamicConv1d` - Eq. 4-6: n 1D convolutions mixed by learned weights eta with sum(eta) = 1.
2. `ConvAttention` - Eq. 3 and 7: multi-head scaled dot-product attention on convolutional Q, K, V. In the spatial
   stream the convolution is Conv1d(d -> d, k) sliding over the J joints; in the temporal stream it is
   Conv1d(T -> T, k) sliding over the J*d feature axis: every output value mixes the complete trajectories (all T
   frames) of k neighbouring joint features before the attention - the paper's "temporal joints profile".
3. `ConvFormerBlock` - Eq. 8: pre-LayerNorm block, attention and feed-forward network with residuals.
4. `ConvFormer` - Eq. 1 spatial embedding, B_sp spatial blocks, temporal embedding, B_temp temporal blocks, and
   the head p = Conv_{T->1}(Z W) predicting the centre frame (sequence-to-frame, VideoPose3D convention).

There is no official code (the official repository `AJDA1992/ConvFormer` holds only a README): every class is a
reconstruction from the paper's text; what is reconstructed is listed in the package docstring.
Shapes: input (B, T, J, 2) screen-normalised 2D; output (B, 1, J, 3) root-relative metres of the centre frame.
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from ...nn.contract import KeypointInput, configuration
from ...nn.layers import DropPath, Mlp, attention_is_explicit, drop_path_rates

# Table 5 / Sec. 5.2: d = 32, B_sp = B_temp = 2, 8 heads, kernels (7, 7, 7), FFN ratio 2 (reconstructed),
# stochastic depth 0.2, aggregation dropout 0.2 (Sec. 4.2). 'paper' is the headline T = 243 model (10.24 M); the
# other clip lengths of Table 5 are `build('paper', frames=T)`. 'gpu' is Table 5's T = 81 model (3.43 M). 'cpu'
# is Table 3's smallest row (d = 16, 2 + 2 blocks, 8 heads) at the ablation clip length T = 9: 658,901 parameters
# here, printed 0.65 M in Table 3 (the d = 64 row, 10.12 M here, is printed 9.97 M: the reconstruction fits Table 5
# and the d = 32 rows of Tables 3-4 to the printed precision, not the other widths of Table 3). 'smoke' is
# a d = 8 toy; both without dropout, which only slows the few epochs those profiles train.
CONFIGS = {
    "paper": dict(frames=243, dim=32, spatial_depth=2, temporal_depth=2, heads=8, kernels=(7, 7, 7),
                  mlp_ratio=2.0, drop_path=0.2, qkv_drop=0.2),
    "gpu": dict(frames=81, dim=32, spatial_depth=2, temporal_depth=2, heads=8, kernels=(7, 7, 7),
                mlp_ratio=2.0, drop_path=0.2, qkv_drop=0.2),
    "cpu": dict(frames=9, dim=16, spatial_depth=2, temporal_depth=2, heads=8, kernels=(7, 7, 7),
                mlp_ratio=2.0, drop_path=0.0, qkv_drop=0.0),
    "smoke": dict(frames=9, dim=8, spatial_depth=2, temporal_depth=2, heads=4, kernels=(7, 7, 7),
                  mlp_ratio=2.0, drop_path=0.0, qkv_drop=0.0),
}

ETA_MODES = ("softmax", "normalized", "free")
QKV_MODES = ("conv", "linear")
STREAMS = ("spatial", "temporal")


# ------------------------------------------------------------------------------------------------ Eq. 4-6

class DynamicConv1d(nn.Module):
    """Dynamic feature aggregation (Eq. 4-6): y = sum_i eta_i Conv1d_i(x), n filters of sizes kernels[i].

    Input (B, C_in, L), output (B, C_out, L): every convolution uses 'same' padding (zeros), so the length is kept,
    as the residual connections require (Eq. 4 centres the window on the output index). eta (n,) is a learned
    parameter with sum 1 (the paper: "eta_Q in R^{n x 1}", static, "following ideas in [36]"). How the sum is
    enforced is not stated: `eta='softmax'` (default) learns n logits and uses their softmax (initialised equal,
    eta = 1/n); 'normalized' divides learned positive weights by their sum; 'free' leaves them unconstrained.
    With one filter there is nothing to mix and no eta parameter (Table 4's single-kernel counts agree).

    Computation: because eta does not depend on the input, sum_i eta_i (W_i * x + b_i) = (sum_i eta_i W_i) * x +
    sum_i eta_i b_i: with equal kernel sizes the "dynamic" version has the function class of a single
    convolution (`merged`); it differs in parametrisation, and so in how it trains, not in what it can represent.
    With `fused=True` (default) the merged kernel is formed first and convolved once, in training and in
    evaluation: the same outputs and the same gradients for every W_i and eta_i (chain rule through the weighted
    sum), at 1/n of the convolution cost. With `fused=False`, and always inside
    `posekit.nn.layers.explicit_attention()` (where `posekit.complexity`, which hooks nn.Conv1d, counts FLOPs), the
    n convolutions run as Eq. 6 writes them, so that FLOPs are counted in the paper's convention. Kernels of
    different odd sizes (e.g. (3, 5, 7), the multi-scale mix) merge too: each is zero-padded, centred, to the
    largest size; only then is the mix more than a reparametrised single kernel at initialisation (it is still one
    kernel of the largest size in what it can represent).
    """

    def __init__(self, in_channels: int, out_channels: int, kernels: Sequence[int] = (7, 7, 7), eta: str = "softmax",
                 fused: bool = True):
        super().__init__()
        kernels = tuple(int(k) for k in kernels)
        if not kernels or min(kernels) < 1:
            raise ValueError(f"kernels must be a non-empty list of positive sizes, got {kernels}")
        if eta not in ETA_MODES:
            raise ValueError(f"eta must be one of {ETA_MODES}, got {eta!r}")
        self.kernels, self.eta_mode, self.fused = kernels, eta, fused
        self.convs = nn.ModuleList(nn.Conv1d(in_channels, out_channels, k, padding="same") for k in kernels)
        n = len(kernels)
        if n > 1:
            init = torch.zeros(n) if eta == "softmax" else torch.full((n,), 1.0 / n)
            self.eta_param = nn.Parameter(init)
        else:
            self.register_parameter("eta_param", None)

    @property
    def eta(self) -> torch.Tensor:
        """The mixing weights eta (n,) actually applied (sum 1 unless eta='free')."""
        if self.eta_param is None:
            return self.convs[0].weight.new_ones(1)
        if self.eta_mode == "softmax":
            return self.eta_param.softmax(0)
        if self.eta_mode == "normalized":
            w = self.eta_param.abs() + 1e-6
            return w / w.sum()
        return self.eta_param

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.fused and len(self.convs) > 1 and all(k % 2 for k in self.kernels) and not self._counted():
            weight, bias = self.merged_weight()
            return nn.functional.conv1d(x, weight, bias, padding="same")
        eta = self.eta
        out = eta[0] * self.convs[0](x)
        for i in range(1, len(self.convs)):
            out = out + eta[i] * self.convs[i](x)
        return out

    def _counted(self) -> bool:
        """True while FLOPs are counted (hooks on the convolutions, or `explicit_attention()`): Eq. 6 as written."""
        return attention_is_explicit() or any(c._forward_hooks or c._forward_pre_hooks for c in self.convs)

    def merged_weight(self) -> tuple[torch.Tensor, torch.Tensor]:
        """Kernel sum_i eta_i W_i (each W_i zero-padded, centred, to the largest size) and bias sum_i eta_i b_i."""
        eta, size = self.eta, max(self.kernels)
        weight = sum(e * nn.functional.pad(c.weight, ((size - k) // 2, (size - k) // 2))
                     for e, c, k in zip(eta, self.convs, self.kernels))
        bias = sum(e * c.bias for e, c in zip(eta, self.convs))
        return weight, bias

    @torch.no_grad()
    def merged(self) -> nn.Conv1d:
        """The single Conv1d that computes the same function (odd kernel sizes): see `merged_weight`."""
        conv0 = self.convs[0]
        conv = nn.Conv1d(conv0.in_channels, conv0.out_channels, max(self.kernels), padding="same").to(conv0.weight)
        conv.weight.copy_(self.merged_weight()[0])
        conv.bias.copy_(self.merged_weight()[1])
        return conv

    def extra_repr(self) -> str:
        return f"kernels={self.kernels}, eta={self.eta_mode}"


# ------------------------------------------------------------------------------------------------ Eq. 3, 7

class ConvAttention(nn.Module):
    """Dynamic multi-headed convolutional self-attention (DMHCSA, Eq. 3-7) over N tokens of width C.

    Input and output (B, N, C). `stream` says along which axis the Q/K/V convolutions slide:
    - 'spatial': tokens are the J joints of one frame (N = J, C = d); Conv1d(C -> C, k) over the joint axis
      ("weights of dimension (d, d, k) ... the filter is slid over the joints dimension"); output projection
      Linear(C -> C).
    - 'temporal': tokens are the T frames (N = T, C = J*d); Conv1d(T -> T, k) over the feature axis ("weights of
      dimension (T, T, k)", the temporal joints profile): one output value sees all T frames of k neighbouring
      features. Output projection Conv1d(T -> T, 1) (reconstructed: a J*d x J*d projection would break the paper's parameter counts).
    `qkv='linear'` replaces the convolutions by Linear(C -> C) maps and the output projection by Linear(C -> C):
    the vanilla / PoseFormer-style transformer the paper compares against (Table 6's baseline).

    Attention (Eq. 3) runs per head on C / heads channels. `keep_attention = True` stores the last map
    (B, heads, N, N) in `attention_map`; inside `posekit.nn.layers.explicit_attention()` the products are plain
    matmuls so that FLOP counters see them.
    """

    def __init__(self, dim: int, tokens: int, heads: int = 8, stream: str = "spatial", qkv: str = "conv",
                 kernels: Sequence[int] = (7, 7, 7), eta: str = "softmax", qkv_drop: float = 0.0,
                 attn_drop: float = 0.0, proj_drop: float = 0.0, scale: str = "head"):
        super().__init__()
        if stream not in STREAMS:
            raise ValueError(f"stream must be one of {STREAMS}, got {stream!r}")
        if qkv not in QKV_MODES:
            raise ValueError(f"qkv must be one of {QKV_MODES}, got {qkv!r}")
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by heads {heads}")
        if scale not in ("head", "dim"):
            raise ValueError(f"scale must be 'head' or 'dim', got {scale!r}")
        self.dim, self.tokens, self.heads, self.stream, self.qkv_mode = dim, tokens, heads, stream, qkv
        self.scale = (dim // heads if scale == "head" else dim) ** -0.5
        if qkv == "conv":
            channels = dim if stream == "spatial" else tokens
            self.q, self.k, self.v = (DynamicConv1d(channels, channels, kernels, eta) for _ in range(3))
        else:
            self.q, self.k, self.v = (nn.Linear(dim, dim) for _ in range(3))
        self.qkv_drop = nn.Dropout(qkv_drop)  # "dropout on the dynamic feature aggregation" (Sec. 4.2)
        self.attn_drop = nn.Dropout(attn_drop)
        if stream == "temporal" and qkv == "conv":
            self.proj = nn.Conv1d(tokens, tokens, 1)
        else:
            self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.keep_attention = False
        self.attention_map: torch.Tensor | None = None

    def project(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Q, K, V (B, N, C) from tokens (B, N, C): Eq. 4-6 (conv) or the linear maps of a vanilla transformer."""
        if self.qkv_mode == "linear":
            qkv = (self.q(x), self.k(x), self.v(x))
        elif self.stream == "spatial":  # channels C, length N: slide over the tokens (joints)
            xt = x.transpose(1, 2)
            qkv = tuple(f(xt).transpose(1, 2) for f in (self.q, self.k, self.v))
        else:  # channels N = T, length C = J*d: slide over the features, all frames at once
            qkv = (self.q(x), self.k(x), self.v(x))
        return tuple(self.qkv_drop(t) for t in qkv)

    def attend(self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
        """softmax(q k^T * scale) v for (B, heads, N, c) tensors (Eq. 3); keeps the map when asked."""
        if self.keep_attention or self.attn_drop.p > 0 or attention_is_explicit():
            attn = ((q @ k.transpose(-2, -1)) * self.scale).softmax(dim=-1)
            if self.keep_attention:
                self.attention_map = attn.detach()
            return self.attn_drop(attn) @ v
        return nn.functional.scaled_dot_product_attention(q, k, v, scale=self.scale)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        if n != self.tokens or c != self.dim:
            raise ValueError(f"{self.stream} attention expects (B, {self.tokens}, {self.dim}) tokens, got {tuple(x.shape)}")
        q, k, v = (t.reshape(b, n, self.heads, c // self.heads).transpose(1, 2) for t in self.project(x))
        y = self.attend(q, k, v).transpose(1, 2).reshape(b, n, c)  # Eq. 7: concatenate the heads
        return self.proj_drop(self.proj(y))


# ------------------------------------------------------------------------------------------------ Eq. 8

class ConvFormerBlock(nn.Module):
    """Pre-LN block (Eq. 8): X' = DMHCSA(LN(X)) + X; X = FFN(LN(X')) + X'. Input and output (B, N, C).

    FFN: Linear(C -> mlp_ratio C) -> GELU -> Linear(-> C) with ratio 2 (reconstructed; ratio 4 would give about
    5 M parameters at T = 9). Stochastic depth `drop_path` on both residual branches (Sec. 4.2).
    """

    def __init__(self, dim: int, tokens: int, heads: int = 8, stream: str = "spatial", qkv: str = "conv",
                 kernels: Sequence[int] = (7, 7, 7), eta: str = "softmax", mlp_ratio: float = 2.0,
                 qkv_drop: float = 0.0, drop: float = 0.0, attn_drop: float = 0.0, drop_path: float = 0.0,
                 scale: str = "head"):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = ConvAttention(dim, tokens, heads, stream, qkv, kernels, eta, qkv_drop, attn_drop, drop, scale)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, int(dim * mlp_ratio), drop=drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))


# ------------------------------------------------------------------------------------------------ the model

class ConvFormer(KeypointInput, nn.Module):
    """ConvFormer lifter. Input (B, T, J, C_in) with T = `frames`; output (B, 1, J, 3), the centre frame.

    Pipeline (Sec. 3): `embed` (Eq. 1: x_i = P_i W + E_pos, (B*T, J, d)) -> `spatial` (B_sp blocks over the J joints
    of each frame, then LayerNorm) -> `to_temporal` (flatten each frame to J*d and add E_temp, (B, T, J*d)) ->
    `temporal` (B_temp blocks over the T frames, then LayerNorm) -> `head` (Linear(J*d -> 3J), then
    Conv1d(T -> 1, k=1) over the frames: p = Conv_{T,1}(Z W)).

    qkv='conv' is ConvFormer; qkv='linear' is the same network with linear Q/K/V and output projections: a
    PoseFormer-style transformer of the same depth and width (PoseFormer itself is 4 + 4 blocks), the baseline
    of the claim. `temporal_qkv` overrides `qkv` in the temporal stream alone (to isolate the temporal joints
    profile). Drop path grows linearly from 0 to `drop_path` over each stream's blocks (PoseFormer's rule).
    """

    output = "center"

    def __init__(self, frames: int = 9, joints: int = 17, in_chans: int = 2, dim: int = 32, spatial_depth: int = 2,
                 temporal_depth: int = 2, heads: int = 8, kernels: Sequence[int] = (7, 7, 7), eta: str = "softmax",
                 mlp_ratio: float = 2.0, qkv: str = "conv", temporal_qkv: str | None = None, qkv_drop: float = 0.0,
                 drop: float = 0.0, attn_drop: float = 0.0, drop_path: float = 0.0, scale: str = "head",
                 out_dim: int = 3):
        super().__init__()
        if frames < 1 or joints < 1:
            raise ValueError(f"frames and joints must be positive, got frames={frames}, joints={joints}")
        self.receptive_field, self.joints, self.in_chans, self.dim, self.out_dim = frames, joints, in_chans, dim, out_dim
        self.qkv, self.temporal_qkv_mode = qkv, temporal_qkv or qkv
        width = joints * dim
        # Eq. 1: spatial patch embedding and positional embedding over joints
        self.joint_embed = nn.Linear(in_chans, dim)
        self.spatial_pos = nn.Parameter(torch.zeros(1, joints, dim))
        common = dict(heads=heads, kernels=kernels, eta=eta, mlp_ratio=mlp_ratio, qkv_drop=qkv_drop, drop=drop,
                      attn_drop=attn_drop, scale=scale)
        self.spatial_blocks = nn.ModuleList(
            ConvFormerBlock(dim, joints, stream="spatial", qkv=qkv, drop_path=p, **common)
            for p in drop_path_rates(drop_path, spatial_depth))
        self.spatial_norm = nn.LayerNorm(dim, eps=1e-6)
        # temporal embedding E_temp in R^{T x J d}
        self.temporal_pos = nn.Parameter(torch.zeros(1, frames, width))
        self.temporal_blocks = nn.ModuleList(
            ConvFormerBlock(width, frames, stream="temporal", qkv=self.temporal_qkv_mode, drop_path=p, **common)
            for p in drop_path_rates(drop_path, temporal_depth))
        self.temporal_norm = nn.LayerNorm(width, eps=1e-6)
        # head: down-sample the joint features (Linear J*d -> 3J), then a temporal convolution T -> 1
        self.head_linear = nn.Linear(width, joints * out_dim)
        self.head_conv = nn.Conv1d(frames, 1, 1)

    # -- the pipeline, one method per step so that the notebook can run and draw each of them
    def check_input(self, x: torch.Tensor, frames: int | None = None) -> None:
        """Refuse anything but 2D keypoints (B, T, J, C_in) with T = `frames` (default: the built clip length,
        which the temporal convolutions' channel count fixes)."""
        t = frames or self.receptive_field
        if x.ndim == 4 and tuple(x.shape[2:]) == (self.joints, self.in_chans) and x.shape[1] != t:
            raise ValueError(f"ConvFormer expects 2D keypoints of shape (B, {t}, {self.joints}, {self.in_chans}) - "
                             f"exactly {t} frames, because its temporal convolutions have {self.receptive_field} "
                             f"channels - got {tuple(x.shape)}")
        super().check_input(x, t)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Eq. 1: (B, T, J, C_in) -> (B*T, J, d)."""
        b, t, j, c = x.shape
        return self.joint_embed(x.reshape(b * t, j, c)) + self.spatial_pos

    def spatial(self, z: torch.Tensor) -> torch.Tensor:
        """Spatial ConvFormer blocks over the joints of every frame: (B*T, J, d) -> (B*T, J, d)."""
        for blk in self.spatial_blocks:
            z = blk(z)
        return self.spatial_norm(z)

    def to_temporal(self, z: torch.Tensor) -> torch.Tensor:
        """X0 = Concat(z_1 ... z_T) + E_temp: (B*T, J, d) -> (B, T, J*d)."""
        t = self.receptive_field
        return z.reshape(-1, t, self.joints * self.dim) + self.temporal_pos

    def temporal(self, x: torch.Tensor) -> torch.Tensor:
        """Temporal ConvFormer blocks over the frames: (B, T, J*d) -> (B, T, J*d)."""
        for blk in self.temporal_blocks:
            x = blk(x)
        return self.temporal_norm(x)

    def head(self, x: torch.Tensor) -> torch.Tensor:
        """p = Conv_{T,1}(Z W): (B, T, J*d) -> (B, 1, J, 3)."""
        y = self.head_conv(self.head_linear(x))
        return y.reshape(-1, 1, self.joints, self.out_dim)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.check_input(x)
        return self.head(self.temporal(self.to_temporal(self.spatial(self.embed(x)))))

    # -- inspection helpers for the notebook
    def attention_modules(self) -> dict[str, ConvAttention]:
        """{'spatial.0': ConvAttention, ..., 'temporal.1': ...}."""
        out = {f"spatial.{i}": b.attn for i, b in enumerate(self.spatial_blocks)}
        out.update({f"temporal.{i}": b.attn for i, b in enumerate(self.temporal_blocks)})
        return out

    def keep_attention(self, keep: bool = True) -> None:
        """Store (or stop storing) every block's last attention map in `.attention_map`."""
        for a in self.attention_modules().values():
            a.keep_attention = keep
            if not keep:
                a.attention_map = None

    def set_fused(self, fused: bool = True) -> "ConvFormer":
        """Run with the merged kernel (fast, default) or with each of the n kernels (Eq. 6 as written; FLOP
        counting always runs Eq. 6). Outputs and gradients are the same either way."""
        for m in self.modules():
            if isinstance(m, DynamicConv1d):
                m.fused = fused
        return self

    @torch.no_grad()
    def eta(self) -> dict[str, torch.Tensor]:
        """The kernel-mixing weights {'spatial.0.q': eta (n,), ...} of every dynamic convolution."""
        out = {}
        for name, a in self.attention_modules().items():
            for p in "qkv":
                f = getattr(a, p)
                if isinstance(f, DynamicConv1d):
                    out[f"{name}.{p}"] = f.eta.detach().cpu()
        return out


# ------------------------------------------------------------------------------------------------ builders

def build(config: str = "cpu", frames: int | None = None, **overrides) -> ConvFormer:
    """ConvFormer at a named configuration ('paper', 'gpu', 'cpu', 'smoke'); `frames` and keywords override it."""
    return ConvFormer(**configuration(CONFIGS, config, frames, **overrides))


def build_single(config: str = "cpu", frames: int | None = None, **overrides) -> ConvFormer:
    """ConvFormer with one convolution of kernel 7 per projection (Table 4, '7'; Table 6's single filter)."""
    return build(config, frames, **{"kernels": (7,), **overrides})


def build_linear(config: str = "cpu", frames: int | None = None, **overrides) -> ConvFormer:
    """The vanilla baseline: linear Q/K/V and output projections, else identical (a PoseFormer-style lifter of
    ConvFormer's depth and width)."""
    return build(config, frames, **{"qkv": "linear", **overrides})


def parameter_count(frames: int, dim: int = 32, spatial_depth: int = 2, temporal_depth: int = 2,
                    kernels: Sequence[int] = (7, 7, 7), mlp_ratio: float = 2.0, joints: int = 17,
                    in_chans: int = 2, out_dim: int = 3) -> int:
    """Closed-form parameter count of `ConvFormer` (qkv='conv'), to read off where the parameters go:
    P(T) = c + b T + a T^2 with b = J d (E_temp) and a = temporal_depth * (3 * sum(kernels) + 1)."""
    n = len(kernels)
    eta = n if n > 1 else 0
    w = joints * dim
    hid_s, hid_t = int(dim * mlp_ratio), int(w * mlp_ratio)
    spatial_qkv = 3 * (sum(dim * dim * k + dim for k in kernels) + eta)
    spatial_block = 2 * 2 * dim + spatial_qkv + dim * dim + dim + (dim * hid_s + hid_s + hid_s * dim + dim)
    temporal_qkv = 3 * (sum(frames * frames * k + frames for k in kernels) + eta)
    temporal_block = 2 * 2 * w + temporal_qkv + frames * frames + frames + (w * hid_t + hid_t + hid_t * w + w)
    return (in_chans * dim + dim + joints * dim + spatial_depth * spatial_block + 2 * dim
            + frames * w + temporal_depth * temporal_block + 2 * w
            + w * joints * out_dim + joints * out_dim + frames + 1)
