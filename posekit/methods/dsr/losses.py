"""DSR's training loss (`dsr/losses/losses.py`, class DSRLoss; `dsr/semantic_rendering/loss.py`).

total = 60 x [5 L_2D + 5 L_3D + w_prior L_prior + L_cam + w_MC L_MC + w_C L_C]   (released `configs/dsr_train.cfg`)

- L_2D: MSE of the projected joints against the 2D keypoints, both normalised to [-1, 1] (divided by S / 2);
- L_3D: MSE of the pelvis-centred 3D joints;
- L_prior: MSE of the shape parameters to their mean (SPIN's beta loss has weight 0.001 against fitted betas; the
  synthetic training images come without fitted parameters, so the shape is held to the mean with that weight);
- L_cam: mean(exp(-10 s)^2), which penalises a small or negative camera scale;
- L_MC (DSR-MC, variant "nIOU" of the released config): 1 - soft IoU of the rendered MC probability P with the
  binary MC mask T. The official code sums over image columns only, so it averages a per-row IoU over all rows
  (rows without foreground count 0): `mc_mode="row"` is that; `"global"` is the IoU of whole images;
- L_C (DSR-C): cross-entropy of the 8 rendered class probabilities, used directly as logits (as the official
  code does), against the merged label map, weighted per class (`semantics.targets`).

The semantic terms start after `dsr_start` of the training (DSR: after epoch 2 of 50). The soft rasteriser is
`posekit.render.SoftRasterizer` with SoftRas's aggregation (`aggregate="softras"`), gamma 0.1 and DSR's sigma 1e-5
in SoftRas's normalised units, which is sigma_px = 1e-5 (R / 2)^2 in squared pixels at render size R.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from ...render import SoftRasterizer, project
from .model import camera_translation
from .semantics import targets as semantic_targets

DEFAULTS = dict(kp_weight=5.0, kp3d_weight=5.0, prior_weight=0.001, cam_weight=1.0, mc_weight=0.0, c_weight=0.0,
                loss_weight=60.0, sigma_ndc=1e-5, gamma=0.1, render_size=None, mc_mode="row", dsr_start=0.2,
                max_faces=8, tile=4)


def soft_iou_loss(P: torch.Tensor, T: torch.Tensor, mode: str = "row") -> torch.Tensor:
    """(B,) 1 - soft IoU of P and T (B, H, W): per row averaged over rows ('row', the official quirk) or global."""
    if mode == "row":
        inter, union = (P * T).sum(-1), (P + T - P * T).sum(-1)
        return 1 - (inter / (union + 1e-6)).mean(-1)
    if mode == "global":
        inter, union = (P * T).sum((-2, -1)), (P + T - P * T).sum((-2, -1))
        return 1 - inter / (union + 1e-6)
    raise ValueError(f"mc_mode must be 'row' (the official code) or 'global', got {mode!r}")


def weighted_ce(logits: torch.Tensor, label: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
    """(B,) cross-entropy per image, logits (B, C, H, W), label (B, H, W), weight (B, C): the weighted mean over
    pixels of torch's CrossEntropyLoss(weight=...) for each image (0 where no pixel has a weight)."""
    nll = -F.log_softmax(logits, 1).gather(1, label[:, None])[:, 0]
    w = weight.gather(1, label.flatten(1)).reshape(label.shape)
    return (w * nll).sum((-2, -1)) / w.sum((-2, -1)).clamp(min=1e-9)


class DSRLoss:
    """Callable (model output, batch, progress in [0, 1]) -> (total loss, {term: value}); see the module docstring.

    prior: (V, len(semantics.LABELS)) vertex prior; image_size: the crop size S the keypoints are in.
    """

    def __init__(self, prior: torch.Tensor, faces: torch.Tensor, image_size: int, **options):
        unknown = set(options) - set(DEFAULTS)
        if unknown:
            raise ValueError(f"unknown DSR loss options {sorted(unknown)}; known: {', '.join(DEFAULTS)}")
        self.o = {**DEFAULTS, **options}
        self.prior, self.faces, self.size = prior, faces, image_size
        self.render_size = self.o["render_size"] or image_size
        sigma = self.o["sigma_ndc"] * (self.render_size / 2) ** 2
        self.raster = SoftRasterizer(self.render_size, self.render_size, sigma=sigma, gamma=self.o["gamma"],
                                     near=0.1, far=100.0, aggregate="softras", tile=self.o["tile"],
                                     max_faces=self.o["max_faces"])

    @property
    def semantic(self) -> bool:
        return self.o["mc_weight"] > 0 or self.o["c_weight"] > 0

    def render(self, vertices_cam: torch.Tensor, K: torch.Tensor, textures: torch.Tensor) -> torch.Tensor:
        """Soft render per-vertex textures (B, V, C) of camera-frame vertices -> (B, C, R, R), background 0."""
        Kr = K.clone()
        Kr[:, :2] *= self.render_size / self.size
        return self.raster(vertices_cam, self.faces, Kr, attributes=textures)["image"]

    def __call__(self, output, batch: dict, progress: float = 1.0, shape_mean: torch.Tensor | None = None):
        _, ex = output
        o = self.o
        t = camera_translation(ex["camera"], batch["K"][:, 0, 0], self.size)
        joints_cam = ex["joints"] + t[:, None]
        half = self.size / 2
        uv = (project(joints_cam, batch["K"])[..., :2] - half) / half
        terms = {"kp2d": F.mse_loss(uv, (batch["joints_2d"] - half) / half),
                 "kp3d": F.mse_loss(ex["joints"], batch["joints_3d"]),
                 "prior": F.mse_loss(ex["shape"], (shape_mean if shape_mean is not None
                                                   else torch.zeros_like(ex["shape"])).expand_as(ex["shape"])),
                 "cam": torch.exp(-10 * ex["camera"][:, 0]).pow(2).mean()}
        total = o["kp_weight"] * terms["kp2d"] + o["kp3d_weight"] * terms["kp3d"] + \
            o["prior_weight"] * terms["prior"] + o["cam_weight"] * terms["cam"]
        if self.semantic and progress >= o["dsr_start"]:
            mc, c = self.semantic_terms(ex["vertices"] + t[:, None], batch["K"], batch["labels"])
            terms.update(dsr_mc=mc, dsr_c=c)
            total = total + o["mc_weight"] * mc + o["c_weight"] * c
        return o["loss_weight"] * total, {k: float(v.detach()) for k, v in terms.items()}

    def semantic_terms(self, vertices_cam: torch.Tensor, K: torch.Tensor, labels: torch.Tensor):
        """(L_MC, L_C) of a batch: render the MC texture and the 8 class textures in one pass."""
        from .semantics import downsample_labels
        tg = semantic_targets(downsample_labels(labels, self.render_size), self.prior,
                              threshold=None)
        tex = torch.cat([tg["mc_texture"][..., None], tg["c_texture"].expand(len(labels), -1, -1)], -1)
        image = self.render(vertices_cam, K, tex.to(vertices_cam))
        valid = tg["mc_valid"]
        mc = soft_iou_loss(image[:, 0], tg["mc_mask"], self.o["mc_mode"])
        mc = (mc * valid).sum() / valid.sum().clamp(min=1)
        c = weighted_ce(image[:, 1:], tg["c_label"], tg["c_weight"]).mean()
        return mc, c
