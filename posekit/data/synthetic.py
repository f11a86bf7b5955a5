"""The embedded synthetic datasets: generated from a seed, cached, read back through the VideoPose3D loader.

- `synth`: Human3.6M-like. Subjects S1, S5, S6, S7, S8 (train) and S9, S11 (test) with their own anthropometrics,
  the 15 Human3.6M actions in two takes each ('Walking', 'Walking 1'), 50 fps, seen by the four real Human3.6M
  cameras of that subject (intrinsics with distortion, extrinsics). About 200k frames of 3D motion by default.
- `synth-3dhp`: MPI-INF-3DHP-like. Subjects S1-S8 (train) and TS1-TS6 (test), the 7 3DHP activity classes with
  wider, more extreme poses, and other cameras: 2048x2048 studio cameras (TS5-TS6: 1920x1080 with mild
  distortion) at many heights (0.3-2.5 m) and distances (3.5-7.5 m), tilted towards the subject, and a
  different 2D detector (larger noise, more outliers).

2D inputs come as exact projections ('gt') and detector-like ('det'): per-joint Gaussian noise sized like a
real detector's (larger at wrists and ankles), temporally correlated jitter, a per-sequence joint bias (a
detector's joint definitions differ from the mocap's), occasional outliers that last a few frames, and short
left/right swaps of arms or legs that are more likely when the two sides overlap in the image.
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

from ..camera import Camera, h36m_cameras, look_at
from ..skeleton import H36M_17
from .actions import H36M_ACTIONS, MPI3DHP_ACTIONS
from .dataset import PoseDataset
from .h36m import load_videopose3d, write_videopose3d
from .motion import Body, forward_kinematics, ground_contact

VERSION = 2
FPS = 50.0
SYNTH_TRAIN = ("S1", "S5", "S6", "S7", "S8")
SYNTH_TEST = ("S9", "S11")
SYNTH3DHP_TRAIN = tuple(f"S{i}" for i in range(1, 9))
SYNTH3DHP_TEST = tuple(f"TS{i}" for i in range(1, 7))

# Per-joint detector noise (pixels, for a person about 360 px tall as in Human3.6M), H36M-17 order.
JOINT_NOISE_PX = np.array([3.0, 3.5, 4.0, 5.0, 3.5, 4.0, 5.0, 3.0, 2.5, 3.0, 3.5, 3.0, 4.5, 6.5, 3.0, 4.5, 6.5])

DOMAINS = {
    "synth": dict(train=SYNTH_TRAIN, test=SYNTH_TEST, actions=H36M_ACTIONS, takes=2, frames=960, test_frames=960,
                  extreme=1.0, noise=1.0, outlier=0.0015, swap=0.002, heights=(1.55, 1.92)),
    "synth-3dhp": dict(train=SYNTH3DHP_TRAIN, test=SYNTH3DHP_TEST, actions=MPI3DHP_ACTIONS, takes=2, frames=720,
                       test_frames=480, extreme=1.15, noise=1.6, outlier=0.004, swap=0.004, heights=(1.5, 1.95)),
}


def cache_dir() -> Path:
    """Where generated data is cached: $POSEKIT_CACHE, else ~/.cache/posekit."""
    return Path(os.environ.get("POSEKIT_CACHE", Path.home() / ".cache" / "posekit"))


def _subject_rng(seed: int, *keys) -> np.random.Generator:
    """A generator seeded by the dataset seed and the full names of what it generates (stable across runs)."""
    return np.random.default_rng([seed, *[zlib.crc32(str(k).encode()) for k in keys]])


def _cameras_3dhp(rng: np.random.Generator, subject: str) -> list[Camera]:
    outdoor = subject in ("TS5", "TS6")
    cams = []
    azimuths = rng.uniform(0, 2 * np.pi) + np.sort(rng.uniform(0, 2 * np.pi, 4))
    for i, az in enumerate(azimuths):
        dist, height = rng.uniform(3.5, 7.5), rng.uniform(0.3, 2.5)
        pos = np.array([dist * np.cos(az), dist * np.sin(az), height])
        target = np.array([*rng.normal(0, 0.3, 2), rng.uniform(0.6, 1.2)])
        if outdoor:
            w, h, f, c, k = 1920, 1080, 1684.0, [939.9, 560.1], [-0.06, 0.02, 0.0]
        else:
            w, h, f, c, k = 2048, 2048, 1500.2, [1017.4, 1043.0], [0.0, 0.0, 0.0]
        f *= rng.uniform(0.92, 1.08)
        cams.append(Camera(id=f"{subject}-cam{i}", res_w=w, res_h=h, focal_length=[f, f], center=c,
                           radial_distortion=k, orientation=look_at(pos, target), translation=pos,
                           azimuth=float(np.degrees(az))))
    return cams


def detector_noise(rng: np.random.Generator, gt_px: np.ndarray, scale: float = 1.0, outlier: float = 0.0015,
                   swap: float = 0.002) -> np.ndarray:
    """Detector-like 2D (T, J, 2) pixels from exact projections `gt_px`; `scale` multiplies the noise size."""
    t, j, _ = gt_px.shape
    height = np.median(np.ptp(gt_px[:, :, 1], axis=1)) + 1e-6
    sigma = JOINT_NOISE_PX * scale * height / 360.0 * rng.lognormal(0, 0.2)
    white = rng.normal(size=(t, j, 2))
    jitter = np.empty_like(white)  # AR(1) jitter, correlation 0.7 between frames
    jitter[0] = white[0]
    for i in range(1, t):
        jitter[i] = 0.7 * jitter[i - 1] + np.sqrt(1 - 0.49) * white[i]
    noise = sigma[None, :, None] * (0.6 * jitter + 0.5 * rng.normal(size=(t, j, 2)))
    bias = sigma[None, :, None] * rng.normal(0, 0.6, size=(1, j, 2))
    out = gt_px + noise + bias
    # outliers: a joint jumps 6-15 sigma away for 1-8 frames (wrists and ankles twice as often)
    rate = outlier * np.where(np.isin(np.arange(j), [3, 6, 13, 16]), 2.0, 1.0)
    for f, jj in zip(*np.nonzero(rng.random((t, j)) < rate[None])):
        n = rng.integers(1, 9)
        ang = rng.uniform(0, 2 * np.pi)
        out[f:f + n, jj] += rng.uniform(6, 15) * sigma[jj] * np.array([np.cos(ang), np.sin(ang)])
    # left/right swaps of a limb for 2-15 frames, likelier when the two sides are close in the image
    for left, right in (((5, 6), (2, 3)), ((12, 13), (15, 16))):
        closeness = np.exp(-np.linalg.norm(gt_px[:, left[0]] - gt_px[:, right[0]], axis=-1) / (0.08 * height))
        for f in np.nonzero(rng.random(t) < swap * (0.3 + 3 * closeness))[0]:
            n = rng.integers(2, 16)
            a, b = out[f:f + n, list(left)].copy(), out[f:f + n, list(right)].copy()
            out[f:f + n, list(left)], out[f:f + n, list(right)] = b, a
    return out.astype(np.float32)


def generate(name: str = "synth", seed: int = 0, frames_per_sequence: int | None = None):
    """Generate a synthetic domain in memory.

    Returns (positions_3d, positions_2d {'gt', 'det'}, cameras) in the VideoPose3D layout: world metres (z up)
    and pixels; see `write_videopose3d`.
    """
    if name not in DOMAINS:
        raise KeyError(f"unknown synthetic dataset {name!r}; known: {', '.join(DOMAINS)}")
    cfg = DOMAINS[name]
    positions_3d, gt2d, det2d, cameras = {}, {}, {}, {}
    for subject in cfg["train"] + cfg["test"]:
        body_rng = _subject_rng(seed, name, subject, "body")
        body = Body.sample(body_rng, cfg["heights"])
        cams = h36m_cameras(subject) if name == "synth" else _cameras_3dhp(body_rng, subject)
        cameras[subject] = cams
        positions_3d[subject], gt2d[subject], det2d[subject] = {}, {}, {}
        n = frames_per_sequence or (cfg["frames"] if subject in cfg["train"] else cfg["test_frames"])
        for action in cfg["actions"]:
            for take in range(cfg["takes"]):
                label = action.name if take == 0 else f"{action.name} {take}"
                rng = _subject_rng(seed, name, subject, label)
                q, xy = action.generate(rng, body, n, FPS, extreme=cfg["extreme"])
                root = np.concatenate([xy, np.zeros((n, 1))], 1)
                world = ground_contact(forward_kinematics(q, body, root)).astype(np.float32)
                positions_3d[subject][label] = world
                gts, dets = [], []
                for cam in cams:
                    px = cam.project_pixels(cam.world_to_camera(world.astype(np.float64)))
                    gts.append(px.astype(np.float32))
                    dets.append(detector_noise(rng, px, cfg["noise"], cfg["outlier"], cfg["swap"]))
                gt2d[subject][label], det2d[subject][label] = gts, dets
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
            positions_3d, positions_2d, cameras = generate(name, seed, frames_per_sequence)
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
    """The embedded dataset `name` ('synth' or 'synth-3dhp') as a PoseDataset; generated on first use."""
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
