"""Evaluation: predict every test frame once and score it (errors in millimetres).

`evaluate(model, dataset)` runs the Human3.6M protocol on a `PoseDataset` of keypoint sequences: every test frame
predicted once (optionally averaged with the prediction of the mirrored input), the predicted root set to 0 like the
target's, errors pooled per action and averaged over actions (Protocol #1 MPJPE, #2 P-MPJPE, N-MPJPE, MPJVE, and
PCK@150 / AUC over the 14 joints of the MPI-INF-3DHP convention). Any other *batch source* (see `posekit.train`) is
scored batch by batch: the same errors without actions and velocities.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from . import metrics
from .data.dataset import PoseDataset
from .data.samplers import edge_index, eval_chunk_starts
from .nn.contract import pose_of
from .skeleton import flip_poses


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available; use device='cpu' or 'auto'")
    return torch.device(device)


def is_batch_source(data) -> bool:
    """True for anything with `batches()` and `num_batches()` (the data contract of `posekit.train.fit`)."""
    return callable(getattr(data, "batches", None)) and callable(getattr(data, "num_batches", None))


@dataclass
class EvalResult:
    """Errors in millimetres. per_action: {action: MPJPE} plus 'Average' (the protocol's number)."""

    mpjpe: float
    p_mpjpe: float
    n_mpjpe: float
    mpjve: float
    pck: float
    auc: float
    per_action: dict
    per_action_p_mpjpe: dict
    per_joint: np.ndarray
    frames: int
    seconds: float
    predictions: dict | None = None

    def summary(self) -> dict:
        return {"MPJPE": self.mpjpe, "P-MPJPE": self.p_mpjpe, "N-MPJPE": self.n_mpjpe, "MPJVE": self.mpjve,
                "PCK": self.pck, "AUC": self.auc}

    def __repr__(self) -> str:
        return (f"EvalResult(MPJPE {self.mpjpe:.1f} mm, P-MPJPE {self.p_mpjpe:.1f} mm, N-MPJPE {self.n_mpjpe:.1f} mm, "
                f"MPJVE {self.mpjve:.2f} mm, PCK {self.pck:.1f}, AUC {self.auc:.1f}, {self.frames} frames)")


@torch.no_grad()
def predict(model: nn.Module, dataset: PoseDataset, flip_test: bool = True, batch_size: int = 256,
            device: str | torch.device = "auto") -> dict[str, np.ndarray]:
    """Predict every frame of every sequence once: {sequence name: (T, J, 3) metres, root joint set to 0}.

    Sequence models see non-overlapping clips from frame 0 (the last edge-padded, padded frames dropped); centre
    models see one window per frame. flip_test averages with the un-flipped prediction of the mirrored input.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    model.eval().to(device)
    frames, mode = model.receptive_field, model.output
    out = {}
    for seq in dataset:
        length = seq.num_frames
        if mode == "sequence":
            starts = eval_chunk_starts(length, frames)
        else:
            starts = np.arange(length) - (frames - 1) // 2
        idx = edge_index(starts, frames, np.full(len(starts), length))
        preds = []
        for i in range(0, len(idx), batch_size):
            x = torch.from_numpy(seq.keypoints_2d[idx[i:i + batch_size]]).to(device)
            y = pose_of(model(x)).float()
            if flip_test:
                yf = flip_poses(pose_of(model(flip_poses(x, dataset.skeleton))).float(), dataset.skeleton)
                y = (y + yf) / 2
            preds.append(y.cpu().numpy())
        pred = np.concatenate(preds)
        pred = pred.reshape(-1, *pred.shape[2:])[:length] if mode == "sequence" else pred[:, 0]
        pred[:, dataset.skeleton.root] = 0.0
        check_finite_predictions(pred, seq.name, seq.keypoints_2d)
        out[seq.name] = pred
    return out


def check_finite_predictions(pred: np.ndarray, name: str, inputs: np.ndarray | None = None) -> None:
    """The evaluation's NaN guard, like the training loop's: refuse NaN/inf predictions with one clear message."""
    bad = ~np.isfinite(pred.reshape(len(pred), -1)).all(1)
    if bad.any():
        finite_in = "unknown" if inputs is None else bool(np.isfinite(inputs).all())
        raise FloatingPointError(
            f"the model predicted NaN/inf for {int(bad.sum())} of {len(pred)} frames of {name} (inputs finite: "
            f"{finite_in}); its weights have diverged: retrain with a lower learning rate (--lr) or gradient "
            f"clipping, or evaluate an earlier checkpoint")


def evaluate(model: nn.Module | None, dataset, flip_test: bool = True, batch_size: int = 256,
             device: str | torch.device = "auto", predictions: dict | None = None,
             with_predictions: bool = True) -> EvalResult:
    """MPJPE, P-MPJPE, N-MPJPE, MPJVE, PCK@150 and AUC (mm, %), per action and per joint, on `dataset`.

    Pass `predictions` ({sequence name: (T, J, 3)}) to score them without a model. Frames with `valid` False
    are left out. PCK/AUC use the 14 joints of the MPI-INF-3DHP protocol. A batch source that is not a PoseDataset
    is scored by `evaluate_batches`.
    """
    if not isinstance(dataset, PoseDataset) and is_batch_source(dataset):
        return evaluate_batches(model, dataset, batch_size, device)
    t0 = time.perf_counter()
    if predictions is None:
        predictions = predict(model, dataset, flip_test, batch_size, device)
    per_frame, per_frame_p, all_pred, all_gt, vel = {}, {}, [], [], []
    for seq in dataset:
        if seq.name not in predictions:
            raise KeyError(f"no prediction for sequence {seq.name}; predictions must cover every test sequence")
        pred, gt = np.asarray(predictions[seq.name]), seq.poses_3d
        if pred.shape != gt.shape:
            raise ValueError(f"prediction for {seq.name} has shape {pred.shape}, the ground truth {gt.shape}")
        check_finite_predictions(pred, seq.name)
        keep_all = np.ones(len(gt), bool) if seq.valid is None else seq.valid.astype(bool)
        if not np.isfinite(gt[keep_all]).all():
            raise ValueError(f"the ground truth of {seq.name} holds NaN/inf on frames to be scored; load the "
                             f"dataset with posekit's loaders, which refuse or mark such frames invalid")
        if seq.valid is not None:
            keep = seq.valid.astype(bool)
            if len(pred) > 1:
                vel.append((metrics.joint_errors(np.diff(pred, axis=0), np.diff(gt, axis=0))[keep[1:] & keep[:-1]]))
            pred, gt = pred[keep], gt[keep]
        elif len(pred) > 1:
            vel.append(metrics.joint_errors(np.diff(pred, axis=0), np.diff(gt, axis=0)))
        if len(gt) == 0:
            continue
        per_frame.setdefault(seq.action, []).append(metrics.joint_errors(pred, gt).mean(-1))
        aligned = metrics.procrustes_align(pred, gt)
        per_frame_p.setdefault(seq.action, []).append(metrics.joint_errors(aligned, gt).mean(-1))
        all_pred.append(pred)
        all_gt.append(gt)
    if not all_gt:
        raise ValueError(f"dataset {dataset.name!r} has no valid frames to evaluate")
    pred, gt = np.concatenate(all_pred), np.concatenate(all_gt)
    per_action = metrics.to_mm(metrics.per_action({a: np.concatenate(v) for a, v in per_frame.items()}))
    per_action_p = metrics.to_mm(metrics.per_action({a: np.concatenate(v) for a, v in per_frame_p.items()}))
    joints = metrics.PCK_JOINTS_H36M if dataset.skeleton.num_joints == 17 else None
    return EvalResult(
        mpjpe=per_action["Average"], p_mpjpe=per_action_p["Average"],
        n_mpjpe=1000 * metrics.n_mpjpe(pred, gt),
        mpjve=_mean_mm(vel),
        pck=metrics.pck(pred, gt, joints=joints), auc=metrics.auc(pred, gt, joints=joints),
        per_action=per_action, per_action_p_mpjpe=per_action_p,
        per_joint=1000 * metrics.joint_errors(pred, gt).mean(0), frames=len(gt),
        seconds=time.perf_counter() - t0, predictions=predictions if with_predictions else None)


def _mean_mm(parts: list[np.ndarray]) -> float:
    """Mean of the pooled values in millimetres; NaN when there are none (e.g. no two consecutive valid frames)."""
    values = np.concatenate([v.ravel() for v in parts]) if parts else np.zeros(0)
    return 1000 * float(values.mean()) if values.size else math.nan


def mean_pose_predictions(train: PoseDataset, test: PoseDataset) -> dict[str, np.ndarray]:
    """The trivial baseline: every test frame gets the mean root-relative training pose (camera frame)."""
    mean = np.concatenate([s.poses_3d for s in train]).mean(0)
    return {s.name: np.repeat(mean[None], s.num_frames, 0) for s in test}


@torch.no_grad()
def evaluate_batches(model: nn.Module, source, batch_size: int = 256, device: str | torch.device = "auto") -> EvalResult:
    """Score `model` on every item of a batch source once, in order, without augmentation: MPJPE, P-MPJPE, N-MPJPE,
    PCK and AUC over all items (targets root-relative metres, (B, T, J, 3)); no actions, no velocities."""
    device = resolve_device(device) if isinstance(device, str) else device
    t0 = time.perf_counter()
    model.eval().to(device)
    preds, gts = [], []
    for x, y in source.batches(batch_size):
        p = pose_of(model(x.to(device))).float().cpu()
        if p.shape != y.shape:
            raise ValueError(f"the model predicts {tuple(p.shape)} but the batch source's targets are {tuple(y.shape)}")
        check_finite_predictions(p.numpy(), f"batch {len(preds) + 1}", x.cpu().numpy())
        preds.append(p.reshape(-1, *p.shape[-2:]).numpy())
        gts.append(y.reshape(-1, *y.shape[-2:]).numpy())
    if not gts:
        raise ValueError("the batch source yielded no batches to evaluate")
    pred, gt = np.concatenate(preds), np.concatenate(gts)
    err = metrics.joint_errors(pred, gt)
    mpjpe = 1000 * float(err.mean())
    p_mpjpe = 1000 * float(metrics.joint_errors(metrics.procrustes_align(pred, gt), gt).mean())
    joints = metrics.PCK_JOINTS_H36M if gt.shape[1] == 17 else None
    return EvalResult(mpjpe=mpjpe, p_mpjpe=p_mpjpe, n_mpjpe=1000 * metrics.n_mpjpe(pred, gt), mpjve=math.nan,
                      pck=metrics.pck(pred, gt, joints=joints), auc=metrics.auc(pred, gt, joints=joints),
                      per_action={"Average": mpjpe}, per_action_p_mpjpe={"Average": p_mpjpe},
                      per_joint=1000 * err.mean(0), frames=len(gt), seconds=time.perf_counter() - t0)
