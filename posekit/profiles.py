"""Profiles: how much data, time and model a run gets, in one place (the README's 'Profiles').

| profile | where | budget |
| smoke | CI, 2 CPU cores | about 1-2 min a notebook: every cell runs, loss falls, metrics finite |
| cpu | a laptop | at most about 10 min a notebook: a meaningful result on the embedded data |
| gpu | one GPU | at most about 30 min: larger model and data |
| paper | one or more GPUs | hours: the paper's configuration on the real dataset |

Model sizes per profile live beside each model (its `CONFIGS`, keyed by the same names); a profile holds the
training budget and the data it sees. `auto` is 'gpu' when CUDA is available, else 'cpu'.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, replace


@dataclass(frozen=True)
class Profile:
    name: str
    epochs: int                   # passes over the (capped) training windows
    batch_size: int               # clips per optimisation step
    lr: float                     # peak learning rate of AdamW (papers' own rates in 'paper')
    lr_decay: float               # multiplicative decay per epoch
    frames: int                   # clip length T of temporal models
    downsample: int               # keep every n-th frame of the 50 fps data (2 -> 25 fps)
    max_train_windows: int | None  # windows per epoch (None: all)
    test_every: int               # keep every n-th test sequence
    test_max_frames: int | None   # truncate test sequences to this many frames (None: whole)
    seeds: int                    # seeds per arm in ablations
    device: str = "cpu"

    def with_(self, **changes) -> "Profile":
        return replace(self, **changes)


PROFILES = {
    "smoke": Profile("smoke", epochs=2, batch_size=32, lr=1e-3, lr_decay=0.95, frames=27, downsample=2,
                     max_train_windows=480, test_every=24, test_max_frames=243, seeds=1),
    "cpu": Profile("cpu", epochs=10, batch_size=16, lr=2e-3, lr_decay=0.85, frames=27, downsample=2,
                   max_train_windows=2560, test_every=4, test_max_frames=480, seeds=3),
    "gpu": Profile("gpu", epochs=40, batch_size=64, lr=4e-4, lr_decay=0.96, frames=81, downsample=1,
                   max_train_windows=None, test_every=1, test_max_frames=None, seeds=3, device="cuda"),
    "paper": Profile("paper", epochs=120, batch_size=4, lr=4e-5, lr_decay=0.99, frames=243, downsample=1,
                     max_train_windows=None, test_every=1, test_max_frames=None, seeds=1, device="cuda"),
}


def resolve(name: str = "auto") -> str:
    if name == "auto":
        import torch
        return "gpu" if torch.cuda.is_available() else "cpu"
    if name not in PROFILES:
        raise ValueError(f"unknown profile {name!r}; choose one of auto, {', '.join(PROFILES)}")
    return name


def get_profile(name: str | None = None) -> Profile:
    """The profile `name`, or $POSEKIT_PROFILE, or 'auto'."""
    return PROFILES[resolve(name or os.environ.get("POSEKIT_PROFILE", "auto"))]
