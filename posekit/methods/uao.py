"""UAO: Uncertainty-Aware testing-time Optimization for 3D human pose lifting.

Paper: Ti Wang, Mengyuan Liu, Hong Liu, Bin Ren, Yingxuan You, Wenhao Li, Nicu Sebe, Xia Li, "Uncertainty-Aware
Testing-Time Optimization for 3D Human Pose Estimation", IEEE Transactions on Multimedia 2025 (arXiv 2402.02339).
Facts about the paper and its official code (`xiu-cs/UAO-Pose3D`) are in `shared/reference/uao.md`; the section
numbers below (§) are that page's.

The module follows the method top to bottom:

1. the lifting network "GUMLP" (§2): a single-frame GCN + MLP lifter whose two heads predict, for every joint,
   the 3D position mu_j and a log-scale s_j (the joint's uncertainty);
   - `uao_adjacency`: the fixed 4-subset skeleton graph (self, closer to the spine, further, left/right mirror);
   - `SkeletonGCN`, `ChannelUMLP`, `SpatialUMLP`, `GUMLPBlock`, `GUMLP`;
2. the heteroscedastic training loss (§3): mean_j ||y_j - mu_j|| exp(-s_j) + s_j (`heteroscedastic_loss`);
3. the test-time optimisation (§4), for any posekit lifter whose forward returns (pose, log_scale):
   - `estimate_root`: the person's camera-frame root position from the 2D pose, the predicted 3D pose and the
     intrinsics (no ground truth; the official code uses the ground-truth root, see below);
   - `anchor_weights`: how strongly each joint is held to the network's first answer (exp(-s_j): uncertain joints
     may move more), or a constant, or nothing (plain projection-based optimisation);
   - `test_time_optimize`: the network frozen, its 2D input copies (the "latent state") optimised with Adam for
     a few steps under the reprojection loss plus the uncertainty-weighted anchor;
   - `predict_tto` / `evaluate`: the same over a whole `PoseDataset`, with the time per sample.

Where this implementation departs from the official code, and why:
- Privileged information. The official code reprojects with the **ground-truth root position** of every test
  frame (§4, step 4). That is not available at test time, so `test_time_optimize` estimates the root from the 2D
  input and the camera intrinsics by default (`root=None`); the ground-truth root is used only when passed
  explicitly (`predict_tto(..., root='gt')`), to compare with the paper. The estimate is computed once, from the
  first (flip-averaged) prediction, and held fixed during the optimisation. The intrinsics (focal length, centre,
  distortion) are treated as known, as in the official code and as for any calibrated camera.
- Root joint. The official network predicts all 17 joints and the loss trains the root towards 0; its error can
  shrink without bound and its log-scale run to -inf. Here the pose head's output is made root-relative
  (mu_j - mu_root, no extra parameters), so the root is exactly 0, and `heteroscedastic_loss` leaves the root
  joint out. A floor on s (`S_MIN`, 0.1 mm) guards the other joints likewise.
- The projection uses the root-relative prediction (X_j - X_root) plus the root, where the official code adds the
  root to the raw output of joints 1..16; the two coincide when the predicted root is 0.
- The adjacency is a registered buffer (the official one is a tensor fixed on cuda:0), so the model moves between
  devices; like the official one it is not a parameter (4,509,059 parameters at the paper configuration).
- Training uses posekit's loop (AdamW, weight decay, grad clipping, per-epoch decay) instead of Adam with
  amsgrad and x0.95 per epoch, and selects no checkpoint on the test set (the official code keeps the best
  test epoch, §3).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn

from ..camera import project
from ..data.dataset import PoseDataset
from ..data.samplers import edge_index
from ..nn.contract import configuration
from ..nn.layers import DropPath, drop_path_rates
from ..skeleton import H36M_17, Skeleton, flip_poses

CONFIGS = {
    # the official defaults (§2): width 512, 3 blocks; channel-uMLP hidden 256, spatial-uMLP hidden 6 x 17.
    "paper": dict(channels=512, layers=3, channel_hidden=256, spatial_hidden=102, drop_path=0.2),
    "gpu": dict(channels=512, layers=3, channel_hidden=256, spatial_hidden=102, drop_path=0.2),
    # laptop sizes: the joint-mixing uMLP (102 hidden units per channel) dominates the cost, so it shrinks most
    "cpu": dict(channels=64, layers=2, channel_hidden=32, spatial_hidden=34, drop_path=0.1),
    "smoke": dict(channels=32, layers=1, channel_hidden=16, spatial_hidden=34, drop_path=0.0),
}

S_MIN = float(np.log(1e-4))  # log-scale floor in the loss: 0.1 mm


# ======================================================================== 1. the lifting network (§2)

# Extra edges between mirrored joints (§2, "left/right symmetric links"): (LFoot, RFoot), (LKnee, RKnee),
# (LHip, RHip), (LShoulder, RShoulder), (LElbow, RElbow), (LWrist, RWrist) in Human3.6M-17 order.
H36M_SYMMETRIC_LINKS = ((6, 3), (5, 2), (4, 1), (11, 14), (12, 15), (13, 16))
SUBSETS = ("self", "closer", "further", "symmetric")


def uao_adjacency(skeleton: Skeleton = H36M_17, symmetric_links=H36M_SYMMETRIC_LINKS, centre: int = 7) -> np.ndarray:
    """The fixed skeleton graph of GUMLP's GCN (§2, "Adjacency"): A (4, J, J) float32, subsets `SUBSETS`.

    Edges are self-loops, bones and the left/right `symmetric_links`. The 0/1 adjacency is column-normalised
    (A D^-1, D the column sums) and split, by each joint's hop distance to the `centre` joint (7, the spine),
    into 4 subsets as in ST-GCN's "spatial" partition: A[0] self-loops, A[1] bones whose receiving joint is
    closer to the centre than the sending one, A[2] the other bones, A[3] the symmetric links. Entry A[k, j, i]
    sends joint j's features to joint i (`x_out[i] = sum_j x[j] A[k, j, i]`), the official orientation.
    """
    n = skeleton.num_joints
    links = [(c, p) for c, p in skeleton.bones] + [tuple(e) for e in symmetric_links]
    adj = np.eye(n)
    for i, j in links:
        adj[i, j] = adj[j, i] = 1.0
    norm = adj / adj.sum(0, keepdims=True)           # A D^-1 (column sums, `normalize_XY_digraph`)
    dist = skeleton.hop_distance()[centre]             # hops along the bones to the centre joint
    sym = {frozenset(e) for e in symmetric_links}
    a = np.zeros((4, n, n))
    for j in range(n):
        for i in range(n):
            if adj[j, i] == 0:
                continue
            if i == j:
                k = 0
            elif frozenset((i, j)) in sym:
                k = 3
            elif dist[j] > dist[i]:                    # i is closer to the centre than j (official `a_close`)
                k = 1
            else:
                k = 2
            a[k, j, i] = norm[j, i]
    return a.astype(np.float32)


class SkeletonGCN(nn.Module):
    """The GCN of a block (§2, "GCN"): a 1x1 conv to 4 x C channels, contracted with the fixed A (4, J, J).

    (B, J, C) -> (B, J, C): y_i = sum_k sum_j A[k, j, i] W_k x_j + b_k, one weight matrix W_k per subset.
    """

    def __init__(self, channels: int, adjacency: np.ndarray):
        super().__init__()
        self.register_buffer("adjacency", torch.as_tensor(adjacency, dtype=torch.float32))
        self.subsets = self.adjacency.shape[0]
        self.conv = nn.Conv1d(channels, channels * self.subsets, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, j, c = x.shape
        h = self.conv(x.transpose(1, 2)).reshape(b, self.subsets, c, j)     # (B, K, C, J)
        return torch.einsum("bkcj,kji->bic", h, self.adjacency)


def _linear_block(c_in: int, c_out: int, drop: float) -> nn.Sequential:
    """Linear -> GELU -> Dropout, the official `linear_block`."""
    return nn.Sequential(nn.Linear(c_in, c_out), nn.GELU(), nn.Dropout(drop))


class ChannelUMLP(nn.Module):
    """U-shaped MLP over the channels of each joint (§2): C -> H -> H (+ skip) -> C; (B, J, C) -> (B, J, C)."""

    def __init__(self, channels: int, hidden: int, drop: float = 0.1):
        super().__init__()
        self.down = _linear_block(channels, hidden, drop)
        self.mid = _linear_block(hidden, hidden, drop)
        self.up = _linear_block(hidden, channels, drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.down(x)
        return self.up(self.mid(h) + h)


class SpatialUMLP(nn.Module):
    """U-shaped MLP over the joint axis (§2, `spatial_uMLP_Multi`): J -> 3J -> 6J -> 6J (+ skip) -> 3J -> J.

    Mixes joints, channel by channel: (B, C, J) -> (B, C, J) (17 -> 51 -> 102 -> 102 -> 51 -> 17 for Human3.6M;
    `hidden` is 6 J in the official code).
    """

    def __init__(self, joints: int = 17, hidden: int = 102, drop: float = 0.05):
        super().__init__()
        self.up1 = _linear_block(joints, hidden // 2, drop)
        self.up2 = _linear_block(hidden // 2, hidden, drop)
        self.mid = _linear_block(hidden, hidden, drop)
        self.down1 = _linear_block(hidden, hidden // 2, drop)
        self.down2 = _linear_block(hidden // 2, joints, drop)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.up2(self.up1(x))
        return self.down2(self.down1(self.mid(h) + h))


class GUMLPBlock(nn.Module):
    """One GCN-MLP block (§2, "Each Block"), (B, J, C) -> (B, J, C):

        x <- x + DropPath(GCN(LN_J(x)))                                  (LN_J: LayerNorm over the joint axis)
        x <- x + DropPath(ChannelUMLP(LN_C(x)) + SpatialUMLP(LN_J(x)))   (the two branches in parallel)
    """

    def __init__(self, joints: int, channels: int, channel_hidden: int, adjacency: np.ndarray,
                 drop_path: float = 0.0, spatial_hidden: int = 102):
        super().__init__()
        self.norm_gcn = nn.LayerNorm(joints, eps=1e-6)
        self.gcn = SkeletonGCN(channels, adjacency)
        self.norm_channel = nn.LayerNorm(channels, eps=1e-6)
        self.channel_mlp = ChannelUMLP(channels, channel_hidden, drop=0.1)
        self.norm_spatial = nn.LayerNorm(joints, eps=1e-6)
        self.spatial_mlp = SpatialUMLP(joints, spatial_hidden, drop=0.05)
        self.drop_path = DropPath(drop_path)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        g = self.norm_gcn(x.transpose(1, 2)).transpose(1, 2)
        x = x + self.drop_path(self.gcn(g))
        spatial = self.spatial_mlp(self.norm_spatial(x.transpose(1, 2))).transpose(1, 2)
        return x + self.drop_path(self.channel_mlp(self.norm_channel(x)) + spatial)


class GUMLP(nn.Module):
    """The UAO lifter (§2): single-frame 2D (B, 1, J, 2) -> (mu (B, 1, J, 3) metres, s (B, 1, J, 1)).

    Encoder Linear(2 -> 64) -> Linear(64 -> C) (no activation between, as in the official code), `layers`
    GCN-MLP blocks (drop path rising linearly from 0 to `drop_path`), then two LayerNorms and two linear heads:
    mu = Linear(C -> C/2) -> Linear(C/2 -> 3) (made root-relative), s = Linear(C -> C/2) -> Linear(C/2 -> 1).
    s is the joint's log-scale: exp(s) is its expected error (metres) under the Laplace-like likelihood of the loss.
    Several frames (B, T, J, 2) are lifted one by one into (B, T, J, 3) and (B, T, J, 1).
    """

    output = "center"
    receptive_field = 1

    def __init__(self, joints: int = 17, in_chans: int = 2, channels: int = 512, layers: int = 3,
                 channel_hidden: int = 256, spatial_hidden: int = 102, embed_hidden: int = 64,
                 drop_path: float = 0.2, skeleton: Skeleton = H36M_17):
        super().__init__()
        if skeleton.num_joints != joints:
            raise ValueError(f"skeleton {skeleton.name} has {skeleton.num_joints} joints, the model {joints}")
        self.joints, self.in_chans, self.skeleton = joints, in_chans, skeleton
        self.embed = nn.Sequential(nn.Linear(in_chans, embed_hidden), nn.Linear(embed_hidden, channels))
        adjacency = uao_adjacency(skeleton) if skeleton is H36M_17 else uao_adjacency(skeleton, ())
        dpr = drop_path_rates(drop_path, layers)
        self.blocks = nn.ModuleList(GUMLPBlock(joints, channels, channel_hidden, adjacency, p, spatial_hidden)
                                    for p in dpr)
        self.norm_mu = nn.LayerNorm(channels, eps=1e-6)
        self.norm_s = nn.LayerNorm(channels, eps=1e-6)
        self.head_mu = nn.Sequential(nn.Linear(channels, channels // 2), nn.Linear(channels // 2, 3))
        self.head_s = nn.Sequential(nn.Linear(channels, channels // 2), nn.Linear(channels // 2, 1))

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Encoder and blocks: (B, J, C_in) -> (B, J, C)."""
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return h

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if x.ndim != 4 or x.shape[-2:] != (self.joints, self.in_chans):
            raise ValueError(f"GUMLP expects 2D keypoints (B, T, {self.joints}, {self.in_chans}), "
                             f"got shape {tuple(x.shape)}")
        b, t = x.shape[:2]
        h = self.features(x.reshape(b * t, self.joints, self.in_chans))
        mu = self.head_mu(self.norm_mu(h)).reshape(b, t, self.joints, 3)
        mu = mu - mu[:, :, self.skeleton.root:self.skeleton.root + 1]     # root-relative: the root is exactly 0
        s = self.head_s(self.norm_s(h)).reshape(b, t, self.joints, 1)
        return mu, s

    def loss(self, output, target: torch.Tensor) -> torch.Tensor:
        return heteroscedastic_loss(output, target, root=self.skeleton.root)


