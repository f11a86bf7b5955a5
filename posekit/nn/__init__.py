"""Shared networks: the model contract (`contract`), building blocks (`layers`) and the backbones MixSTE, the
VideoPose3D-style temporal convolution lifter and the single-frame MLP lifter."""
from .contract import CONFIG_NAMES, KeypointInput, PoseModel, configuration, count_parameters, mpjpe_loss
from .layers import Attention, DropPath, Mlp, TransformerBlock
from .mixste import MixSTE, mixste_loss
from .mlp_lifter import MLPLifter
from .tcn import TemporalConvLifter

__all__ = ["CONFIG_NAMES", "KeypointInput", "PoseModel", "configuration", "count_parameters", "mpjpe_loss",
           "Attention", "DropPath", "Mlp", "TransformerBlock", "MixSTE", "mixste_loss", "MLPLifter",
           "TemporalConvLifter"]
