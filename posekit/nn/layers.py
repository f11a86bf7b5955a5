"""Shared building blocks: drop path, MLP, multi-head self-attention and the pre-norm transformer block.
Shapes are (batch, tokens, channels) unless stated."""
from __future__ import annotations

from contextlib import contextmanager

import torch
from torch import nn

_EXPLICIT_ATTENTION = False
_KERNEL = "auto"
KERNELS = ("auto", "fused", "matmul")


def attention_is_explicit() -> bool:
    """True inside `explicit_attention()`: attention modules then compute softmax(q k^T) v with plain matmuls."""
    return _EXPLICIT_ATTENTION


@contextmanager
def explicit_attention():
    """Compute attention as plain matmul + softmax (not the fused kernel) inside this block, so that
    `torch.utils.flop_counter` sees the attention products (the fused CPU kernel is not counted)."""
    global _EXPLICIT_ATTENTION
    previous, _EXPLICIT_ATTENTION = _EXPLICIT_ATTENTION, True
    try:
        yield
    finally:
        _EXPLICIT_ATTENTION = previous


@contextmanager
def attention_kernel(kind: str = "auto"):
    """Choose how attention without a kept map is computed inside this block: 'fused' always
    `scaled_dot_product_attention`, 'matmul' always two batched matmuls and a softmax, 'auto' (the default) the
    fused kernel (see `fused_is_faster`). All three give the same numbers up to float rounding."""
    global _KERNEL
    if kind not in KERNELS:
        raise ValueError(f"attention kernel must be one of {KERNELS}, got {kind!r}")
    previous, _KERNEL = _KERNEL, kind
    try:
        yield
    finally:
        _KERNEL = previous


def fused_is_faster(q: torch.Tensor, k: torch.Tensor) -> bool:
    """Whether `scaled_dot_product` uses the fused kernel for queries (..., N, d) and keys (..., M, d): always under
    'auto', unless `attention_kernel` forces one. Batched matmuls looked faster for MixSTE's tiny heads on the CPU
    (head dim 8, 17 or 27 tokens) in single-process A/B runs (0.75-0.9x the time), but slower (1.3x) in fresh
    alternating processes on the same loaded machine, so the default stays the fused kernel until an idle machine
    decides; `attention_kernel('matmul')` selects the other for such measurements.
    """
    if _KERNEL != "auto":
        return _KERNEL == "fused"
    return True


def scaled_dot_product(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, scale: float) -> torch.Tensor:
    """softmax(q k^T * scale) v for (..., N, d) queries and (..., M, d) keys and values, by the kernel `fused_is_faster` picks."""
    if fused_is_faster(q, k):
        return nn.functional.scaled_dot_product_attention(q, k, v, scale=scale)
    return ((q * scale) @ k.transpose(-2, -1)).softmax(dim=-1) @ v


def drop_path_rates(max_rate: float, depth: int) -> list[float]:
    """Stochastic-depth rates rising linearly from 0 to `max_rate` over `depth` blocks (as MixSTE and its successors).

    Computed on the CPU, so a model can be built under `torch.device("meta")` without allocating its weights.
    """
    return torch.linspace(0, max_rate, depth, device="cpu").tolist()


class DropPath(nn.Module):
    """Stochastic depth: drop the whole residual branch of a sample with probability p during training."""

    def __init__(self, p: float = 0.0):
        super().__init__()
        self.p = float(p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.p == 0.0 or not self.training:
            return x
        keep = 1.0 - self.p
        mask = x.new_empty((x.shape[0],) + (1,) * (x.ndim - 1)).bernoulli_(keep)
        return x * mask / keep

    def extra_repr(self) -> str:
        return f"p={self.p:.3f}"


class Mlp(nn.Module):
    """Linear -> GELU -> dropout -> Linear -> dropout."""

    def __init__(self, dim: int, hidden: int, out: int | None = None, drop: float = 0.0):
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, out or dim)
        self.drop = nn.Dropout(drop)

    def forward(self, x):
        return self.drop(self.fc2(self.drop(self.act(self.fc1(x)))))


class Attention(nn.Module):
    """Multi-head scaled dot-product self-attention with a fused qkv projection (ViT / MixSTE).

    Set `keep_attention = True` to store the last attention map (B, heads, N, N) in `attention_map`.
    """

    def __init__(self, dim: int, heads: int = 8, qkv_bias: bool = True, attn_drop: float = 0.0, proj_drop: float = 0.0):
        super().__init__()
        if dim % heads:
            raise ValueError(f"dim {dim} is not divisible by heads {heads}")
        self.heads = heads
        self.scale = (dim // heads) ** -0.5
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.attn_drop = nn.Dropout(attn_drop)
        self.proj = nn.Linear(dim, dim)
        self.proj_drop = nn.Dropout(proj_drop)
        self.keep_attention = False
        self.attention_map: torch.Tensor | None = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, n, c = x.shape
        # (B, N, 3C) viewed as 3 x heads chunks of C / heads channels: q, k, v are views (no copy), and the backward
        # pass writes their gradients into one (B, N, 3C) tensor with a single concatenation.
        q, k, v = self.qkv(x).view(b, n, 3 * self.heads, c // self.heads).transpose(1, 2).split(self.heads, dim=1)
        return self.proj_drop(self.proj(self.attend(q, k, v).transpose(1, 2).reshape(b, n, c)))

    def attend(self, q, k, v):
        """softmax(q k^T / sqrt(d)) v for (B, heads, N, d) tensors; keeps the map when asked."""
        if self.keep_attention or self.attn_drop.p > 0 or attention_is_explicit():
            attn = (q @ k.transpose(-2, -1)) * self.scale
            attn = attn.softmax(dim=-1)
            if self.keep_attention:
                self.attention_map = attn.detach()
            return self.attn_drop(attn) @ v
        return scaled_dot_product(q, k, v, self.scale)


class TransformerBlock(nn.Module):
    """Pre-norm block: x + DropPath(Attn(LN(x))), then x + DropPath(MLP(LN(x))); LayerNorm eps 1e-6."""

    def __init__(self, dim: int, heads: int, mlp_hidden: int, qkv_bias: bool = True, drop: float = 0.0,
                 attn_drop: float = 0.0, drop_path: float = 0.0):
        super().__init__()
        self.norm1 = nn.LayerNorm(dim, eps=1e-6)
        self.attn = Attention(dim, heads, qkv_bias, attn_drop, drop)
        self.drop_path = DropPath(drop_path)
        self.norm2 = nn.LayerNorm(dim, eps=1e-6)
        self.mlp = Mlp(dim, mlp_hidden, drop=drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.drop_path(self.attn(self.norm1(x)))
        return x + self.drop_path(self.mlp(self.norm2(x)))