def build(config: str = "cpu", frames: int | None = None, **overrides) -> GUMLP:
    """GUMLP at a named configuration ('paper' = the official defaults, 4,509,059 parameters)."""
    if frames not in (None, 1):
        raise ValueError(f"the UAO lifter is single-frame; frames must be 1 (or None), got {frames}")
    return GUMLP(**configuration(CONFIGS, config, **overrides))


# ======================================================================== 2. the heteroscedastic loss (§3)

def heteroscedastic_loss(output, target: torch.Tensor, root: int | None = 0) -> torch.Tensor:
    """L = mean over samples and joints of ||y_j - mu_j||_2 exp(-s_j) + s_j (§3; Kendall & Gal style).

    output: (mu (B, T, J, 3), s (B, T, J, 1) or (B, T, J)); target (B, T, J, 3), root-relative metres. The norm is
    the unsquared Euclidean distance, as in the official `gaussian_loss`; for a fixed error e the loss is
    smallest at s = log e, so exp(s) learns to predict the joint's error. The `root` joint (target identically 0)
    is left out, and s is floored at `S_MIN` (see the module docstring).
    """
    if not isinstance(output, (tuple, list)) or len(output) < 2:
        raise TypeError("heteroscedastic_loss needs the model output (pose, log_scale); got a single tensor")
    mu, s = output[0], output[1]
    s = s.squeeze(-1) if s.ndim == mu.ndim else s
    if mu.shape != target.shape or s.shape != mu.shape[:-1]:
        raise ValueError(f"shapes do not match: pose {tuple(mu.shape)}, log-scale {tuple(s.shape)}, "
                         f"target {tuple(target.shape)}")
    err = torch.linalg.norm(target - mu, dim=-1)
    s = s.clamp_min(S_MIN)
    per_joint = err * torch.exp(-s) + s
    if root is not None:
        keep = [j for j in range(mu.shape[-2]) if j != root]
        per_joint = per_joint[..., keep]
    return per_joint.mean()


