"""The official checkpoint layouts: for every posekit parameter, the name the official code gives it.

One `Layout` per released model. `official_name(key)` maps a posekit state-dict key to the official key (None for
a constant posekit keeps as a buffer and the official code keeps as a plain attribute, e.g. a fixed adjacency);
`transforms` convert the few tensors whose layout differs; `build_overrides` reads the model's size (frames, width,
depth) from the official tensors' shapes. Names and shapes were read from the official model definitions:

- MixSTE: `JinluZhang1126/MixSTE`, common/model_cross.py, class MixSTE2;
- KTPFormer: `JihuaPeng/KTPFormer`, common/model_ktpformer.py, class KTPFormer (KPA_Block / TPA_Block for layer 0);
- HoT w. MixSTE: `NationalGAILab/HoT`, model/mixste/hot_mixste.py, class Model (TPC w. MixSTE, seq2frame:
  model/mixste/tpc_mixste.py);
- UAO (GUMLP): `xiu-cs/UAO-Pose3D`, model/model_Gaussian.py, class Model;
- GLA-GCN (released H36M model): `bruceyo/GLA-GCN`, common/s_agcn.py (S_AGCN) and common/agcn.py (TCN_GCN_unit);
- VideoPose3D TCN: `facebookresearch/VideoPose3D`, common/model.py (TemporalModel / TemporalModelOptimized1f, whose
  weights are interchangeable).
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from typing import Callable

import torch

Rule = tuple[str, "str | Callable[[re.Match], str | None]"]


@functools.lru_cache(maxsize=None)
def _renamer(rules: tuple) -> Callable[[str], str | None]:
    """First matching rule wins: the matched prefix is replaced (a callable gets the match), the rest is kept.
    A rule whose replacement is None marks a derived constant (no official tensor)."""
    compiled = [(re.compile(p), r) for p, r in rules]

    def rename(key: str) -> str | None:
        for pattern, repl in compiled:
            m = pattern.match(key)
            if m:
                head = repl if repl is None else repl(m) if callable(repl) else m.expand(repl)
                return None if head is None else head + key[m.end():]
        raise KeyError(key)
    return rename


def _count(state: dict, pattern: str) -> int:
    """Number of distinct indices i in keys matching `pattern` (a regex with one group)."""
    return len({m.group(1) for k in state for m in [re.match(pattern, k)] if m})


def _dim(state: dict, key: str, axis: int, default: int) -> int:
    t = state.get(key)
    return int(t.shape[axis]) if t is not None and t.ndim > axis else default


@dataclass(frozen=True)
class Layout:
    """How one official repository names and shapes the weights of one model."""

    method: str                                    # posekit registry name
    repository: str
    source: str                                    # file :: class in the official repository
    saved_as: str                                  # what the official script writes
    rules: tuple                                   # (posekit prefix regex, official prefix | callable | None)
    build_overrides: Callable[[dict], dict]        # official state -> build_model keywords
    # posekit key -> (official tensor -> posekit tensor, posekit shape -> official shape)
    transforms: dict = field(default_factory=dict)
    ignore: tuple = ()                             # official keys to skip without complaint (regexes)
    options: tuple = ()                            # official-behaviour options the importer switches on
    notes: str = ""

    def official_name(self, key: str) -> str | None:
        try:
            return _renamer(self.rules)(key)
        except KeyError:
            raise KeyError(f"posekit key {key!r} has no rule in the {self.method} layout") from None

    def official_shape(self, key: str, shape: torch.Size) -> tuple:
        t = self.transforms.get(key)
        return tuple(t[1](tuple(shape))) if t else tuple(shape)

    def to_posekit(self, key: str, tensor: torch.Tensor) -> torch.Tensor:
        t = self.transforms.get(key)
        return t[0](tensor) if t else tensor

    def ignored(self, official_key: str) -> bool:
        return any(re.fullmatch(p, official_key) for p in self.ignore)


# ---------------------------------------------------------------- MixSTE (and the backbone of KTPFormer / HoT)

_MIXSTE_TAIL: list[Rule] = [
    (r"spatial_blocks\.", "STEblocks."),           # Block: norm1, attn.qkv, attn.proj, norm2, mlp.fc1, mlp.fc2
    (r"temporal_blocks\.", "TTEblocks."),
    (r"spatial_norm\.", "Spatial_norm."),          # one shared LayerNorm each
    (r"temporal_norm\.", "Temporal_norm."),
    (r"head\.", "head."),                          # LayerNorm, Linear(C, 3)
]
_MIXSTE: list[Rule] = [
    (r"joint_embed\.", "Spatial_patch_to_embedding."),
    (r"spatial_pos$", "Spatial_pos_embed"),
    (r"temporal_pos$", "Temporal_pos_embed"),
    *_MIXSTE_TAIL,
]


def _mixste_size(state: dict, pos_key: str = "Temporal_pos_embed", extra_layers: int = 0,
                 fc1: str = "STEblocks.0.mlp.fc1.weight") -> dict:
    dim = _dim(state, pos_key, 2, 512)
    out = {"frames": _dim(state, pos_key, 1, 243), "dim": dim,
           "depth": _count(state, r"STEblocks\.(\d+)\.") + extra_layers or 8}
    if fc1 in state:
        out["mlp_ratio"] = state[fc1].shape[0] / dim
    return out


MIXSTE = Layout(
    method="mixste", repository="JinluZhang1126/MixSTE", source="common/model_cross.py :: MixSTE2",
    saved_as="run.py: {'epoch', 'lr', 'random_state', 'optimizer', 'model_pos'}; model_pos from nn.DataParallel "
             "('module.' prefix)",
    rules=tuple(_MIXSTE), build_overrides=_mixste_size,
    notes="names only; heads = 8 as hard-coded in run.py")


# ---------------------------------------------------------------- KTPFormer

def _ktp_block(m: re.Match) -> str:
    stream, i = m.group(1), int(m.group(2))
    return f"{'STE' if stream == 'spatial' else 'TTE'}blocks.{i - 1}."


KTPFORMER = Layout(
    method="ktpformer", repository="JihuaPeng/KTPFormer", source="common/model_ktpformer.py :: KTPFormer",
    saved_as="run_ktpformer.py: {'epoch', 'lr', 'random_state', 'optimizer', 'model_pos'}; nn.DataParallel "
             "('module.' prefix)",
    rules=(
        (r"kpa\.gconv\.(adjacency|eye)$", None),   # fixed A_N and identity: a plain attribute officially
        (r"tpa\.gconv\d\.gconv\.(adjacency|eye)$", None),
        (r"kpa\.", "kpattention.attn.kpa."),       # LearnableGraphConv W, M, adj2, bias; BatchNorm1d
        (r"tpa\.", "tpattention.attn.tpa."),       # StackedTPA gconv1 / gconv2
        (r"spatial_pos$", "kpattention.attn.Spatial_pos_embed"),
        (r"temporal_pos$", "tpattention.attn.Temporal_pos_embed"),
        (r"spatial_blocks\.0\.norm1\.", "kpattention.attn.norm1."),
        (r"spatial_blocks\.0\.attn\.", "kpattention.attn."),   # qkv, proj
        (r"spatial_blocks\.0\.", "kpattention."),   # norm2, mlp
        (r"temporal_blocks\.0\.norm1\.", "tpattention.attn.norm1."),
        (r"temporal_blocks\.0\.attn\.", "tpattention.attn."),
        (r"temporal_blocks\.0\.", "tpattention."),
        (r"(spatial|temporal)_blocks\.(\d+)\.", _ktp_block),  # plain layer i is STEblocks / TTEblocks i - 1
        *_MIXSTE_TAIL[2:],
    ),
    build_overrides=lambda s: _mixste_size(s, "tpattention.attn.Temporal_pos_embed", 1, "kpattention.mlp.fc1.weight"),
    options=("official_ln_eps",),
    notes="layer 0 is kpattention / tpattention: the attention's LayerNorm and qkv/proj sit inside '.attn', the MLP "
          "and norm2 outside; the positional embeddings live inside the attention modules; plain layer i is "
          "STEblocks.(i-1); the adjacency matrices are not saved (rebuilt from the skeleton)")


# ---------------------------------------------------------------- HoT w. MixSTE

HOT = Layout(
    method="hot", repository="NationalGAILab/HoT", source="model/mixste/hot_mixste.py :: Model",
    saved_as="common/utils.py save_model: torch.save(model.state_dict()) (no wrapper, no DataParallel)",
    rules=(
        (r"tpc\.pos_embed$", "pos_embed_token"),
        (r"tra\.queries$", "x_token"),
        (r"tra\.", "cross_attention."),            # linear_q, linear_k, linear_v, proj
        *_MIXSTE,
    ),
    build_overrides=lambda s: {**_mixste_size(s), "tokens": _dim(s, "pos_embed_token", 1, 81)},
    options=("official_cdist",),
    notes="prune layer (--layer_index, default 3) is not stored in the file: pass layer_index if it differs")


HOT_TPC = Layout(
    method="hot-tpc", repository="NationalGAILab/HoT", source="model/mixste/tpc_mixste.py :: Model",
    saved_as="common/utils.py save_model: torch.save(model.state_dict()) (no wrapper, no DataParallel)",
    rules=tuple(_MIXSTE), build_overrides=_mixste_size, options=("official_cdist",),
    notes="exactly MixSTE's names (no pos_embed_token, no TRA); the kept-token count (--token_num, default 61) and "
          "prune layer (--layer_index, default 7) are not in the file: pass tokens / layer_index if they differ")


# ---------------------------------------------------------------- UAO (GUMLP)

UAO = Layout(
    method="uao", repository="xiu-cs/UAO-Pose3D", source="model/model_Gaussian.py :: Model",
    saved_as="common/utils.py save_model: torch.save(model.state_dict()) (no wrapper)",
    rules=(
        (r"embed\.0\.", "encoder.fc1."),
        (r"embed\.1\.", "encoder.fc5."),
        (r"blocks\.(\d+)\.gcn\.adjacency$", None),  # fixed 4x17x17 graph: not registered officially
        (r"blocks\.(\d+)\.norm_gcn\.", r"GCN_MLP.blocks.\1.norm1."),
        (r"blocks\.(\d+)\.gcn\.conv\.", r"GCN_MLP.blocks.\1.gcn1.conv1d."),
        (r"blocks\.(\d+)\.norm_channel\.", r"GCN_MLP.blocks.\1.norm2."),
        (r"blocks\.(\d+)\.norm_spatial\.", r"GCN_MLP.blocks.\1.norm3."),
        (r"blocks\.(\d+)\.channel_mlp\.(down|mid|up)\.0\.", r"GCN_MLP.blocks.\1.channel_mlp.linear_\2.linear.0."),
        (r"blocks\.(\d+)\.spatial_mlp\.(up1|up2|mid|down1|down2)\.0\.",
         r"GCN_MLP.blocks.\1.spatial_mlp.linear_\2.linear.0."),
        (r"norm_(mu|s)\.", r"GCN_MLP.norm_\1."),
        (r"head_(mu|s)\.0\.", r"pred_\1.fc1."),
        (r"head_(mu|s)\.1\.", r"pred_\1.fc5."),
    ),
    build_overrides=lambda s: {"layers": _count(s, r"GCN_MLP\.blocks\.(\d+)\.") or 3,
                               "channels": _dim(s, "encoder.fc5.weight", 0, 512)},
    ignore=(r"A",),
    notes="the adjacency (self.A) is moved to cuda:0 after wrapping, so it is not in the state dict")


# ---------------------------------------------------------------- GLA-GCN (released H36M model)

_UNIT: list[tuple[str, str | None]] = [
    (r"gcn\.A$", None),                            # fixed partitions: a Variable attribute officially
    (r"gcn\.B$", "gcn1.PA"),
    (r"gcn\.theta\.", "gcn1.conv_a."),
    (r"gcn\.phi\.", "gcn1.conv_b."),
    (r"gcn\.W\.", "gcn1.conv_d."),
    (r"gcn\.", "gcn1."),                           # down.0 / down.1, bn
    (r"tcn\.", "tcn1."),
    (r"residual\.", "residual."),
]


def _glagcn_unit(m: re.Match) -> str | None:
    """A whole AGCN-unit key: expand.* -> expand_gcn.*, stages.i.block.* / stages.i.strided.* ->
    layers_tcngcn.(2i) / layers_tcngcn.(2i+1), with the unit's inner names mapped by _UNIT."""
    unit = None if m.group(1) is None else 2 * int(m.group(1)) + (m.group(2) == "strided")
    prefix = "expand_gcn." if unit is None else f"layers_tcngcn.{unit}."
    rest = m.group(3)
    for pattern, repl in _UNIT:
        u = re.match(pattern, rest)
        if u:
            return None if repl is None else prefix + repl + rest[u.end():]
    raise KeyError(m.string)


