"""Wide-field synthetic crops for PersPose, plain or perspective-rotated, as a batch source of `posekit.train.fit`.

The samples come from `posekit.data.images` (anny bodies in procedural scenes, a camera of 30-90 degrees horizontal
field of view that places the subject anywhere in its frame). The same seed gives the same people, cameras and
scenes with `rotate_to_subject` on or off: the PR set is the plain set seen after PersPose's perspective rotation
(rendered directly in the rotated camera, which equals warping the full frame by K R K^-1 and cropping symmetrically
about the principal point; `posekit.methods.perspose.geometry` does the warp, the tests check that both agree).

`WideField` holds one set: crops (N, 3, S, S) uint8, K_crop, the 3D joints in the camera the crop was taken with
(the training targets: PersPose's loss needs their rays and root depth; scores are root-relative), the rotation R of PR (identity for plain crops; original camera = R^T rotated camera), and per sample the
angle between the box-centre ray and the optical axis and the horizontal field of view of the full frame.
"""
from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass

import numpy as np
import torch

from ...data.images import generate_images, load_images
from ...skeleton import H36M_17
from .geometry import ray_map


@dataclass
class WideField:
    """One set of crops and labels (see the module docstring); `batches`/`num_batches` make it a batch source."""

    images: np.ndarray        # (N, 3, S, S) uint8
    K_crop: np.ndarray        # (N, 3, 3)
    joints: np.ndarray        # (N, 17, 3) metres, in the camera of the crop
    rotation: np.ndarray      # (N, 3, 3) PR rotation (identity: plain)
    angle: np.ndarray         # (N,) degrees between the box-centre ray and the original optical axis
    fov: np.ndarray           # (N,) horizontal field of view of the full frame, degrees
    name: str = "wide-field"

    def __post_init__(self):
        n = len(self.images)
        if self.images.ndim != 4 or self.images.shape[1] != 3 or self.images.shape[2] != self.images.shape[3]:
            raise ValueError(f"images must be (N, 3, S, S), got {self.images.shape}")
        for key in ("K_crop", "joints", "rotation", "angle", "fov"):
            if len(getattr(self, key)) != n:
                raise ValueError(f"{key} has {len(getattr(self, key))} entries for {n} images")
        self._digest = None

    @property
    def size(self) -> int:
        return int(self.images.shape[-1])

    @property
    def rotated(self) -> bool:
        """True for a perspective-rotated set (any rotation not the identity)."""
        return bool(np.abs(self.rotation - np.eye(3)).max() > 1e-6)

    def __len__(self) -> int:
        return len(self.images)

    def subset(self, index) -> "WideField":
        index = np.asarray(index)
        return WideField(self.images[index], self.K_crop[index], self.joints[index], self.rotation[index],
                         self.angle[index], self.fov[index], self.name)

    @property
    def root_relative(self) -> np.ndarray:
        """(N, 17, 3) root-relative joints in the camera of the crop."""
        return self.joints - self.joints[:, :1]

    def original_camera(self, poses: np.ndarray) -> np.ndarray:
        """Poses (N, ..., 3) in the camera of these crops -> the original camera (P = R^T P', identity if plain)."""
        return np.einsum("n...i,nij->n...j", np.asarray(poses), self.rotation.astype(np.float64))

    def inputs(self, index, flip: np.ndarray | None = None) -> torch.Tensor:
        """(B, 5, S, S): RGB in [0, 1] and the ray map; flip (B,) bool mirrors those crops (cx -> S - cx)."""
        img = torch.from_numpy(self.images[index]).float() / 255
        K = torch.from_numpy(self.K_crop[index].astype(np.float32))
        if flip is not None and flip.any():
            f = torch.from_numpy(flip)
            img[f] = img[f].flip(-1)
            K = K.clone()
            K[f, 0, 2] = self.size - K[f, 0, 2]
        return torch.cat([img, ray_map(K, self.size, self.size)], 1)

    def targets(self, index, flip: np.ndarray | None = None) -> torch.Tensor:
        """(B, 1, 17, 3) camera-frame joints; a mirrored crop gets x -> -x and left/right swapped."""
        y = self.joints[index].astype(np.float32).copy()
        if flip is not None and flip.any():
            y[flip] = y[flip][:, H36M_17.flip_permutation] * np.array([-1, 1, 1], np.float32)
        return torch.from_numpy(y)[:, None]

    def batches(self, batch_size: int, rng: np.random.Generator | None = None, flip: bool = False,
                max_items: int | None = None, shard: tuple[int, int] = (0, 1)):
        order = rng.permutation(len(self)) if rng is not None else np.arange(len(self))
        if max_items:
            order = order[:max_items]
        order = order[shard[0]::shard[1]]
        for i in range(0, len(order), batch_size):
            idx = order[i:i + batch_size]
            mirror = rng.random(len(idx)) < 0.5 if (flip and rng is not None) else None
            yield self.inputs(idx, mirror), self.targets(idx, mirror)

    def num_batches(self, batch_size: int, max_items: int | None = None, world: int = 1) -> int:
        n = min(len(self), max_items) if max_items else len(self)
        return math.ceil(math.ceil(n / world) / batch_size)

    def fingerprint(self) -> str:
        """A content hash (for the run cache): the same crops and labels give the same value."""
        if self._digest is None:
            h = hashlib.sha256()
            for a in (self.images, self.K_crop, self.joints, self.rotation):
                h.update(np.ascontiguousarray(a).tobytes())
            self._digest = h.hexdigest()[:20]
        return self._digest


