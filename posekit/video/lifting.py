"""Lifting a video's 2D track to 3D with a posekit lifter trained on detector-like synthetic 2D.

`train_lifter` trains a registered lifter on the embedded `synth` data with its detector-like 2D (errors and
confidences shaped like a real detector's, `posekit.data.detector`) through `posekit.experiment.run_arm`, at a
profile's budget, so that the run cache keeps it and the next call reloads it. `load_lifter` rebuilds the model of
a `posekit train` checkpoint instead. `lift` runs a model over a whole clip with the evaluation's windowing and
test-time flip (`posekit.evaluation.predict`): the same convention as every posekit results table.

The synthetic data is seen at 50 / downsample frames per second (25 fps at the smoke and cpu profiles); a video
at another rate is resampled in time to the model's rate (linear interpolation) and the 3D resampled back.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..skeleton import H36M_17


def train_lifter(method: str = "tcn", profile: str = "auto", seed: int = 0, data: str = "synth",
                 retrain: bool | None = None):
    """Train (or reload from the run cache) `method` on `data`'s detector-like 2D; returns the experiment Arm
    (its .model is the lifter, .result its score on the profile's synthetic test split, flip-test on).
    retrain: True trains afresh, None follows $POSEKIT_RETRAIN (`posekit.experiment.run_arm`)."""
    from ..data import load_dataset
    from ..experiment import run_arm
    from ..profiles import get_profile
    from ..train import prepare_data
    budget = get_profile(profile)
    train, test = prepare_data(load_dataset(data, keypoints="det"), budget)
    arm = run_arm(method, train, test, budget, seed, retrain=retrain)
    arm.model.data_fps = 50.0 / budget.downsample
    return arm


def load_lifter(checkpoint: str | Path, fps: float | None = None):
    """The lifter saved by `posekit train` in model.pt (17 Human3.6M joints); fps: the frame rate it was trained
    at (default: 50 / the downsample of the profile on its run card)."""
    from ..checkpoints import build_for, read_checkpoint
    from ..profiles import get_profile
    state = read_checkpoint(Path(checkpoint))
    method = state.get("method")
    if not method:
        raise ValueError(f"{checkpoint} names no method: pass a model.pt written by posekit train")
    if state.get("joints", 17) != 17:
        raise ValueError(f"{checkpoint} predicts {state['joints']} joints; a video is lifted on the 17 Human3.6M "
                         f"joints: train on synth or h36m")
    model = build_for(method, state.get("config", "cpu"), state.get("frames"))
    try:
        model.load_state_dict(state["model"])
    except RuntimeError as exc:
        raise ValueError(f"{checkpoint} does not fit a {method} at configuration {state.get('config')!r}: "
                         f"{str(exc).splitlines()[0]}") from None
    run = state.get("run", {})
    model.data_fps = fps or 50.0 / get_profile(run.get("profile") or state.get("config", "cpu")).downsample
    model.method = method
    return model


def resample(x: np.ndarray, fps_from: float, fps_to: float, length: int | None = None) -> np.ndarray:
    """A track (T, ...) sampled at fps_from -> the same time span at fps_to (linear interpolation per value)."""
    T = len(x)
    n = length if length is not None else max(1, int(round((T - 1) * fps_to / fps_from)) + 1)
    t_new = np.arange(n) * fps_from / fps_to
    flat = x.reshape(T, -1)
    out = np.stack([np.interp(t_new, np.arange(T), flat[:, k]) for k in range(flat.shape[1])], -1)
    return out.reshape((n,) + x.shape[1:]).astype(x.dtype)


def lift(model, keypoints: np.ndarray, fps: float, width: int, height: int, flip_test: bool = True,
         notes: list[str] | None = None) -> np.ndarray:
    """Screen-normalised 2D (T, 17, 2) at `fps` -> root-relative 3D (T, 17, 3) metres in the camera frame
    (x right, y down, z forward). Notes about padding or resampling are appended to `notes`."""
    from ..camera import Camera
    from ..data.dataset import PoseDataset, Sequence
    from ..evaluation import predict
    notes = [] if notes is None else notes
    kp = np.asarray(keypoints, dtype=np.float32)
    if kp.ndim != 3 or kp.shape[1:] != (17, 2) or not np.isfinite(kp).all():
        raise ValueError(f"keypoints must be finite (T, 17, 2) screen-normalised 2D, got {kp.shape}")
    model_fps = float(getattr(model, "data_fps", fps))
    T = len(kp)
    if abs(fps - model_fps) > 0.1 * model_fps:
        kp = resample(kp, fps, model_fps)
        notes.append(f"the video has {fps:g} fps and the lifter was trained at {model_fps:g} fps: the 2D track was "
                     f"resampled to {model_fps:g} fps for lifting ({T} -> {len(kp)} frames) and the 3D back")
    field = int(model.receptive_field)
    if len(kp) < field:
        notes.append(f"the clip has {len(kp)} frames, fewer than the {field}-frame receptive field of the lifter: "
                     f"it was padded by repeating its first and last frames, so its 3D rests partly on repeated "
                     f"frames; a clip of at least {field / model_fps:.1f} s avoids this")
    camera = Camera("video", width, height, np.array([width, width], float), np.array([width / 2, height / 2]))
    seq = Sequence("video", "clip", camera, 0, np.zeros((len(kp), 17, 3), np.float32),
                   np.zeros((len(kp), 3), np.float32), kp)
    pred = predict(model, PoseDataset("video", [seq], H36M_17, fps=model_fps), flip_test=flip_test,
                   device="cpu")[seq.name]
    if len(pred) != T:
        pred = resample(pred, model_fps, fps, length=T)
    return pred.astype(np.float32)
