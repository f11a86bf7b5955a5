"""Evaluation metrics for 3D pose (Human3.6M Protocols #1/#2 as in VideoPose3D's
`common/loss.py`; MPI-INF-3DHP PCK@150/AUC as its official `mpii_test_predictions.m` computes them).

All functions take predictions and targets of the same shape (..., J, 3) as numpy arrays or torch tensors and
refuse any other pair of shapes.

Unit convention (the one rule every metric follows): poses are in metres, posekit's unit inside models and
datasets. Distance metrics (MPJPE, P-MPJPE, N-MPJPE, MPJVE, `joint_errors`) return the unit of their input, so
metres in, metres out; multiply by 1000 (`to_mm`) to report millimetres, as `posekit.evaluation` does. PCK and AUC
have thresholds in millimetres and read their inputs in metres unless told `unit='mm'`; inputs whose scale
contradicts the stated unit (a human pose whose joints spread more than 20 units around its centre is not in
metres, one under 2 units is not in millimetres) are refused with a message naming the fix, never silently
scored as 0.
"""
from __future__ import annotations

from collections import defaultdict
from typing import Iterable, Mapping, Sequence

import numpy as np

try:
    import torch
except ImportError:  # pragma: no cover
    torch = None


def _np(x) -> np.ndarray:
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def _check(pred, target):
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} differs from target shape {tuple(target.shape)}")
    if pred.shape[-1] not in (2, 3):
        raise ValueError(f"expected poses (..., J, 3) or (..., J, 2), got shape {tuple(pred.shape)}")


def joint_errors(pred, target) -> np.ndarray:
    """Euclidean error of every joint, shape (..., J)."""
    pred, target = _np(pred), _np(target)
    _check(pred, target)
    return np.linalg.norm(pred - target, axis=-1)


def mpjpe(pred, target) -> float:
    """Protocol #1: mean per-joint position error, averaged over every pose and joint."""
    return float(joint_errors(pred, target).mean())


def mpjpe_torch(pred, target, weights=None):
    """Differentiable MPJPE (optionally joint-weighted, WMPJPE) for training losses; tensors (..., J, 3)."""
    if pred.shape != target.shape:
        raise ValueError(f"prediction shape {tuple(pred.shape)} differs from target shape {tuple(target.shape)}")
    err = torch.linalg.norm(pred - target, dim=-1)
    if weights is not None:
        if weights.shape[-1] != err.shape[-1]:
            raise ValueError(f"{weights.shape[-1]} joint weights for poses of {err.shape[-1]} joints")
        err = err * weights
    return err.mean()


def procrustes_align(pred, target) -> np.ndarray:
    """Similarity-align each pose of pred (N..., J, 3) to target: rotation (no reflection), scale, translation.

    The closed-form solution VideoPose3D uses for P-MPJPE: centre both, unit Frobenius norm, SVD of X0^T Y0.
    """
    pred, target = _np(pred), _np(target)
    _check(pred, target)
    shape = pred.shape
    p = pred.reshape(-1, shape[-2], shape[-1])
    t = target.reshape(-1, shape[-2], shape[-1])
    mu_t, mu_p = t.mean(1, keepdims=True), p.mean(1, keepdims=True)
    t0, p0 = t - mu_t, p - mu_p
    norm_t = np.sqrt((t0 ** 2).sum((1, 2), keepdims=True))
    norm_p = np.sqrt((p0 ** 2).sum((1, 2), keepdims=True))
    norm_t = np.maximum(norm_t, 1e-12)
    norm_p = np.maximum(norm_p, 1e-12)
    t0, p0 = t0 / norm_t, p0 / norm_p
    h = np.matmul(t0.transpose(0, 2, 1), p0)
    u, s, vt = np.linalg.svd(h)
    v = vt.transpose(0, 2, 1)
    r = np.matmul(v, u.transpose(0, 2, 1))
    sign = np.sign(np.linalg.det(r))[:, None]
    v[:, :, -1] *= sign
    s[:, -1] *= sign[:, 0]
    r = np.matmul(v, u.transpose(0, 2, 1))
    a = s.sum(1)[:, None, None] * norm_t / norm_p
    aligned = a * np.matmul(p - mu_p, r) + mu_t
    return aligned.reshape(shape)


def p_mpjpe(pred, target) -> float:
    """Protocol #2: MPJPE after per-pose Procrustes alignment with scale."""
    return mpjpe(procrustes_align(pred, target), target)


def n_mpjpe(pred, target) -> float:
    """Protocol #3: MPJPE after the per-pose optimal scale s = <gt, pred> / <pred, pred>."""
    pred, target = _np(pred), _np(target)
    _check(pred, target)
    num = (pred * target).sum((-1, -2), keepdims=True)
    den = np.maximum((pred * pred).sum((-1, -2), keepdims=True), 1e-12)
    return mpjpe(num / den * pred, target)


def mpjve(pred, target, axis: int = -3) -> float:
    """Mean per-joint velocity error: first differences along time (axis -3 of (..., T, J, 3))."""
    pred, target = _np(pred), _np(target)
    _check(pred, target)
    if pred.ndim < 3 or pred.shape[axis] < 2:
        raise ValueError(f"mpjve needs a time axis with at least 2 frames, got shape {pred.shape}")
    return mpjpe(np.diff(pred, axis=axis), np.diff(target, axis=axis))