def from_samples(data: dict, name: str = "wide-field") -> WideField:
    """A WideField from the arrays of `posekit.data.images.load_images` (or `ImageGenerator.generate`)."""
    j = data["joints_3d"].astype(np.float32)
    rotation = data["rotation"].astype(np.float64)
    K = data["K"].astype(np.float64)
    frame = 2 * K[:, 0, 2]
    fov = np.degrees(2 * np.arctan(frame / 2 / K[:, 0, 0]))
    size = data["image"].shape[-1]
    if rotation.size and np.abs(rotation - np.eye(3)).max() > 1e-6:
        angle = np.degrees(np.arccos(np.clip(rotation[:, 2, 2], -1, 1)))   # R maps the box ray d onto z: d = R[2]
    else:  # the plain crop is centred on the box: its centre's ray in the original camera
        centre = np.linalg.inv(data["K_crop"].astype(np.float64)) @ np.array([size / 2, size / 2, 1.0])
        angle = np.degrees(np.arccos(centre[:, 2] / np.linalg.norm(centre, axis=1)))
    return WideField(data["image"], data["K_crop"].astype(np.float32), j, rotation.astype(np.float32),
                     angle, fov, name)


def wide_field(n: int, size: int = 64, seed: int = 0, rotated: bool = False, root=None, verbose: bool = False,
               **options) -> WideField:
    """n samples at size x size of seed `seed` (rendered once, cached by `posekit.data.images` under `root`,
    default $POSEKIT_CACHE/images), plain or PR."""
    folder = generate_images(n, size=size, seed=seed, root=root, rotate_to_subject=rotated, verbose=verbose,
                             **options)
    return from_samples(load_images(folder), name=f"wide-field{'-PR' if rotated else ''}-s{seed}-{n}")


def mean_pose_floor(train: WideField, test: WideField) -> dict:
    """The mean-pose floor in the original camera (the mean root-relative training pose for every test sample):
    {'mean_pose_MPJPE', 'mean_pose_P-MPJPE'} in mm."""
    from ... import metrics
    mean = train.original_camera(train.root_relative).mean(0)
    gt = test.original_camera(test.root_relative)
    pred = np.repeat(mean[None], len(gt), 0)
    return {"mean_pose_MPJPE": 1000 * float(metrics.joint_errors(pred, gt).mean()),
            "mean_pose_P-MPJPE": 1000 * float(metrics.joint_errors(metrics.procrustes_align(pred, gt), gt).mean())}


@torch.no_grad()
def predict(model, data: WideField, batch_size: int = 128) -> np.ndarray:
    """(N, 17, 3) root-relative predictions in the ORIGINAL camera (PR crops' predictions turned back with R^T)."""
    model.eval()
    device = next(model.parameters()).device
    out = []
    for i in range(0, len(data), batch_size):
        idx = np.arange(i, min(i + batch_size, len(data)))
        out.append(model(data.inputs(idx).to(device))[0][:, 0].float().cpu().numpy())
    return data.original_camera(np.concatenate(out))


def per_sample_errors(pred: np.ndarray, data: WideField) -> dict:
    """{'MPJPE', 'P-MPJPE'}: (N,) per-sample errors in mm of predictions in the original camera."""
    from ... import metrics
    gt = data.original_camera(data.root_relative)
    return {"MPJPE": 1000 * metrics.joint_errors(pred, gt).mean(-1),
            "P-MPJPE": 1000 * metrics.joint_errors(metrics.procrustes_align(pred, gt), gt).mean(-1)}


def evaluate(model, dataset, flip_test: bool = False, batch_size: int = 128, device="auto",
             with_predictions: bool = True, **_):
    """The registry's evaluation for 'perspose': every crop of a WideField predicted once, turned back into the
    original camera, and scored root-relative (MPJPE, P-MPJPE, N-MPJPE, PCK, AUC in mm / %). No flip test:
    PersPose's flip needs the mirrored principal point, and the notebooks compare arms without it."""
    import time

    from ... import metrics
    from ...evaluation import EvalResult, resolve_device
    if not isinstance(dataset, WideField):
        raise TypeError(f"perspose scores a posekit.methods.perspose.data.WideField, got {type(dataset).__name__}")
    t0 = time.perf_counter()
    model.to(resolve_device(device) if isinstance(device, str) else device)
    pred = predict(model, dataset, batch_size)
    gt = dataset.original_camera(dataset.root_relative)
    err = metrics.joint_errors(pred, gt)
    p_err = metrics.joint_errors(metrics.procrustes_align(pred, gt), gt)
    mpjpe, p_mpjpe = 1000 * float(err.mean()), 1000 * float(p_err.mean())
    joints = metrics.PCK_JOINTS_H36M
    return EvalResult(mpjpe=mpjpe, p_mpjpe=p_mpjpe, n_mpjpe=1000 * metrics.n_mpjpe(pred, gt), mpjve=math.nan,
                      pck=metrics.pck(pred, gt, joints=joints), auc=metrics.auc(pred, gt, joints=joints),
                      per_action={"Average": mpjpe}, per_action_p_mpjpe={"Average": p_mpjpe},
                      per_joint=1000 * err.mean(0), frames=len(gt), seconds=time.perf_counter() - t0,
                      predictions={"original_camera": pred} if with_predictions else None)


def binned(values: np.ndarray, by: np.ndarray, edges) -> list[tuple[str, int, float]]:
    """[(bin label, count, mean of values in the bin)] for the bins [edges[i], edges[i + 1])."""
    rows = []
    for lo, hi in zip(edges[:-1], edges[1:]):
        keep = (by >= lo) & (by < hi)
        rows.append((f"{lo:g}-{hi:g}", int(keep.sum()), float(values[keep].mean()) if keep.any() else math.nan))
    return rows


__all__ = ["WideField", "from_samples", "wide_field", "mean_pose_floor", "predict", "per_sample_errors", "evaluate",
           "binned"]
