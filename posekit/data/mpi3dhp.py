"""MPI-INF-3DHP: the official test set and the common preprocessed npz files (Mehta et al., 3DV 2017).

Files under `root` (see data/README.md, section 'MPI-INF-3DHP'):
- the official test set `mpi_inf_3dhp_test_set/TS1..TS6/annot_data.mat` (MATLAB v7.3 = HDF5, read with h5py,
  which reverses MATLAB's dimension order): `annot2` (N, 1, 17, 2) pixels, `annot3` and `univ_annot3`
  (N, 1, 17, 3) camera-frame millimetres, `valid_frame` (N,) 0/1, `activity_annotation` (N,) 1..7;
- or P-STMO's `data_test_3dhp.npz` (key `data` = {'TS1'..'TS6': {'data_2d': (N, 17, 2) px, 'data_3d':
  (N, 17, 3) mm univ_annot3, 'valid': (N,)}}); `data_test_3dhp_ori.npz` is PoSynDA's annot3 variant;
- the training set as P-STMO's `data_train_3dhp.npz` (key `data` = {'S1 Seq1': [{cam: {'data_2d': (F, 17, 2)
  px, 'data_3d': (F, 17, 3) mm univ_annot3}}, fps]}, cameras '0', '1', '2', '4'..'8'), or `data_train_3dhp_ori.npz`.

Everything is returned in the Human3.6M-17 joint order (`skeleton.h36m_from_3dhp`: Hip <- pelvis, Thorax <- neck,
Neck/Nose <- head, Head <- head_top), root-relative metres, 2D screen-normalised with the sequence's image size.

Test-set layout: ONE Sequence per TS (subject 'TS1'..'TS6', action = the scene group 'GS' (TS1-2), 'noGS'
(TS3-4) or 'Outdoor' (TS5-6), camera_index 0), so that temporal models see the whole video as the official
protocol does, and `metrics.per_action` over sequence actions gives the usual GS / noGS / Outdoor table. The
per-frame activity labels (for the official activity-wise table) are in `dataset.info['activity'][subject]`
((N,) int, 1..7, names in `ACTIVITY_NAMES`; see `activity_names`). With `by_activity=True` each TS is instead
split into its contiguous activity segments, with action '<Activity> <k>' (e.g. 'Sitting 2'), so that
`select(actions=['Sitting'])` and `metrics.per_action` work on activities directly (at the price of cutting the
temporal context at activity changes). Evaluate on `valid` frames only, as the official kit does.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..camera import Camera
from ..skeleton import H36M_17, MPI3DHP_17, h36m_from_3dhp
from .checks import check_finite, check_splits, check_subject_names, check_units
from .dataset import DatasetFileError, PoseDataset, Sequence, natural_key
from .h36m import read_npz_key

MPI3DHP_SECTION = "MPI-INF-3DHP"
TEST_SEQUENCES = ("TS1", "TS2", "TS3", "TS4", "TS5", "TS6")
TRAIN_SUBJECTS = ("S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8")
SCENES = {"TS1": "GS", "TS2": "GS", "TS3": "noGS", "TS4": "noGS", "TS5": "Outdoor", "TS6": "Outdoor"}
# activity_annotation values 1..7. Names carry no spaces so that `metrics.action_group` keeps them whole
# ('OnTheFloor' is the dataset's 'On The Floor').
ACTIVITY_NAMES = {1: "Standing/Walking", 2: "Exercising", 3: "Sitting", 4: "Reaching/Crouching", 5: "OnTheFloor",
                  6: "Sports", 7: "Miscellaneous"}
ROOT_3DHP = 14  # pelvis in the 3DHP-17 order
TEST_FPS = 25.0  # nominal; the files store no frame rate for the test videos (training rates: info['fps_per_sequence'])

# Intrinsics in pixels (derived from the official .calib files of the test sequences).
# TS1-4 (studio, 2048 x 2048, no distortion) and TS5-6 (GoPro, 1920 x 1080). The GoPro's OpenCV radial terms
# k1, k2, k3 are kept; its tangential terms (p1 = -0.00036, p2 = -0.00115) are dropped because posekit's
# Human3.6M distortion model writes the tangential part differently from OpenCV.
STUDIO_CAMERA = dict(res_w=2048, res_h=2048, focal_length=[1500.1723, 1500.1723], center=[1017.3873, 1043.0320])
GOPRO_CAMERA = dict(res_w=1920, res_h=1080, focal_length=[1683.9835, 1683.9835], center=[939.8575, 560.1407],
                    radial_distortion=[-0.276859611, 0.131125256, -0.049318332])


def mpi3dhp_camera(sequence: str) -> Camera:
    """The camera of a test sequence ('TS1'..'TS6') or, approximately, of a training sequence.

    Extrinsics are the identity: 3DHP's 3D annotations are already in the camera frame. Training cameras
    ('S1 Seq1' etc.) get the TS1-4 studio intrinsics: the image size (2048 x 2048) is right, the focal length
    and centre are an approximation (each training camera has its own calibration, not in the npz).
    """
    if sequence in ("TS5", "TS6"):
        return Camera(id=f"3dhp-{sequence}-gopro", **GOPRO_CAMERA)
    return Camera(id=f"3dhp-{sequence}" if sequence in TEST_SEQUENCES else f"3dhp-train-{sequence}",
                  **STUDIO_CAMERA)


def activity_names(dataset: PoseDataset, subject: str) -> np.ndarray:
    """Per-frame activity names (N,) of test sequence `subject` ('TS1'..), from `dataset.info['activity']`.

    The labels refer to the full-length sequence as loaded (before `downsample` / `truncate`).
    """
    labels = dataset.info.get("activity", {}).get(subject)
    if labels is None:
        raise KeyError(f"{dataset.name}: no activity labels for {subject!r} (only annot_data.mat provides them)")
    return np.array([ACTIVITY_NAMES.get(int(a), f"Activity{int(a)}") for a in labels])


# --- reading ---------------------------------------------------------------------------------------------------

def _h5_array(f, key, path):
    import h5py
    if key not in f:
        raise DatasetFileError(path, f"file has no key {key!r} (keys: {', '.join(sorted(f.keys()))})",
                               MPI3DHP_SECTION)
    if not isinstance(f[key], h5py.Dataset):
        raise DatasetFileError(path, f"key {key!r} is an HDF5 {type(f[key]).__name__.lower()}, expected a dataset "
                                     f"(a numeric array, as MATLAB v7.3 stores it)", MPI3DHP_SECTION)
    return np.asarray(f[key][()])


def read_annot_data(path: str | Path) -> dict[str, np.ndarray]:
    """Read one test sequence's `annot_data.mat` (MATLAB v7.3 / HDF5) into squeezed arrays.

    Returns {'annot2': (N, 17, 2) px, 'annot3': (N, 17, 3) mm, 'univ_annot3': (N, 17, 3) mm, 'valid': (N,) bool,
    'activity': (N,) int}, joints in the 3DHP-17 order.
    """
    import h5py

    path = Path(path)
    if not path.is_file():
        raise DatasetFileError(path, "dataset file not found", MPI3DHP_SECTION)
    try:
        f = h5py.File(path, "r")
    except Exception as exc:  # truncated file, a MATLAB v5 file, not HDF5
        raise DatasetFileError(path, f"cannot read the file as MATLAB v7.3 / HDF5 ({exc.__class__.__name__}: "
                                     f"{exc})", MPI3DHP_SECTION) from None
    with f:
        try:
            raw = {k: _h5_array(f, k, path) for k in ("annot2", "annot3", "univ_annot3", "valid_frame",
                                                      "activity_annotation")}
        except DatasetFileError:
            raise
        except Exception as exc:
            raise DatasetFileError(path, f"cannot read the arrays ({exc.__class__.__name__}: {exc})",
                                   MPI3DHP_SECTION) from None
    out = {}
    for key, dims in (("annot2", 2), ("annot3", 3), ("univ_annot3", 3)):
        a = raw[key]
        # h5py gives (N, 1, 17, C) for MATLAB's C x 17 x 1 x N.
        if a.ndim == 4 and a.shape[1] == 1:
            a = a[:, 0]
        if a.ndim != 3 or a.shape[1:] != (17, dims):
            raise DatasetFileError(path, f"{key} has shape {raw[key].shape}, expected (N, 1, 17, {dims}) as h5py "
                                         f"reads MATLAB's {dims} x 17 x 1 x N", MPI3DHP_SECTION)
        out[key] = a.astype(np.float64)
    n = len(out["annot2"])
    for key in ("annot3", "univ_annot3"):
        if len(out[key]) != n:
            raise DatasetFileError(path, f"{key} has {len(out[key])} frames but annot2 has {n}", MPI3DHP_SECTION)
    for key, name in (("valid_frame", "valid"), ("activity_annotation", "activity")):
        a = raw[key].reshape(-1)
        if a.size != n:
            raise DatasetFileError(path, f"{key} has {raw[key].size} values (shape {raw[key].shape}), expected one "
                                         f"per frame ({n})", MPI3DHP_SECTION)
        out[name] = a
    if n == 0:
        raise DatasetFileError(path, "annot2 has 0 frames, expected a non-empty test sequence", MPI3DHP_SECTION)
    out["valid"] = np.nan_to_num(out["valid"].astype(np.float64)).astype(bool)
    out["activity"] = np.nan_to_num(out["activity"].astype(np.float64)).astype(np.int64)
    for key in ("annot2", "annot3", "univ_annot3"):
        out[key] = check_finite(out[key], path, key, MPI3DHP_SECTION, valid=out["valid"])
    for key in ("annot3", "univ_annot3"):
        check_units(out[key][out["valid"]] if out["valid"].any() else out[key], MPI3DHP_17, path, key,
                    MPI3DHP_SECTION, unit="mm")
    return out


def _check_npz_entry(entry, name, path, keys, valid=None):
    if not isinstance(entry, dict):
        raise DatasetFileError(path, f"data[{name!r}] must be a dict with keys {keys}", MPI3DHP_SECTION)
    missing = [k for k in keys if k not in entry]
    if missing:
        raise DatasetFileError(path, f"data[{name!r}] has no key {missing[0]!r} (keys: {sorted(entry)})",
                               MPI3DHP_SECTION)
    d2, d3 = np.asarray(entry["data_2d"]), np.asarray(entry["data_3d"])
    if d2.ndim != 3 or d2.shape[1] != 17 or d2.shape[2] < 2:
        raise DatasetFileError(path, f"data[{name!r}]['data_2d'] has shape {d2.shape}, expected (N, 17, 2)",
                               MPI3DHP_SECTION)
    if d3.ndim != 3 or d3.shape[1:] != (17, 3):
        raise DatasetFileError(path, f"data[{name!r}]['data_3d'] has shape {d3.shape}, expected (N, 17, 3)",
                               MPI3DHP_SECTION)
    if len(d2) < len(d3):
        raise DatasetFileError(path, f"data[{name!r}] has {len(d2)} 2D frames but {len(d3)} 3D frames (expected "
                                     f"at least as many)", MPI3DHP_SECTION)
    if len(d3) == 0:
        raise DatasetFileError(path, f"data[{name!r}]['data_3d'] has 0 frames, expected a non-empty sequence",
                               MPI3DHP_SECTION)
    mask = None if valid is None else np.asarray(valid).reshape(-1).astype(bool)
    if mask is not None and mask.size != len(d3):
        raise DatasetFileError(path, f"data[{name!r}]['valid'] has {mask.size} values, expected {len(d3)}",
                               MPI3DHP_SECTION)
    kp = check_finite(d2[:len(d3), :, :2], path, f"data[{name!r}]['data_2d']", MPI3DHP_SECTION, mask)
    pose = check_finite(d3, path, f"data[{name!r}]['data_3d']", MPI3DHP_SECTION, mask)
    check_units(pose if mask is None or not mask.any() else pose[mask], MPI3DHP_17, path,
                f"data[{name!r}]['data_3d']", MPI3DHP_SECTION, unit="mm")
    return kp, pose


def _make_sequence(subject, action, cam, camera_index, pose_mm, root_mm, kp_px, valid) -> Sequence:
    """3DHP-17 arrays (mm, px) -> a Human3.6M-17 Sequence (metres, normalised)."""
    root_rel = (pose_mm - pose_mm[:, ROOT_3DHP:ROOT_3DHP + 1]) / 1000.0
    kp = cam.normalize(h36m_from_3dhp(kp_px)).astype(np.float32)
    return Sequence(subject=subject, action=action, camera=cam, camera_index=camera_index,
                    poses_3d=h36m_from_3dhp(root_rel).astype(np.float32),
                    trajectory=(root_mm[:, ROOT_3DHP] / 1000.0).astype(np.float32),
                    keypoints_2d=kp, keypoints_2d_gt=kp.copy(), valid=np.asarray(valid, dtype=bool))


def _split_by_activity(seq: Sequence, activity: np.ndarray) -> list[Sequence]:
    out, counts = [], {}
    change = np.flatnonzero(np.diff(activity)) + 1
    starts = np.concatenate([[0], change])
    ends = np.concatenate([change, [len(activity)]])
    for s, e in zip(starts, ends):
        name = ACTIVITY_NAMES.get(int(activity[s]), f"Activity{int(activity[s])}")
        counts[name] = counts.get(name, 0) + 1
        sl = slice(int(s), int(e))
        out.append(Sequence(subject=seq.subject, action=f"{name} {counts[name]}", camera=seq.camera,
                            camera_index=seq.camera_index, poses_3d=seq.poses_3d[sl],
                            trajectory=seq.trajectory[sl], keypoints_2d=seq.keypoints_2d[sl],
                            keypoints_2d_gt=seq.keypoints_2d_gt[sl], valid=seq.valid[sl]))
    return out


def _test_folder(root: Path) -> Path:
    for folder in (root / "mpi_inf_3dhp_test_set", root):
        if (folder / "TS1" / "annot_data.mat").is_file():
            return folder
    return root / "mpi_inf_3dhp_test_set"


def _load_test(root: Path, annotation: str, subjects, by_activity: bool):
    subjects = list(subjects or TEST_SEQUENCES)
    unknown = [s for s in subjects if s not in TEST_SEQUENCES]
    if unknown:
        raise KeyError(f"unknown 3DHP test sequence {unknown}; known: {', '.join(TEST_SEQUENCES)}")
    folder = _test_folder(root)
    npz_name = "data_test_3dhp.npz" if annotation == "univ" else "data_test_3dhp_ori.npz"
    npz = root / npz_name
    sequences, activity, source = [], {}, None
    if (folder / "TS1" / "annot_data.mat").is_file():
        source = folder
        for ts in subjects:
            a = read_annot_data(folder / ts / "annot_data.mat")
            cam = mpi3dhp_camera(ts)
            pose = a["univ_annot3"] if annotation == "univ" else a["annot3"]
            seq = _make_sequence(ts, SCENES[ts], cam, 0, pose, a["annot3"], a["annot2"], a["valid"])
            activity[ts] = a["activity"]
            sequences += _split_by_activity(seq, a["activity"]) if by_activity else [seq]
    elif npz.is_file():
        source = npz
        if by_activity:
            raise DatasetFileError(npz, "this file has no activity labels (by_activity=True needs the official "
                                        "mpi_inf_3dhp_test_set/TS*/annot_data.mat)", MPI3DHP_SECTION)
        data = read_npz_key(npz, "data", MPI3DHP_SECTION)
        if not isinstance(data, dict):
            raise DatasetFileError(npz, "key 'data' must hold a dict {'TS1': {...}, ..., 'TS6': {...}}",
                                   MPI3DHP_SECTION)
        for ts in subjects:
            if ts not in data:
                raise DatasetFileError(npz, f"data has no sequence {ts!r} (found {sorted(data)})", MPI3DHP_SECTION)
            valid = np.asarray(data[ts].get("valid", []) if isinstance(data[ts], dict) else []).reshape(-1)
            kp, pose = _check_npz_entry(data[ts], ts, npz, ("data_2d", "data_3d", "valid"), valid)
            # No annot3 in this file: the trajectory is the pelvis of the stored 3D (univ_annot3 is scaled to the
            # universal skeleton, so for data_test_3dhp.npz the trajectory is approximate).
            sequences.append(_make_sequence(ts, SCENES[ts], mpi3dhp_camera(ts), 0, pose, pose, kp, valid))
    else:
        mat = folder / "TS1" / "annot_data.mat"
        raise DatasetFileError(mat, f"MPI-INF-3DHP test set not found: neither the preprocessed {npz} nor the "
                                    f"official test set (mpi_inf_3dhp_test_set/TS1..TS6/annot_data.mat) exists; "
                                    f"expected for example", MPI3DHP_SECTION)
    return sequences, activity, source


def _load_train(root: Path, annotation: str, subjects):
    name = "data_train_3dhp.npz" if annotation == "univ" else "data_train_3dhp_ori.npz"
    path = root / name
    if not path.is_file():
        raise DatasetFileError(path, f"MPI-INF-3DHP training file not found (expected {name}, e.g. from P-STMO's "
                                     f"data_to_npz_3dhp.py)", MPI3DHP_SECTION)
    data = read_npz_key(path, "data", MPI3DHP_SECTION)
    if not isinstance(data, dict):
        raise DatasetFileError(path, "key 'data' must hold a dict {'S1 Seq1': [{camera: {...}}, fps], ...}",
                               MPI3DHP_SECTION)
    sequences, fps = [], {}
    for key in sorted(data, key=natural_key):
        parts = str(key).split(" ")
        entry = data[key]
        if len(parts) != 2 or not isinstance(entry, (list, tuple)) or len(entry) < 1 or not isinstance(entry[0], dict):
            raise DatasetFileError(path, f"data[{key!r}] must be [{{camera: {{'data_2d', 'data_3d'}}}}, fps] under a "
                                         f"key like 'S1 Seq1'", MPI3DHP_SECTION)
        subject, seq_name = parts
        check_subject_names([subject], path, MPI3DHP_SECTION, r"S\d+", "S1 Seq1")
        if subjects is not None and subject not in subjects:
            continue
        if len(entry) > 1:
            fps[key] = float(np.asarray(entry[1]).reshape(-1)[0])
        bad = [c for c in entry[0] if not str(c).isdigit()]
        if bad:
            raise DatasetFileError(path, f"data[{key!r}][0] must be keyed by camera number ('0', '1', ...), found "
                                         f"{bad[0]!r}", MPI3DHP_SECTION)
        for cam_key in sorted(entry[0], key=lambda c: int(c)):
            kp, pose = _check_npz_entry(entry[0][cam_key], f"{key}/{cam_key}", path, ("data_2d", "data_3d"))
            cam = mpi3dhp_camera(f"{subject} {seq_name} cam{cam_key}")
            sequences.append(_make_sequence(subject, seq_name, cam, int(cam_key), pose, pose, kp,
                                            np.ones(len(pose), dtype=bool)))
    return sequences, fps, path


def load_3dhp(root: str | Path, split: str = "test", keypoints: str = "gt", annotation: str = "univ",
              subjects=None, by_activity: bool = False) -> PoseDataset:
    """MPI-INF-3DHP from `root` (see data/README.md, section 'MPI-INF-3DHP').

    split: 'test' (TS1..TS6: the official `mpi_inf_3dhp_test_set/TS*/annot_data.mat` when present, else
    `data_test_3dhp.npz`), 'train' (`data_train_3dhp.npz`, subjects S1..S8, sequences Seq1/Seq2, eight cameras)
    or 'all' (both; `dataset.train` / `dataset.test` then pick them).
    keypoints: only 'gt' (the annotated 2D); 3DHP has no standard detector 2D in these files.
    annotation: 'univ' (univ_annot3, scaled to the Human3.6M universal skeleton; the standard for comparison
    with prior work) or 'annot3' (the true metric skeleton, consistent with the 2D; for npz files this reads
    PoSynDA's `data_*_3dhp_ori.npz`).
    subjects: a subset of 'TS1'..'TS6' and/or 'S1'..'S8'.
    by_activity: split each test sequence into contiguous activity segments (module docstring).

    Returns a PoseDataset in Human3.6M-17 order: `poses_3d` (N, 17, 3) root-relative metres; `trajectory` (N, 3)
    the camera-frame pelvis in metres (annot3 for annot_data.mat; the stored 3D's pelvis for npz files, which is
    univ-scaled unless annotation='annot3'); `keypoints_2d` = `keypoints_2d_gt` (N, 17, 2) screen-normalised with
    the true image size (2048 x 2048 for TS1-4 and training, 1920 x 1080 for TS5-6); `valid` (N,) the official
    valid_frame mask (all True for training). Cameras: `mpi3dhp_camera` (identity extrinsics).
    """
    if keypoints != "gt":
        raise ValueError(f"MPI-INF-3DHP provides only ground-truth 2D keypoints; got keypoints={keypoints!r}, "
                         f"use 'gt'")
    if annotation not in ("univ", "annot3"):
        raise ValueError(f"annotation must be 'univ' (univ_annot3) or 'annot3', got {annotation!r}")
    if split not in ("test", "train", "all"):
        raise ValueError(f"split must be 'test', 'train' or 'all', got {split!r}")
    root = Path(root)
    test_subjects = [s for s in (subjects or TEST_SEQUENCES) if s in TEST_SEQUENCES]
    train_subjects = [s for s in (subjects or TRAIN_SUBJECTS) if s in TRAIN_SUBJECTS]
    sequences, info = [], {"root": str(root), "annotation": annotation, "activity_names": dict(ACTIVITY_NAMES)}
    if split in ("train", "all") and (train_subjects or subjects is None):
        train_seqs, fps, path = _load_train(root, annotation, train_subjects)
        sequences += train_seqs
        info["fps_per_sequence"] = fps
        info["train_source"] = str(path)
    if split in ("test", "all") and (test_subjects or subjects is None):
        test_seqs, activity, source = _load_test(root, annotation, test_subjects, by_activity)
        sequences += test_seqs
        info["activity"] = activity
        info["test_source"] = str(source)
    if not sequences:
        raise KeyError(f"no MPI-INF-3DHP sequences selected by split={split!r}, subjects={subjects!r}")
    ds = PoseDataset(name="3dhp", sequences=sequences, skeleton=H36M_17, fps=TEST_FPS,
                     train_subjects=TRAIN_SUBJECTS, test_subjects=TEST_SEQUENCES, keypoints="gt", info=info)
    if split == "all" and subjects is None:
        check_splits(ds, root, MPI3DHP_SECTION)
    return ds
