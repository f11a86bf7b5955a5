"""HoT's own training procedure for the seq2frame TPC w. MixSTE (official `main_mixste_tpc.py`): whole,
non-overlapping F-frame clips with the loss on every kept frame, where the generic loop would train one window per
frame. HoT w. MixSTE itself trains with the generic loop (`posekit.train.fit`) and the model's MixSTE loss.
"""
from __future__ import annotations

from ...data.samplers import ClipBank
from ...train import fit as generic_fit
from .model import TPCMixSTE


def fit(model, data, config, val=None, loss_fn=None, profile=None):
    """`posekit.train.fit`, except that the seq2frame TPC model trains on non-overlapping F-frame clips with the
    loss on every kept frame (official `main_mixste_tpc.py`); it is still evaluated one window per frame."""
    if isinstance(model, TPCMixSTE) and not isinstance(data, ClipBank):
        data = ClipBank(data, model.receptive_field, "sequence", config.stride or model.receptive_field)
    return generic_fit(model, data, config, val=val, loss_fn=loss_fn, profile=profile)
