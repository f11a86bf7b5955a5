"""Released checkpoints of the papers, imported into posekit's models.

    model, card = import_official('mixste', 'best_epoch.bin')          # the file as the official script saved it
    save(model, card, 'mixste.pt')                                     # posekit checkpoint with its run card
    model, card = load('mixste.pt')

Six layouts (`LAYOUTS`): MixSTE, KTPFormer, HoT w. MixSTE, UAO, GLA-GCN (released H36M model) and the VideoPose3D
TCN. `checkpoint` reads the files (training-checkpoint wrappers, 'module.' prefixes), `layouts` holds the name
maps, `convert` checks and copies the tensors, `options` switches on the official code's numerics.
"""
from .checkpoint import read_state_dict, sha256, unwrap
from .convert import CheckpointMismatch, convert, import_official, load, save
from .layouts import LAYOUTS, Layout
from .options import OPTIONS, apply_options

__all__ = ["LAYOUTS", "Layout", "CheckpointMismatch", "convert", "import_official", "load", "save", "read_state_dict",
           "sha256", "unwrap", "OPTIONS", "apply_options"]