# ======================================================================== 3. test-time optimisation (§4)

WEIGHTINGS = ("uncertainty", "constant", "none")


@dataclass
class TTOConfig:
    """Settings of the test-time optimisation; the defaults are the official ones (§4).

    iterations: Adam steps (official 4); lr: Adam's step on the 2D latent, normalised screen units (1e-3);
    w_g: weight of the anchor to the first prediction (0.005); w_p: weight of the reprojection loss (1);
    weighting: 'uncertainty' (UAO: anchor joint j with exp(-s_j)), 'constant' (every joint with the mean of
    exp(-s) over the joints: the same total anchoring, no uncertainty), or 'none' (plain projection-based
    optimisation, the anchor removed); flip: optimise a mirrored copy as well and average (official).
    """

    iterations: int = 4
    lr: float = 1e-3
    w_g: float = 0.005
    w_p: float = 1.0
    weighting: str = "uncertainty"
    flip: bool = True

    def __post_init__(self):
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {self.weighting!r}")
        if self.iterations < 0:
            raise ValueError(f"iterations must be >= 0, got {self.iterations}")


def _split_output(output) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(output, (tuple, list)) or len(output) < 2:
        raise TypeError("test-time optimisation needs a lifter whose forward returns (pose, log_scale), e.g. "
                        "posekit.methods.uao.GUMLP; this model returned a single tensor")
    pose, s = output[0].float(), output[1].float()
    return pose, (s.squeeze(-1) if s.ndim == pose.ndim else s)


