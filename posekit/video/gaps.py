"""Filling the frames where the detector lost the person; detected frames are never changed.

A gap (a run of frames without a person) between two detected frames is bridged by cubic Hermite interpolation
per coordinate: positions from the frames on either side, velocities from each side's last two detected frames,
so the bridge joins the track without a kink. Gaps at the start or the end hold the nearest detected frame.
Filled frames get confidence 0, so plots and lifters that read confidences can tell them apart.
"""
from __future__ import annotations

import numpy as np


def runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """[(start, stop)] of the runs of True in a 1-D mask (stop exclusive)."""
    m = np.concatenate([[False], np.asarray(mask, bool), [False]])
    edges = np.flatnonzero(np.diff(m.astype(np.int8)))
    return list(zip(edges[::2], edges[1::2]))


def fill_gaps(keypoints: np.ndarray, confidence: np.ndarray, found: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """keypoints (T, J, 2), confidence (T, J), found (T,) bool -> filled keypoints and confidences (copies)."""
    kp = np.array(keypoints, dtype=np.float64)
    conf = np.array(confidence, dtype=np.float64)
    found = np.asarray(found, bool)
    if kp.ndim != 3 or len(kp) != len(found) or conf.shape != kp.shape[:2]:
        raise ValueError(f"expected keypoints (T, J, 2), confidence (T, J) and found (T,), got {kp.shape}, "
                         f"{conf.shape}, {found.shape}")
    if not found.any():
        raise ValueError("no frame has a person: nothing to fill the gaps from")
    T = len(kp)
    for start, stop in runs(~found):
        conf[start:stop] = 0.0
        if start == 0:
            kp[start:stop] = kp[stop]
        elif stop == T:
            kp[start:stop] = kp[start - 1]
        else:
            a, b = start - 1, stop
            va = kp[a] - kp[a - 1] if a >= 1 and found[a - 1] else np.zeros_like(kp[a])
            vb = kp[b + 1] - kp[b] if b + 1 < T and found[b + 1] else np.zeros_like(kp[b])
            n = b - a
            s = (np.arange(start, stop) - a)[:, None, None] / n
            h00, h10 = 2 * s ** 3 - 3 * s ** 2 + 1, s ** 3 - 2 * s ** 2 + s
            h01, h11 = -2 * s ** 3 + 3 * s ** 2, s ** 3 - s ** 2
            kp[start:stop] = h00 * kp[a] + h10 * n * va + h01 * kp[b] + h11 * n * vb
    return kp, conf
