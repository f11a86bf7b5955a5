"""HoT as a plug-in (paper Sec. 3 and Sec. 4.4, "plug-and-play"): insert token pruning (TPC) and recovery (TRA) into
an already trained MixSTE and fine-tune briefly, instead of training HoT from scratch; and the probe that shows
TRA's cold start (the spread of the recovered frames' poses over training).

`plugged_hot(state, ...)` builds HoT w. MixSTE at the MixSTE's size and copies every backbone weight (embedding,
spatial and temporal blocks, norms, head) from the trained MixSTE `state`; only TPC's rank embedding and TRA
(queries at zero, as at the start of any HoT training) are new. It is a plain function of hashable arguments, so
`functools.partial(plugged_hot, state, ...)` is a builder the run cache can identify.

`fit_with_spread(model, data, config, val=None, probe=...)` trains exactly like `posekit.train.fit` (it runs the
same loop one epoch at a time, resuming from a temporary checkpoint: same seed, same numbers) and after every epoch
records in the History the spread of the model's poses over the frames of a probe clip (`pose_spread`): zero when
every frame of the clip gets the same pose, as HoT's zero-initialised TRA queries give at the start.
"""
from __future__ import annotations

import dataclasses
import tempfile

import numpy as np
import torch

from ...train import History, fit as generic_fit
from .model import HoTMixSTE, build


def plugged_hot(state: dict, config: str = "cpu", frames: int | None = None, **overrides) -> HoTMixSTE:
    """HoT w. MixSTE at `config` (clip length `frames`, options `overrides` such as tokens, prune_layer) with the
    backbone weights of a trained MixSTE (`state`, its state_dict); TPC's rank embedding and TRA start fresh."""
    model = build(config, frames=frames, **overrides)
    missing, unexpected = model.load_state_dict(state, strict=False)
    new = [k for k in missing if not k.startswith(("tpc.", "tra."))]
    if unexpected or new:
        raise ValueError(f"the state is not a MixSTE of HoT's configuration {config!r} (frames {frames}): keys "
                         f"missing {new[:5]}, unexpected {list(unexpected)[:5]}; pass the trained MixSTE's "
                         f"state_dict() with the same config and frames")
    return model


def pose_spread(model: torch.nn.Module, clip: torch.Tensor) -> float:
    """Mean distance (mm) of each frame's predicted pose (root at 0) from the clip's mean predicted pose, for a
    clip (1, T, J, 2): 0 when every frame gets the same pose. DPC-kNN's tie-breaking noise is drawn from a fixed
    generator, so the probe neither depends on nor changes the global random state."""
    was_training = model.training
    tpc = getattr(model, "tpc", None)
    saved = tpc.generator if tpc is not None else None
    if tpc is not None:
        tpc.generator = torch.Generator().manual_seed(0)
    model.eval()
    try:
        with torch.no_grad():
            device = next(model.parameters()).device
            pose = model(clip.to(device))[0].float().cpu().numpy()
    finally:
        if tpc is not None:
            tpc.generator = saved
        model.train(was_training)
    return ground_truth_spread(pose)


def ground_truth_spread(poses: np.ndarray) -> float:
    """The same spread (mm) for poses (T, J, 3) in metres: what a model that follows the motion should reach."""
    poses = np.asarray(poses, dtype=np.float64)
    poses = poses - poses[:, :1]
    return float(np.linalg.norm(poses - poses.mean(0, keepdims=True), axis=-1).mean() * 1000)


def fit_with_spread(model, data, config, val=None, loss_fn=None, profile=None, *, probe: torch.Tensor) -> History:
    """`posekit.train.fit`, one epoch at a time (resumed from a temporary checkpoint, so the numbers are those of
    one uninterrupted run), recording `pose_spread(model, probe)` in every epoch's record."""
    if probe.ndim != 4 or probe.shape[0] != 1:
        raise ValueError(f"probe must be one clip (1, T, J, 2), got shape {tuple(probe.shape)}")
    spreads = [pose_spread(model, probe)]
    with tempfile.TemporaryDirectory(prefix="posekit-spread-") as folder:
        history = History()
        for epoch in range(1, config.epochs + 1):
            validate = val is not None and config.eval_every and (epoch % config.eval_every == 0
                                                                  or epoch == config.epochs)
            step = dataclasses.replace(config, epochs=epoch, checkpoint_dir=folder, resume=True,
                                       eval_every=1 if validate else 0)
            history = generic_fit(model, data, step, val=val if validate else None, loss_fn=loss_fn, profile=profile)
            spreads.append(pose_spread(model, probe))
    for record, spread in zip(history.records, spreads[1:]):
        record["pose_spread"] = spread
    if history.records:
        history.records[0]["pose_spread_start"] = spreads[0]
    return history


__all__ = ["plugged_hot", "pose_spread", "ground_truth_spread", "fit_with_spread"]
