"""The in-memory layout every posekit loader returns.

A `PoseDataset` is a list of `Sequence`s, one per (subject, action, camera) video, all in the same layout:

- `poses_3d`     (T, J, 3) float32, camera frame, metres, root-relative (the root joint is exactly 0);
- `trajectory`   (T, 3)    float32, the root joint's camera-frame position in metres;
- `keypoints_2d` (T, J, 2) float32, the model input, screen-normalised (VideoPose3D: X / w * 2 - [1, h / w]);
- `keypoints_2d_gt` (T, J, 2) float32 or None, the exact projection, in the same units, when known;
- `camera`       the `posekit.camera.Camera` that saw it (intrinsics in pixels, extrinsics camera -> world).

Joints follow `dataset.skeleton` (Human3.6M-17 order for every built-in loader, so that one model serves all).
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from ..camera import Camera
from ..skeleton import H36M_17, Skeleton

DATA_README = "data/README.md"


class DatasetFileError(FileNotFoundError):
    """A dataset file is missing or malformed. The message names the file, what was expected and the README."""

    def __init__(self, path, problem: str, section: str):
        self.path = Path(path)
        super().__init__(f"{problem}: {self.path}. See the section '{section}' of {DATA_README} in the posekit "
                         f"repository for how to obtain and place this file.")


@dataclass
class Sequence:
    """One video: a subject performing an action, seen by one camera. Shapes in the module docstring."""

    subject: str
    action: str
    camera: Camera
    camera_index: int
    poses_3d: np.ndarray
    trajectory: np.ndarray
    keypoints_2d: np.ndarray
    keypoints_2d_gt: np.ndarray | None = None
    confidence: np.ndarray | None = None
    valid: np.ndarray | None = None

    def __post_init__(self):
        t = len(self.poses_3d)
        for name in ("trajectory", "keypoints_2d", "keypoints_2d_gt", "confidence", "valid"):
            value = getattr(self, name)
            if value is not None and len(value) != t:
                raise ValueError(f"sequence {self.name}: {name} has {len(value)} frames, poses_3d has {t}")

    @property
    def num_frames(self) -> int:
        return len(self.poses_3d)

    @property
    def name(self) -> str:
        return f"{self.subject}/{self.action}/cam{self.camera_index}"

    @property
    def keypoints_with_confidence(self) -> np.ndarray:
        """(T, J, 3) model input: the 2D keypoints and the detector's confidence (1 where none is known)."""
        conf = np.ones(self.keypoints_2d.shape[:2], np.float32) if self.confidence is None else self.confidence
        return np.concatenate([self.keypoints_2d, conf[..., None]], -1)

    @property
    def poses_3d_camera(self) -> np.ndarray:
        """Absolute camera-frame joints (T, J, 3): the root-relative pose plus the trajectory."""
        return self.poses_3d + self.trajectory[:, None, :]


