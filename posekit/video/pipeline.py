"""From a video file to 2D and 3D poses: read, detect, map to Human3.6M-17, fill gaps, normalise, lift.

    clip = load_clip("")                         # "" or None: the sample clip; else a video path
    track = track_2d(clip)                        # BlazePose -> H36M-17 pixels, confidences, gaps filled
    model = video_lifter("tcn", profile="cpu")    # trained on synthetic detector-like 2D on first use, then cached
    result = lift_track(track, model)             # root-relative 3D, camera frame, metres
    result.save("out/")                           # poses.npz + index.html (video frames beside the 3D viewer)

Normalisation uses the video's own resolution (VideoPose3D's screen normalisation, `posekit.camera
.normalize_screen`: x / w * 2 - [1, h / w]), the convention every posekit lifter was trained with.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..camera import normalize_screen
from .detector import Detection, detect
from .gaps import fill_gaps, runs
from .mapping import blazepose_to_h36m
from .reader import Clip, read_video
from .sample import sample_path


def load_clip(video: str | Path | Clip | None = "", max_frames: int | None = None, max_side: int | None = 640) -> Clip:
    """A `Clip` from a path, an existing Clip, or "" / None for the sample clip."""
    if isinstance(video, Clip):
        return video
    path = sample_path() if video in ("", None, "sample") else Path(video)
    return read_video(path, max_frames=max_frames, max_side=max_side)


@dataclass
class Track2D:
    """The 2D track of one person: keypoints_px (T, 17, 2) pixels with gaps filled, confidence (T, 17) (0 in
    filled frames), found (T,) frames where the detector saw the person, notes for the user."""

    clip: Clip
    detection: Detection
    keypoints_px: np.ndarray
    confidence: np.ndarray
    found: np.ndarray
    notes: list[str] = field(default_factory=list)

    @property
    def keypoints(self) -> np.ndarray:
        """(T, 17, 2) screen-normalised with the video's resolution: the lifters' input."""
        return normalize_screen(self.keypoints_px, self.clip.width, self.clip.height).astype(np.float32)


def track_2d(clip: Clip, min_confidence: float = 0.5) -> Track2D:
    """Detect every frame, map to Human3.6M-17 and fill the frames where the person was lost."""
    return track_from_detection(clip, detect(clip.frames, min_confidence=min_confidence))


def track_from_detection(clip: Clip, det: Detection) -> Track2D:
    """Map a `Detection` of `clip` to Human3.6M-17 and fill the frames where the person was lost."""
    kp, conf = blazepose_to_h36m(det.landmarks, det.visibility)
    kp, conf = fill_gaps(kp, conf, det.found)
    notes = list(det.notes)
    gaps = runs(~det.found)
    if gaps:
        longest = max(b - a for a, b in gaps)
        notes.append(f"the detector lost the person in {int((~det.found).sum())} of {len(det.found)} frames "
                     f"({len(gaps)} gap{'s' if len(gaps) > 1 else ''}, the longest {longest} frames): those frames "
                     f"are interpolated and have confidence 0")
    return Track2D(clip, det, kp.astype(np.float32), conf.astype(np.float32), det.found.copy(), notes)


def as_dataset(track: Track2D, poses_3d: np.ndarray | None = None, fps: float | None = None):
    """The clip as a one-sequence `PoseDataset` (its test split), for `posekit.evaluation.evaluate` and
    `posekit.floors` when the true 3D is known (the sample clip); poses_3d (T, 17, 3) root-relative metres."""
    from ..camera import Camera
    from ..data.dataset import PoseDataset, Sequence
    from ..skeleton import H36M_17
    clip = track.clip
    w, h = clip.width, clip.height
    camera = Camera("video", w, h, np.array([w, w], float), np.array([w / 2, h / 2]))
    T = clip.num_frames
    poses = np.zeros((T, 17, 3), np.float32) if poses_3d is None else np.asarray(poses_3d, np.float32)
    seq = Sequence("video", Path(clip.source).stem, camera, 0, poses, np.zeros((T, 3), np.float32),
                   track.keypoints, confidence=track.confidence)
    return PoseDataset("video", [seq], H36M_17, fps=fps or clip.fps, test_subjects=("video",))


def video_lifter(method: str = "tcn", profile: str = "auto", checkpoint: str | Path | None = None, seed: int = 0,
                 retrain: bool | None = None):
    """A lifter for videos: the model of a `posekit train` checkpoint, or `method` trained on the synthetic
    detector-like 2D at `profile` (cached by the run cache)."""
    from .lifting import load_lifter, train_lifter
    if checkpoint:
        return load_lifter(checkpoint)
    model = train_lifter(method, profile, seed=seed, retrain=retrain).model
    model.method = method
    return model


@dataclass
class VideoResult:
    """2D track and lifted 3D of a clip: poses_3d (T, 17, 3) root-relative camera-frame metres."""

    track: Track2D
    poses_3d: np.ndarray
    method: str
    notes: list[str] = field(default_factory=list)

    def save(self, out: str | Path, max_frames: int = 300) -> dict[str, Path]:
        """Write poses.npz and index.html (the page needs no kernel and no network) into folder `out`."""
        from .page import write_page
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        t, clip = self.track, self.track.clip
        npz = out / "poses.npz"
        np.savez_compressed(npz, poses_3d=self.poses_3d, keypoints_2d_px=t.keypoints_px, keypoints_2d=t.keypoints,
                            confidence=t.confidence, found=t.found, landmarks_33=t.detection.landmarks,
                            fps=np.float32(clip.fps), width=clip.width, height=clip.height,
                            method=self.method, notes=json.dumps(self.notes))
        html = write_page(out / "index.html", self, max_frames=max_frames)
        return {"npz": npz, "html": html}


def lift_track(track: Track2D, model, flip_test: bool = True, method: str | None = None) -> VideoResult:
    """Lift a 2D track with a lifter (test-time flip on by default, as in every posekit evaluation)."""
    from .lifting import lift
    notes = list(track.notes)
    poses = lift(model, track.keypoints, track.clip.fps, track.clip.width, track.clip.height, flip_test, notes)
    return VideoResult(track, poses, method or getattr(model, "method", type(model).__name__), notes)


def analyse(video: str | Path | Clip | None = "", method: str = "tcn", profile: str = "auto",
            checkpoint: str | Path | None = None, seed: int = 0, retrain: bool | None = None,
            max_frames: int | None = None, max_side: int | None = 640) -> VideoResult:
    """The whole pipeline in one call (see the module docstring)."""
    clip = load_clip(video, max_frames=max_frames, max_side=max_side)
    track = track_2d(clip)
    return lift_track(track, video_lifter(method, profile, checkpoint, seed, retrain))
