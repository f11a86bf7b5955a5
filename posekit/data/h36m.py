"""Human3.6M in the VideoPose3D npz layout (VideoPose3D's `DATASETS.md` and
`common/h36m_dataset.py`).

Files, in one folder (`root`):
- `data_3d_<name>.npz`: key `positions_3d` = {subject: {action: (T, 32 or 17, 3) world metres}};
- `data_2d_<name>_<keypoints>.npz`: keys `positions_2d` = {subject: {action: [(T', 17, 2) pixels per camera]}}
  and `metadata` = {'num_joints': 17, 'keypoints_symmetry': [left, right], ...}.

The embedded synthetic dataset is written in exactly this layout (plus a `cameras` key in its 3D file, since its
cameras are not Human3.6M's), so `load_videopose3d` reads both.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..camera import Camera, h36m_cameras
from ..skeleton import H36M_17, h36m_from_32
from .checks import check_pose_array, check_splits
from .dataset import DatasetFileError, PoseDataset, sequences_from_world

H36M_SECTION = "Human3.6M"
H36M_TRAIN = ("S1", "S5", "S6", "S7", "S8")
H36M_TEST = ("S9", "S11")
# Short names for the 2D sources users ask for.
KEYPOINT_ALIASES = {"det": "cpn_ft_h36m_dbb", "cpn": "cpn_ft_h36m_dbb"}


def read_npz_key(path: Path, key: str, section: str):
    """Read one key of an npz file, unwrapping the 0-d object array VideoPose3D pickles dicts into."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(path, "dataset file not found", section)
    try:
        with np.load(path, allow_pickle=True) as npz:
            if key not in npz.files:
                raise DatasetFileError(path, f"file has no key {key!r} (keys: {', '.join(npz.files)})", section)
            value = npz[key]
    except DatasetFileError:
        raise
    except Exception as exc:  # a truncated or non-npz file
        raise DatasetFileError(path, f"cannot read the file as npz ({exc.__class__.__name__}: {exc})", section) from None
    if value.dtype == object and value.shape == ():
        value = value.item()
    return value


def check_positions_3d(positions_3d, path, section, joints=(17, 32), skeleton=H36M_17, unit="m") -> dict:
    """`positions_3d` as {subject: {action: (T, J, 3) float64}} with J in `joints`, every sequence non-empty,
    finite and in `unit` by its bone lengths on `skeleton` (32-joint Human3.6M poses reduced to 17 to measure);
    one `DatasetFileError` naming the file and key otherwise."""
    if not isinstance(positions_3d, dict) or not positions_3d:
        raise DatasetFileError(path, "positions_3d must be a non-empty dict {subject: {action: array}}", section)
    out = {}
    for subject, actions in positions_3d.items():
        if not isinstance(actions, dict):
            raise DatasetFileError(path, f"positions_3d[{subject!r}] must be a dict {{action: array}}", section)
        out[subject] = {}
        for action, arr in actions.items():
            key = f"positions_3d[{subject!r}][{action!r}]"
            j = np.shape(arr)[1] if np.ndim(arr) == 3 else None
            out[subject][action] = check_pose_array(arr, path, key, section, skeleton, joints=joints, unit=unit,
                                                    convert=h36m_from_32 if j == 32 else None)
    return out


