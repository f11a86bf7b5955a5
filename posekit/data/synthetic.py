"""The embedded synthetic datasets: generated from a seed, cached, read back through the VideoPose3D loader.

- `synth`: Human3.6M-like. Subjects S1, S5, S6, S7, S8 (train) and S9, S11 (test) with their own anthropometrics
  and movement style, the 15 Human3.6M actions in two takes each ('Walking', 'Walking 1'), 50 fps, seen by the
  four real Human3.6M cameras of that subject (intrinsics with distortion, extrinsics). About 200k frames of 3D
  motion by default.
- `synth-3dhp`: MPI-INF-3DHP-like. Subjects S1-S8 (train) and TS1-TS6 (test), the 7 3DHP activity classes with
  wider, more extreme poses, and 3DHP-like cameras: close (the person fills about half the image), from the
  floor to the ceiling with steep downward tilts, aimed off-centre; a harder detector, hardest outdoors (TS5-6).
- `synth-3dhp-cams`: the motion of `synth` (same subjects, bodies, takes) seen by 3DHP-like cameras only, so a
  global (camera / position) gap can be measured apart from the local (pose) gap.

2D inputs come as exact projections ('gt') and detector-like ('det', with a confidence per joint): errors that
grow with occlusion, foreshortening, motion blur and truncation, multi-frame failures and left/right swaps
(the model and its sources are in `posekit.data.detector`).
"""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import time
import zlib
from pathlib import Path

import numpy as np

from ..cache import cache_root
from ..camera import Camera, h36m_cameras, look_at
from ..skeleton import H36M_17
from .actions import H36M_ACTIONS, MPI3DHP_ACTIONS
from .dataset import PoseDataset
from .h36m import load_videopose3d, write_videopose3d
from .detector import DetectorStyle, detect
from .motion import Body, Style, forward_kinematics, ground_contact

VERSION = 4  # 3: structured detector errors with confidences, 3DHP-like cameras, richer motion
# 4: synth-3dhp recalibrated: outdoor cameras (TS5, TS6) stand back instead of cutting off the person in about half
#    the frames, and milder 3DHP detector styles, so a lifter trained on synth-3dhp clearly beats its floors
FPS = 50.0
SYNTH_TRAIN = ("S1", "S5", "S6", "S7", "S8")
SYNTH_TEST = ("S9", "S11")
SYNTH3DHP_TRAIN = tuple(f"S{i}" for i in range(1, 9))
SYNTH3DHP_TEST = tuple(f"TS{i}" for i in range(1, 7))

DOMAINS = {
    "synth": dict(train=SYNTH_TRAIN, test=SYNTH_TEST, actions=H36M_ACTIONS, takes=2, frames=960, test_frames=960,
                  extreme=1.0, cameras="h36m", heights=(1.55, 1.92), motion="synth"),
    "synth-3dhp": dict(train=SYNTH3DHP_TRAIN, test=SYNTH3DHP_TEST, actions=MPI3DHP_ACTIONS, takes=2, frames=720,
                       test_frames=480, extreme=1.15, cameras="3dhp", heights=(1.5, 1.95), motion="synth-3dhp",
                       arena=1.0, camera_distance=1.0),
    # the source motion (same subjects, bodies and takes as 'synth') seen only by 3DHP-like cameras
    "synth-3dhp-cams": dict(train=SYNTH_TRAIN, test=SYNTH_TEST, actions=H36M_ACTIONS, takes=2, frames=960,
                            test_frames=960, extreme=1.0, cameras="3dhp", heights=(1.55, 1.92), motion="synth",
                            camera_distance=1.05),
}
# Detector character per domain: 3DHP's studio images with green screen are harder than Human3.6M's, and its
# outdoor test sequences (TS5, TS6) harder still (Mehta et al., 3DV 2017, Sec. 5: outdoor scenes are the hardest).
STYLES = {"h36m": DetectorStyle(), "3dhp": DetectorStyle(noise=1.1, failures=1.25, swaps=1.25),
          "3dhp-outdoor": DetectorStyle(noise=1.35, failures=1.75, swaps=1.5)}


def cache_dir() -> Path:
    """Where generated data is cached: $POSEKIT_CACHE, else ~/.cache/posekit."""
    return cache_root()


def _subject_rng(seed: int, *keys) -> np.random.Generator:
    """A generator seeded by the dataset seed and the full names of what it generates (stable across runs)."""
    return np.random.default_rng([seed, *[zlib.crc32(str(k).encode()) for k in keys]])


