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


def check_positions_3d(positions_3d, path, section, joints=(17, 32)):
    """Refuse a `positions_3d` that is not {subject: {action: (T, J, 3)}} with J in `joints` (one clear error)."""
    if not isinstance(positions_3d, dict) or not positions_3d:
        raise DatasetFileError(path, "positions_3d must be a non-empty dict {subject: {action: array}}", section)
    for subject, actions in positions_3d.items():
        if not isinstance(actions, dict):
            raise DatasetFileError(path, f"positions_3d[{subject!r}] must be a dict {{action: array}}", section)
        for action, arr in actions.items():
            arr = np.asarray(arr)
            if arr.ndim != 3 or arr.shape[1] not in joints or arr.shape[2] != 3:
                raise DatasetFileError(path, f"positions_3d[{subject!r}][{action!r}] has shape {arr.shape}, "
                                             f"expected (T, {' or '.join(map(str, joints))}, 3)", section)


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
    positions_3d = read_npz_key(path_3d, "positions_3d", section)
    check_positions_3d(positions_3d, path_3d, section)
    with np.load(path_3d, allow_pickle=True) as npz:
        if "cameras" in npz.files:
            stored = json.loads(str(npz["cameras"]))
            cameras = {s: [Camera.from_dict(c) for c in cams] for s, cams in stored.items()}
    if cameras is None:
        raise DatasetFileError(path_3d, "no camera parameters stored and none given", section)
    if subjects is not None:
        positions_3d = {s: positions_3d[s] for s in subjects if s in positions_3d}
    positions_3d = {s: {a: (h36m_from_32(np.asarray(x)) if np.asarray(x).shape[1] == 32 else np.asarray(x))
                        for a, x in acts.items()} for s, acts in positions_3d.items()}

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
    gt_2d = None
    if keypoints != "gt" and (root / f"data_2d_{name}_gt.npz").is_file():
        gt_2d, _ = read_2d("gt")
    sequences = sequences_from_world(positions_3d, positions_2d, cameras, positions_2d_gt=gt_2d,
                                     file_2d=path_2d, section=section)
    return PoseDataset(name=name, sequences=sequences, skeleton=H36M_17, fps=fps,
                       train_subjects=tuple(train_subjects), test_subjects=tuple(test_subjects),
                       keypoints="gt" if keypoints == "gt" else keypoints, info={"root": str(root)})


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