def load_videopose3d(root: str | Path, name: str, keypoints: str, cameras: dict[str, list[Camera]] | None = None,
                     section: str = H36M_SECTION, subjects=None, train_subjects=H36M_TRAIN,
                     test_subjects=H36M_TEST, fps: float = 50.0) -> PoseDataset:
    """Load `data_3d_<name>.npz` and `data_2d_<name>_<keypoints>.npz` from `root` into a `PoseDataset`.

    `keypoints='gt'` reads `data_2d_<name>_gt.npz`. Cameras come from the 3D file's `cameras` key when present,
    else from `cameras`. Sequences of subjects without 3D (e.g. the unlabelled S2-S4 of the CPN file) are skipped,
    as VideoPose3D does.
    """
    root = Path(root)
    path_3d = root / f"data_3d_{name}.npz"
    positions_3d = check_positions_3d(read_npz_key(path_3d, "positions_3d", section), path_3d, section)
    known = tuple(train_subjects) + tuple(test_subjects)
    for subject in positions_3d:
        if subject not in known:
            raise DatasetFileError(path_3d, f"positions_3d has subject {subject!r}, expected subjects named "
                                            f"{', '.join(known)} (rename the key)", section)
    with np.load(path_3d, allow_pickle=True) as npz:
        if "cameras" in npz.files:
            cameras = _read_cameras(npz["cameras"], path_3d, section)
    if cameras is None:
        raise DatasetFileError(path_3d, "no camera parameters stored and none given", section)
    if subjects is not None:
        positions_3d = {s: positions_3d[s] for s in subjects if s in positions_3d}
    positions_3d = {s: {a: (h36m_from_32(x) if x.shape[1] == 32 else x) for a, x in acts.items()}
                    for s, acts in positions_3d.items()}

    def read_2d(source):
        path_2d = root / f"data_2d_{name}_{source}.npz"
        positions_2d = read_npz_key(path_2d, "positions_2d", section)
        metadata = read_npz_key(path_2d, "metadata", section)
        if not isinstance(positions_2d, dict):
            raise DatasetFileError(path_2d, "positions_2d must be a dict {subject: {action: [array per camera]}}",
                                   section)
        if not isinstance(metadata, dict) or metadata.get("num_joints", 17) != 17:
            raise DatasetFileError(path_2d, f"expected 17-joint metadata, got {metadata!r}", section)
        return positions_2d, path_2d

    keypoints = KEYPOINT_ALIASES.get(keypoints, keypoints) if name == "h36m" else keypoints
    positions_2d, path_2d = read_2d(keypoints)
    gt_2d, path_gt = None, None
    if keypoints != "gt" and (root / f"data_2d_{name}_gt.npz").is_file():
        gt_2d, path_gt = read_2d("gt")
    sequences = sequences_from_world(positions_3d, positions_2d, cameras, positions_2d_gt=gt_2d,
                                     file_2d=path_2d, section=section, joints_2d=17, file_2d_gt=path_gt)
    ds = PoseDataset(name=name, sequences=sequences, skeleton=H36M_17, fps=fps,
                     train_subjects=tuple(train_subjects), test_subjects=tuple(test_subjects),
                     keypoints="gt" if keypoints == "gt" else keypoints, info={"root": str(root)})
    if subjects is None or set(known) <= set(subjects):
        check_splits(ds, path_3d, section)
    return ds


def _read_cameras(stored, path, section) -> dict[str, list[Camera]]:
    """The `cameras` key of a posekit-written 3D file: JSON {subject: [Camera.to_dict(), ...]}."""
    try:
        table = json.loads(str(stored))
        return {s: [Camera.from_dict(c) for c in cams] for s, cams in table.items()}
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        raise DatasetFileError(path, f"key 'cameras' is not a camera table ({exc.__class__.__name__}: "
                                     f"{str(exc).splitlines()[0][:80]}), expected JSON {{subject: [camera dict, "
                                     f"...]}} as write_videopose3d stores it", section) from None


def load_h36m(root: str | Path, keypoints: str = "cpn_ft_h36m_dbb", subjects=None) -> PoseDataset:
    """Human3.6M from the VideoPose3D files in `root` (see data/README.md, section 'Human3.6M').

    keypoints: 'cpn_ft_h36m_dbb' (alias 'det' or 'cpn'), 'gt', or any other `data_2d_h36m_<keypoints>.npz`.
    S11 'Directions' is kept only if present in the file (VideoPose3D's preparation already discards it).
    """
    all_subjects = H36M_TRAIN + H36M_TEST
    cameras = {s: h36m_cameras(s) for s in all_subjects}
    return load_videopose3d(root, "h36m", keypoints, cameras=cameras, subjects=subjects or all_subjects)


def write_videopose3d(root: str | Path, name: str, positions_3d: dict, positions_2d: dict[str, dict],
                      cameras: dict[str, list[Camera]] | None = None) -> list[Path]:
    """Write a dataset in the VideoPose3D npz layout; `positions_2d` maps a source name ('gt', 'det') to its dict."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    extra = {}
    if cameras is not None:
        extra["cameras"] = np.array(json.dumps({s: [c.to_dict() for c in cams] for s, cams in cameras.items()}))
    paths = [root / f"data_3d_{name}.npz"]
    np.savez(paths[0], positions_3d=_object(positions_3d), **extra)
    metadata = {"layout_name": "h36m", "num_joints": 17,
                "keypoints_symmetry": [list(H36M_17.joints_left), list(H36M_17.joints_right)]}
    for source, pos in positions_2d.items():
        path = root / f"data_2d_{name}_{source}.npz"
        np.savez(path, positions_2d=_object(pos), metadata=_object(metadata))
        paths.append(path)
    return paths


def _object(d) -> np.ndarray:
    arr = np.empty((), dtype=object)
    arr[()] = d
    return arr
