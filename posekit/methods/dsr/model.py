"""DSR's regressor (Dwivedi et al., ICCV 2021, Sec. 3.1): SPIN/HMR's ResNet-50 + iterative error feedback.

Official files (`saidwivedi/DSR` at 7d55d17): `dsr/models/hmr.py`, `dsr/models/head/hmr_head.py`,
`dsr/models/head/smpl_head.py`. The backbone's 2048 x 7 x 7 output is average-pooled; the head starts from mean
parameters (pose as 6D rotations, shape, weak-perspective camera s, tx, ty) and runs 3 iterations of
[feature, pose, shape, camera] -> fc1 -> dropout -> fc2 -> dropout -> (decpose, decshape, deccam) added to the
parameters (no ReLU between fc1 and fc2, decoders Xavier-initialised with gain 0.01). 6D -> rotation matrix by
Gram-Schmidt (Zhou et al., CVPR 2019). The camera becomes the translation t = (tx, ty, 2 f / (S s)) with the crop's
focal length f and size S (the official code uses f = 5000, S = 224) and the mesh is projected in perspective.

Two body layers:
- `AnnyLayer` (free, default): anny's 13 posekit-driven bones (`posekit.body.retarget.DRIVEN`; the root is the
  global orientation in the camera frame) and its 6 phenotype values as the "shape" (13 x 6 + 6 + 3 per step);
- `SMPLLayer` (licensed): SMPL's 24 x 6 pose and 10 betas through `smplx` with the user's SMPL files, so
  `build("paper")` is the official regressor: 26,977,501 trainable parameters (ResNet-50 23,508,032 + head
  3,469,469). The SMPL layer has no trainable parameters.

`DSRModel(x)` returns (joints (B, 1, 17, 3) root-relative metres, extras) with extras holding the per-iteration
parameters, the root-relative vertices and the camera, as the posekit contract asks (`posekit.nn.contract`).
"""
from __future__ import annotations

import torch
from torch import nn

from ...nn.backbones import ResNet50, SmallImageCNN
from ...nn.contract import configuration

IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

CONFIGS = {
    "smoke": dict(backbone="small", widths=(16, 32, 64, 128), hidden=256, image_size=64, body="anny"),
    "cpu": dict(backbone="small", widths=(16, 32, 64, 128), hidden=512, image_size=64, body="anny"),
    "gpu": dict(backbone="resnet50", hidden=1024, image_size=128, body="anny"),
    "paper": dict(backbone="resnet50", hidden=1024, image_size=224, body="smpl"),
}


def rot6d_to_matrix(x: torch.Tensor) -> torch.Tensor:
    """(..., 6) -> (..., 3, 3): the two columns (x reshaped to (3, 2)) Gram-Schmidt-orthonormalised, b3 = b1 x b2."""
    a = x.reshape(*x.shape[:-1], 3, 2)
    b1 = nn.functional.normalize(a[..., 0], dim=-1)
    b2 = nn.functional.normalize(a[..., 1] - (b1 * a[..., 1]).sum(-1, keepdim=True) * b1, dim=-1)
    return torch.stack([b1, b2, torch.cross(b1, b2, dim=-1)], -1)


def matrix_to_rot6d(R: torch.Tensor) -> torch.Tensor:
    """(..., 3, 3) -> (..., 6): the first two columns, the inverse of `rot6d_to_matrix` on rotations."""
    return R[..., :2].reshape(*R.shape[:-2], 6)


