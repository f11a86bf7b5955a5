"""BlazePose's 33 landmarks -> the Human3.6M 17 joints posekit's lifters take (`posekit.skeleton.H36M_17` order).

BlazePose (Bazarevsky et al., CVPR Workshop 2020, Fig. 4; mediapipe's `PoseLandmark` enum) marks the face
(nose, eyes, ears, mouth), shoulders, elbows, wrists, hands, hips, knees, ankles, heels and toes. Human3.6M's
joints are partly inside the body, so five are derived:

- pelvis (0)        = midpoint of the hips (23, 24);
- thorax (8)        = midpoint of the shoulders (11, 12);
- spine (7)         = midpoint of pelvis and thorax (Human3.6M's spine joint sits half-way up the torso: 0.23 m
                      of the 0.48 m from pelvis to thorax in posekit's body, `posekit.data.motion.REST_OFFSETS`);
- neck/nose (9)     = the nose (0);
- head top (10)     = midpoint of the ears (7, 8) moved away from the thorax by half the thorax-to-ears distance
                      (the crown is about as far above the ears as half the neck and lower head below them).

The others are direct: hips 23/24, knees 25/26, ankles 27/28, shoulders 11/12, elbows 13/14, wrists 15/16, with
BlazePose's left (the person's left) to Human3.6M's left. A joint's confidence is its landmark's visibility; a
derived joint's is the smallest of the visibilities it is made of.
"""
from __future__ import annotations

import numpy as np

BLAZEPOSE_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner", "right_eye", "right_eye_outer",
    "left_ear", "right_ear", "mouth_left", "mouth_right", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky", "left_index", "right_index",
    "left_thumb", "right_thumb", "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index")
# H36M_17 joint -> BlazePose landmarks averaged for it (a single index: a direct joint)
DIRECT = {1: 24, 2: 26, 3: 28, 4: 23, 5: 25, 6: 27, 9: 0, 11: 11, 12: 13, 13: 15, 14: 12, 15: 14, 16: 16}
HEAD_TOP_EXTENSION = 0.5


def blazepose_to_h36m(landmarks: np.ndarray, visibility: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """landmarks (..., 33, D) (D = 2 or 3), visibility (..., 33) -> joints (..., 17, D), confidence (..., 17)."""
    lm = np.asarray(landmarks, dtype=np.float64)
    if lm.ndim < 2 or lm.shape[-2] != 33 or lm.shape[-1] not in (2, 3):
        raise ValueError(f"landmarks must be (..., 33, 2) or (..., 33, 3) BlazePose landmarks, got {lm.shape}")
    vis = np.ones(lm.shape[:-1]) if visibility is None else np.asarray(visibility, dtype=np.float64)
    if vis.shape != lm.shape[:-1]:
        raise ValueError(f"visibility must be {lm.shape[:-1]} (one per landmark), got {vis.shape}")
    out = np.empty(lm.shape[:-2] + (17, lm.shape[-1]))
    conf = np.empty(lm.shape[:-2] + (17,))
    for j, i in DIRECT.items():
        out[..., j, :], conf[..., j] = lm[..., i, :], vis[..., i]
    out[..., 0, :] = (lm[..., 23, :] + lm[..., 24, :]) / 2
    conf[..., 0] = np.minimum(vis[..., 23], vis[..., 24])
    out[..., 8, :] = (lm[..., 11, :] + lm[..., 12, :]) / 2
    conf[..., 8] = np.minimum(vis[..., 11], vis[..., 12])
    out[..., 7, :] = (out[..., 0, :] + out[..., 8, :]) / 2
    conf[..., 7] = np.minimum(conf[..., 0], conf[..., 8])
    ears = (lm[..., 7, :] + lm[..., 8, :]) / 2
    out[..., 10, :] = ears + HEAD_TOP_EXTENSION * (ears - out[..., 8, :])
    conf[..., 10] = np.minimum.reduce([vis[..., 7], vis[..., 8], conf[..., 8]])
    return out, conf