# Outdoor cameras stand this much farther back than studio ones (at the same focal length): the person then fills
# about 45 % of the 1,080-px frame height (the studio's about 40 % of 2,048 px) and is rarely cut off.
OUTDOOR_DISTANCE = 1.5


def _cameras_3dhp(rng: np.random.Generator, subject: str, outdoor: bool, distance: float = 1.0) -> list[Camera]:
    """Four MPI-INF-3DHP-like cameras: close (the person fills about half the image), at heights from the floor
    to the ceiling with steep downward tilts, aimed off the subject so the person is anywhere in the frame.

    Studio: 2048x2048, f about 1500 px (3DHP's 'TS1-TS4' calibration); outdoor: 1920x1080, f about 1684 px, mild
    radial distortion ('TS5', 'TS6'); Mehta et al., 3DV 2017, Sec. 3 and the test set's camera calibration files.
    """
    cams = []
    azimuths = rng.uniform(0, 2 * np.pi) + np.sort(rng.uniform(0, 2 * np.pi, 4))
    for i, az in enumerate(azimuths):
        if outdoor:
            w, h, f, c, k = 1920, 1080, 1684.0, [939.9, 560.1], [-0.06, 0.02, 0.0]
        else:
            w, h, f, c, k = 2048, 2048, 1500.2, [1017.4, 1043.0], [0.0, 0.0, 0.0]
        f *= rng.uniform(0.92, 1.08)
        ceiling = rng.random() < 0.35
        dist = rng.uniform(2.4, 3.0) if ceiling else rng.uniform(2.4, 3.2)
        height = rng.uniform(2.4, 3.4) if ceiling else rng.uniform(0.3, 2.3)
        # the same body size in pixels whatever the drawn focal length; outdoors the frame is only 1,080 px high, so
        # the camera stands back (v3 stood closer than in the studio and cut the person off in ~55 % of the frames)
        dist *= distance * (OUTDOOR_DISTANCE * 1684.0 / f if outdoor else 1500.2 / f)
        pos = np.array([dist * np.cos(az), dist * np.sin(az), height])
        target = np.array([*rng.normal(0, 0.35, 2), rng.uniform(0.2, 0.9) if ceiling else rng.uniform(0.5, 1.3)])
        cams.append(Camera(id=f"{subject}-cam{i}", res_w=w, res_h=h, focal_length=[f, f], center=c,
                           radial_distortion=k, orientation=look_at(pos, target), translation=pos,
                           azimuth=float(np.degrees(az))))
    return cams


def _style(name: str, subject: str, cams_kind: str) -> DetectorStyle:
    if cams_kind == "h36m":
        return STYLES["h36m"]
    return STYLES["3dhp-outdoor"] if subject in ("TS5", "TS6") else STYLES["3dhp"]


def _subject(name: str, seed: int, subject: str, frames_per_sequence: int | None):
    """One subject's takes: ({label: world (T, J, 3)}, {label: [gt px per camera]}, {label: [det per camera]},
    cameras). Every random draw is seeded by (seed, names), so subjects can be generated in any order or process.
    """
    cfg = DOMAINS[name]
    motion = cfg["motion"]  # the name that seeds bodies and motion: 'synth-3dhp-cams' moves exactly as 'synth'
    body_rng = _subject_rng(seed, motion, subject, "body")
    body = Body.sample(body_rng, cfg["heights"])
    style = Style.sample(body_rng, cfg["extreme"])
    if cfg["cameras"] == "h36m":
        cams = h36m_cameras(subject)
    else:
        cams = _cameras_3dhp(_subject_rng(seed, name, subject, "cameras"), subject, subject in ("TS5", "TS6"),
                             cfg.get("camera_distance", 1.0))
    det_style = _style(name, subject, cfg["cameras"])
    positions_3d, gt2d, det2d = {}, {}, {}
    n = frames_per_sequence or (cfg["frames"] if subject in cfg["train"] else cfg["test_frames"])
    for action in cfg["actions"]:
        for take in range(cfg["takes"]):
            label = action.name if take == 0 else f"{action.name} {take}"
            rng = _subject_rng(seed, motion, subject, label)
            q, xy = action.generate(rng, body, n, FPS, extreme=cfg["extreme"], style=style,
                                    arena=cfg.get("arena", 1.8))
            root = np.concatenate([xy, np.zeros((n, 1))], 1)
            world = ground_contact(forward_kinematics(q, body, root)).astype(np.float32)
            positions_3d[label] = world
            det_rng = _subject_rng(seed, name, subject, label, "detector")
            gts, dets = [], []
            for cam in cams:
                x_cam = cam.world_to_camera(world.astype(np.float64))
                px = cam.project_pixels(x_cam)
                det, conf = detect(det_rng, x_cam, px, cam, FPS, det_style)
                gts.append(px.astype(np.float32))
                dets.append(np.concatenate([det, conf[..., None]], -1))
            gt2d[label], det2d[label] = gts, dets
    return positions_3d, gt2d, det2d, cams


