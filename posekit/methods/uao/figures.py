"""What the UAO notebook draws: the four adjacency subsets of GUMLP's skeleton graph, the calibration of the predicted
per-joint uncertainty against the actual error, one sample's test-time optimisation (2D reprojection before and
after, 3D error per iteration) and the iteration sweep of the TTO arms against the direct prediction.

matplotlib is imported inside the functions, so importing the package stays light. Each function returns a
`matplotlib.figure.Figure` that pyplot does not keep: a notebook shows it once, as the cell's value."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np

from ...camera import Camera, image_coordinates
from ...skeleton import H36M_17, Skeleton
from .model import SUBSETS

# the notebook's arms (posekit.methods.uao.predict_tto weightings); any other label gets the next default colour
ARM_STYLES = {"projection only": dict(color="tab:red"), "constant anchor": dict(color="tab:orange"),
              "UAO": dict(color="tab:blue", lw=2.5), "UAO, GT root (privileged)": dict(color="tab:blue", ls=":")}


def adjacency_figure(adjacency: np.ndarray, skeleton: Skeleton = H36M_17, subsets: Sequence[str] = SUBSETS):
    """The K subsets A[k, j, i] of `uao_adjacency` as J x J heatmaps on one colour scale (row: sending joint j,
    column: receiving joint i)."""
    import matplotlib.pyplot as plt
    a = np.asarray(adjacency)
    names = skeleton.joint_names
    if a.ndim != 3 or a.shape[1:] != (len(names), len(names)) or len(subsets) != len(a):
        raise ValueError(f"adjacency must be (K, {len(names)}, {len(names)}) with one subset name per k, "
                         f"got {a.shape} and {len(subsets)} names")
    fig, axes = plt.subplots(1, len(a), figsize=(3.5 * len(a), 3.6), squeeze=False)
    plt.close(fig)
    for k, ax in enumerate(axes[0]):
        ax.imshow(a[k], cmap="viridis", vmin=0, vmax=a.max())
        ax.set_title(f"A[{k}]: {subsets[k]}")
        ax.set_xticks(range(len(names)), names, rotation=90, fontsize=6)
        ax.set_yticks(range(len(names)), names if k == 0 else [], fontsize=6)
        ax.set_xlabel("receiving joint i")
        ax.grid(False)
    axes[0][0].set_ylabel("sending joint j")
    fig.suptitle("Column-normalised adjacency A[k, j, i], split by hop distance to the spine", y=1.02)
    fig.tight_layout()
    return fig


def calibration(sigma: np.ndarray, error: np.ndarray, bins: int = 10) -> dict:
    """How well a predicted per-joint uncertainty tracks the actual error.

    sigma, error: (N, J) in one unit (leave out joints whose error is 0 by construction, such as the root).
    Returns Spearman's rank correlation over all (frame, joint) pairs ('rho') and over the per-joint means
    ('rho_joint'), and the mean sigma and mean error of each of `bins` quantile bins of sigma ('bin_sigma',
    'bin_error'), which lie on the diagonal when the uncertainty is calibrated.
    """
    from scipy.stats import spearmanr
    s, e = np.asarray(sigma), np.asarray(error)
    if s.ndim != 2 or s.shape != e.shape:
        raise ValueError(f"sigma and error must both be (N, J), got {s.shape} and {e.shape}")
    edges = np.quantile(s, np.linspace(0, 1, bins + 1))
    which = np.clip(np.digitize(s.ravel(), edges[1:-1]), 0, bins - 1)
    return {"rho": float(spearmanr(s.ravel(), e.ravel()).statistic),
            "rho_joint": float(spearmanr(s.mean(0), e.mean(0)).statistic),
            "bin_sigma": np.array([s.ravel()[which == b].mean() for b in range(bins)]),
            "bin_error": np.array([e.ravel()[which == b].mean() for b in range(bins)])}


def calibration_figure(sigma: np.ndarray, error: np.ndarray, joint_names: Sequence[str], bins: int = 10,
                       label: str = "GUMLP", unit: str = "mm"):
    """Calibration plot (mean actual error per quantile bin of the predicted sigma, against the diagonal) and the
    per-joint means, each titled with its Spearman correlation (`calibration`). sigma, error: (N, J) in `unit`,
    one name per column in `joint_names`."""
    import matplotlib.pyplot as plt
    if len(joint_names) != np.shape(sigma)[-1]:
        raise ValueError(f"{len(joint_names)} joint names for {np.shape(sigma)[-1]} columns of sigma")
    c = calibration(sigma, error, bins)
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    plt.close(fig)
    top = max(c["bin_sigma"].max(), c["bin_error"].max()) * 1.1
    a1.plot([0, top], [0, top], color="0.6", ls="--", label="perfect calibration")
    a1.plot(c["bin_sigma"], c["bin_error"], "o-",
            label=f"{label} ({'deciles' if bins == 10 else f'{bins} quantile bins'} of sigma)")
    a1.set(xlabel=f"predicted sigma = exp(s) ({unit})", ylabel=f"actual mean error ({unit})",
           title=f"calibration, Spearman rho = {c['rho']:.2f} over (frame, joint)")
    a1.legend()
    s_joint, e_joint = np.asarray(sigma).mean(0), np.asarray(error).mean(0)
    a2.scatter(s_joint, e_joint)
    for j, name in enumerate(joint_names):
        a2.annotate(name, (s_joint[j], e_joint[j]), fontsize=7)
    a2.set(xlabel=f"mean predicted sigma ({unit})", ylabel=f"mean error ({unit})",
           title=f"per joint, Spearman rho = {c['rho_joint']:.2f}")
    fig.tight_layout()
    return fig


def tto_sample_figure(target_2d: np.ndarray, exact_2d: np.ndarray, reprojection: np.ndarray,
                      errors: Mapping[str, Sequence[float]], camera: Camera, skeleton: Skeleton = H36M_17):
    """One sample's test-time optimisation: UAO's 2D reprojection at iteration 0 and after the last iteration,
    drawn in pixels against the detector 2D it fits and the exact 2D, and each run's 3D error per iteration.

    target_2d, exact_2d: (J, 2) screen-normalised; reprojection: (S + 1, J, 2), one per iteration 0..S;
    errors: {run label: S + 1 values of the frame's MPJPE in mm}.
    """
    import matplotlib.pyplot as plt
    reprojection = np.asarray(reprojection)
    if reprojection.ndim != 3 or len(reprojection) < 2:
        raise ValueError(f"reprojection must be (S + 1, J, 2) with S >= 1 iterations, got {reprojection.shape}")
    steps = len(reprojection) - 1
    fig, axes = plt.subplots(1, 3, figsize=(14, 4.8), gridspec_kw=dict(width_ratios=[1, 1, 2.2]))
    plt.close(fig)
    panels = (("before (iteration 0)", reprojection[0]), (f"after {steps} iterations", reprojection[-1]))
    for ax, (title, points) in zip(axes[:2], panels):
        for label, kp, style in (("detector 2D (target)", target_2d, dict(color="tab:red", ls="--")),
                                 ("exact 2D", exact_2d, dict(color="0.5", ls=":")),
                                 ("UAO reprojection", points, dict(color="tab:blue"))):
            q = image_coordinates(np.asarray(kp, dtype=np.float64), camera.res_w, camera.res_h)
            for child, parent in skeleton.bones:
                ax.plot(q[[child, parent], 0], q[[child, parent], 1], **style, lw=1.6)
            ax.plot([], [], **style, label=label)
        ax.invert_yaxis()
        ax.set_aspect("equal")
        ax.set_title(f"2D reprojection {title}")
        ax.legend(fontsize=7)
    for label, e in errors.items():
        axes[2].plot(range(len(e)), e, "o-", ms=3, label=label)
    axes[2].set(xlabel="iteration", ylabel="MPJPE of this frame (mm)", title="3D error along the optimisation")
    axes[2].legend()
    fig.tight_layout()
    return fig


def iteration_sweep_figure(gains: Mapping[str, Mapping[str, np.ndarray]], iterations: Sequence[int],
                           paper_iterations: int = 4, titles: Mapping[str, str] | None = None):
    """MPJPE lowered against the direct prediction (mm, higher is better) over the number of TTO iterations, one
    panel per domain.

    gains: {domain: {arm: (seeds, len(iterations)) paired differences direct - arm, per seed}}. The line is the
    mean over seeds, the band mean ± std (ddof=1; no band with one seed). A vertical line marks the paper's
    number of iterations; titles: {domain: panel title} (default: the domain).
    """
    import matplotlib.pyplot as plt
    iterations = list(iterations)
    fig, axes = plt.subplots(1, len(gains), figsize=(7 * len(gains), 4.6), squeeze=False)
    plt.close(fig)
    for ax, (domain, arms) in zip(axes[0], gains.items()):
        for n, (arm, g) in enumerate(arms.items()):
            g = np.asarray(g, dtype=np.float64)
            if g.ndim != 2 or g.shape[1] != len(iterations):
                raise ValueError(f"{domain}/{arm}: gains must be (seeds, {len(iterations)}), got {g.shape}")
            style = ARM_STYLES.get(arm, dict(color=f"C{n}"))
            mean = g.mean(0)
            ax.plot(iterations, mean, marker="o", ms=3, label=arm, **style)
            if len(g) > 1:
                std = g.std(0, ddof=1)
                ax.fill_between(iterations, mean - std, mean + std, color=style["color"], alpha=0.12)
        ax.axhline(0, color="0.4", ls="--", lw=1, label="direct prediction")
        ax.axvline(paper_iterations, color="0.7", lw=1)
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xticks(iterations, [str(k) for k in iterations])
        ax.set_xlim(0, max(iterations) * 1.1)
        ax.set(xlabel=f"TTO iterations (paper: {paper_iterations})",
               ylabel="MPJPE lowered vs direct (mm, higher is better)", title=(titles or {}).get(domain, domain))
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


__all__ = ["ARM_STYLES", "adjacency_figure", "calibration", "calibration_figure", "tto_sample_figure",
           "iteration_sweep_figure"]
