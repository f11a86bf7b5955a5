"""Why the embedded data is built the way it is: the detector's error structure and the domains side by side.

`diagnose()` prints tables and draws one figure of
- the 2D error of the detector-like keypoints by joint, by occlusion, by joint speed (blur), and how the
  confidence follows the error (the structure `posekit.data.detector` builds in);
- domain statistics of synth / synth-3dhp / synth-3dhp-cams: the 2D scale and root position of PoseDA's Fig. S1
  (Chai et al., ICCV 2023, supplement), camera heights and tilts, the pose gap to the target and the pose
  diversity (principal components for 95 % of the variance);
- optionally the det / exact-2D MPJPE ratios of trained models (pass `results`).
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..camera import image_coordinates
from .dataset import PoseDataset
from .detector import detector_factors

OCCLUSION_BINS = (0.0, 0.1, 0.4, 0.7, 1.01)
BLUR_BINS = (0.0, 0.002, 0.005, 0.01, 0.02, 1.0)  # joint image speed x 10 ms / body height


def _pixels(seq, which):
    kp = seq.keypoints_2d if which == "det" else seq.keypoints_2d_gt
    return image_coordinates(kp.astype(np.float64), seq.camera.res_w, seq.camera.res_h)


def detector_errors(ds: PoseDataset, every: int = 4) -> dict[str, np.ndarray]:
    """Per joint and frame (N, J): 2D error (px and % of body height), occlusion, blur, confidence, for one
    sequence in `every` of a dataset loaded with keypoints='det' (it needs the exact 2D and cameras)."""
    keys = ("error_px", "error_pct", "occlusion", "blur", "foreshortening", "truncation", "confidence")
    out = {k: [] for k in keys}
    for seq in ds.sequences[::every]:
        if seq.keypoints_2d_gt is None:
            raise ValueError(f"{ds.name}: {seq.name} has no exact 2D to measure the detector against")
        det, gt = _pixels(seq, "det"), _pixels(seq, "gt")
        fac = detector_factors(seq.poses_3d_camera.astype(np.float64), gt, seq.camera, ds.fps)
        err = np.linalg.norm(det - gt, axis=-1)
        out["error_px"].append(err)
        out["error_pct"].append(100 * err / np.ptp(gt[..., 1], axis=1, keepdims=True))
        for k in ("occlusion", "blur", "foreshortening", "truncation"):
            out[k].append(fac[k])
        out["confidence"].append(np.ones_like(err) if seq.confidence is None else seq.confidence)
    return {k: np.concatenate(v) for k, v in out.items()}


def binned(values: np.ndarray, by: np.ndarray, bins) -> tuple[np.ndarray, np.ndarray]:
    """Mean of `values` in each bin of `by` (NaN where empty) and the bins' counts."""
    idx = np.digitize(by.ravel(), bins) - 1
    v = values.ravel()
    means = np.array([v[idx == b].mean() if (idx == b).any() else np.nan for b in range(len(bins) - 1)])
    return means, np.bincount(idx[(idx >= 0) & (idx < len(bins) - 1)], minlength=len(bins) - 1)


def _world_canonical(ds: PoseDataset, every: int = 1) -> np.ndarray:
    """Root-relative world poses (N, J, 3), one camera per take, rotated about the vertical so the hips face +x."""
    seen, poses = set(), []
    for seq in ds:
        key = (seq.subject, seq.action)
        if key in seen:
            continue
        seen.add(key)
        world = seq.camera.camera_to_world(seq.poses_3d_camera.astype(np.float64))[::every]
        world = world - world[:, :1]
        across = world[:, 4, :2] - world[:, 1, :2]  # right hip -> left hip
        yaw = np.arctan2(across[:, 1], across[:, 0]) - np.pi / 2
        c, s = np.cos(-yaw), np.sin(-yaw)
        x, y = world[..., 0], world[..., 1]
        poses.append(np.stack([c[:, None] * x - s[:, None] * y, s[:, None] * x + c[:, None] * y, world[..., 2]], -1))
    return np.concatenate(poses).astype(np.float32)