GLAGCN = Layout(
    method="glagcn-released", repository="bruceyo/GLA-GCN", source="common/s_agcn.py :: S_AGCN",
    saved_as="run_s-agcn.py: {'epoch', 'lr', 'random_state', 'optimizer', 'model_pos'}; nn.DataParallel "
             "('module.' prefix)",
    rules=(
        (r"data_bn\.", "data_bn."),
        (r"(?:expand|stages\.(\d+)\.(block|strided))\.(.*)$", _glagcn_unit),
        (r"head\.weight$", "fc.weight"),
        (r"head\.bias$", "fc.bias"),
    ),
    transforms={
        # the shared 96 -> 3 head is a Conv1d(C, 3, 1) officially: (3, C, 1) -> posekit's (1, C, 3)
        "head.weight": (lambda t: t[:, :, 0].t().unsqueeze(0).contiguous(), lambda s: (s[2], s[1], 1)),
        "head.bias": (lambda t: t.unsqueeze(0).contiguous(), lambda s: (s[1],)),
    },
    build_overrides=lambda s: {"channels": _dim(s, "expand_gcn.gcn1.conv_d.0.weight", 0, 96),
                               "frames": 3 ** (_count(s, r"layers_tcngcn\.(\d+)\.") // 2 or 5)},
    notes="layers_tcngcn.(2i) / (2i+1) are stage i's block / strided block; PA is posekit's B; the head is "
          "transposed from Conv1d(C, 3, 1); A is not saved")


# ---------------------------------------------------------------- VideoPose3D TCN

def _tcn_block(m: re.Match) -> str:
    i, j = int(m.group(1)), int(m.group(2))
    kind, k = {0: ("conv", 0), 1: ("bn", 0), 4: ("conv", 1), 5: ("bn", 1)}[j]
    return f"layers_{kind}.{2 * i + k}."


def _tcn_size(state: dict) -> dict:
    widths = [_dim(state, "expand_conv.weight", 2, 3)]
    blocks = _count(state, r"layers_conv\.(\d+)\.") // 2
    widths += [_dim(state, f"layers_conv.{2 * i}.weight", 2, 3) for i in range(blocks)]
    joints = _dim(state, "expand_conv.weight", 1, 34) // 2
    return {"filter_widths": tuple(widths), "channels": _dim(state, "expand_conv.weight", 0, 1024), "joints": joints}


TCN = Layout(
    method="tcn", repository="facebookresearch/VideoPose3D", source="common/model.py :: TemporalModel(Optimized1f)",
    saved_as="run.py: {'epoch', 'lr', 'random_state', 'optimizer', 'model_pos', 'model_traj', ...} (no "
             "DataParallel); the released pretrained_h36m_*.bin hold 'model_pos' (and 'model_traj')",
    rules=(
        (r"expand\.0\.", "expand_conv."),
        (r"expand\.1\.", "expand_bn."),
        (r"blocks\.(\d+)\.(0|1|4|5)\.", _tcn_block),
        (r"shrink\.", "shrink."),
    ),
    build_overrides=_tcn_size,
    notes="filter widths and channels come from the conv kernels; the semi-supervised 'model_traj' is ignored")


LAYOUTS: dict[str, Layout] = {lay.method: lay for lay in (MIXSTE, KTPFORMER, HOT, HOT_TPC, UAO, GLAGCN, TCN)}