def estimate_root(pose: torch.Tensor, keypoints_2d: torch.Tensor, intrinsics: torch.Tensor,
                  weights: torch.Tensor | None = None, refine: int = 3, root: int = 0) -> torch.Tensor:
    """Camera-frame root position t (N, 3) that best projects `pose` + t onto `keypoints_2d` (no ground truth).

    pose: (N, J, 3) root-relative metres; keypoints_2d: (N, J, 2) normalised screen units; intrinsics: (N, 9) or
    (9,) normalised [f, c, k, p]; weights: optional (N, J) per-joint weights.
    Pinhole projection makes each joint's residual linear in t: f_x (X_j + t_x) - (u_j - c_x)(Z_j + t_z) = 0 (and
    the same in y), so t is a 3-unknown weighted least-squares solve. Lens distortion is then handled by `refine`
    fixed-point rounds that undistort the 2D with the distortion factor at the current estimate and solve again.
    The result inherits the predicted pose's scale: a pose predicted 5% too small puts the person 5% too close.
    """
    pose, kp = pose.float(), keypoints_2d.float()
    n, j, _ = pose.shape
    k9 = torch.as_tensor(intrinsics, dtype=pose.dtype, device=pose.device).reshape(-1, 9).expand(n, 9)
    f, c = k9[:, None, :2], k9[:, None, 2:4]
    w = torch.ones(n, j, device=pose.device) if weights is None else weights.float()
    target = kp
    rel = pose - pose[:, root:root + 1]
    t = None
    for _ in range(refine + 1):
        d = target - c                                                   # (N, J, 2) centred 2D
        # rows for x and y: [f_x, 0, -d_x] . t = d_x Z - f_x X ;  [0, f_y, -d_y] . t = d_y Z - f_y Y
        zeros = torch.zeros_like(d[..., 0])
        ax = torch.stack([f[..., 0].expand_as(zeros), zeros, -d[..., 0]], -1)
        ay = torch.stack([zeros, f[..., 1].expand_as(zeros), -d[..., 1]], -1)
        a = torch.cat([ax, ay], 1)                                       # (N, 2J, 3)
        b = torch.cat([d[..., 0] * rel[..., 2] - f[..., 0] * rel[..., 0],
                       d[..., 1] * rel[..., 2] - f[..., 1] * rel[..., 1]], 1)
        ww = torch.cat([w, w], 1)[..., None]
        ata = (a * ww).transpose(1, 2) @ a + 1e-9 * torch.eye(3, device=pose.device)
        atb = ((a * ww).transpose(1, 2) @ b[..., None])
        t = torch.linalg.solve(ata, atb)[..., 0]
        t = torch.cat([t[:, :2], t[:, 2:].clamp_min(0.1)], 1)           # in front of the camera
        if not torch.any(k9[:, 4:] != 0):
            break
        x_cam = rel + t[:, None]
        distorted = project(x_cam, k9, distort=True)
        pinhole = project(x_cam, k9, distort=False)
        ratio = (pinhole - c) / torch.where((distorted - c).abs() < 1e-9, torch.full_like(c, 1e-9), distorted - c)
        target = c + (kp - c) * ratio.clamp(0.5, 2.0)
    return t