PCK_THRESHOLD_MM = 150.0
AUC_THRESHOLDS_MM = np.arange(0, 151, 5, dtype=np.float64)  # 0:5:150, 31 values


def pck(pred, target, threshold: float = PCK_THRESHOLD_MM, joints: Sequence[int] | None = None,
        unit: str = "m") -> float:
    """Percentage of joints with error strictly below `threshold` millimetres (MPI-INF-3DHP PCK@150).

    `joints` restricts the joints counted; the official kit counts 14 joints (see `skeleton.MPI3DHP_PCK_JOINTS`
    in 3DHP order, or `PCK_JOINTS_H36M` for H36M-ordered arrays). `unit` is the unit of the inputs: 'm' or 'mm'.
    """
    err = _errors_mm(pred, target, unit, joints)
    return float(100.0 * (err < threshold).mean())


def auc(pred, target, thresholds: Iterable[float] = AUC_THRESHOLDS_MM, joints: Sequence[int] | None = None,
        unit: str = "m") -> float:
    """Area under the PCK curve over thresholds 0..150 mm step 5, as a percentage (mean of the PCK curve)."""
    err = _errors_mm(pred, target, unit, joints)
    return float(100.0 * np.mean([(err < t).mean() for t in thresholds]))


# Scale of a human pose: the median over poses of the RMS distance of its joints from their centre (about 0.3-0.5
# in metres, 300-500 in millimetres). Beyond these bounds the stated unit cannot be right.
MAX_SCALE_METRES, MIN_SCALE_MILLIMETRES = 20.0, 2.0


def pose_scale(poses) -> float:
    """Median over poses of the RMS joint distance from the pose's centre, in the poses' unit ((..., J, 3))."""
    p = _np(poses)
    p = p.reshape(-1, *p.shape[-2:])
    centred = p - p.mean(-2, keepdims=True)
    return float(np.median(np.sqrt((centred ** 2).sum(-1).mean(-1)))) if len(p) else 0.0


def _errors_mm(pred, target, unit: str, joints) -> np.ndarray:
    """Joint errors in millimetres for PCK/AUC, after checking that the inputs' scale fits `unit`."""
    if unit not in ("m", "mm"):
        raise ValueError(f"unit must be 'm' or 'mm', got {unit!r}")
    err = joint_errors(pred, target)
    scale = pose_scale(target) or pose_scale(pred)
    if unit == "m" and scale > MAX_SCALE_METRES:
        raise ValueError(f"PCK/AUC inputs look like millimetres (pose scale {scale:.0f}) but unit='m'; pass "
                         f"unit='mm' or divide the poses by 1000")
    if unit == "mm" and 0 < scale < MIN_SCALE_MILLIMETRES:
        raise ValueError(f"PCK/AUC inputs look like metres (pose scale {scale:.3f}) but unit='mm'; pass unit='m' "
                         f"or multiply the poses by 1000")
    if joints is not None:
        joints = list(joints)
        if joints and max(joints) >= err.shape[-1]:
            raise ValueError(f"joint index {max(joints)} out of range for poses of {err.shape[-1]} joints")
        err = err[..., joints]
    return err * (1000.0 if unit == "m" else 1.0)


# The 14 joints of the official 3DHP PCK in Human3.6M order: all but Hip (root), Spine and Neck/Nose (3DHP 'head').
PCK_JOINTS_H36M = (1, 2, 3, 4, 5, 6, 8, 10, 11, 12, 13, 14, 15, 16)


def action_group(action: str) -> str:
    """Human3.6M groups action variants by the first word: 'Directions 1' -> 'Directions'."""
    return action.split(" ")[0].split("_")[0]


def per_action(errors: Mapping[str, Sequence[float]] | Iterable[tuple[str, float, int]]) -> dict[str, float]:
    """Frame-weighted mean per action group, plus 'Average' = the unweighted mean over the groups.

    `errors` is either {action: [per-frame errors...]} or an iterable of (action, mean_error, n_frames).
    This is the Human3.6M protocol: pool cameras, subjects and variants within an action, then average actions.
    """
    sums, counts = defaultdict(float), defaultdict(int)
    items = errors.items() if isinstance(errors, Mapping) else None
    if items is not None:
        for action, values in items:
            values = np.asarray(values, dtype=np.float64)
            sums[action_group(action)] += float(values.sum())
            counts[action_group(action)] += int(values.size)
    else:
        for action, mean, n in errors:
            sums[action_group(action)] += float(mean) * n
            counts[action_group(action)] += int(n)
    table = {a: sums[a] / counts[a] for a in sorted(sums) if counts[a] > 0}
    if table:
        table["Average"] = float(np.mean(list(table.values())))
    return table


def to_mm(x):
    """Metres to millimetres for floats, dicts of floats, or arrays."""
    if isinstance(x, Mapping):
        return {k: to_mm(v) for k, v in x.items()}
    return x * 1000.0
