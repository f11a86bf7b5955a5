"""The pictures of the DSR notebook: the prior on the mesh, soft renders, the two semantic terms, fits, results."""
from __future__ import annotations

import numpy as np
import torch

from ...render import SoftRasterizer
from .semantics import LABEL_COLORS, MERGED, MERGED_COLORS, MC_LABELS, LABELS, merge_matrix


def _front_camera(vertices: torch.Tensor, size: int, back: bool = False):
    """anny frame (Z up, facing -Y) -> a camera in front of (or behind) the body; returns camera points and K."""
    v = vertices - vertices.mean(0)
    sign = -1.0 if back else 1.0
    cam = torch.stack([sign * v[:, 0], -v[:, 2], sign * v[:, 1] + 4.0], -1)
    f = size * 4.0 / (1.15 * float((v[:, 2].max() - v[:, 2].min())))
    K = torch.tensor([[f, 0, size / 2], [0, f, size / 2], [0, 0, 1.0]])
    return cam[None], K


def _render(cam, faces, K, attributes, size, hard=True, sigma=0.3):
    raster = SoftRasterizer(size, size, hard=hard, sigma=sigma, tile=4, max_faces=24, near=0.05)
    out = raster(cam, faces, K, attributes=attributes)
    return out["alpha"][0].numpy(), out["image"][0].permute(1, 2, 0).numpy()


def prior_on_mesh(body, prior: torch.Tensor, size: int = 192):
    """Front and back: P(minimally clothed label) per vertex and the most likely DSR-C class per vertex."""
    import matplotlib.pyplot as plt
    mc = prior[:, [LABELS.index(n) for n in MC_LABELS]].sum(1, keepdim=True)
    merged = prior @ merge_matrix()
    colours = torch.tensor(MERGED_COLORS, dtype=torch.float32)[merged.argmax(1)] / 255
    fig, axes = plt.subplots(1, 4, figsize=(11, 3.6))
    for col, back in enumerate((False, True)):
        cam, K = _front_camera(body.reference_vertices, size, back)
        alpha, img = _render(cam, body.faces, K, torch.cat([mc, colours], 1), size)
        heat = plt.cm.magma(img[..., 0])[..., :3] * alpha[..., None] + (1 - alpha[..., None])
        axes[col].imshow(np.clip(heat, 0, 1))
        axes[col].set_title(f"P(minimally clothed), {'back' if back else 'front'}", fontsize=9)
        axes[2 + col].imshow(np.clip(img[..., 1:] * alpha[..., None] + (1 - alpha[..., None]), 0, 1))
        axes[2 + col].set_title(f"most likely DSR-C class, {'back' if back else 'front'}", fontsize=9)
    handles = [plt.Rectangle((0, 0), 1, 1, color=np.array(c) / 255) for c in MERGED_COLORS[1:]]
    fig.legend(handles, MERGED[1:], loc="lower center", ncol=7, fontsize=8, frameon=False)
    for ax in axes:
        ax.axis("off")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return fig