def pose_gap(reference: np.ndarray, query: np.ndarray, chunk: int = 512) -> float:
    """Mean over `query` poses of the MPJPE (mm) to the nearest `reference` pose (both (N, J, 3), canonical)."""
    import torch
    ref = torch.from_numpy(reference.reshape(len(reference), -1))
    out = []
    for i in range(0, len(query), chunk):
        q = torch.from_numpy(query[i:i + chunk].reshape(-1, ref.shape[1]))
        nearest = ref[torch.cdist(q, ref).argmin(1)].reshape(len(q), -1, 3)
        out.append((nearest - q.reshape(len(q), -1, 3)).norm(dim=-1).mean(-1))
    return 1000 * float(torch.cat(out).mean())


def components_for(poses: np.ndarray, share: float = 0.95) -> int:
    """Number of principal components holding `share` of the variance of the poses (N, J, 3)."""
    x = poses.reshape(len(poses), -1)
    s = np.linalg.svd(x - x.mean(0), compute_uv=False) ** 2
    return int(np.searchsorted(np.cumsum(s) / s.sum(), share) + 1)


def domain_statistics(ds: PoseDataset) -> dict[str, float]:
    """2D scale and root position (screen-normalised), camera heights / tilts, and pose diversity of a dataset."""
    kp = np.concatenate([s.keypoints_2d_gt if s.keypoints_2d_gt is not None else s.keypoints_2d for s in ds])
    scale = ((np.ptp(kp[..., 0], axis=1) + np.ptp(kp[..., 1], axis=1)) / 2)
    cams = {c.id: c for c in (s.camera for s in ds)}.values()
    heights = np.array([c.translation[2] for c in cams])
    axis = np.array([c.camera_to_world(np.array([[0, 0, 1.0]]))[0] - c.translation for c in cams])
    tilt = np.degrees(np.arcsin(-axis[:, 2] / np.linalg.norm(axis, axis=1)))
    poses = _world_canonical(ds, every=5)
    return {"2D scale mean": float(scale.mean()), "2D scale std": float(scale.std()),
            "root x std": float(kp[:, 0, 0].std()), "root y std": float(kp[:, 0, 1].std()),
            "camera height min (m)": float(heights.min()), "camera height max (m)": float(heights.max()),
            "camera tilt max (deg down)": float(tilt.max()), "PCs for 95 %": float(components_for(poses))}


