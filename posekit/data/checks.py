"""Value checks every loader applies before a dataset is returned, so that a bad file fails at load time, before
any training, with one `DatasetFileError` naming the file, the key, what was expected and the README section.

Checked: array shapes (joint and channel counts), empty sequences, finite values (NaN/inf are refused, except on
frames a format marks invalid, MPI-INF-3DHP's `valid_frame` and 3DPW's `campose_valid`, where they are replaced by
the nearest valid frame so temporal models never see them), units (the median bone length of a human skeleton is
about 0.1-0.5 m, so a median above 5 means millimetres and one below 5 in a millimetre format means metres),
subject names and the presence of both a training and a test split.
"""
from __future__ import annotations

import re

import numpy as np

from ..skeleton import Skeleton
from .dataset import DatasetFileError, PoseDataset

# A human bone is 0.03-0.6 m long; the median of a skeleton's bones lies far from this boundary in either unit.
UNIT_BOUNDARY = 5.0


def check_shape(arr, path, key: str, section: str, joints, channels) -> np.ndarray:
    """`arr` as an array of shape (T, J, C) with J in `joints` and C in `channels` (ints or tuples), T >= 1."""
    joints = (joints,) if isinstance(joints, int) else tuple(joints)
    channels = (channels,) if isinstance(channels, int) else tuple(channels)
    try:
        arr = np.asarray(arr, dtype=np.float64)
    except (TypeError, ValueError):
        raise DatasetFileError(path, f"{key} is not a numeric array; expected (T, {_or(joints)}, {_or(channels)})",
                               section) from None
    if arr.ndim != 3 or arr.shape[1] not in joints or arr.shape[2] not in channels:
        what = f"{_or(joints)} joints x {_or(channels)} channels"
        raise DatasetFileError(path, f"{key} has shape {arr.shape}, expected (T, {_or(joints)}, {_or(channels)}) "
                                     f"({what})", section)
    if len(arr) == 0:
        raise DatasetFileError(path, f"{key} has 0 frames, expected a non-empty sequence (drop the entry or "
                                     f"export it again)", section)
    return arr


def check_finite(arr: np.ndarray, path, key: str, section: str, valid: np.ndarray | None = None) -> np.ndarray:
    """Refuse NaN/inf in `arr` (T, ...). With a validity mask `valid` (T,), non-finite values are accepted on
    invalid frames only and replaced there by the nearest valid frame (zeros when no frame is valid)."""
    arr = np.asarray(arr, dtype=np.float64)
    bad = ~np.isfinite(arr.reshape(len(arr), -1)).all(1)
    if not bad.any():
        return arr
    first = int(np.flatnonzero(bad)[0])
    if valid is None:
        raise DatasetFileError(path, f"{key} has NaN/inf values in {int(bad.sum())} of {len(arr)} frames (first: "
                                     f"frame {first}), expected finite coordinates (this format has no "
                                     f"invalid-frame flag; re-export the sequence without them)", section)
    valid = np.asarray(valid, dtype=bool)
    on_valid = bad & valid
    if on_valid.any():
        raise DatasetFileError(path, f"{key} has NaN/inf values in {int(on_valid.sum())} frames marked valid "
                                     f"(first: frame {int(np.flatnonzero(on_valid)[0])}), expected finite "
                                     f"coordinates wherever the frame is marked valid", section)
    good = np.flatnonzero(~bad)
    out = arr.copy()
    if len(good) == 0:
        out[bad] = 0.0
        return out
    frames = np.flatnonzero(bad)
    nearest = good[np.clip(np.searchsorted(good, frames), 0, len(good) - 1)]
    left = good[np.clip(np.searchsorted(good, frames) - 1, 0, len(good) - 1)]
    nearest = np.where(np.abs(left - frames) <= np.abs(nearest - frames), left, nearest)
    out[frames] = arr[nearest]
    return out


def check_units(poses: np.ndarray, skeleton: Skeleton, path, key: str, section: str, unit: str = "m") -> None:
    """Refuse 3D poses (T, J, 3) whose median bone length on `skeleton` contradicts `unit` ('m' or 'mm')."""
    bones = skeleton.bone_lengths(np.asarray(poses, dtype=np.float64))
    bones = bones[np.isfinite(bones)]
    median = float(np.median(bones)) if bones.size else 0.0
    if median == 0.0:
        raise DatasetFileError(path, f"{key} has all joints at one point (median bone length 0), expected a "
                                     f"{skeleton.name} skeleton in {'metres' if unit == 'm' else 'millimetres'}",
                               section)
    if unit == "m" and median > UNIT_BOUNDARY:
        raise DatasetFileError(path, f"{key} looks like millimetres (median bone length {median:.0f}), expected "
                                     f"metres (median about 0.1-0.5; divide the positions by 1000)", section)
    if unit == "mm" and median < UNIT_BOUNDARY:
        raise DatasetFileError(path, f"{key} looks like metres (median bone length {median:.3f}), expected "
                                     f"millimetres (median about 100-500; multiply the positions by 1000)", section)


def check_pose_array(arr, path, key: str, section: str, skeleton: Skeleton, joints=None, unit: str = "m",
                     valid: np.ndarray | None = None, convert=None) -> np.ndarray:
    """Shape (T, J, 3), finite (or invalid frames filled), units by bone length on `skeleton` after `convert`
    (a function mapping the stored joints to `skeleton`'s, e.g. 32 -> 17); returns the float64 array."""
    arr = check_shape(arr, path, key, section, joints or skeleton.num_joints, 3)
    arr = check_finite(arr, path, key, section, valid)
    check_units(convert(arr) if convert else arr, skeleton, path, key, section, unit)
    return arr


def check_keypoints(arr, path, key: str, section: str, joints, valid: np.ndarray | None = None) -> np.ndarray:
    """2D keypoints (T, J, 2) or (T, J, 3) with a confidence channel; finite (or invalid frames filled)."""
    arr = check_shape(arr, path, key, section, joints, (2, 3))
    return check_finite(arr, path, key, section, valid)


def check_subject_names(names, path, section: str, pattern: str, example: str) -> None:
    """Every subject key matches `pattern` (a regular expression), e.g. 'S1' for r'S\\d+'."""
    for name in names:
        if not isinstance(name, str) or not re.fullmatch(pattern, name):
            raise DatasetFileError(path, f"subject key {name!r} is not a subject name of this dataset, expected "
                                         f"names like {example!r} (rename the key)", section)


def check_splits(ds: PoseDataset, path, section: str) -> None:
    """Both the training and the test subjects of `ds` are present (a dataset loaded for training and testing)."""
    for split, wanted in (("training", ds.train_subjects), ("test", ds.test_subjects)):
        if not any(s.subject in wanted for s in ds.sequences):
            raise DatasetFileError(path, f"no {split} sequences: none of the {split} subjects "
                                         f"{', '.join(wanted) or '(none listed)'} is in the data (found "
                                         f"{', '.join(ds.subjects) or 'nothing'}), expected both a training and a "
                                         f"test split", section)


def _or(values: tuple) -> str:
    return " or ".join(map(str, values))


__all__ = ["check_shape", "check_finite", "check_units", "check_pose_array", "check_keypoints",
           "check_subject_names", "check_splits", "UNIT_BOUNDARY"]
