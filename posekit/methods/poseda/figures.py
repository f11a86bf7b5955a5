"""What the PoseDA notebook draws: the domain statistics of the supplement's Fig. S1 before and after GPA, and LPA's
training curves. matplotlib is imported inside the functions, so importing the package stays light."""
from __future__ import annotations

import numpy as np

from .lpa_training import LPAResult

def distribution_figure(groups: dict, bins: int = 60, title: str | None = None):
    """Overlaid histograms, one panel per quantity: groups = {label: {quantity: (N,) values}} (matplotlib Figure).

    With `domain_statistics` per label this is the supplement's Fig. S1 (2D scale, root x, root y); the legend
    gives each label's mean / std like the paper's figure.
    """
    import matplotlib.pyplot as plt
    keys = list(dict.fromkeys(k for g in groups.values() for k in g))
    fig, axes = plt.subplots(1, len(keys), figsize=(4.2 * len(keys), 3.3), squeeze=False)
    plt.close(fig)
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for ax, key in zip(axes[0], keys):
        series = {label: np.asarray(g[key], dtype=np.float64) for label, g in groups.items() if key in g}
        lo, hi = np.percentile(np.concatenate(list(series.values())), [0.5, 99.5])
        for i, (label, v) in enumerate(groups.items()):
            if key not in v:
                continue
            v = series[label]
            ax.hist(v, bins=np.linspace(lo, hi, bins), density=True, histtype="step", linewidth=1.6,
                    color=colours[i % len(colours)], label=f"{label}: {v.mean():.2f} / {v.std():.2f}")
        ax.set_title(key)
        ax.legend(fontsize=7, title="mean / std", title_fontsize=7)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def lpa_curves_figure(result: LPAResult, smooth: int = 10):
    """LPA's training: G and D losses, and the size of the transformations it learned (matplotlib Figure)."""
    import matplotlib.pyplot as plt
    c = result.curves()
    k = max(1, min(smooth, len(c["step"]) // 5))
    ma = lambda v: np.convolve(v, np.ones(k) / k, mode="valid")
    steps = c["step"][k - 1:]
    fig, axes = plt.subplots(1, 3, figsize=(12, 3.2))
    plt.close(fig)
    for key, label in (("loss_g", "G total"), ("adv_3d", "G adv. 3D"), ("adv_2d", "G adv. 2D"), ("loss_d", "D")):
        axes[0].plot(steps, ma(c[key]), label=label)
    axes[0].set(title="losses (moving average)", xlabel="generator step")
    axes[0].legend(fontsize=8)
    axes[1].plot(steps, ma(c["ba_deg"]), label="bone angle change (deg, mean over bones)")
    axes[1].plot(steps, ma(c["rot_deg"]), label="global rotation (deg)")
    axes[1].set(title="angles", xlabel="generator step")
    axes[1].legend(fontsize=8)
    axes[2].plot(steps, 100 * ma(c["blr_abs"]), color="C3")
    axes[2].set(title="|bone-length change| (%)", xlabel="generator step")
    fig.tight_layout()
    return fig
