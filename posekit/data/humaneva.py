"""HumanEva-I in the VideoPose3D npz layout (VideoPose3D's `common/humaneva_dataset.py`).

Files, in one folder (`root`), as written by VideoPose3D's `data/prepare_data_humaneva.py`:
- `data_3d_humaneva15.npz`: key `positions_3d` = {subject: {action: (T, 15, 3) world metres}}, subjects
  'Train/S1'..'Train/S3' and 'Validate/S1'..'Validate/S3', actions like 'Walking 1 chunk0';
- `data_2d_humaneva15_<keypoints>.npz`: keys `positions_2d` = {subject: {action: [(T', J, 2) pixels, one per
  camera C1, C2, C3]}} (T' >= T) and `metadata` = {'num_joints': 15 (or 17 for COCO detections), ...}.
  `<keypoints>` is 'gt' (projected mocap) or a detector, e.g. 'detectron_pt_coco' (alias 'det').

HumanEva-I keeps its own 15-joint skeleton (`posekit.skeleton.HUMANEVA_15`, root = pelvis, index 0); it is not
mapped to Human3.6M-17 because HumanEva has no spine or nose joint. Validate/* is the test set, as in
VideoPose3D and the papers.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..camera import Camera
from ..skeleton import HUMANEVA_15
from .checks import check_splits, check_subject_names
from .dataset import DatasetFileError, PoseDataset, sequences_from_world
from .h36m import check_positions_3d, read_npz_key

HUMANEVA_SECTION = "HumanEva-I"
HUMANEVA_TRAIN = ("Train/S1", "Train/S2", "Train/S3")
HUMANEVA_TEST = ("Validate/S1", "Validate/S2", "Validate/S3")
KEYPOINT_ALIASES = {"det": "detectron_pt_coco"}
HUMANEVA_FPS = 60.0
SUBJECT_PATTERN = r"(Train|Validate|Unlabeled)/S\d+"
HUMANEVA_RES = (640, 480)
# HumanEva-I ships no intrinsics in the VideoPose3D files. This focal length (pixels) is a rough guess for the
# 640 x 480 colour cameras (about a 53 degree horizontal field of view) with the principal point at the image
# centre; it is NOT the dataset's calibration. Only res_w / res_h are used for the screen normalisation.
HUMANEVA_APPROX_FOCAL = 640.0

# Extrinsics (VideoPose3D's `common/humaneva_dataset.py`): quaternion (w, x, y, z) camera -> world and camera centre in mm, for the
# cameras C1, C2, C3. S3 uses S1's values.
_S1 = [([0.424207, -0.4983646, -0.5802981, 0.4847012], [4062.227, 663.2477, 1528.397]),
       ([0.6503354, -0.7481602, -0.0919284, 0.0941766], [844.8131, -3805.2092, 1504.9929]),
       ([0.0664734, -0.0690535, 0.7416416, -0.6639132], [-797.67377, 3916.3174, 1433.6602])]
HUMANEVA_EXTRINSICS = {
    "S1": _S1,
    "S2": [([0.4214752, -0.4961493, -0.5838273, 0.4851187], [4112.9121, 626.4929, 1545.2988]),
           ([0.6501393, -0.7476588, -0.0954617, 0.0959808], [923.5740, -3877.9243, 1504.5518]),
           ([0.0699353, -0.0712403, 0.7421637, -0.662742], [-781.4915, 3838.8853, 1444.9929])],
    "S3": _S1,
}
HUMANEVA_CAMERA_IDS = ("C1", "C2", "C3")
HUMANEVA_AZIMUTHS = (0.0, -90.0, 90.0)


def humaneva_cameras(subject: str, focal_length: float = HUMANEVA_APPROX_FOCAL) -> list[Camera]:
    """The three HumanEva-I cameras C1, C2, C3 of a subject ('S1', 'Train/S1', 'Validate/S3', ...).

    Extrinsics are the dataset's (as VideoPose3D lists them; S3 uses S1's); translation in metres.
    Intrinsics are UNKNOWN: the focal length is an approximation (`HUMANEVA_APPROX_FOCAL` pixels, principal
    point at the image centre, no distortion). Use these cameras for world -> camera conversion and for the
    640 x 480 screen normalisation only; projections through them are not reliable.
    """
    base = subject.split("/")[-1]
    if base not in HUMANEVA_EXTRINSICS:
        raise KeyError(f"no HumanEva-I extrinsics for subject {subject!r}; known: S1, S2, S3")
    w, h = HUMANEVA_RES
    return [Camera(id=cid, res_w=w, res_h=h, focal_length=[focal_length, focal_length], center=[w / 2, h / 2],
                   orientation=q, translation=np.asarray(t) / 1000.0, azimuth=az)
            for cid, az, (q, t) in zip(HUMANEVA_CAMERA_IDS, HUMANEVA_AZIMUTHS, HUMANEVA_EXTRINSICS[base])]


def _read_2d(path: Path):
    positions_2d = read_npz_key(path, "positions_2d", HUMANEVA_SECTION)
    metadata = read_npz_key(path, "metadata", HUMANEVA_SECTION)
    if not isinstance(positions_2d, dict):
        raise DatasetFileError(path, "positions_2d must be a dict {subject: {action: [array per camera]}}",
                               HUMANEVA_SECTION)
    if not isinstance(metadata, dict) or metadata.get("num_joints", 15) not in (15, 17):
        raise DatasetFileError(path, f"expected 15-joint (HumanEva) or 17-joint (COCO) metadata, got {metadata!r}",
                               HUMANEVA_SECTION)
    for subject, actions in positions_2d.items():
        if not isinstance(actions, dict):
            raise DatasetFileError(path, f"positions_2d[{subject!r}] must be a dict {{action: [arrays]}}",
                                   HUMANEVA_SECTION)
        for action, views in actions.items():
            if not isinstance(views, (list, tuple)) or len(views) != 3:
                raise DatasetFileError(path, f"positions_2d[{subject!r}][{action!r}] must be a list of 3 camera "
                                             f"arrays (C1, C2, C3)", HUMANEVA_SECTION)
            for view in views:
                view = np.asarray(view)
                if view.ndim != 3 or view.shape[2] < 2:
                    raise DatasetFileError(path, f"positions_2d[{subject!r}][{action!r}] has an array of shape "
                                                 f"{view.shape}, expected (T, J, 2)", HUMANEVA_SECTION)
    return positions_2d, metadata


def load_humaneva(root: str | Path, keypoints: str = "gt", subjects=None,
                  focal_length: float = HUMANEVA_APPROX_FOCAL) -> PoseDataset:
    """HumanEva-I from VideoPose3D's files in `root` (see data/README.md, section 'HumanEva-I').

    keypoints: 'gt' reads `data_2d_humaneva15_gt.npz`; any other name reads `data_2d_humaneva15_<keypoints>.npz`
    ('det' = 'detectron_pt_coco'). Detector files with 17 COCO joints are kept as they are (a lifter then maps 17
    input joints to 15 output joints, as VideoPose3D does); `info['keypoints_joints']` says which.
    subjects: e.g. ['Train/S1', 'Validate/S1']; default all the 3D file holds that have cameras.

    Returns a PoseDataset on the HumanEva-15 skeleton, one Sequence per (subject, action, camera):
    `poses_3d` (T, 15, 3) camera-frame metres, root-relative (pelvis = 0); `trajectory` (T, 3) the pelvis in the
    camera frame (from the dataset's extrinsics, reliable); `keypoints_2d` (T, J, 2) screen-normalised with
    w = 640, h = 480; `keypoints_2d_gt` the ground-truth file's 2D when present, else None. Train subjects
    Train/S1..S3, test subjects Validate/S1..S3, 60 fps.

    Cameras: HumanEva-I stores no intrinsics. The cameras carry the real extrinsics but an APPROXIMATE focal
    length (`focal_length`, default 640 px) and the image centre as principal point. The intrinsics are only
    used for screen normalisation (where only res_w and res_h matter); projecting 3D through these cameras does
    not reproduce the dataset's 2D, so do not use them for reprojection losses or perspective corrections.
    """
    root = Path(root)
    path_3d = root / "data_3d_humaneva15.npz"
    positions_3d = check_positions_3d(read_npz_key(path_3d, "positions_3d", HUMANEVA_SECTION), path_3d,
                                      HUMANEVA_SECTION, joints=(15,), skeleton=HUMANEVA_15)
    check_subject_names(positions_3d, path_3d, HUMANEVA_SECTION, SUBJECT_PATTERN, "Train/S1")
    skipped = []
    if subjects is not None:
        missing = [s for s in subjects if s not in positions_3d]
        if missing:
            raise KeyError(f"{path_3d} has no subject {missing}; subjects: {sorted(positions_3d)}")
        positions_3d = {s: positions_3d[s] for s in subjects}
    cameras = {}
    for subject in list(positions_3d):
        try:
            cameras[subject] = humaneva_cameras(subject, focal_length)
        except KeyError:
            skipped.append(subject)
            del positions_3d[subject]
    if not positions_3d:
        raise DatasetFileError(path_3d, f"no subject with known cameras (S1, S2, S3) in positions_3d; "
                                        f"found {skipped}", HUMANEVA_SECTION)

    source = KEYPOINT_ALIASES.get(keypoints, keypoints)
    path_2d = root / f"data_2d_humaneva15_{source}.npz"
    positions_2d, metadata = _read_2d(path_2d)
    gt_2d, path_gt = None, path_2d
    if source == "gt":
        gt_2d = positions_2d
    elif (root / "data_2d_humaneva15_gt.npz").is_file():
        path_gt = root / "data_2d_humaneva15_gt.npz"
        gt_2d, _ = _read_2d(path_gt)
    sequences = sequences_from_world(positions_3d, positions_2d, cameras, positions_2d_gt=gt_2d,
                                     file_2d=path_2d, section=HUMANEVA_SECTION, project_gt=False,
                                     joints_2d=int(metadata.get("num_joints", 15)), file_2d_gt=path_gt)
    num_2d = int(sequences[0].keypoints_2d.shape[1]) if sequences else 15
    ds = PoseDataset(name="humaneva", sequences=sequences, skeleton=HUMANEVA_15, fps=HUMANEVA_FPS,
                       train_subjects=HUMANEVA_TRAIN, test_subjects=HUMANEVA_TEST, keypoints=source,
                       info={"root": str(root), "keypoints_joints": "coco" if num_2d == 17 else "humaneva15",
                             "skipped_subjects": skipped,
                             "intrinsics": f"approximate (focal {focal_length:g} px, centre of 640x480); "
                                           "HumanEva-I stores no intrinsics"})
    if subjects is None:
        check_splits(ds, path_3d, HUMANEVA_SECTION)
    return ds
