"""Clip samplers: training windows, flip augmentation and the test-time windows of the evaluation protocol.

Two window kinds (VideoPose3D `common/generators.py`; MixSTE's chunked training clips, `common/generator.py`):
- sequence-to-sequence ('sequence'): clips of T frames, every frame predicted. Training clips are
  MixSTE's centred chunks (`stride` = T gives non-overlapping chunks; a smaller stride overlaps them);
- sequence-to-frame ('center'): one window of T frames centred on each target frame (VideoPose3D), pad (T-1)/2.
Frames outside a sequence are edge-padded (the first/last frame repeated), for 2D and 3D alike.

`ClipBank` concatenates all sequences once and gathers batches with one fancy index, so an epoch over hundreds
of thousands of windows costs no Python loop per window.
"""
from __future__ import annotations

import math
from typing import Iterator

import numpy as np
import torch

from ..skeleton import flip_poses
from .dataset import PoseDataset

MODES = ("sequence", "center")


def chunk_starts(length: int, frames: int, stride: int) -> np.ndarray:
    """Start frames of MixSTE's centred chunks of `frames` with hop `stride` over a sequence of `length`."""
    if length <= frames:
        return np.array([-((frames - length) // 2)])
    n = math.ceil((length - frames) / stride + 1)
    offset = ((n - 1) * stride + frames - length) // 2
    return np.arange(n) * stride - offset


def eval_chunk_starts(length: int, frames: int) -> np.ndarray:
    """Non-overlapping chunks from frame 0 covering every frame once; the last is edge-padded at the end."""
    return np.arange(0, length, frames)


def edge_index(start: np.ndarray, frames: int, length: np.ndarray) -> np.ndarray:
    """Frame indices (B, frames) of windows starting at `start` (B,), clamped into [0, length) (edge padding)."""
    idx = start[:, None] + np.arange(frames)[None]
    return np.clip(idx, 0, np.asarray(length)[:, None] - 1)


class ClipBank:
    """Training windows over a PoseDataset.

    mode 'sequence': windows of `frames` frames, targets (B, frames, J, 3);
    mode 'center': windows centred on every `stride`-th frame, targets (B, 1, J, 3).
    Inputs are (B, frames, J, 2) float32 tensors (screen-normalised 2D), targets root-relative metres.
    """

    GATHER_WINDOWS = 4096  # windows gathered at once by `batches` (4096 x 27 frames x 17 joints x 5 floats: 38 MB)

    def __init__(self, dataset: PoseDataset, frames: int, mode: str = "sequence", stride: int | None = None):
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        if frames < 1:
            raise ValueError(f"frames must be >= 1, got {frames}")
        if len(dataset) == 0:
            raise ValueError(f"dataset {dataset.name!r} has no sequences to sample clips from")
        self.dataset, self.frames, self.mode = dataset, frames, mode
        self.skeleton = dataset.skeleton
        self.stride = stride or (frames if mode == "sequence" else 1)
        self.inputs = np.concatenate([s.keypoints_2d for s in dataset]).astype(np.float32)
        self.targets = np.concatenate([s.poses_3d for s in dataset]).astype(np.float32)
        lengths = np.array([s.num_frames for s in dataset])
        offsets = np.r_[0, np.cumsum(lengths)[:-1]]
        seq, start = [], []
        for i, length in enumerate(lengths):
            if mode == "sequence":
                st = chunk_starts(length, frames, self.stride)
            else:
                st = np.arange(0, length, self.stride) - (frames - 1) // 2
            seq.append(np.full(len(st), i))
            start.append(st)
        self.window_seq = np.concatenate(seq)
        self.window_start = np.concatenate(start)
        self.offsets, self.lengths = offsets, lengths

    def __len__(self) -> int:
        return len(self.window_seq)

    def gather(self, windows: np.ndarray, flip: np.ndarray | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (B, T, J, 2) and targets (B, T or 1, J, 3) for window ids (B,), flipped where `flip` is True."""
        seq = self.window_seq[windows]
        idx = edge_index(self.window_start[windows], self.frames, self.lengths[seq]) + self.offsets[seq][:, None]
        x = self.inputs[idx]
        if self.mode == "sequence":
            y = self.targets[idx]
        else:
            y = self.targets[idx[:, (self.frames - 1) // 2]][:, None]
        if flip is not None and flip.any():
            x[flip] = flip_poses(x[flip], self.skeleton)
            y[flip] = flip_poses(y[flip], self.skeleton)
        return torch.from_numpy(x), torch.from_numpy(y)

    def batches(self, batch_size: int, rng: np.random.Generator | None = None, flip: bool = False,
                max_windows: int | None = None, shard: tuple[int, int] = (0, 1)) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        """Yield (inputs, targets) batches of one epoch.

        rng shuffles (None keeps order); flip mirrors a random half of the windows (VideoPose3D's augmentation,
        drawn per window instead of doubling the epoch); max_windows caps the windows of the epoch;
        shard = (rank, world_size) gives each distributed process its own slice, all of the same length (the last
        `len % world_size` windows of the shuffled order are dropped), so every process takes the same number of steps.
        """
        order = rng.permutation(len(self)) if rng is not None else np.arange(len(self))
        if max_windows is not None:
            order = order[:max_windows]
        rank, world = shard
        order = order[:len(order) - len(order) % world][rank::world]
        flips = (rng.random(len(order)) < 0.5) if (flip and rng is not None) else None
        # Gather many batches with one fancy index and one flip (the whole epoch at the cpu profile), then hand out
        # views: the same tensors as batch-by-batch gathering, without the per-step numpy work.
        chunk = batch_size * max(1, self.GATHER_WINDOWS // batch_size)
        for c in range(0, len(order), chunk):
            x, y = self.gather(order[c:c + chunk], None if flips is None else flips[c:c + chunk])
            for i in range(0, len(x), batch_size):
                yield x[i:i + batch_size], y[i:i + batch_size]

    def num_batches(self, batch_size: int, max_windows: int | None = None, world: int = 1) -> int:
        n = len(self) if max_windows is None else min(len(self), max_windows)
        return math.ceil(n // world / batch_size)
