"""The model contract: what every posekit model offers, so that one training loop, one evaluation, one complexity
count and one benchmark serve lifters and image models alike.

A model is an `nn.Module` with
- `receptive_field`: the input frames T of one clip (1 for single-frame and image models);
- `output`: 'sequence' (predicts all T frames, (B, T, J, 3)) or 'center' (predicts the centre frame, (B, 1, J, 3));
- `example_input(batch)`: a tensor of the shape its forward pass takes, so complexity and benchmarks never guess;
- optionally `loss(output, target)`: its paper's training loss (MPJPE, `mpjpe_loss`, otherwise).
`forward(x)` returns the 3D pose in root-relative metres, or a tuple whose first element is that pose.

Model sizes live beside each model in a `CONFIGS` table keyed by the profile names (`CONFIG_NAMES`):
'paper' is the paper's exact configuration, the others are the sizes the profiles of `posekit.profiles` train.
"""
from __future__ import annotations

from typing import Protocol, runtime_checkable

import torch
from torch import nn

from .. import metrics
from ..profiles import PROFILES

CONFIG_NAMES: tuple[str, ...] = tuple(PROFILES)


@runtime_checkable
class PoseModel(Protocol):
    """The contract every model of `posekit.models` follows (see the module docstring)."""

    receptive_field: int
    output: str

    def example_input(self, batch: int = 1) -> torch.Tensor: ...

    def __call__(self, x: torch.Tensor): ...


class KeypointInput:
    """Mixin for 2D-to-3D lifters: `example_input` is a clip of random screen-normalised keypoints
    (B, receptive_field, joints, in_chans), and `check_input` refuses any other shape with one clear message."""

    receptive_field: int
    joints: int
    in_chans: int

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.randn(batch, self.receptive_field, self.joints, self.in_chans)

    def check_input(self, x: torch.Tensor, frames: int | None = None) -> None:
        """Raise ValueError unless x is (B, frames, joints, in_chans); frames=None accepts any clip length."""
        t = x.shape[1] if x.ndim == 4 else None
        if x.ndim != 4 or x.shape[2] != self.joints or x.shape[3] != self.in_chans or (frames and t != frames):
            want = f"(B, {frames or 'T'}, {self.joints}, {self.in_chans})"
            raise ValueError(f"{type(self).__name__} expects 2D keypoints {want}, got {tuple(x.shape)}; build the "
                             f"model with joints=/in_chans=/frames= matching the data")


def configuration(table: dict, config: str, frames: int | None = None, **overrides) -> dict:
    """The keyword arguments of a model at configuration `config` of its `table` (the module's CONFIGS), with the
    clip length `frames` (when given) and `overrides` applied; one clear error for an unknown configuration."""
    if config not in table:
        raise ValueError(f"unknown configuration {config!r}; choose one of {', '.join(table)}")
    return {**table[config], **({"frames": frames} if frames else {}), **overrides}


def count_parameters(model: nn.Module) -> int:
    """sum(p.numel()) over model.parameters(): the papers' convention (buffers excluded)."""
    return sum(p.numel() for p in model.parameters())


def pose_of(output) -> torch.Tensor:
    """The 3D pose of a model's output: the output itself, or the first element of a tuple (pose, extras...)."""
    return output[0] if isinstance(output, (tuple, list)) else output


def mpjpe_loss(output, target: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean joint error (Human3.6M Protocol #1) as a training loss: the default of the contract."""
    pose = pose_of(output)
    if pose.shape != target.shape:
        raise ValueError(f"prediction {tuple(pose.shape)} and target {tuple(target.shape)} differ in shape")
    return metrics.mpjpe_torch(pose, target)


def example_input(model: nn.Module, batch: int = 1) -> torch.Tensor:
    """The model's own `example_input(batch)`; a clear error for a model outside the contract."""
    if not hasattr(model, "example_input"):
        raise TypeError(f"{type(model).__name__} has no example_input(batch); posekit models state their input "
                        f"shape that way (see posekit.nn.contract)")
    return model.example_input(batch)