@dataclass
class PoseDataset:
    """A set of sequences with their skeleton, frame rate and subject split."""

    name: str
    sequences: list[Sequence]
    skeleton: Skeleton = H36M_17
    fps: float = 50.0
    train_subjects: tuple[str, ...] = ()
    test_subjects: tuple[str, ...] = ()
    keypoints: str = "det"
    # where it was read from (folders, file names): provenance, not identity; the run cache does not hash it
    info: dict = field(default_factory=dict, metadata={"provenance": True})

    def __len__(self) -> int:
        return len(self.sequences)

    def __iter__(self):
        return iter(self.sequences)

    def __getitem__(self, i) -> Sequence:
        return self.sequences[i]

    def __repr__(self) -> str:
        return (f"PoseDataset({self.name!r}, {len(self)} sequences, {self.num_frames} frames, "
                f"subjects {self.subjects}, {len(self.actions)} actions, keypoints {self.keypoints!r})")

    @property
    def num_frames(self) -> int:
        return sum(s.num_frames for s in self.sequences)

    @property
    def subjects(self) -> list[str]:
        return sorted({s.subject for s in self.sequences}, key=natural_key)

    @property
    def actions(self) -> list[str]:
        return sorted({s.action for s in self.sequences})

    @property
    def cameras(self) -> list[int]:
        return sorted({s.camera_index for s in self.sequences})

    def filter(self, predicate: Callable[[Sequence], bool], name: str | None = None) -> "PoseDataset":
        return replace(self, sequences=[s for s in self.sequences if predicate(s)], name=name or self.name)

    def select(self, subjects: Iterable[str] | None = None, actions: Iterable[str] | None = None,
               cameras: Iterable[int] | None = None) -> "PoseDataset":
        """Keep the sequences of the given subjects, actions (matched on the first word too) and camera indices."""
        subjects = None if subjects is None else set(subjects)
        actions = None if actions is None else set(actions)
        cameras = None if cameras is None else set(cameras)
        if subjects is not None:
            unknown = subjects - set(self.subjects)
            if unknown:
                raise KeyError(f"{self.name} has no subject {sorted(unknown)}; subjects: {self.subjects}")

        def keep(s: Sequence) -> bool:
            return ((subjects is None or s.subject in subjects)
                    and (actions is None or s.action in actions or s.action.split(" ")[0] in actions)
                    and (cameras is None or s.camera_index in cameras))
        return self.filter(keep)

    @property
    def train(self) -> "PoseDataset":
        return self.select(subjects=[s for s in self.train_subjects if s in self.subjects])

    @property
    def test(self) -> "PoseDataset":
        return self.select(subjects=[s for s in self.test_subjects if s in self.subjects])

    def downsample(self, stride: int) -> "PoseDataset":
        """Keep every `stride`-th frame of every sequence (VideoPose3D's --downsample)."""
        if stride == 1:
            return self
        return replace(self, sequences=[_slice_sequence(s, slice(None, None, stride)) for s in self.sequences],
                       fps=self.fps / stride)

    def truncate(self, max_frames: int) -> "PoseDataset":
        """Keep at most the first `max_frames` frames of each sequence."""
        return replace(self, sequences=[_slice_sequence(s, slice(0, max_frames)) for s in self.sequences])

    def subsample_sequences(self, every: int) -> "PoseDataset":
        """Keep one sequence in `every`: a fixed pseudo-random subset, spread over subjects, actions and cameras."""
        if every == 1:
            return self
        keep = np.sort(np.random.default_rng(0).permutation(len(self))[:max(1, len(self) // every)])
        return replace(self, sequences=[self.sequences[i] for i in keep])

    def using(self, keypoints: str) -> "PoseDataset":
        """The same dataset with the 2D input switched to 'gt' (exact projections) or back to the loaded source."""
        if keypoints == self.keypoints:
            return self
        if keypoints != "gt":
            raise ValueError(f"can only switch to 'gt' keypoints here; reload the dataset with keypoints={keypoints!r}")
        missing = [s.name for s in self.sequences if s.keypoints_2d_gt is None]
        if missing:
            raise ValueError(f"{self.name}: no ground-truth 2D for {missing[:3]}...")
        return replace(self, keypoints="gt",
                       sequences=[replace(s, keypoints_2d=s.keypoints_2d_gt, confidence=None)
                                  for s in self.sequences])


def _slice_sequence(s: Sequence, sl: slice) -> Sequence:
    def cut(a):
        return None if a is None else a[sl]
    return replace(s, poses_3d=s.poses_3d[sl], trajectory=s.trajectory[sl], keypoints_2d=s.keypoints_2d[sl],
                   keypoints_2d_gt=cut(s.keypoints_2d_gt), confidence=cut(s.confidence), valid=cut(s.valid))


def natural_key(s: str):
    """Sort key that orders embedded numbers by value: 'S9' before 'S11', 'TS2' before 'TS10'."""
    import re
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", s)]


def sequences_from_world(positions_3d: dict, positions_2d: dict | None, cameras: dict[str, list[Camera]],
                         root: int = 0, positions_2d_gt: dict | None = None,
                         file_2d: str | Path = "", section: str = "", project_gt: bool = True,
                         joints_2d=None, file_2d_gt: str | Path | None = None) -> list[Sequence]:
    """Build camera-frame sequences from VideoPose3D-style dicts.

    positions_3d: {subject: {action: (T, J, 3) world metres}};
    positions_2d: {subject: {action: [(T', J, 2 or 3) pixels (and score) per camera]}} with T' >= T (truncated
    to T; a third channel becomes `Sequence.confidence`), or None to
    use exact projections; cameras: {subject: [Camera]} in the order of the 2D lists.
    project_gt: when `positions_2d_gt` is None, fill `keypoints_2d_gt` with the cameras' projections (True, the
    default) or leave it None (False: for cameras whose intrinsics are unknown, e.g. HumanEva-I).
    joints_2d: the joint count(s) the 2D arrays must have (default: the 3D joint count); every 2D array is
    checked for shape (T', J, 2 or 3) and finite values; `file_2d_gt` names the ground-truth 2D file in errors.
    """
    out = []
    for subject in sorted(positions_3d, key=natural_key):
        if subject not in cameras:
            raise KeyError(f"no cameras for subject {subject!r}")
        for action in sorted(positions_3d[subject]):
            world = np.asarray(positions_3d[subject][action], dtype=np.float64)
            joints = joints_2d or world.shape[1]
            for ci, cam in enumerate(cameras[subject]):
                x_cam = cam.world_to_camera(world)
                gt2d = cam.normalize(cam.project_pixels(x_cam)).astype(np.float32)
                kp, conf = gt2d, None
                if positions_2d is not None:
                    kp = _lookup_2d(positions_2d, subject, action, ci, len(world), file_2d, section, joints)
                    if kp.shape[-1] == 3:  # (x, y, score): detector output with confidences
                        conf = kp[:, :, 2].astype(np.float32)
                    kp = cam.normalize(kp[:, :, :2]).astype(np.float32)
                gt = gt2d if project_gt else None
                if positions_2d_gt is not None:
                    gt = _lookup_2d(positions_2d_gt, subject, action, ci, len(world), file_2d_gt or file_2d, section,
                                    world.shape[1])
                    gt = cam.normalize(gt[:, :, :2]).astype(np.float32)
                traj = x_cam[:, root].astype(np.float32)
                poses = (x_cam - x_cam[:, root:root + 1]).astype(np.float32)
                out.append(Sequence(subject=subject, action=action, camera=cam, camera_index=ci, poses_3d=poses,
                                    trajectory=traj, keypoints_2d=kp, keypoints_2d_gt=gt, confidence=conf))
    return out


def _lookup_2d(positions_2d, subject, action, ci, n_frames, file_2d, section, joints):
    from .checks import check_keypoints
    try:
        kp = positions_2d[subject][action][ci]
    except (KeyError, IndexError, TypeError):
        raise DatasetFileError(file_2d, f"no 2D keypoints for {subject} / {action} / camera {ci}", section) from None
    key = f"positions_2d[{subject!r}][{action!r}][{ci}]"
    kp = check_keypoints(kp, file_2d, key, section, joints)
    if len(kp) < n_frames:
        raise DatasetFileError(file_2d, f"{subject} / {action} / camera {ci} has {len(kp)} 2D frames but "
                                        f"{n_frames} 3D frames (expected at least as many)", section)
    return kp[:n_frames]
