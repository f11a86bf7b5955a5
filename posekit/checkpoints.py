"""Checkpoints of `posekit train` and models built for a dataset's joint set.

`model.pt` holds {'model': state_dict, 'method', 'config', 'frames', 'joints', 'skeleton', 'run': the run card}
(`posekit.runcard`), so that `posekit eval` rebuilds exactly the model that was trained. `read_checkpoint` turns
every unreadable file into one clear error; `build_for` builds a registered model for the dataset's skeleton
(17 Human3.6M joints by default; HumanEva-I's 15 joints with `joints=15`, and graph models get the skeleton whose
adjacency they use).
"""
from __future__ import annotations

import pickle
from pathlib import Path

import torch
from torch import nn

from . import models
from .skeleton import H36M_17, Skeleton


def read_checkpoint(path: Path) -> dict:
    """The dict stored in a posekit checkpoint; one clear error for a missing, foreign or unreadable file."""
    path = Path(path)
    hint = "pass the model.pt that posekit train wrote into its --out folder"
    if path.is_dir():
        raise IsADirectoryError(f"--checkpoint {path} is a folder, not a file: {hint}"
                                + (f" ({path / 'model.pt'})" if (path / "model.pt").is_file() else ""))
    if not path.is_file():
        raise FileNotFoundError(f"checkpoint {path} not found: {hint}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # random bytes, a truncated file, a pickle of something else
        first = (str(exc).strip().splitlines() or [""])[0][:120]
        if isinstance(exc, pickle.UnpicklingError):
            first = "not a torch file, or one holding objects other than tensors and plain values"
        raise ValueError(f"cannot read {path} as a posekit checkpoint ({exc.__class__.__name__}: {first}): "
                         f"{hint}") from None
    if not isinstance(state, dict) or not isinstance(state.get("model"), dict):
        raise ValueError(f"{path} is not a posekit checkpoint (no 'model' state dict): {hint}")
    return state


def build_for(method: str, configuration: str, frames: int | None, skeleton: Skeleton = H36M_17,
              input_joints: int | None = None) -> nn.Module:
    """Model `method` at `configuration` for data on `skeleton` (J joints in, J joints out)."""
    joints = skeleton.num_joints
    if input_joints is not None and input_joints != joints:
        raise ValueError(f"the 2D input has {input_joints} joints but the 3D targets have {joints} ({skeleton.name}); "
                         f"posekit's lifters map J joints to the same J joints: use --keypoints gt (2D on the "
                         f"{skeleton.name} joints)")
    if skeleton == H36M_17:
        return models.build_model(method, config=configuration, frames=frames)
    try:
        model = models.build_model(method, config=configuration, frames=frames, joints=joints, skeleton=skeleton)
    except TypeError as exc:
        if "skeleton" not in str(exc):
            raise ValueError(f"{method} cannot be built for the {joints}-joint {skeleton.name} skeleton "
                             f"({exc})") from None
        try:
            model = models.build_model(method, config=configuration, frames=frames, joints=joints)
        except TypeError as inner:
            raise ValueError(f"{method} cannot be built for the {joints}-joint {skeleton.name} skeleton "
                             f"({inner}); train a model that takes joints=, e.g. mlp, tcn or mixste") from None
    if getattr(model, "joints", joints) != joints:
        raise ValueError(f"{method} was built for {model.joints} joints, not the {joints} of {skeleton.name}")
    return model
