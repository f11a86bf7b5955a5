"""PoseDA's dataset operations and the adaptation pipeline: GPA over a whole source dataset (`align_dataset`), the
LPA-augmented copy (`augment_dataset`), then the lifter's training set for each arm of the paper's ablation
(`adaptation_data`) and the training itself (`adapt`, any posekit lifter, `posekit.train.fit`). The lifter is
trained after the data is generated, as the authors describe (PoseDA issue #1).
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np
from torch import nn

from ...data.dataset import PoseDataset
from .gpa import TargetPool, global_position_alignment, pair_randomly, project_pinhole
from .lpa import LPAGenerator, RandomAugmenter
from .lpa_training import augment_poses

# ============================================================================ GPA and LPA applied to datasets

def align_dataset(source: PoseDataset, target: TargetPool, seed: int = 0, pairing: str = "frame") -> PoseDataset:
    """GPA applied to a whole source dataset: a new PoseDataset whose 2D inputs are the aligned poses projected with
    the paired target cameras (the 3D labels stay the same root-relative poses).

    pairing 'frame': every source frame gets its own random target frame (the paper's per-sample GPA; right for
    single-frame lifters). 'sequence': every source sequence is paired with a random target sequence, frame t
    with its frame t (cycled), so that the aligned trajectory stays smooth for temporal lifters (posekit's
    extension; the paper's backbones are single-frame). Each Sequence's `camera` is the target camera of its
    first paired frame.
    """
    if pairing not in ("frame", "sequence"):
        raise ValueError(f"pairing must be 'frame' or 'sequence', got {pairing!r}")
    rng = np.random.default_rng(seed)
    total = source.num_frames
    if pairing == "frame":
        idx = pair_randomly(total, len(target), rng)
    else:
        starts = np.r_[0, np.flatnonzero(np.diff(target.sequence_of)) + 1]
        lengths = np.diff(np.r_[starts, len(target)])
        idx = []
        for s in source:
            k = rng.integers(len(starts))
            offset = rng.integers(lengths[k])
            idx.append(starts[k] + (offset + np.arange(s.num_frames)) % lengths[k])
        idx = np.concatenate(idx)
    poses = np.concatenate([s.poses_3d for s in source]).astype(np.float32)
    intr = target.intrinsics[idx]
    aligned = global_position_alignment(poses, target.keypoints_2d[idx], intr)
    kp = project_pinhole(aligned, intr).astype(np.float32)
    sequences, start = [], 0
    for s in source:
        sl = slice(start, start + s.num_frames)
        sequences.append(replace(s, camera=target.cameras[target.camera_of[idx[start]]], keypoints_2d=kp[sl],
                                 keypoints_2d_gt=kp[sl], trajectory=aligned[sl, 0].astype(np.float32),
                                 confidence=None))
        start += s.num_frames
    return replace(source, name=f"{source.name}+GPA", sequences=sequences,
                   info={**source.info, "gpa": {"target": target.name, "seed": seed, "pairing": pairing}})


def augment_dataset(generator: nn.Module, source: PoseDataset, seed: int = 0) -> PoseDataset:
    """An augmented copy of `source`: every pose replaced by the generator's output (the paper's offline
    generation). The 2D and trajectory are left to GPA (`align_dataset`), which re-positions and projects them."""
    poses = np.concatenate([s.poses_3d for s in source]).astype(np.float32)
    aug = augment_poses(generator, poses, seed)["pose"]
    aug = aug - aug[:, :1]
    sequences, start = [], 0
    for s in source:
        sl = slice(start, start + s.num_frames)
        sequences.append(replace(s, poses_3d=aug[sl], action=s.action, confidence=None))
        start += s.num_frames
    return replace(source, name=f"{source.name}+LPA", sequences=sequences)


def drop_out_of_view(dataset: PoseDataset, limit: float = 1.0) -> PoseDataset:
    """Discard frames whose 2D leaves the image (|coordinate| > limit), as PoseAug discards augmented samples
    with a 2D coordinate > 1 (here both bounds). Sequences keep their remaining frames (single-frame lifters)."""
    out = []
    for s in dataset:
        keep = (np.abs(s.keypoints_2d) <= limit).all(axis=(1, 2))
        if keep.all():
            out.append(s)
        elif keep.any():
            idx = np.flatnonzero(keep)
            out.append(replace(s, poses_3d=s.poses_3d[idx], trajectory=s.trajectory[idx],
                               keypoints_2d=s.keypoints_2d[idx],
                               keypoints_2d_gt=None if s.keypoints_2d_gt is None else s.keypoints_2d_gt[idx],
                               confidence=None, valid=None if s.valid is None else s.valid[idx]))
    return replace(dataset, sequences=out)


# ============================================================================ what augmentation adds

def bone_length_ratio(original: np.ndarray, augmented: np.ndarray, skeleton=None) -> dict[str, float]:
    """How augmentation changes the bones: {'total': mean ratio of summed bone lengths (the skeleton's size),
    'per bone': mean over poses and bones of the length ratio, 'min', 'max': range of the per-bone ratios}.
    original / augmented (N, J, 3) root-relative, the i-th augmented pose made from the i-th original."""
    from ...skeleton import H36M_17
    sk = skeleton or H36M_17
    a, b = sk.bone_lengths(np.asarray(original, np.float64)), sk.bone_lengths(np.asarray(augmented, np.float64))
    if a.shape != b.shape:
        raise ValueError(f"original {np.shape(original)} and augmented {np.shape(augmented)} must match")
    r = b / np.maximum(a, 1e-9)
    return {"total": float((b.sum(-1) / np.maximum(a.sum(-1), 1e-9)).mean()), "per bone": float(r.mean()),
            "min": float(r.min()), "max": float(r.max())}


def pose_coverage(reference: np.ndarray, query: np.ndarray, max_reference: int | None = 20000, seed: int = 0,
                  chunk: int = 1024) -> np.ndarray:
    """How well a training set covers other poses: for every query pose (N, J, 3) the mean per-joint distance (mm)
    to its nearest reference pose (M, J, 3), both root-relative camera-frame as the lifter's labels; the nearest is
    the one at the smallest Euclidean distance over all coordinates. max_reference: a random subset of the
    reference (seeded) bounds the time. Lower: the query poses are better covered."""
    import torch
    ref = np.asarray(reference, np.float32)
    qry = np.asarray(query, np.float32)
    if ref.ndim != 3 or qry.ndim != 3 or ref.shape[1:] != qry.shape[1:] or not len(ref) or not len(qry):
        raise ValueError(f"pose_coverage needs non-empty (M, J, 3) and (N, J, 3) poses, got {ref.shape}, {qry.shape}")
    ref, qry = ref - ref[:, :1], qry - qry[:, :1]
    if max_reference and len(ref) > max_reference:
        ref = ref[np.random.default_rng(seed).choice(len(ref), max_reference, replace=False)]
    r = torch.from_numpy(ref.reshape(len(ref), -1))
    out = []
    for i in range(0, len(qry), chunk):
        q = torch.from_numpy(qry[i:i + chunk].reshape(-1, r.shape[1]))
        nearest = torch.cdist(q, r).argmin(1).numpy()
        out.append(np.linalg.norm(ref[nearest] - qry[i:i + chunk], axis=-1).mean(-1))
    return np.concatenate(out) * 1000


# ============================================================================ the pipeline: generate, then train

VARIANTS = ("source", "gpa", "gpa+random", "gpa+lpa", "target")


def concat_datasets(*datasets: PoseDataset, name: str | None = None) -> PoseDataset:
    """One PoseDataset holding the sequences of all (subject names kept, so train/test selection still works)."""
    first = datasets[0]
    subjects = tuple(dict.fromkeys(s for d in datasets for s in d.train_subjects))
    return replace(first, name=name or "+".join(d.name for d in datasets),
                   sequences=[s for d in datasets for s in d.sequences], train_subjects=subjects)


def adaptation_data(variant: str, source_train: PoseDataset, target_train: PoseDataset, seed: int = 0,
                    generator: nn.Module | None = None, pairing: str = "frame") -> PoseDataset:
    """The lifter's training set for one arm of the paper's ablation.

    'source': the source data as it is (source-only baseline); 'gpa': GPA-aligned source (target 2D + cameras
    only); 'gpa+lpa': GPA-aligned source plus GPA-aligned LPA-augmented source (needs `generator`, the trained
    `LPAGenerator`), augmented frames leaving the image dropped; 'gpa+random': the same with a `RandomAugmenter` as
    `generator` (the control: same transformations and sizes, no adversarial training); 'target': the target's own
    labelled training data (the upper bound, which uses target 3D labels and is not domain adaptation).
    """
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if variant == "source":
        return source_train
    if variant == "target":
        return target_train
    pool = TargetPool.from_dataset(target_train)
    aligned = align_dataset(source_train, pool, seed=seed, pairing=pairing)
    if variant == "gpa":
        return aligned
    if variant == "gpa+lpa" and not isinstance(generator, LPAGenerator):
        raise ValueError("variant 'gpa+lpa' needs the trained LPA generator (train_lpa(...).generator)")
    if variant == "gpa+random" and not isinstance(generator, RandomAugmenter):
        raise ValueError("variant 'gpa+random' needs a RandomAugmenter as generator (e.g. RandomAugmenter(ba_deg=..., "
                         "bl=..., rot_deg=...) with the sizes of the trained LPA)")
    augmented = align_dataset(augment_dataset(generator, source_train, seed=seed), pool, seed=seed + 7919,
                              pairing=pairing)
    augmented = drop_out_of_view(augmented)
    tag = "LPA" if variant == "gpa+lpa" else "random"
    return concat_datasets(aligned, augmented, name=f"{source_train.name}+GPA+{tag}")


def adapt(model: nn.Module, variant: str, source_train: PoseDataset, target_train: PoseDataset, config,
          val: PoseDataset | None = None, generator: LPAGenerator | None = None, seed: int | None = None,
          pairing: str | None = None):
    """Train any posekit lifter for one variant with `posekit.train.fit`; returns its History.

    pairing defaults to 'frame' for single-frame lifters and 'sequence' for temporal ones (see `align_dataset`).
    """
    from ...train import fit
    seed = config.seed if seed is None else seed
    if pairing is None:
        pairing = "frame" if getattr(model, "receptive_field", 1) == 1 else "sequence"
    data = adaptation_data(variant, source_train, target_train, seed=seed, generator=generator, pairing=pairing)
    return fit(model, data, config, val=val)


def target_of(source: str) -> str:
    """The target dataset of PoseDA's cross-dataset setting for a source name: synth -> synth-3dhp, h36m -> 3dhp."""
    table = {"synth": "synth-3dhp", "h36m": "3dhp"}
    if source not in table:
        raise KeyError(f"no PoseDA target for source {source!r}; known sources: {', '.join(table)}")
    return table[source]