def generate(name: str = "synth", seed: int = 0, frames_per_sequence: int | None = None, workers: int = 1):
    """Generate a synthetic domain in memory (subjects spread over `workers` processes; same result for any).

    Returns (positions_3d, positions_2d {'gt', 'det'}, cameras) in the VideoPose3D layout: world metres (z up)
    and pixels; the 'det' arrays are (T, J, 3): x, y and the detector's confidence. See `write_videopose3d`.
    """
    if name not in DOMAINS:
        raise KeyError(f"unknown synthetic dataset {name!r}; known: {', '.join(DOMAINS)}")
    subjects = DOMAINS[name]["train"] + DOMAINS[name]["test"]
    args = [(name, seed, s, frames_per_sequence) for s in subjects]
    if workers > 1:
        import multiprocessing
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            parts = pool.starmap(_subject, args)
    else:
        parts = [_subject(*a) for a in args]
    positions_3d, gt2d, det2d, cameras = {}, {}, {}, {}
    for s, (p3, g, d, c) in zip(subjects, parts):
        positions_3d[s], gt2d[s], det2d[s], cameras[s] = p3, g, d, c
    return positions_3d, {"gt": gt2d, "det": det2d}, cameras


def ensure_synthetic(name: str = "synth", root: str | Path | None = None, seed: int = 0,
                     frames_per_sequence: int | None = None, verbose: bool = True) -> Path:
    """Generate the dataset into the cache (once; concurrent callers wait for the first) and return its folder."""
    base = Path(root) if root is not None else cache_dir()
    tag = f"{name}-v{VERSION}-seed{seed}" + (f"-T{frames_per_sequence}" if frames_per_sequence else "")
    folder = base / tag
    if (folder / "DONE").is_file():
        return folder
    base.mkdir(parents=True, exist_ok=True)
    with open(base / f".{tag}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if (folder / "DONE").is_file():
                return folder
            start = time.perf_counter()
            tmp = Path(tempfile.mkdtemp(prefix=f".{tag}-", dir=base))
            workers = min(2, os.cpu_count() or 1) if frames_per_sequence is None else 1
            positions_3d, positions_2d, cameras = generate(name, seed, frames_per_sequence, workers)
            write_videopose3d(tmp, name.replace("-", "_"), positions_3d, positions_2d, cameras)
            n = sum(len(x) for acts in positions_3d.values() for x in acts.values())
            (tmp / "DONE").write_text(f"{n} frames, seed {seed}, {time.perf_counter() - start:.1f} s\n")
            if folder.exists():
                shutil.rmtree(folder)
            os.replace(tmp, folder)
            if verbose:
                print(f"posekit: generated {name} ({n:,} frames x {len(next(iter(cameras.values())))} cameras) "
                      f"in {time.perf_counter() - start:.1f} s -> {folder}")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return folder


def load_synthetic(name: str = "synth", root: str | Path | None = None, keypoints: str = "det", seed: int = 0,
                   frames_per_sequence: int | None = None) -> PoseDataset:
    """The embedded dataset `name` ('synth', 'synth-3dhp' or 'synth-3dhp-cams') as a PoseDataset; generated on
    first use. With keypoints='det' every sequence's `confidence` (T, J) holds the detector's scores.
    """
    if keypoints not in ("det", "gt"):
        raise ValueError(f"synthetic datasets have keypoints 'det' (detector-like) or 'gt', not {keypoints!r}")
    folder = ensure_synthetic(name, root, seed, frames_per_sequence)
    cfg = DOMAINS[name]
    ds = load_videopose3d(folder, name.replace("-", "_"), keypoints, section="Embedded synthetic data",
                          train_subjects=cfg["train"], test_subjects=cfg["test"], fps=FPS)
    ds.name = name
    ds.skeleton = H36M_17
    ds.info.update(seed=seed, folder=str(folder))
    return ds
