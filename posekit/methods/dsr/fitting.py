"""Fit one body to one image by optimisation: the DSR losses without a network (the notebook's demonstration).

The parameters of the anny layer (13 bone rotations in 6D, 6 phenotype values, the weak-perspective camera) are
optimised with Adam against the image's 2D keypoints alone, or with a plain silhouette IoU against the clothed
silhouette, or with DSR-MC and DSR-C against its label map. Keypoints fix the joints but barely the body's girth;
the clothed silhouette fixes the outline of the *clothes*; DSR's terms ask the skin regions to match tightly and
the rest of the body to stay inside the clothes. This is the SMPLify-style use of the same losses (DSR trains a
regressor with them; the official code has no fitting loop).
"""
from __future__ import annotations

import torch

from .losses import DSRLoss, soft_iou_loss
from .model import AnnyLayer, camera_translation, rot6d_to_matrix

VARIANTS = {"keypoints": dict(), "keypoints + silhouette": dict(silhouette=0.1),
            "keypoints + DSR-MC + DSR-C": dict(mc=0.1, c=0.1)}  # DSR's weights, 0.1 each


def fit_image(layer: AnnyLayer, loss: DSRLoss, sample: dict, init: tuple, shape_mean: torch.Tensor,
              steps: int = 150, lr: float = 0.02, mc: float = 0.0, c: float = 0.0, silhouette: float = 0.0,
              pose_prior: float = 0.01) -> dict:
    """Optimise (pose 6D, phenotype, camera) from `init` to one sample (a dict of (1, ...) tensors of
    `ImageSet.item`); the weights of the semantic terms are relative to the 2D keypoint term (whose DSR weight is
    5). Returns the final vertices/joints (root-relative), translation, parameters and the loss history."""
    pose0, shape0, cam0 = (t.detach().clone().reshape(1, -1) for t in init)
    pose, shape, cam = (t.clone().requires_grad_(True) for t in (pose0, shape0, cam0))
    opt = torch.optim.Adam([pose, shape, cam], lr=lr)
    history = []
    for _ in range(steps):
        mesh = layer(rot6d_to_matrix(pose.reshape(1, -1, 6)), shape)
        ex = {"joints": mesh["joints"], "vertices": mesh["vertices"], "shape": shape, "camera": cam}
        base, terms = loss((None, ex), sample, 1.0, shape_mean)
        total = base / loss.o["loss_weight"] + pose_prior * ((pose - pose0)[:, 6:] ** 2).mean()
        t = camera_translation(cam, sample["K"][:, 0, 0], loss.size)
        v_cam = mesh["vertices"] + t[:, None]
        if mc or c:
            l_mc, l_c = loss.semantic_terms(v_cam, sample["K"], sample["labels"])
            total = total + mc * l_mc + c * l_c
            terms.update(dsr_mc=float(l_mc.detach()), dsr_c=float(l_c.detach()))
        if silhouette:
            from .semantics import downsample_labels
            Kr = sample["K"].clone()
            Kr[:, :2] *= loss.render_size / loss.size
            alpha = loss.raster(v_cam, loss.faces, Kr)["alpha"]
            mask = (downsample_labels(sample["labels"], loss.render_size) > 0).float()
            l_sil = soft_iou_loss(alpha, mask, "global").mean()
            total = total + silhouette * l_sil
            terms.update(silhouette=float(l_sil.detach()))
        opt.zero_grad()
        total.backward()
        opt.step()
        history.append({"total": float(total.detach()), **terms})
    with torch.no_grad():
        mesh = layer(rot6d_to_matrix(pose.reshape(1, -1, 6)), shape)
        t = camera_translation(cam, sample["K"][:, 0, 0], loss.size)
    return {"vertices": mesh["vertices"][0], "joints": mesh["joints"][0], "translation": t[0],
            "phenotype": shape.detach()[0].clamp(0, 1), "history": history}


def start_point(dataset, i: int, mean_pose: torch.Tensor, mean_shape: torch.Tensor) -> tuple:
    """The demonstration's start for crop i of an ImageSet: the mean pose and shape with the crop's true global
    orientation and position (what a detector and a first regression would roughly give)."""
    from .model import matrix_to_rot6d
    pose = mean_pose.reshape(-1, 6).clone()
    pose[0] = matrix_to_rot6d(dataset.rotations[i, 0])
    s = 2 * dataset.K[i, 0, 0] / (dataset.size * dataset.root[i, 2])
    return pose, mean_shape.clone(), torch.stack([s, dataset.root[i, 0], dataset.root[i, 1]])
