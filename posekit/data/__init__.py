"""Datasets: the embedded synthetic motion data, real-dataset loaders and clip samplers.

`load_dataset(name, root=None, keypoints='det')` is the one entry point; every loader returns a
`PoseDataset` (layout in `posekit.data.dataset`).
"""
from __future__ import annotations

from pathlib import Path

from .dataset import DatasetFileError, PoseDataset, Sequence

SYNTHETIC = ("synth", "synth-3dhp", "synth-3dhp-cams")


def load_dataset(name: str, root: str | Path | None = None, keypoints: str = "det", **kwargs) -> PoseDataset:
    """Load a dataset by name.

    name: 'synth', 'synth-3dhp' or 'synth-3dhp-cams' (embedded, generated and cached on first use; `root` is the
    cache folder),
    or a real dataset read from `root`: 'h36m', 'humaneva', '3dhp', '3dpw' (see data/README.md).
    keypoints: 'det' (detector-like or detected 2D) or 'gt' (exact projections); real datasets accept their
    own source names too (e.g. 'cpn_ft_h36m_dbb').
    """
    if name in SYNTHETIC:
        from .synthetic import load_synthetic
        return load_synthetic(name, root=root, keypoints=keypoints, **kwargs)
    if name in LOADERS:
        if root is None:
            raise ValueError(f"dataset {name!r} is read from files you provide: pass root=<folder> "
                             f"(see data/README.md for the files and layout)")
        return LOADERS[name](root, keypoints=keypoints, **kwargs)
    raise KeyError(f"unknown dataset {name!r}; known: {', '.join(SYNTHETIC + tuple(LOADERS))}")


def _h36m(root, keypoints="det", **kwargs):
    from .h36m import load_h36m
    return load_h36m(root, keypoints=keypoints, **kwargs)


def _humaneva(root, keypoints="det", **kwargs):
    from .humaneva import load_humaneva
    return load_humaneva(root, keypoints=keypoints, **kwargs)


def _gt_only(name, keypoints):
    """3DHP and 3DPW ship only ground-truth 2D in posekit's layout: 'det' falls back to 'gt' with a warning."""
    if keypoints == "det":
        import warnings
        warnings.warn(f"{name} has no detector 2D keypoints in posekit's layout; using the ground-truth 2D ('gt')",
                      stacklevel=3)
        return "gt"
    return keypoints


def _3dhp(root, keypoints="det", **kwargs):
    from .mpi3dhp import load_3dhp
    return load_3dhp(root, keypoints=_gt_only("MPI-INF-3DHP", keypoints), **kwargs)


def _3dpw(root, keypoints="det", **kwargs):
    from .pw3d import load_3dpw
    return load_3dpw(root, keypoints=_gt_only("3DPW", keypoints), **kwargs)


LOADERS = {
    "h36m": _h36m,
    "humaneva": _humaneva,
    "3dhp": _3dhp,
    "3dpw": _3dpw,
}

__all__ = ["load_dataset", "PoseDataset", "Sequence", "DatasetFileError", "LOADERS", "SYNTHETIC"]
