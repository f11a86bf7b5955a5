"""UAO over a whole `PoseDataset`: the test-time optimisation of every frame (`predict_tto`), the direct predictions
with their log-scales (`predict_uncertainty`), and `evaluate`, which the registry uses for 'uao' in place of the
generic evaluation."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from ...data.dataset import PoseDataset
from ...data.samplers import edge_index
from ...skeleton import flip_poses
from .tto import TTOConfig, _root_relative, _split_output, _unflip, test_time_optimize

@dataclass
class TTOPredictions:
    """predict_tto's answer: {iteration: {sequence name: (T, J, 3)}} root-relative metres, the per-frame
    log-scales {sequence name: (T, J)}, and the wall time per frame (seconds) of the whole optimisation."""

    poses: dict
    log_scale: dict
    seconds_per_frame: float
    iterations: int

    @property
    def final(self) -> dict:
        return self.poses[self.iterations]


def predict_tto(model: nn.Module, dataset: PoseDataset, config: TTOConfig | None = None, root: str = "estimate",
                record=(), batch_size: int = 1024, progress: bool = False, **overrides) -> TTOPredictions:
    """Run `test_time_optimize` over every frame of every sequence of `dataset` (centre-frame windows).

    root: 'estimate' (from the 2D and the intrinsics, no ground truth: posekit's default) or 'gt' (the sequence's
    ground-truth root trajectory, privileged, as the official code: use it only to compare with the paper).
    record: iteration counts whose predictions to return as well (one run to `config.iterations` gives the
    predictions of every shorter run too, since the optimiser's path does not depend on when it stops).
    """
    if root not in ("estimate", "gt"):
        raise ValueError(f"root must be 'estimate' or 'gt', got {root!r}")
    cfg = config or TTOConfig()
    if overrides:
        cfg = TTOConfig(**{**cfg.__dict__, **overrides})
    if getattr(model, "output", "center") != "center":
        raise ValueError("predict_tto handles single-frame / centre-frame lifters (model.output == 'center'); "
                         "call test_time_optimize on your own windows for sequence models")
    frames = getattr(model, "receptive_field", 1)
    keep = sorted(set(record) | {cfg.iterations})
    seqs = list(dataset)
    # every frame of every sequence in one list, so that batches span sequences
    inputs, k9s, roots, lengths = [], [], [], []
    for seq in seqs:
        length = seq.num_frames
        idx = edge_index(np.arange(length) - (frames - 1) // 2, frames, np.full(length, length))
        inputs.append(seq.keypoints_2d[idx])
        k9s.append(np.repeat(seq.camera.intrinsics[None], length, 0))
        roots.append(seq.trajectory)
        lengths.append(length)
    inputs, k9s, roots = (np.concatenate(a) for a in (inputs, k9s, roots))
    parts, scales, seconds = {k: [] for k in keep}, [], 0.0
    starts = range(0, len(inputs), batch_size)
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc=f"TTO {cfg.weighting} x{cfg.iterations}", leave=False)
    for i in starts:
        sl = slice(i, i + batch_size)
        r = torch.from_numpy(roots[sl]) if root == "gt" else None
        res = test_time_optimize(model, torch.from_numpy(inputs[sl]), torch.from_numpy(k9s[sl]), root=r, config=cfg,
                                 skeleton=dataset.skeleton, record=keep)
        seconds += res.seconds
        for k in keep:
            parts[k].append(res.history[k][:, 0].cpu().numpy())
        scales.append(res.log_scale[:, 0].cpu().numpy())
    bounds = np.cumsum([0] + lengths)
    names = [seq.name for seq in seqs]

    def split(a):
        return {n: a[bounds[j]:bounds[j + 1]] for j, n in enumerate(names)}
    out = {k: split(np.concatenate(parts[k])) for k in keep}
    count = int(bounds[-1])
    scales = split(np.concatenate(scales))
    return TTOPredictions(poses=out, log_scale=scales, seconds_per_frame=seconds / max(count, 1),
                          iterations=cfg.iterations)


@torch.no_grad()
def predict_uncertainty(model: nn.Module, dataset: PoseDataset, batch_size: int = 2048,
                        flip_test: bool = True) -> tuple[dict, dict]:
    """Direct predictions and log-scales of a single-frame uncertainty lifter: ({name: (T, J, 3)}, {name: (T, J)}).

    With flip_test, pose and s are averaged with the un-flipped answer to the mirrored input (root set to 0).
    """
    device = next(model.parameters()).device
    model.eval()
    poses, scales = {}, {}
    for seq in dataset:
        ps, ss = [], []
        for i in range(0, seq.num_frames, batch_size):
            x = torch.from_numpy(seq.keypoints_2d[i:i + batch_size, None]).to(device)
            pose, s = _split_output(model(x))
            if flip_test:
                pf, sf = _unflip(*_split_output(model(flip_poses(x, dataset.skeleton))), dataset.skeleton)
                pose, s = (pose + pf) / 2, (s + sf) / 2
            ps.append(_root_relative(pose[:, 0], dataset.skeleton.root).cpu().numpy())
            ss.append(s[:, 0].cpu().numpy())
        poses[seq.name], scales[seq.name] = np.concatenate(ps), np.concatenate(ss)
    return poses, scales


def evaluate(model: nn.Module, dataset: PoseDataset, flip_test: bool = True, batch_size: int = 1024,
             device="auto", predictions: dict | None = None, with_predictions: bool = True,
             config: TTOConfig | None = None, root: str = "estimate"):
    """`posekit.train.evaluate` with UAO's test-time optimisation (estimated root unless root='gt').

    Replaces the generic evaluation in `posekit train uao` / `posekit eval uao`; same signature plus the TTO
    `config` and `root` choice. The result's `seconds` is the whole evaluation time.
    """
    from ... import train as training
    if predictions is None:
        if device != "auto":
            model.to(training.resolve_device(device) if isinstance(device, str) else device)
        cfg = config or TTOConfig(flip=flip_test)
        predictions = predict_tto(model, dataset, cfg, root=root, batch_size=batch_size).final
    return training.evaluate(None, dataset, predictions=predictions, with_predictions=with_predictions)
