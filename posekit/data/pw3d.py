"""3DPW (3D Poses in the Wild) from its sequence files (von Marcard et al., ECCV 2018).

Files under `root` (see data/README.md, section '3DPW'): `sequenceFiles/{train,validation,test}/<name>.pkl`, each
a pickled dict (Python 2 pickles: load with encoding='latin1'). posekit reads, per file:
- `sequence` (str), `jointPositions`: a list over actors of (N, 72) = 24 SMPL joints x xyz, world metres;
- `cam_poses` (N, 4, 4) world -> camera extrinsics per image frame; `cam_intrinsics` (3, 3) pixel K;
- `campose_valid`: a list over actors of (N,) 0/1.

No SMPL body model is needed: instead of regressing Human3.6M joints from the mesh (J_regressor_h36m, as VIBE,
SPIN and most mesh papers do) posekit maps the 24 SMPL skeleton joints onto an APPROXIMATE Human3.6M-17 skeleton
in the VideoPose3D order (`H36M_FROM_SMPL24`):

    Hip <- pelvis(0)          RHip <- R_hip(2)        RKnee <- R_knee(5)       RFoot <- R_ankle(8)
    LHip <- L_hip(1)          LKnee <- L_knee(4)      LFoot <- L_ankle(7)      Spine <- spine2(6)
    Thorax <- neck(12)        Neck/Nose <- head(15)   Head <- head + (head - neck), an extrapolated head top
    LShoulder <- L_shoulder(16)  LElbow <- L_elbow(18)  LWrist <- L_wrist(20)
    RShoulder <- R_shoulder(17)  RElbow <- R_elbow(19)  RWrist <- R_wrist(21)

SMPL's joints sit inside the body where J_regressor_h36m's joints follow Human3.6M's marker-based skeleton
(e.g. its hips are wider and lower, its head joints are on the surface), so numbers on these joints are close
to, but not comparable with, papers that use J_regressor_h36m. Legs are in VideoPose3D order (right leg at
1-3), NOT in SPIN's regressor order (Kolotouros et al., ICCV 2019, `constants.py`).

Image size: 3DPW's images are 1080 x 1920 pixels (width x height, portrait phone video). posekit assumes that
size unless the file's principal point says the camera is landscape (cx > cy), in which case 1920 x 1080 is
used; pass `image_size=(w, h)` to override. The size matters only for screen normalisation.
"""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np

from ..camera import Camera
from ..skeleton import H36M_17
from .checks import check_finite, check_units
from .dataset import DatasetFileError, PoseDataset, Sequence, natural_key

PW3D_SECTION = "3DPW"
PW3D_SPLITS = ("train", "validation", "test")
PW3D_FPS = 30.0
PW3D_IMAGE_SIZE = (1080, 1920)  # (width, height), portrait
SMPL24_JOINTS = ("pelvis", "L_hip", "R_hip", "spine1", "L_knee", "R_knee", "spine2", "L_ankle", "R_ankle", "spine3",
                 "L_foot", "R_foot", "neck", "L_collar", "R_collar", "head", "L_shoulder", "R_shoulder", "L_elbow",
                 "R_elbow", "L_wrist", "R_wrist", "L_hand", "R_hand")


def _smpl_to_h36m_matrix() -> np.ndarray:
    single = {0: 0, 1: 2, 2: 5, 3: 8, 4: 1, 5: 4, 6: 7, 7: 6, 8: 12, 9: 15, 11: 16, 12: 18, 13: 20, 14: 17, 15: 19,
              16: 21}
    m = np.zeros((17, 24))
    for h, s in single.items():
        m[h, s] = 1.0
    m[10, 15], m[10, 12] = 2.0, -1.0  # Head = head + (head - neck)
    return m


# (17, 24) linear map: H36M-17 joints = H36M_FROM_SMPL24 @ SMPL-24 joints.
H36M_FROM_SMPL24 = _smpl_to_h36m_matrix()


def h36m_from_smpl24(joints: np.ndarray) -> np.ndarray:
    """Approximate Human3.6M-17 joints (..., 17, 3) from the 24 SMPL joints (..., 24, 3) (module docstring)."""
    joints = np.asarray(joints)
    if joints.shape[-2] != 24:
        raise ValueError(f"expected 24 SMPL joints on axis -2, got shape {joints.shape}")
    return np.einsum("hs,...sc->...hc", H36M_FROM_SMPL24, joints)


LIFTING_KEYS = ("jointPositions", "cam_poses", "cam_intrinsics", "campose_valid")