class IEFHead(nn.Module):
    """Iterative error feedback (HMR, Kanazawa et al., CVPR 2018; SPIN's head): feature -> (pose, shape, camera)."""

    def __init__(self, feature_dim: int, npose: int, nshape: int, hidden: int = 1024, iterations: int = 3,
                 dropout: float = 0.5):
        super().__init__()
        self.npose, self.nshape, self.iterations = npose, nshape, iterations
        self.fc1 = nn.Linear(feature_dim + npose + nshape + 3, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.drop1, self.drop2 = nn.Dropout(dropout), nn.Dropout(dropout)
        self.decpose, self.decshape, self.deccam = nn.Linear(hidden, npose), nn.Linear(hidden, nshape), \
            nn.Linear(hidden, 3)
        for layer in (self.decpose, self.decshape, self.deccam):
            nn.init.xavier_uniform_(layer.weight, gain=0.01)
        eye6 = matrix_to_rot6d(torch.eye(3)).repeat(npose // 6)
        self.register_buffer("init_pose", eye6)
        self.register_buffer("init_shape", torch.zeros(nshape))
        self.register_buffer("init_cam", torch.tensor([0.9, 0.0, 0.0]))

    def set_mean(self, pose6d: torch.Tensor, shape: torch.Tensor, cam: torch.Tensor) -> None:
        """Start the iterations from these mean parameters (SPIN's `smpl_mean_params.npz`)."""
        with torch.no_grad():
            self.init_pose.copy_(pose6d.reshape(-1))
            self.init_shape.copy_(shape.reshape(-1))
            self.init_cam.copy_(cam.reshape(-1))

    def forward(self, feature: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor]]:
        b = feature.shape[0]
        pose, shape, cam = (t.expand(b, -1) for t in (self.init_pose, self.init_shape, self.init_cam))
        steps = []
        for _ in range(self.iterations):
            h = self.drop2(self.fc2(self.drop1(self.fc1(torch.cat([feature, pose, shape, cam], 1)))))
            pose, shape, cam = pose + self.decpose(h), shape + self.decshape(h), cam + self.deccam(h)
            steps.append((pose, shape, cam))
        return steps


class AnnyLayer(nn.Module):
    """anny driven by the posekit bones: (rotations (B, 13, 3, 3), phenotype (B, 6)) -> root-relative vertices and
    Human3.6M-17 joints in the frame of the root rotation (the camera frame when the root is predicted there)."""

    npose, nshape = 13 * 6, 6

    def __init__(self, topology: str = "3pc", body=None):
        super().__init__()
        from ...body import AnnyBody
        from ...body.retarget import DRIVEN
        self.body = body if body is not None else AnnyBody(topology)
        self.bones = [self.body.bone(name) for name in DRIVEN]
        self.register_buffer("faces", self.body.faces.clone(), persistent=False)

    def full_pose(self, rotations: torch.Tensor) -> torch.Tensor:
        pose = torch.eye(3, dtype=rotations.dtype, device=rotations.device).repeat(
            rotations.shape[0], self.body.num_bones, 1, 1)
        pose[:, self.bones] = rotations
        return pose

    def forward(self, rotations: torch.Tensor, shape: torch.Tensor) -> dict[str, torch.Tensor]:
        out = self.body(self.full_pose(rotations), shape.clamp(0, 1))
        root = out["joints"][:, :1]
        return {"vertices": out["vertices"] - root, "joints": out["joints"] - root}


class SMPLLayer(nn.Module):
    """SMPL through smplx from the user's files (`posekit.body.smpl_model`), called with rotation matrices as DSR
    does (global orient = rotation 0, body pose = 1..23); joints: the 24 SMPL joints, or the 17 of a Human3.6M
    regressor (V -> 17, e.g. SPIN's `J_regressor_h36m.npy`) when given. No trainable parameters."""

    npose, nshape = 24 * 6, 10

    def __init__(self, smpl_path=None, h36m_regressor=None):
        super().__init__()
        self.smpl_path, self.smpl = smpl_path, None
        if smpl_path is not None:
            from ...body import smpl_model
            self.smpl = smpl_model(smpl_path)
            for p in self.smpl.parameters():
                p.requires_grad_(False)
            self.register_buffer("faces", torch.as_tensor(self.smpl.faces.astype("int64")), persistent=False)
        self.register_buffer("h36m", None if h36m_regressor is None else torch.as_tensor(h36m_regressor).float(),
                             persistent=False)

    def forward(self, rotations: torch.Tensor, shape: torch.Tensor) -> dict[str, torch.Tensor]:
        if self.smpl is None:
            raise RuntimeError("this DSR model has the SMPL head but no SMPL body: build it with "
                               "build_model('dsr', 'paper', smpl_path='<folder with SMPL_NEUTRAL.pkl>'); SMPL is "
                               "licensed and never downloaded (smpl.is.tue.mpg.de)")
        out = self.smpl(betas=shape, body_pose=rotations[:, 1:], global_orient=rotations[:, :1], pose2rot=False)
        vertices = out.vertices
        joints = vertices.transpose(1, 2).matmul(self.h36m.T).transpose(1, 2) if self.h36m is not None \
            else out.joints[:, :24]
        root = joints[:, :1]
        return {"vertices": vertices - root, "joints": joints - root}


class DSRModel(nn.Module):
    """Image (B, 3, S, S), ImageNet-normalised -> (joints (B, 1, J, 3) root-relative metres, extras)."""

    receptive_field = 1
    output = "center"

    def __init__(self, backbone: str = "small", widths=(16, 32, 64, 128), hidden: int = 1024, image_size: int = 64,
                 body: str = "anny", topology: str = "3pc", iterations: int = 3, smpl_path=None,
                 h36m_regressor=None, **loss_options):
        super().__init__()
        if backbone == "resnet50":
            self.backbone = ResNet50()
        elif backbone == "small":
            self.backbone = SmallImageCNN(widths=tuple(widths))
        else:
            raise ValueError(f"unknown backbone {backbone!r}; choose 'resnet50' (the paper's) or 'small'")
        if body == "anny":
            self.body = AnnyLayer(topology)
        elif body == "smpl":
            self.body = SMPLLayer(smpl_path, h36m_regressor)
        else:
            raise ValueError(f"unknown body {body!r}; choose 'anny' (free) or 'smpl' (your SMPL files)")
        self.head = IEFHead(self.backbone.out_channels, self.body.npose, self.body.nshape, hidden, iterations)
        self.image_size = image_size
        self.loss_options = loss_options  # DSR loss weights and renderer settings (`losses.DSRLoss`)
        self.register_buffer("pixel_mean", torch.tensor(IMAGENET_MEAN).reshape(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(IMAGENET_STD).reshape(1, 3, 1, 1), persistent=False)

    def example_input(self, batch: int = 1) -> torch.Tensor:
        return torch.randn(batch, 3, self.image_size, self.image_size)

    def normalise(self, images_uint8: torch.Tensor) -> torch.Tensor:
        """uint8 (B, 3, S, S) -> the ImageNet-normalised float input."""
        return (images_uint8.float() / 255 - self.pixel_mean) / self.pixel_std

    def forward(self, x: torch.Tensor):
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"DSR takes images (B, 3, H, W), got {tuple(x.shape)}")
        feature = self.backbone(x).mean((-2, -1))
        steps = self.head(feature)
        pose6d, shape, cam = steps[-1]
        rotations = rot6d_to_matrix(pose6d.reshape(len(x), -1, 6))
        mesh = self.body(rotations, shape)
        extras = {"rotations": rotations, "shape": shape, "camera": cam, "vertices": mesh["vertices"],
                  "joints": mesh["joints"], "steps": steps}
        return mesh["joints"][:, None], extras


def camera_translation(cam: torch.Tensor, focal: torch.Tensor, size: int) -> torch.Tensor:
    """Weak-perspective (s, tx, ty) (B, 3) -> translation (tx, ty, 2 f / (S s)) (B, 3), as `dsr/models/hmr.py`."""
    return torch.stack([cam[:, 1], cam[:, 2], 2 * focal / (size * cam[:, 0] + 1e-9)], -1)


def build(config: str = "cpu", frames: int | None = None, **overrides) -> DSRModel:
    """DSR at a configuration of `CONFIGS` (frames is ignored: DSR sees one image). Overrides: any DSRModel keyword,
    including the loss options of `losses.DSRLoss` (mc_weight, c_weight, sigma, ...)."""
    return DSRModel(**configuration(CONFIGS, config, **overrides))
