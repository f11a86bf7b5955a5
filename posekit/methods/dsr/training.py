"""Training and scoring DSR on the synthetic people of `posekit.data.images` (the registry's fit / evaluate).

`ImageSet` is a batch source of crops with exact labels: the 2D and 3D joints, the crop intrinsics, the label map
of `semantics.LABELS` (the pseudo-ground-truth clothing segmentation DSR gets from Graphonomy) and the *unclothed*
body (vertices root-relative in the camera frame, recomputed from the sample's pose and phenotype), so the errors
are measured against the body under the clothes. `fit` is DSR's procedure (Adam, no weight decay, the loss of
`losses.DSRLoss`, semantic terms from `dsr_start` on) with the step budget of a posekit profile; `evaluate`
reports MPJPE, PA-MPJPE, the per-vertex error (PVE, root-aligned) and the part IoU of the rendered prediction.
DSR evaluates without test-time flipping, and so does this (`flip_test` is accepted and ignored).
"""
from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch

from ... import metrics
from ...evaluation import EvalResult, resolve_device
from ...train import History, TrainConfig, seed_everything
from .losses import DSRLoss
from .model import DSRModel, camera_translation, matrix_to_rot6d
from .semantics import image_labels, vertex_prior


class ImageSet:
    """Samples of a `posekit.data.images` folder (or dict) as a batch source: (uint8 images, target dict)."""

    def __init__(self, data, body=None, name: str = "images"):
        from ...body import AnnyBody, Retargeter
        from ...body.retarget import DRIVEN
        from ...data.images import load_images
        if isinstance(data, (str, Path)):
            data = load_images(data)
        missing = [k for k in ("image", "joints_3d", "joints_2d", "K_crop", "parts", "classes", "angles",
                               "phenotype", "R") if k not in data]
        if missing:
            raise ValueError(f"ImageSet needs the arrays of posekit.data.images.generate_images; missing {missing}")
        self.name, self.body = name, body if body is not None else AnnyBody("3pc")
        self.images = torch.from_numpy(np.asarray(data["image"]))
        self.size = int(self.images.shape[-1])
        self.K = torch.from_numpy(np.asarray(data["K_crop"], np.float32))
        self.joints_2d = torch.from_numpy(np.asarray(data["joints_2d"], np.float32))
        j3 = torch.from_numpy(np.asarray(data["joints_3d"], np.float32))
        self.root = j3[:, 0]
        self.joints_3d = j3 - j3[:, :1]
        self.parts = torch.from_numpy(np.asarray(data["parts"])).long()
        self.labels = torch.from_numpy(image_labels(data["parts"], data["classes"]))
        R = torch.from_numpy(np.asarray(data["R"], np.float32))
        pose = Retargeter(self.body)(np.asarray(data["angles"], np.float64))
        self.phenotype = torch.from_numpy(np.asarray(data["phenotype"], np.float32))
        with torch.no_grad():
            out = self.body(pose, self.phenotype)
        root = out["joints"][:, :1]
        self.vertices = (out["vertices"] - root) @ R.transpose(1, 2)  # the body under the clothes
        joints = (out["joints"] - root) @ R.transpose(1, 2)
        if not torch.allclose(joints, self.joints_3d, atol=2e-3):
            raise ValueError("the stored joints do not match the body recomputed from the angles and phenotype: "
                             "this folder was generated with another body topology or generator version")
        bones = [self.body.bone(n) for n in DRIVEN]
        self.rotations = pose[:, bones].clone()
        self.rotations[:, 0] = R @ self.rotations[:, 0]  # the root's orientation in the camera frame

    def __len__(self) -> int:
        return len(self.images)

    def fingerprint(self) -> str:
        """A content hash of what training and scoring read (for posekit's run cache)."""
        import hashlib
        h = hashlib.sha256(self.name.encode())
        for t in (self.images, self.K, self.joints_2d, self.joints_3d, self.labels, self.parts, self.vertices,
                  self.rotations, self.phenotype, self.root):
            h.update(str((t.dtype, tuple(t.shape))).encode())
            h.update(t.contiguous().numpy().tobytes())
        return h.hexdigest()[:20]

    def mean_parameters(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """(pose 6D, phenotype, camera) means of these samples: the regressor's starting point."""
        focal = self.K[:, 0, 0]
        s = 2 * focal / (self.size * self.root[:, 2])
        cam = torch.stack([s, self.root[:, 0], self.root[:, 1]], -1)
        return matrix_to_rot6d(self.rotations).mean(0), self.phenotype.mean(0), cam.mean(0)

    def item(self, idx) -> dict:
        idx = torch.as_tensor(idx)
        return {"K": self.K[idx], "joints_2d": self.joints_2d[idx], "joints_3d": self.joints_3d[idx],
                "labels": self.labels[idx], "vertices": self.vertices[idx], "parts": self.parts[idx]}

    def batches(self, batch_size: int, rng: np.random.Generator | None = None, flip: bool = False,
                max_items: int | None = None, shard: tuple[int, int] = (0, 1)):
        order = rng.permutation(len(self)) if rng is not None else np.arange(len(self))
        order = order[:max_items][shard[0]::shard[1]]
        for i in range(0, len(order), batch_size):
            sel = torch.from_numpy(order[i:i + batch_size])
            yield self.images[sel], self.item(sel)

    def num_batches(self, batch_size: int, max_items: int | None = None, world: int = 1) -> int:
        n = min(len(self), max_items or len(self))
        return math.ceil(math.ceil(n / world) / batch_size)

    def __repr__(self) -> str:
        return f"ImageSet({self.name!r}, {len(self)} crops of {self.size} px)"


def _prior(model: DSRModel) -> torch.Tensor:
    body = model.body.body
    if not hasattr(body, "_dsr_prior"):
        body._dsr_prior = vertex_prior(body)
    return body._dsr_prior


def loss_for(model: DSRModel) -> DSRLoss:
    """The DSR loss of a model with the anny layer (its options come from `build_model` overrides)."""
    return DSRLoss(_prior(model), model.body.faces, model.image_size, **model.loss_options)


def fit(model: DSRModel, data: ImageSet, config: TrainConfig, val=None) -> History:
    """Train with Adam (DSR's optimiser: no weight decay) for config.epochs x the capped batches; the head starts
    from the training set's mean parameters. The same seed gives the same numbers."""
    if not isinstance(data, ImageSet):
        raise TypeError(f"DSR trains on a posekit.methods.dsr.ImageSet, got {type(data).__name__}")
    if data.size != model.image_size:
        raise ValueError(f"the model takes {model.image_size}-px crops but the data has {data.size}-px crops: "
                         f"generate the images at that size or build the model with image_size={data.size}")
    device = resolve_device(config.device)
    seed_everything(config.seed)
    model.to(device)
    pose, shape, cam = data.mean_parameters()
    model.head.set_mean(pose, shape, cam)
    shape_mean = shape.to(device)
    loss_fn = loss_for(model)
    loss_fn.prior = loss_fn.prior.to(device)
    opt = torch.optim.Adam([p for p in model.parameters() if p.requires_grad], lr=config.lr)
    per_epoch = data.num_batches(config.batch_size, config.max_train_windows)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda step: config.lr_decay ** (step // max(per_epoch, 1)))
    total_steps, step, history = max(config.epochs * per_epoch, 1), 0, History()
    for epoch in range(config.epochs):
        torch.manual_seed(config.seed * 100003 + epoch)
        rng = np.random.default_rng([config.seed, epoch])
        model.train()
        t0, sums, counts = time.perf_counter(), {}, {}
        for x, y in data.batches(config.batch_size, rng, False, config.max_train_windows):
            y = {k: v.to(device) for k, v in y.items()}
            out = model(model.normalise(x.to(device)))
            loss, terms = loss_fn(out, y, step / total_steps, shape_mean)
            if not torch.isfinite(loss):
                raise FloatingPointError(f"the DSR loss became {loss.item()} at step {step + 1} ({terms}); lower the "
                                         f"learning rate")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            sched.step()
            step += 1
            for k, v in {"loss": loss.item(), **terms}.items():  # each term over the steps it was on
                sums[k] = sums.get(k, 0.0) + v * len(x)
                counts[k] = counts.get(k, 0) + len(x)
        record = {"epoch": epoch + 1, "lr": sched.get_last_lr()[0], "seconds": time.perf_counter() - t0,
                  **{k: v / counts[k] for k, v in sums.items()}}
        history.records.append(record)
        if config.progress:
            print(f"epoch {epoch + 1}/{config.epochs}: loss {record['loss']:.4f} ({record['seconds']:.1f} s)")
    model.eval()
    return history


MESH_KEYS = ("pve", "pa_pve", "part_iou", "silhouette_iou", "pa_mpjpe", "mpjpe", "part_map")


def per_image(result: EvalResult) -> dict[str, np.ndarray]:
    """Per-test-image errors of a DSR result (mm, %) and its rendered part maps, kept in `result.predictions` so
    that a result reloaded from the run cache (a plain EvalResult) still has them."""
    pred = result.predictions or {}
    missing = [k for k in MESH_KEYS if k not in pred]
    if missing:
        raise ValueError(f"this result has no per-image DSR errors ({missing}); evaluate with "
                         f"posekit.methods.dsr.evaluate(..., with_predictions=True)")
    return {k: np.asarray(pred[k]) for k in MESH_KEYS}


def summary(result: EvalResult) -> dict[str, float]:
    """PA-MPJPE, MPJPE, PVE, PA-PVE (mm), part IoU and silhouette IoU (%) of a DSR result."""
    p = per_image(result)
    mean = lambda a: float(np.nanmean(a)) if np.isfinite(a).any() else math.nan  # noqa: E731 (NaN: not defined)
    return {"PA-MPJPE": result.p_mpjpe, "MPJPE": result.mpjpe, "PVE": mean(p["pve"]),
            "PA-PVE": mean(p["pa_pve"]), "part IoU": mean(p["part_iou"]),
            "silhouette IoU": mean(p["silhouette_iou"])}


class DSRResult(EvalResult):
    """EvalResult whose predictions also hold the mesh errors and part maps (`summary`, `per_image`)."""

    @property
    def pve(self) -> float:
        return summary(self)["PVE"]

    @property
    def part_iou(self) -> float:
        return summary(self)["part IoU"]

    def summary(self) -> dict:
        return summary(self)

    def __repr__(self) -> str:
        return (f"DSRResult(PA-MPJPE {self.p_mpjpe:.1f} mm, MPJPE {self.mpjpe:.1f} mm, PVE {self.pve:.1f} mm, "
                f"part IoU {self.part_iou:.1f} %, {self.frames} images)")


@torch.no_grad()
def predict(model: DSRModel, dataset: ImageSet, batch_size: int = 64, device="auto") -> dict[str, torch.Tensor]:
    """joints (N, 17, 3), vertices (N, V, 3) root-relative and the translation (N, 3) of every test image."""
    device = resolve_device(device) if isinstance(device, str) else device
    model.eval().to(device)
    out = {"joints": [], "vertices": [], "translation": []}
    for x, y in dataset.batches(batch_size):
        _, ex = model(model.normalise(x.to(device)))
        out["joints"].append(ex["joints"].cpu())
        out["vertices"].append(ex["vertices"].cpu())
        out["translation"].append(camera_translation(ex["camera"], y["K"][:, 0, 0].to(device), dataset.size).cpu())
    return {k: torch.cat(v) for k, v in out.items()}


def part_maps(vertices_cam: torch.Tensor, faces: torch.Tensor, K: torch.Tensor, vertex_parts: torch.Tensor,
              size: int) -> torch.Tensor:
    """Hard-rendered part maps (N, size, size): 0 background, 1..14 parts (posekit.body.PARTS)."""
    from ...render import SoftRasterizer
    raster = SoftRasterizer(size, size, hard=True, tile=4, max_faces=24, near=0.05)
    onehot = torch.nn.functional.one_hot(vertex_parts - 1, 14).float()
    maps = []
    for i in range(0, len(vertices_cam), 64):
        out = raster(vertices_cam[i:i + 64], faces, K[i:i + 64], attributes=onehot)
        maps.append(torch.where(out["alpha"] > 0.5, out["image"].argmax(1) + 1, 0))
    return torch.cat(maps)


def score(pred: dict[str, torch.Tensor], dataset: ImageSet, faces: torch.Tensor, vertex_parts: torch.Tensor | None,
          seconds: float = 0.0) -> DSRResult:
    """Errors of predicted joints / vertices / translations against an ImageSet (any predictor, e.g. a floor).

    Joints are root-relative (joint 0); MPJPE and PA-MPJPE average `dataset.eval_joints` when the set names them
    (3DPW: the 14 of SPIN's protocol), else all 17. PVE (root-aligned) is NaN per image when the predicted mesh
    is another body's (vertex counts differ); the part IoU is NaN when the set has no part maps (`parts` None)."""
    pj, gj = pred["joints"].numpy(), dataset.joints_3d.numpy()
    pv, gv = pred["vertices"].numpy(), dataset.vertices.numpy()
    if pj.shape[1:] != gj.shape[1:]:
        raise ValueError(f"the model predicts {pj.shape[1]} joints but the data has {gj.shape[1]} Human3.6M joints: "
                         f"build the SMPL head with h36m_regressor=<J_regressor_h36m.npy> "
                         f"(posekit.methods.dsr.pw3d.smpl_regressor does)")
    if not (np.isfinite(pj).all() and np.isfinite(pv).all()):
        raise FloatingPointError("DSR predicted NaN/inf joints or vertices: the weights have diverged; retrain with "
                                 "a lower learning rate")
    sel = list(getattr(dataset, "eval_joints", None) or range(gj.shape[1]))
    pjs, gjs = pj[:, sel], gj[:, sel]
    jerr = metrics.joint_errors(pjs, gjs).mean(-1)
    pjerr = metrics.joint_errors(metrics.procrustes_align(pjs, gjs), gjs).mean(-1)
    n = len(gj)
    if pv.shape[1:] == gv.shape[1:]:
        verr = np.linalg.norm(pv - gv, axis=-1).mean(-1)
        pverr = np.linalg.norm(metrics.procrustes_align(pv, gv) - gv, axis=-1).mean(-1)
    else:  # another body's mesh (e.g. anny against SMPL): no vertex correspondence
        verr = pverr = np.full(n, np.nan)
    gt = dataset.parts
    if gt is not None and vertex_parts is not None:
        maps = part_maps(pred["vertices"] + pred["translation"][:, None], faces, dataset.K, vertex_parts,
                         dataset.size)
        ious = []
        for p in range(1, 15):
            a, b = maps == p, gt == p
            inter, union = (a & b).sum((-2, -1)).float(), (a | b).sum((-2, -1)).float()
            ious.append(torch.where(union > 0, inter / union.clamp(min=1), torch.nan))
        part_iou = 100 * torch.nanmean(torch.stack(ious, 1), 1).numpy()
        a, b = maps > 0, gt > 0
        sil = 100 * ((a & b).sum((-2, -1)).float() / (a | b).sum((-2, -1)).float().clamp(min=1)).numpy()
        maps = maps.to(torch.uint8).numpy()
    else:  # no part maps for this data (3DPW)
        part_iou, sil, maps = np.full(n, np.nan), np.full(n, np.nan), np.zeros((n, 0, 0), np.uint8)
    mm = lambda e: 1000 * float(np.mean(e))  # noqa: E731
    extra = {"pve": 1000 * verr, "pa_pve": 1000 * pverr, "part_iou": part_iou,
             "silhouette_iou": sil, "pa_mpjpe": 1000 * pjerr, "mpjpe": 1000 * jerr, "part_map": maps}
    pck_joints = metrics.PCK_JOINTS_H36M if len(sel) == gj.shape[1] else None
    return DSRResult(mpjpe=mm(jerr), p_mpjpe=mm(pjerr), n_mpjpe=math.nan, mpjve=math.nan,
                     pck=metrics.pck(pjs, gjs, joints=pck_joints),
                     auc=metrics.auc(pjs, gjs, joints=pck_joints),
                     per_action={"Average": mm(jerr)}, per_action_p_mpjpe={"Average": mm(pjerr)},
                     per_joint=1000 * metrics.joint_errors(pjs, gjs).mean(0), frames=n, seconds=seconds,
                     predictions={**{k: v.numpy() for k, v in pred.items()}, **extra})


def evaluate(model: DSRModel, dataset: ImageSet, flip_test: bool = False, batch_size: int = 64, device="auto",
             with_predictions: bool = True) -> DSRResult:
    """Score a trained DSR model on an ImageSet, the synthetic crops or 3DPW's (`pw3d.PW3DImages`), without
    test-time flip (as DSR). The predictions (joints, vertices, translations) and the per-image errors are always
    kept: the mesh metrics are read from them."""
    from ...body import vertex_parts
    if not isinstance(dataset, ImageSet):
        raise TypeError(f"DSR is scored on a posekit.methods.dsr.ImageSet, got {type(dataset).__name__}")
    if dataset.size != model.image_size:
        raise ValueError(f"the model takes {model.image_size}-px crops but the data has {dataset.size}-px crops: "
                         f"load the data at size={model.image_size}")
    t0 = time.perf_counter()
    pred = predict(model, dataset, batch_size, device)
    parts = vertex_parts(model.body.body) if dataset.parts is not None else None
    return score(pred, dataset, model.body.faces.cpu(), parts, time.perf_counter() - t0)


def mean_floor(train: ImageSet, test: ImageSet) -> DSRResult:
    """The mean-shape / mean-pose floor: every test image gets the training set's mean pose and phenotype (the
    regressor's starting point), placed with the mean camera."""
    from ...body import vertex_parts
    from .model import AnnyLayer, rot6d_to_matrix
    pose, shape, cam = train.mean_parameters()
    layer = AnnyLayer(body=train.body)
    with torch.no_grad():
        mesh = layer(rot6d_to_matrix(pose.reshape(1, -1, 6)), shape[None])
    n = len(test)
    t = camera_translation(cam[None].expand(n, -1), test.K[:, 0, 0], test.size)
    pred = {"joints": mesh["joints"].expand(n, -1, -1), "vertices": mesh["vertices"].expand(n, -1, -1),
            "translation": t}
    return score(pred, test, train.body.faces, vertex_parts(train.body))