def read_sequence_file(path: str | Path, keys=LIFTING_KEYS, section: str = PW3D_SECTION) -> dict:
    """Unpickle one 3DPW sequence file (latin1) and check it has `keys` (default: those the lifting loader uses);
    errors point to data/README.md's `section`."""
    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(path, "3DPW sequence file not found", section)
    try:
        with open(path, "rb") as f:
            data = pickle.load(f, encoding="latin1")
    except Exception as exc:  # truncated or not a pickle
        raise DatasetFileError(path, f"cannot unpickle the file ({exc.__class__.__name__}: {exc})",
                               section) from None
    if not isinstance(data, dict):
        raise DatasetFileError(path, f"expected a pickled dict (a 3DPW sequence file), got {type(data).__name__}",
                               section)
    missing = [k for k in keys if k not in data]
    if missing:
        raise DatasetFileError(path, f"not a 3DPW sequence file: no key {', '.join(map(repr, missing))} (keys: "
                                     f"{', '.join(sorted(map(str, data)))})", section)
    return data


def _image_size(K: np.ndarray, image_size) -> tuple[int, int]:
    if image_size is not None:
        return int(image_size[0]), int(image_size[1])
    w, h = PW3D_IMAGE_SIZE
    return (h, w) if K[0, 2] > K[1, 2] else (w, h)


def sequences_from_file(path: str | Path, image_size=None) -> list[Sequence]:
    """The Sequences (one per actor) of one 3DPW sequence file; see `load_3dpw` for the layout."""
    path = Path(path)
    data = read_sequence_file(path)
    name = path.stem  # equals the file's 'sequence' entry; the file name is what the split folders list
    K = np.asarray(data["cam_intrinsics"], dtype=np.float64)
    if K.shape != (3, 3) or not np.isfinite(K).all() or K[0, 0] <= 0 or K[1, 1] <= 0:
        raise DatasetFileError(path, f"cam_intrinsics is {K.tolist()}, expected a finite (3, 3) pixel matrix "
                               f"[[fx, 0, cx], [0, fy, cy], [0, 0, 1]] with fx, fy > 0", PW3D_SECTION)
    cam_poses = np.asarray(data["cam_poses"], dtype=np.float64)
    if cam_poses.ndim != 3 or cam_poses.shape[1:] != (4, 4):
        raise DatasetFileError(path, f"cam_poses has shape {cam_poses.shape}, expected (N, 4, 4)", PW3D_SECTION)
    joints, valids = data["jointPositions"], data["campose_valid"]
    if not isinstance(joints, (list, tuple)) or not isinstance(valids, (list, tuple)) or len(joints) != len(valids):
        raise DatasetFileError(path, "jointPositions and campose_valid must be lists with one entry per actor",
                               PW3D_SECTION)
    w, h = _image_size(K, image_size)
    camera = Camera(id=name, res_w=w, res_h=h, focal_length=[K[0, 0], K[1, 1]], center=[K[0, 2], K[1, 2]])
    out = []
    for actor, (jp, valid) in enumerate(zip(joints, valids)):
        jp = np.asarray(jp, dtype=np.float64)
        if jp.ndim != 2 or jp.shape[1] != 72:
            raise DatasetFileError(path, f"jointPositions[{actor}] has shape {jp.shape}, expected (N, 72) = 24 SMPL "
                                         f"joints x xyz", PW3D_SECTION)
        n = len(jp)
        if len(cam_poses) < n:
            raise DatasetFileError(path, f"cam_poses has {len(cam_poses)} frames but jointPositions[{actor}] has "
                                         f"{n} (expected one camera pose per frame)", PW3D_SECTION)
        valid = np.asarray(valid).reshape(-1)
        if valid.size != n:
            raise DatasetFileError(path, f"campose_valid[{actor}] has {valid.size} values, expected {n}",
                                   PW3D_SECTION)
        if n == 0:
            raise DatasetFileError(path, f"jointPositions[{actor}] has 0 frames, expected a non-empty sequence",
                                   PW3D_SECTION)
        valid = valid.astype(bool)
        jp = check_finite(jp, path, f"jointPositions[{actor}]", PW3D_SECTION, valid)
        poses = check_finite(cam_poses[:n], path, "cam_poses", PW3D_SECTION, valid)
        world = h36m_from_smpl24(jp.reshape(n, 24, 3))
        check_units(world[valid] if valid.any() else world, H36M_17, path, f"jointPositions[{actor}]",
                    PW3D_SECTION, unit="m")
        R, t = poses[:, :3, :3], poses[:, :3, 3]
        x_cam = np.einsum("nij,nkj->nki", R, world) + t[:, None, :]
        z = x_cam[..., 2:3]
        with np.errstate(divide="ignore", invalid="ignore"):
            px = np.concatenate([K[0, 0] * x_cam[..., :1] / z + K[0, 2], K[1, 1] * x_cam[..., 1:2] / z + K[1, 2]], -1)
        kp = camera.normalize(px).astype(np.float32)
        ok = valid & np.all(z[..., 0] > 0, axis=-1)
        kp[~np.isfinite(kp)] = 0.0  # a joint at depth 0 projects to inf; its frame is marked invalid
        out.append(Sequence(subject=name, action=f"Actor {actor}", camera=camera, camera_index=0,
                            poses_3d=(x_cam - x_cam[:, :1]).astype(np.float32),
                            trajectory=x_cam[:, 0].astype(np.float32), keypoints_2d=kp,
                            keypoints_2d_gt=kp.copy(), valid=ok))
    return out