def anchor_weights(log_scale: torch.Tensor, weighting: str = "uncertainty") -> torch.Tensor:
    """Per-joint weights (..., J) of the anchor term (§4, step 4, "uncertainty-weighted prior").

    'uncertainty': exp(-s_j), UAO's weights: a joint the network is unsure of (large s) is held loosely and may
    move to fit the 2D, a confident one stays near the first prediction. 'constant': the mean of exp(-s) over
    the joints, given to every joint (same total pull, no per-joint information). 'none': zeros (plain
    projection-based optimisation). The weights carry no gradient (the official code detaches s).
    """
    w = torch.exp(-log_scale.detach())
    if weighting == "uncertainty":
        return w
    if weighting == "constant":
        return w.mean(-1, keepdim=True).expand_as(w)
    if weighting == "none":
        return torch.zeros_like(w)
    raise ValueError(f"weighting must be one of {WEIGHTINGS}, got {weighting!r}")


def _unflip(pose: torch.Tensor, s: torch.Tensor, skeleton: Skeleton) -> tuple[torch.Tensor, torch.Tensor]:
    return flip_poses(pose, skeleton), s[..., skeleton.flip_permutation]


def _target_frames(x: torch.Tensor, frames_out: int) -> torch.Tensor:
    """The input frames a prediction of `frames_out` frames corresponds to: the centre one or all of them."""
    if frames_out == x.shape[1]:
        return x
    if frames_out == 1:
        return x[:, (x.shape[1] - 1) // 2:(x.shape[1] - 1) // 2 + 1]
    raise ValueError(f"cannot match {frames_out} output frames to {x.shape[1]} input frames")


@dataclass
class TTOResult:
    """What `test_time_optimize` returns. Poses are root-relative metres (root joint exactly 0).

    pose (B, T', J, 3): after the last iteration (flip-averaged); initial: the network's direct answer;
    log_scale (B, T', J): s of the direct answer; root (B, T', 3): the root used for projection;
    history: {iteration: pose} for the iterations in `record` (0 = initial); losses: per iteration, the mean
    total, anchor and projection terms of the non-flipped branch; latent: {iteration: 2D latent (B, T, J, 2)};
    reprojection: {iteration: projected 2D (B, T', J, 2)} of the non-flipped branch; seconds: wall time.
    """

    pose: torch.Tensor
    initial: torch.Tensor
    log_scale: torch.Tensor
    root: torch.Tensor
    history: dict = field(default_factory=dict)
    losses: list = field(default_factory=list)
    latent: dict = field(default_factory=dict)
    reprojection: dict = field(default_factory=dict)
    seconds: float = 0.0


def _root_relative(pose: torch.Tensor, root: int) -> torch.Tensor:
    return pose - pose[..., root:root + 1, :]


def test_time_optimize(model: nn.Module, keypoints_2d: torch.Tensor, intrinsics, root: torch.Tensor | None = None,
                       config: TTOConfig | None = None, skeleton: Skeleton = H36M_17, record=(),
                       keep_latent: bool = False, **overrides) -> TTOResult:
    """UAO's test-time optimisation (§4) of one batch, for any lifter returning (pose, log_scale).

    keypoints_2d: (B, T, J, 2) screen-normalised input windows; intrinsics: (9,) or (B, 9) normalised camera
    vector [f, c, k, p] (`Camera.intrinsics`); root: (B, 3) or (B, T', 3) camera-frame root position in metres,
    or None to estimate it from the 2D and the first prediction (`estimate_root`; the official code passes the
    ground truth, which is privileged). config / overrides: `TTOConfig` fields.

    With f the frozen network, mu0, s0 = f(x) its first answer and z initialised to x:
        repeat `iterations` times:  X, s = f(z)
            L_g = mean_j ||X_j - mu0_j|| w_j         w = anchor_weights(s)   (uncertainty-weighted anchor)
            L_p = mean_j ||Pi(X_j - X_root + r) - x_j||                       (reprojection onto the input 2D)
            z <- Adam step on w_g L_g + w_p L_p
    and the answer is f(z). With flip, a mirrored copy z' starts at flip(x), its output is un-flipped and
    projected onto the same non-flipped x, and the final answer averages both branches (as the official code).
    record: iterations whose (flip-averaged, root-relative) pose to keep in `history` (0 = direct answer).
    """
    cfg = config or TTOConfig()
    if overrides:
        cfg = TTOConfig(**{**cfg.__dict__, **overrides})
    if keypoints_2d.ndim != 4 or keypoints_2d.shape[-1] != 2:
        raise ValueError(f"keypoints_2d must be (B, T, J, 2) screen-normalised 2D, got {tuple(keypoints_2d.shape)}")
    if keypoints_2d.shape[-2] != skeleton.num_joints:
        raise ValueError(f"keypoints_2d has {keypoints_2d.shape[-2]} joints, skeleton {skeleton.name} "
                         f"{skeleton.num_joints}")
    t0 = time.perf_counter()
    device = next(model.parameters()).device
    x = keypoints_2d.to(device).float()
    b = x.shape[0]
    k9 = torch.as_tensor(intrinsics, dtype=torch.float32, device=device).reshape(-1, 9).expand(b, 9)
    was_training = model.training
    model.eval()
    frozen = [(p, p.requires_grad) for p in model.parameters()]
    for p, _ in frozen:
        p.requires_grad_(False)
    record = set(record)
    if record and (min(record) < 0 or max(record) > cfg.iterations):
        raise ValueError(f"record must list iterations between 0 and {cfg.iterations}, got {sorted(record)}")
    branches = [x, flip_poses(x, skeleton)] if cfg.flip else [x]

    def run(inputs):
        """Forward every branch; un-flip the mirrored one. Returns lists of (pose, s)."""
        outs = []
        for i, z in enumerate(inputs):
            pose, s = _split_output(model(z))
            outs.append(_unflip(pose, s, skeleton) if i == 1 else (pose, s))
        return outs

    def averaged(outs):
        pose = torch.stack([o[0] for o in outs]).mean(0)
        return _root_relative(pose, skeleton.root)

    try:
        with torch.no_grad():
            first = run(branches)
        mu0 = [p for p, _ in first]
        initial = averaged(first)
        s0 = torch.stack([s for _, s in first]).mean(0)
        target2d = _target_frames(x, initial.shape[1])
        tout = initial.shape[1]
        if root is None:
            flat = estimate_root(initial.reshape(-1, skeleton.num_joints, 3),
                                 target2d.reshape(-1, skeleton.num_joints, 2),
                                 k9[:, None].expand(b, tout, 9).reshape(-1, 9), root=skeleton.root)
            r = flat.reshape(b, tout, 3)
        else:
            r = torch.as_tensor(root, dtype=torch.float32, device=device)
            r = r.reshape(b, 1, 3).expand(b, tout, 3) if r.ndim == 2 else r.reshape(b, tout, 3)
        kk = k9[:, None, None, :]                                         # (B, 1, 1, 9) for (B, T', J, 3)

        def reproject(pose):
            return project(_root_relative(pose, skeleton.root) + r[:, :, None], kk)

        history = {0: initial.detach().clone()} if 0 in record else {}
        latent, reprojection, losses = {}, {}, []
        z = [branch.clone().requires_grad_(True) for branch in branches]
        opt = torch.optim.Adam(z, lr=cfg.lr)
        for it in range(1, cfg.iterations + 1):
            with torch.enable_grad():
                outs = run(z)                                             # f(z) after it - 1 steps
                if keep_latent:
                    latent[it - 1] = z[0].detach().clone()
                    reprojection[it - 1] = reproject(outs[0][0]).detach()
                if it - 1 in record and it > 1:
                    history[it - 1] = averaged(outs).detach()
                total, parts = 0.0, []
                for (pose, s), m0 in zip(outs, mu0):
                    w = anchor_weights(s, cfg.weighting)
                    l_g = (torch.linalg.norm(pose - m0, dim=-1) * w).mean()
                    l_p = torch.linalg.norm(reproject(pose) - target2d, dim=-1).mean()
                    total = total + cfg.w_g * l_g + cfg.w_p * l_p
                    parts.append((l_g.item(), l_p.item()))
                opt.zero_grad(set_to_none=True)
                total.backward()
                opt.step()
            losses.append(dict(iteration=it, total=total.item() / len(outs), anchor=parts[0][0],
                               projection=parts[0][1]))
        final = initial
        if cfg.iterations:
            with torch.no_grad():
                outs = run(z)
            final = averaged(outs)
            if keep_latent:
                latent[cfg.iterations] = z[0].detach().clone()
                reprojection[cfg.iterations] = reproject(outs[0][0]).detach()
        elif keep_latent:
            latent[0], reprojection[0] = x.detach().clone(), reproject(mu0[0]).detach()
        if cfg.iterations in record:
            history[cfg.iterations] = final
    finally:
        for p, flag in frozen:
            p.requires_grad_(flag)
        model.train(was_training)
    return TTOResult(pose=final.detach(), initial=initial.detach(), log_scale=s0.detach(), root=r.detach(),
                     history=history, losses=losses, latent=latent, reprojection=reprojection,
                     seconds=time.perf_counter() - t0)


# ======================================================================== 4. over a dataset

@dataclass
class TTOPredictions:
    """predict_tto's answer: {iteration: {sequence name: (T, J, 3)}} root-relative metres, the per-frame
    log-scales {sequence name: (T, J)}, and the wall time per frame (seconds) of the whole optimisation."""

    poses: dict
    log_scale: dict
    seconds_per_frame: float
    iterations: int

    @property
    def final(self) -> dict:
        return self.poses[self.iterations]


def predict_tto(model: nn.Module, dataset: PoseDataset, config: TTOConfig | None = None, root: str = "estimate",
                record=(), batch_size: int = 1024, progress: bool = False, **overrides) -> TTOPredictions:
    """Run `test_time_optimize` over every frame of every sequence of `dataset` (centre-frame windows).

    root: 'estimate' (from the 2D and the intrinsics, no ground truth: posekit's default) or 'gt' (the sequence's
    ground-truth root trajectory, privileged, as the official code: use it only to compare with the paper).
    record: iteration counts whose predictions to return as well (one run to `config.iterations` gives the
    predictions of every shorter run too, since the optimiser's path does not depend on when it stops).
    """
    if root not in ("estimate", "gt"):
        raise ValueError(f"root must be 'estimate' or 'gt', got {root!r}")
    cfg = config or TTOConfig()
    if overrides:
        cfg = TTOConfig(**{**cfg.__dict__, **overrides})
    if getattr(model, "output", "center") != "center":
        raise ValueError("predict_tto handles single-frame / centre-frame lifters (model.output == 'center'); "
                         "call test_time_optimize on your own windows for sequence models")
    frames = getattr(model, "receptive_field", 1)
    keep = sorted(set(record) | {cfg.iterations})
    seqs = list(dataset)
    # every frame of every sequence in one list, so that batches span sequences
    inputs, k9s, roots, lengths = [], [], [], []
    for seq in seqs:
        length = seq.num_frames
        idx = edge_index(np.arange(length) - (frames - 1) // 2, frames, np.full(length, length))
        inputs.append(seq.keypoints_2d[idx])
        k9s.append(np.repeat(seq.camera.intrinsics[None], length, 0))
        roots.append(seq.trajectory)
        lengths.append(length)
    inputs, k9s, roots = (np.concatenate(a) for a in (inputs, k9s, roots))
    parts, scales, seconds = {k: [] for k in keep}, [], 0.0
    starts = range(0, len(inputs), batch_size)
    if progress:
        from tqdm.auto import tqdm
        starts = tqdm(starts, desc=f"TTO {cfg.weighting} x{cfg.iterations}", leave=False)
    for i in starts:
        sl = slice(i, i + batch_size)
        r = torch.from_numpy(roots[sl]) if root == "gt" else None
        res = test_time_optimize(model, torch.from_numpy(inputs[sl]), torch.from_numpy(k9s[sl]), root=r, config=cfg,
                                 skeleton=dataset.skeleton, record=keep)
        seconds += res.seconds
        for k in keep:
            parts[k].append(res.history[k][:, 0].cpu().numpy())
        scales.append(res.log_scale[:, 0].cpu().numpy())
    bounds = np.cumsum([0] + lengths)
    names = [seq.name for seq in seqs]

    def split(a):
        return {n: a[bounds[j]:bounds[j + 1]] for j, n in enumerate(names)}
    out = {k: split(np.concatenate(parts[k])) for k in keep}
    count = int(bounds[-1])
    scales = split(np.concatenate(scales))
    return TTOPredictions(poses=out, log_scale=scales, seconds_per_frame=seconds / max(count, 1),
                          iterations=cfg.iterations)


@torch.no_grad()
def predict_uncertainty(model: nn.Module, dataset: PoseDataset, batch_size: int = 2048,
                        flip_test: bool = True) -> tuple[dict, dict]:
    """Direct predictions and log-scales of a single-frame uncertainty lifter: ({name: (T, J, 3)}, {name: (T, J)}).

    With flip_test, pose and s are averaged with the un-flipped answer to the mirrored input (root set to 0).
    """
    device = next(model.parameters()).device
    model.eval()
    poses, scales = {}, {}
    for seq in dataset:
        ps, ss = [], []
        for i in range(0, seq.num_frames, batch_size):
            x = torch.from_numpy(seq.keypoints_2d[i:i + batch_size, None]).to(device)
            pose, s = _split_output(model(x))
            if flip_test:
                pf, sf = _unflip(*_split_output(model(flip_poses(x, dataset.skeleton))), dataset.skeleton)
                pose, s = (pose + pf) / 2, (s + sf) / 2
            ps.append(_root_relative(pose[:, 0], dataset.skeleton.root).cpu().numpy())
            ss.append(s[:, 0].cpu().numpy())
        poses[seq.name], scales[seq.name] = np.concatenate(ps), np.concatenate(ss)
    return poses, scales


def evaluate(model: nn.Module, dataset: PoseDataset, flip_test: bool = True, batch_size: int = 1024,
             device="auto", predictions: dict | None = None, with_predictions: bool = True,
             config: TTOConfig | None = None, root: str = "estimate"):
    """`posekit.train.evaluate` with UAO's test-time optimisation (estimated root unless root='gt').

    Replaces the generic evaluation in `posekit train uao` / `posekit eval uao`; same signature plus the TTO
    `config` and `root` choice. The result's `seconds` is the whole evaluation time.
    """
    from .. import train as training
    if predictions is None:
        if device != "auto":
            model.to(training.resolve_device(device) if isinstance(device, str) else device)
        cfg = config or TTOConfig(flip=flip_test)
        predictions = predict_tto(model, dataset, cfg, root=root, batch_size=batch_size).final
    return training.evaluate(None, dataset, predictions=predictions, with_predictions=with_predictions)
