"""Shared networks: building blocks (`layers`) and the backbones MixSTE, the VideoPose3D-style temporal
convolution lifter and the single-frame MLP lifter."""
from .layers import Attention, DropPath, GraphConv, Mlp, TransformerBlock, normalize_adjacency
from .mixste import MixSTE
from .mlp_lifter import MLPLifter
from .tcn import TemporalConvLifter

__all__ = ["Attention", "DropPath", "GraphConv", "Mlp", "TransformerBlock", "normalize_adjacency", "MixSTE",
           "MLPLifter", "TemporalConvLifter"]
