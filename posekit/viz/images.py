"""A grid of synthetic images with their labels drawn over them: joints, silhouette outline, class or part map."""
from __future__ import annotations

import numpy as np

from ..skeleton import H36M_17


def image_grid(images, joints_2d=None, silhouettes=None, label_maps=None, label_colors=None, columns: int = 8,
               titles=None, scale: float = 1.6):
    """matplotlib Figure: one column per image, rows = image (+ joints, silhouette outline) and label map.

    images (N, 3, H, W) or (N, H, W, 3) uint8; joints_2d (N, 17, 2) pixels (pixel centres at +0.5); silhouettes
    (N, H, W) bool; label_maps (N, H, W) ints drawn with `label_colors` ((L, 3) 0-255; default
    `posekit.body.CLASS_COLORS`) blended over the image.
    """
    import matplotlib.pyplot as plt
    imgs = np.asarray(images)
    if imgs.ndim != 4:
        raise ValueError(f"images must be (N, 3, H, W) or (N, H, W, 3), got shape {imgs.shape}")
    if imgs.shape[1] == 3:
        imgs = imgs.transpose(0, 2, 3, 1)
    n = min(len(imgs), columns)
    rows = 1 + (label_maps is not None)
    fig, axes = plt.subplots(rows, n, figsize=(scale * n, scale * rows), squeeze=False)
    for c in range(n):
        ax = axes[0, c]
        ax.imshow(imgs[c], extent=(0, imgs.shape[2], imgs.shape[1], 0))
        if silhouettes is not None:
            ax.contour(np.arange(imgs.shape[2]) + 0.5, np.arange(imgs.shape[1]) + 0.5,
                       np.asarray(silhouettes[c], float), levels=[0.5], colors="white", linewidths=0.8)
        if joints_2d is not None:
            j = np.asarray(joints_2d[c])
            for child, parent in H36M_17.bones:
                side = "tab:red" if child in H36M_17.joints_left else "tab:blue" if child in H36M_17.joints_right \
                    else "yellow"
                ax.plot(j[[child, parent], 0], j[[child, parent], 1], color=side, lw=1)
            ax.scatter(j[:, 0], j[:, 1], s=4, c="yellow", zorder=3)
        if titles is not None:
            ax.set_title(str(titles[c]), fontsize=7)
        if label_maps is not None:
            if label_colors is None:
                from ..body.clothing import CLASS_COLORS as label_colors
            lab = np.asarray(label_maps[c]).astype(int)
            colours = np.asarray(label_colors, float) / 255
            blend = np.where((lab > 0)[..., None], colours[lab], imgs[c] / 255 * 0.5)
            axes[1, c].imshow(blend, extent=(0, imgs.shape[2], imgs.shape[1], 0))
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout(pad=0.2)
    return fig