def soft_render_grid(vertices_cam, faces, K, texture, size: int, sigmas, gammas, image=None):
    """Rows: sigma_ndc values; columns: gamma values; each panel the soft-rendered texture (B=1) with SoftRas's
    aggregation, and its alpha as a contour. vertices_cam (1, V, 3), texture (V, 1) in [0, 1]."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(len(sigmas), len(gammas) + (image is not None),
                             figsize=(2.2 * (len(gammas) + (image is not None)), 2.2 * len(sigmas)), squeeze=False)
    for r, s in enumerate(sigmas):
        if image is not None:
            axes[r, 0].imshow(np.asarray(image).transpose(1, 2, 0))
            axes[r, 0].set_title("image", fontsize=8)
        for c, g in enumerate(gammas):
            raster = SoftRasterizer(size, size, sigma=s * (size / 2) ** 2, gamma=g, near=0.1, far=100.0,
                                    aggregate="softras", tile=4, max_faces=24)
            with torch.no_grad():
                out = raster(vertices_cam, faces, K, attributes=texture)
            ax = axes[r, c + (image is not None)]
            ax.imshow(out["image"][0, 0].numpy(), cmap="magma", vmin=0, vmax=1)
            ax.set_title(f"σ={s:g}, γ={g:g}", fontsize=8)
    for ax in axes.ravel():
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout(pad=0.3)
    return fig


def dsr_terms_figure(image, P, T, logits, c_label, c_weight):
    """One image: DSR-MC (rendered P, target T, their product and union, per-row IoU) and DSR-C (target classes,
    rendered argmax, per-pixel weighted cross-entropy)."""
    import matplotlib.pyplot as plt
    P, T = P.detach().numpy(), T.numpy()
    fig, axes = plt.subplots(2, 4, figsize=(11, 5.6))
    axes[0, 0].imshow(np.asarray(image).transpose(1, 2, 0))
    axes[0, 0].set_title("image", fontsize=9)
    axes[0, 1].imshow(T, cmap="gray", vmin=0, vmax=1)
    axes[0, 1].set_title("DSR-MC target T (face, arms, shoes)", fontsize=9)
    axes[0, 2].imshow(P, cmap="magma", vmin=0, vmax=1)
    axes[0, 2].set_title("rendered P(minimally clothed)", fontsize=9)
    inter, union = (P * T).sum(1), (P + T - P * T).sum(1)
    row_iou = inter / (union + 1e-6)
    axes[0, 3].barh(np.arange(len(row_iou)), row_iou, color="tab:orange")
    axes[0, 3].invert_yaxis()
    axes[0, 3].set_title(f"per-row soft IoU (mean {row_iou.mean():.2f});\nglobal {inter.sum() / union.sum():.2f}",
                         fontsize=9)
    axes[0, 3].set_xlabel("IoU")
    colours = np.asarray(MERGED_COLORS, float) / 255
    axes[1, 0].imshow(colours[c_label.numpy()])
    axes[1, 0].set_title("DSR-C target (8 merged classes)", fontsize=9)
    lg = logits.detach()
    axes[1, 1].imshow(colours[lg.argmax(0).numpy()] * (lg.max(0).values > 0).numpy()[..., None])
    axes[1, 1].set_title("rendered classes (argmax where > 0)", fontsize=9)
    nll = -torch.log_softmax(lg, 0).gather(0, c_label[None])[0]
    w = c_weight[c_label]
    im = axes[1, 2].imshow((w * nll).numpy(), cmap="viridis")
    axes[1, 2].set_title("weighted cross-entropy per pixel", fontsize=9)
    fig.colorbar(im, ax=axes[1, 2], fraction=0.046)
    axes[1, 3].bar(range(len(MERGED)), c_weight.numpy(), color=colours[:, :] * 0.9 + 0.05)
    axes[1, 3].set_xticks(range(len(MERGED)), MERGED, rotation=60, fontsize=7)
    axes[1, 3].set_title("class weights (rarest present = 1)", fontsize=9)
    for ax in list(axes[0, :3]) + list(axes[1, :3]):
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout(pad=0.4)
    return fig


def overlay_figure(image, meshes: dict, faces, K, labels=None, size: int | None = None):
    """The image with each named mesh (camera-frame vertices (V, 3)) drawn over it: its silhouette outline and a
    translucent part rendering; the first panel shows the image with its DSR label map."""
    import matplotlib.pyplot as plt
    from ...body.parts import PART_COLORS
    img = np.asarray(image).transpose(1, 2, 0) / 255
    size = size or img.shape[0]
    n = len(meshes) + 1
    fig, axes = plt.subplots(1, n, figsize=(2.6 * n, 2.8))
    axes[0].imshow(img)
    if labels is not None:
        lab = np.asarray(labels)
        col = np.asarray(LABEL_COLORS, float)[lab] / 255
        axes[0].imshow(np.where((lab > 0)[..., None], col, img), alpha=0.55)
    axes[0].set_title("image + label map", fontsize=9)
    raster = SoftRasterizer(size, size, hard=True, tile=4, max_faces=24, near=0.05)
    for ax, (name, (v, parts)) in zip(axes[1:], meshes.items()):
        attr = torch.tensor(PART_COLORS, dtype=torch.float32)[parts] / 255
        with torch.no_grad():
            out = raster(v[None], faces, K[None], attributes=attr)
        a = out["alpha"][0].numpy()[..., None]
        ax.imshow(img * (1 - 0.6 * a) + 0.6 * a * out["image"][0].permute(1, 2, 0).numpy())
        ax.contour(np.arange(size) + 0.5, np.arange(size) + 0.5, a[..., 0], levels=[0.5], colors="white",
                   linewidths=0.8)
        ax.set_title(name, fontsize=9)
    for ax in axes:
        ax.set_xticks([])
        ax.set_yticks([])
    fig.tight_layout(pad=0.3)
    return fig


def ablation_figure(results: dict, floor: dict, metrics=("PA-MPJPE", "MPJPE", "PVE", "part IoU")):
    """results {arm: [summary dict per seed]}; floor: a summary dict. One panel per metric: seeds as dots, the mean
    as a bar, the floor as a dashed line."""
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.2))
    names = list(results)
    for ax, m in zip(axes, metrics):
        for i, name in enumerate(names):
            vals = [r[m] for r in results[name]]
            ax.bar(i, np.mean(vals), color=f"C{i}", alpha=0.6)
            ax.scatter(np.full(len(vals), i), vals, color="k", s=10, zorder=3)
        ax.axhline(floor[m], color="gray", ls="--", lw=1, label="mean floor")
        ax.set_xticks(range(len(names)), names, rotation=30, ha="right", fontsize=8)
        ax.set_title(m + (" (%)" if "IoU" in m else " (mm)"), fontsize=9)
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def compare_viewer(pred_vertices, gt_vertices, faces, parts, title: str = "prediction vs ground truth"):
    """plotly: the ground-truth body (part colours) and the predicted body (translucent grey), root-relative in the
    camera frame, shown upright."""
    import plotly.graph_objects as go
    from ...viz.mesh import mesh_viewer
    from ...viz.common import plot3d
    fig = mesh_viewer(gt_vertices, faces, parts=parts, title=title)
    fig.data[0].name = "ground truth (under the clothes)"
    p = plot3d(np.asarray(pred_vertices))
    f = np.asarray(faces)
    fig.add_trace(go.Mesh3d(x=p[:, 0], y=p[:, 1], z=p[:, 2], i=f[:, 0], j=f[:, 1], k=f[:, 2], color="gray",
                            opacity=0.45, name="prediction", showlegend=True))
    return fig