def _table(rows: list[tuple], header: tuple) -> str:
    cells = [header] + [tuple(f"{c:.2f}" if isinstance(c, float) else str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = [" | ".join(c.ljust(w) for c, w in zip(r, widths)) for r in cells]
    return "\n".join([lines[0], "-|-".join("-" * w for w in widths), *lines[1:]])


def diagnose(names=("synth", "synth-3dhp", "synth-3dhp-cams"), root=None, seed: int = 0, out: str | Path | None = None,
             results: dict | None = None, every: int = 4):
    """Print the detector and domain tables and draw the figure (saved to `out` when given); returns the figure.

    results: optional {model: (MPJPE with detector 2D, MPJPE with exact 2D)} to show the det / exact ratios.
    """
    import matplotlib.pyplot as plt
    from . import load_dataset
    from ..skeleton import H36M_17
    datasets = {n: load_dataset(n, root=root, keypoints="det", seed=seed) for n in names}
    errs = {n: detector_errors(ds.test, every) for n, ds in datasets.items()}
    joint_names = list(H36M_17.joint_names)
    e0 = errs[names[0]]
    print(f"2D error of the detector-like keypoints ({names[0]}, test): {e0['error_px'].mean():.1f} px mean, "
          f"{e0['error_pct'].mean():.2f} % of body height; corr(confidence, error) "
          f"{np.corrcoef(e0['confidence'].ravel(), e0['error_px'].ravel())[0, 1]:.2f}")
    print(_table([(j, *(float(errs[n]["error_pct"][:, i].mean()) for n in names)) for i, j in enumerate(joint_names)],
                 ("joint (% of height)", *names)))
    occ = {n: binned(errs[n]["error_pct"], errs[n]["occlusion"], OCCLUSION_BINS)[0] for n in names}
    blur = {n: binned(errs[n]["error_pct"], errs[n]["blur"], BLUR_BINS)[0] for n in names}
    print(_table([(f"occlusion {a:.1f}-{b:.1f}", *(float(occ[n][i]) for n in names))
                  for i, (a, b) in enumerate(zip(OCCLUSION_BINS[:-1], OCCLUSION_BINS[1:]))], ("error % of height", *names)))
    print(_table([(f"blur {a:.3f}-{b:.3f}", *(float(blur[n][i]) for n in names))
                  for i, (a, b) in enumerate(zip(BLUR_BINS[:-1], BLUR_BINS[1:]))], ("error % of height", *names)))
    stats = {n: domain_statistics(ds) for n, ds in datasets.items()}
    src = _world_canonical(datasets[names[0]].train, every=5)
    for n, ds in datasets.items():
        stats[n]["pose gap to source train (mm)"] = pose_gap(src, _world_canonical(ds.test, every=10))
        stats[n]["2D error (% of height)"] = float(errs[n]["error_pct"].mean())
    print(_table([(k, *(stats[n][k] for n in names)) for k in stats[names[0]]], ("domain statistic", *names)))
    if results:
        print(_table([(m, d, g, d / g) for m, (d, g) in results.items()], ("model", "det MPJPE", "gt MPJPE", "ratio")))

    ncols = 5 if results else 4
    fig, ax = plt.subplots(1, ncols, figsize=(4.2 * ncols, 3.8))
    x = np.arange(len(joint_names))
    for k, n in enumerate(names):
        ax[0].bar(x + (k - 1) * 0.27, errs[n]["error_pct"].mean(0), 0.27, label=n)
    ax[0].set_xticks(x, joint_names, rotation=90, fontsize=7)
    ax[0].set_ylabel("2D error (% of body height)")
    ax[0].set_title("error by joint")
    ax[0].legend(fontsize=7)
    for n in names:
        ax[1].plot(0.5 * (np.array(OCCLUSION_BINS[:-1]) + OCCLUSION_BINS[1:]), occ[n], "o-", label=n)
        ax[2].plot(100 * np.array(BLUR_BINS[1:-1]), blur[n][:-1], "o-", label=n)
    ax[1].set_ylabel("2D error (% of body height)")
    ax[2].set_ylabel("2D error (% of body height)")
    ax[1].set_xlabel("occlusion (0 visible, 1 covered)")
    ax[1].set_title("error by occlusion")
    ax[2].set_xlabel("blur (% of body height per 10 ms)")
    ax[2].set_title("error by joint speed")
    for n in names:
        s = datasets[n]
        kp = np.concatenate([q.keypoints_2d_gt for q in s.test])
        ax[3].hist((np.ptp(kp[..., 0], axis=1) + np.ptp(kp[..., 1], axis=1)) / 2, bins=40, range=(0, 1.4),
                   histtype="step", density=True, label=n)
    ax[3].set_xlabel("2D scale (bbox (w + h) / 2, screen units)")
    ax[3].set_title("subject size in the image")
    ax[3].legend(fontsize=7)
    if results:
        m = list(results)
        ax[4].bar(np.arange(len(m)), [d / g for d, g in results.values()], color="C3")
        ax[4].set_xticks(np.arange(len(m)), m)
        ax[4].axhline(1.0, color="k", lw=0.5)
        ax[4].set_title("MPJPE detector 2D / exact 2D")
    fig.tight_layout()
    if out is not None:
        fig.savefig(out, dpi=110)
    return fig