def load_3dpw(root: str | Path, split: str = "test", keypoints: str = "gt", image_size=None,
              subjects=None) -> PoseDataset:
    """3DPW from `root/sequenceFiles/<split>/*.pkl` (see data/README.md, section '3DPW').

    split: 'train', 'validation', 'test' or 'all' (whichever split folders exist).
    keypoints: only 'gt' (projections of the joints; the files' OpenPose-18 `poses2d` detections have no
    Human3.6M-17 counterpart). subjects: sequence names to keep.
    image_size: (w, h) in pixels; default 1080 x 1920 portrait (landscape when cx > cy), see module docstring.

    Returns a PoseDataset in (approximate) Human3.6M-17 order, one Sequence per actor: subject = the sequence
    name (e.g. 'downtown_walking_00'), action 'Actor 0' / 'Actor 1' (one action group, so per-action averages
    reduce to the frame-weighted mean that 3DPW reports), camera_index 0, 30 fps.
    `poses_3d` (N, 17, 3) camera-frame metres, root-relative; `trajectory` (N, 3) the camera-frame pelvis;
    `keypoints_2d` = `keypoints_2d_gt` (N, 17, 2) pinhole projections with `cam_intrinsics`, screen-normalised;
    `valid` (N,) False where campose_valid is false (or a joint is behind the camera). The camera moves: its
    per-frame pose has been applied (`cam_poses`), so the Camera's extrinsics are the identity and its
    intrinsics are the file's K (no distortion).
    train_subjects / test_subjects list the sequence files found in sequenceFiles/train and sequenceFiles/test
    (validation names are in `info['validation_subjects']`).
    """
    if keypoints != "gt":
        raise ValueError(f"3DPW provides only ground-truth 2D keypoints for the Human3.6M joints; got "
                         f"keypoints={keypoints!r}, use 'gt'")
    splits = PW3D_SPLITS if split == "all" else (split,)
    if any(s not in PW3D_SPLITS for s in splits):
        raise ValueError(f"split must be one of {', '.join(PW3D_SPLITS)} or 'all', got {split!r}")
    root = Path(root)
    base = root / "sequenceFiles"
    if not base.is_dir() and any((root / s).is_dir() for s in PW3D_SPLITS):
        base = root  # root is the sequenceFiles folder itself
    names = {s: sorted((p.stem for p in (base / s).glob("*.pkl")), key=natural_key) if (base / s).is_dir() else []
             for s in PW3D_SPLITS}
    sequences = []
    for s in splits:
        folder = base / s
        files = sorted(folder.glob("*.pkl"), key=lambda p: natural_key(p.stem)) if folder.is_dir() else []
        if not files and split == "all":
            continue  # 'all' reads whichever split folders exist
        if not files:
            raise DatasetFileError(folder, f"no 3DPW sequence files (*.pkl) found for split {s!r}; expected "
                                           f"sequenceFiles/{s}/<sequence>.pkl in", PW3D_SECTION)
        if subjects is not None:
            files = [p for p in files if p.stem in set(subjects)]
        for p in files:
            sequences += sequences_from_file(p, image_size=image_size)
    if split == "all" and not any(names.values()):
        raise DatasetFileError(base, "no 3DPW sequence files (*.pkl) found; expected "
                                     "sequenceFiles/{train,validation,test}/<sequence>.pkl in", PW3D_SECTION)
    if not sequences:
        raise KeyError(f"no 3DPW sequences selected by split={split!r}, subjects={subjects!r}")
    ds = PoseDataset(name="3dpw", sequences=sequences, skeleton=H36M_17, fps=PW3D_FPS,
                       train_subjects=tuple(names["train"]), test_subjects=tuple(names["test"]), keypoints="gt",
                       info={"root": str(root), "validation_subjects": tuple(names["validation"]),
                             "joints": "approximate Human3.6M-17 from the 24 SMPL joints (H36M_FROM_SMPL24)"})
    if split == "all" and subjects is None and not names["train"]:
        raise DatasetFileError(base / "train", "no train sequences, expected a training split "
                                               "(sequenceFiles/train/<sequence>.pkl) in", PW3D_SECTION)
    return ds

