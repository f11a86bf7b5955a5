"""Reading and writing video files with OpenCV (its PyPI wheels bundle FFmpeg; part of the video extra).

`read_video` returns every frame as RGB uint8 with the clip's frame rate and size; a file that does not exist, is
not a video, or holds no decodable frame gives one error naming the file and what to do. Large videos can be
scaled down on reading (`max_side`) and cut (`max_frames`), which keeps the detector and the HTML page fast.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np


@dataclass
class Clip:
    """A decoded video: frames (T, H, W, 3) uint8 RGB, frames per second, the path it came from (or a label)."""

    frames: np.ndarray
    fps: float
    source: str = "array"

    @property
    def num_frames(self) -> int:
        return len(self.frames)

    @property
    def height(self) -> int:
        return int(self.frames.shape[1])

    @property
    def width(self) -> int:
        return int(self.frames.shape[2])


def _cv2():
    try:
        import cv2
    except ImportError:
        from .detector import install_hint
        raise ImportError(f"posekit.video reads videos with OpenCV, part of the video extra: {install_hint()}") \
            from None
    return cv2


def read_video(path: str | Path, max_frames: int | None = None, max_side: int | None = 640,
               default_fps: float = 25.0) -> Clip:
    """Decode a video file into a `Clip` (RGB). max_side: scale frames down so the longer side is at most this
    many pixels (None: keep the size); max_frames: keep the first frames only; default_fps when the file has none."""
    path = Path(path)
    if path.is_dir():
        raise IsADirectoryError(f"{path} is a folder, not a video file: pass a video such as clip.mp4")
    if not path.is_file():
        raise FileNotFoundError(f"video {path} not found: pass the path of a video file (mp4, mov, avi, webm)")
    cv2 = _cv2()
    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        if not capture.isOpened():
            raise ValueError(f"cannot read {path} as a video (not a video, or a codec OpenCV's FFmpeg lacks): "
                             f"convert it, e.g. ffmpeg -i {path.name} -c:v libx264 clip.mp4")
        fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0)
        while max_frames is None or len(frames) < max_frames:
            ok, bgr = capture.read()
            if not ok:
                break
            frames.append(cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB))
    finally:
        capture.release()
    if not frames:
        raise ValueError(f"{path} holds no frame that OpenCV can decode (empty, truncated or not a video): "
                         f"convert it, e.g. ffmpeg -i {path.name} -c:v libx264 clip.mp4")
    clip = Clip(np.stack(frames), fps if 1.0 <= fps <= 1000.0 else default_fps, str(path))
    return downscale(clip, max_side) if max_side else clip


def downscale(clip: Clip, max_side: int) -> Clip:
    """The clip scaled (area filter) so that its longer side is at most max_side pixels."""
    scale = max_side / max(clip.width, clip.height)
    if scale >= 1:
        return clip
    cv2 = _cv2()
    size = (max(1, round(clip.width * scale)), max(1, round(clip.height * scale)))
    frames = np.stack([cv2.resize(f, size, interpolation=cv2.INTER_AREA) for f in clip.frames])
    return Clip(frames, clip.fps, clip.source)


def write_video(path: str | Path, frames: np.ndarray, fps: float) -> Path:
    """Write RGB frames (T, H, W, 3) uint8 as an MPEG-4 Part 2 (mp4v) file, which OpenCV's wheels can encode."""
    cv2 = _cv2()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8:
        raise ValueError(f"frames must be (T, H, W, 3) uint8 RGB, got {frames.shape} {frames.dtype}")
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), float(fps),
                             (frames.shape[2], frames.shape[1]))
    if not writer.isOpened():
        raise OSError(f"OpenCV cannot write {path} (mp4v)")
    try:
        for f in frames:
            writer.write(cv2.cvtColor(f, cv2.COLOR_RGB2BGR))
    finally:
        writer.release()
    return path
