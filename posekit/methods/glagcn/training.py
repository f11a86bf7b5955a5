"""GLA-GCN's training procedure: whole-window targets, so that the global loss (Eq. 4) sees the sequence, and the
released code's optional `random_move` target jitter (`bruceyo/GLA-GCN`, `common/generators.py`
`Augmented_Train_ChunkedGenerator`, `common/tools.py`). The loop itself is posekit's (`posekit.train.fit`): AdamW
with exponential decay instead of the official `run_s-agcn.py`'s Ranger with cosine annealing and BN-momentum decay."""
from __future__ import annotations

import numpy as np
import torch
from torch import nn

from ... import train as training
from ...data.dataset import PoseDataset
from ...data.samplers import ClipBank, edge_index
from ...skeleton import flip_poses
from .model import GLAGCN


def random_move(poses: np.ndarray, rng: np.random.Generator, angles=(-5.0, 0.0, 5.0),
                scales=(0.95, 1.0, 1.05)) -> np.ndarray:
    """The released code's target jitter (`common/tools.py`, `random_move`): rotate x, y of each 3D window
    (B, T, J, 3) in-plane by a random angle and scale them by a random factor (z unchanged). One draw per window;
    the 2D input is not touched."""
    a = np.deg2rad(rng.choice(angles, len(poses)))
    s = rng.choice(scales, len(poses))
    cos, sin = (np.cos(a) * s)[:, None, None], (np.sin(a) * s)[:, None, None]
    out = poses.copy()
    out[..., 0] = cos * poses[..., 0] - sin * poses[..., 1]
    out[..., 1] = sin * poses[..., 0] + cos * poses[..., 1]
    return out


class WindowTargets(ClipBank):
    """VideoPose3D's centre-frame windows (one per frame, edge padding) whose targets are the whole window
    (B, T, J, 3), so that L_global sees the sequence; optional `random_move` target jitter."""

    def __init__(self, dataset: PoseDataset, frames: int, jitter: bool = False, seed: int = 0):
        super().__init__(dataset, frames, "center")
        self.jitter, self.rng = jitter, np.random.default_rng(seed)

    def gather(self, windows: np.ndarray, flip: np.ndarray | None = None):
        seq = self.window_seq[windows]
        idx = edge_index(self.window_start[windows], self.frames, self.lengths[seq]) + self.offsets[seq][:, None]
        x, y = self.inputs[idx], self.targets[idx]
        if flip is not None and flip.any():
            x[flip] = flip_poses(x[flip], self.skeleton)
            y[flip] = flip_poses(y[flip], self.skeleton)
        if self.jitter:
            y = random_move(y, self.rng).astype(np.float32)
        return torch.from_numpy(x), torch.from_numpy(y)


def fit(model: nn.Module, data, config: training.TrainConfig, val: PoseDataset | None = None, loss_fn=None,
        profile=None, random_move: bool = False) -> training.History:
    """`posekit.train.fit` with whole-window targets for GLA-GCN's global loss.

    random_move=True adds the released code's target jitter (`random_move`) to every training window. Any
    other model, or a prepared ClipBank, goes to the generic loop unchanged.
    """
    if isinstance(data, PoseDataset) and isinstance(model, GLAGCN):
        data = WindowTargets(data, model.receptive_field, jitter=random_move, seed=config.seed)
    return training.fit(model, data, config, val=val, loss_fn=loss_fn, profile=profile)
