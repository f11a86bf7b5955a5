"""Training-free floors: what a 2D-to-3D model must beat on a train/test pair before it has learnt anything.

- *mean pose*: every test frame gets the mean root-relative training pose (camera frame);
- *nearest-neighbour lookup*: every test frame gets the 3D pose of the training frame whose 2D pose is nearest,
  after making both root-relative and scale-normalised (divided by their RMS distance to the root). This is the
  lookup baseline of Chen & Ramanan, "3D Human Pose Estimation = 2D Pose Estimation + Matching" (CVPR 2017,
  Sec. 3.2), and what Martinez et al. ("A simple yet effective baseline", ICCV 2017, Sec. 4) compare against.

A trained lifter that does not clearly beat the lookup has only memorised the training poses. Both floors are
scored with `posekit.train.evaluate`, the models' own protocol (action-wise MPJPE and P-MPJPE, in mm), and cached
under the posekit cache, keyed by the contents of the two datasets.
"""
from __future__ import annotations

import json

import numpy as np
import torch

from .cache import cache_root
from .data.dataset import PoseDataset
from .runcache import fingerprint

FLOORS_VERSION = 1


def normalise_2d(keypoints: np.ndarray, root: int = 0) -> np.ndarray:
    """Root-relative, scale-normalised 2D poses (N, J, 2) -> (N, J * 2): unit RMS distance to the root."""
    rel = keypoints - keypoints[:, root:root + 1]
    scale = np.sqrt((rel ** 2).sum(-1).mean(-1, keepdims=True))[..., None]
    return (rel / np.maximum(scale, 1e-6)).reshape(len(keypoints), -1).astype(np.float32)


def nearest_neighbour_predictions(train: PoseDataset, test: PoseDataset, chunk: int = 512,
                                  max_reference: int | None = None) -> dict[str, np.ndarray]:
    """{test sequence name: (T, J, 3)}: the 3D pose of the nearest training 2D pose of each test frame.

    max_reference: keep at most this many training frames (evenly strided) to bound the time.
    """
    if len(train) == 0 or len(test) == 0:
        raise ValueError("nearest-neighbour lookup needs a non-empty train and test dataset")
    root = train.skeleton.root
    ref_2d = np.concatenate([s.keypoints_2d for s in train])
    ref_3d = np.concatenate([s.poses_3d for s in train])
    if max_reference and len(ref_2d) > max_reference:
        keep = np.linspace(0, len(ref_2d) - 1, max_reference).astype(int)
        ref_2d, ref_3d = ref_2d[keep], ref_3d[keep]
    ref = torch.from_numpy(normalise_2d(ref_2d, root))
    ref_sq = (ref * ref).sum(1)
    out = {}
    for seq in test:
        query = torch.from_numpy(normalise_2d(seq.keypoints_2d, root))
        idx = []
        for i in range(0, len(query), chunk):
            q = query[i:i + chunk]
            idx.append(torch.addmm(ref_sq[None], q, ref.T, alpha=-2).argmin(1))  # |q|^2 is constant per row
        out[seq.name] = ref_3d[torch.cat(idx).numpy()]
    return out


def _digest(train: PoseDataset, test: PoseDataset, max_reference) -> str:
    return fingerprint((f"floors-v{FLOORS_VERSION}", max_reference, train, test))


def floors(train: PoseDataset, test: PoseDataset, cache: bool = True, max_reference: int | None = 100_000) -> dict:
    """{'mean_pose_MPJPE', 'mean_pose_P-MPJPE', 'lookup_MPJPE', 'lookup_P-MPJPE'} in mm for a train/test pair.

    max_reference: the lookup searches at most this many training frames, evenly strided (neighbouring frames
    at 25-50 fps are near-duplicates; the brute-force search costs reference x test frames).
    Cached in <posekit cache>/floors/<digest of both datasets>.json (cache=False recomputes and does not write).
    """
    from .evaluation import evaluate, mean_pose_predictions
    path = cache_root() / "floors" / f"{_digest(train, test, max_reference)}.json"
    if cache and path.is_file():
        return json.loads(path.read_text())
    mean = evaluate(None, test, predictions=mean_pose_predictions(train, test), with_predictions=False)
    lookup = evaluate(None, test, predictions=nearest_neighbour_predictions(train, test, max_reference=max_reference),
                      with_predictions=False)
    result = {"mean_pose_MPJPE": mean.mpjpe, "mean_pose_P-MPJPE": mean.p_mpjpe,
              "lookup_MPJPE": lookup.mpjpe, "lookup_P-MPJPE": lookup.p_mpjpe}
    if cache:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{np.random.default_rng().integers(1 << 30)}.tmp")
        tmp.write_text(json.dumps(result, indent=1))
        tmp.replace(path)
    return result


def format_floors(result: dict, model_mpjpe: float | None = None) -> str:
    """One line: the model's MPJPE beside the floors (and how far below the lookup it is)."""
    line = (f"floors: mean pose {result['mean_pose_MPJPE']:.1f} mm, nearest-neighbour lookup "
            f"{result['lookup_MPJPE']:.1f} mm")
    if model_mpjpe is not None:
        line = f"model {model_mpjpe:.1f} mm ({result['lookup_MPJPE'] - model_mpjpe:+.1f} mm below the lookup); " + line
    return line
