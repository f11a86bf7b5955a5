"""UAO's test-time optimisation (official `main.py`, the `--test_time_optimization` branch), for any posekit lifter
whose forward returns (pose, log_scale):

- `estimate_root`: the person's camera-frame root position from the 2D pose, the predicted 3D pose and the
  intrinsics (no ground truth; the official code uses the ground-truth root, see the package docstring);
- `anchor_weights`: how strongly each joint is held to the network's first answer (exp(-s_j): uncertain joints
  may move more), or a constant, or nothing (plain projection-based optimisation);
- `test_time_optimize`: the network frozen, its 2D input copies (the paper's "latent state") optimised with Adam
  for a few steps under the reprojection loss plus the uncertainty-weighted anchor.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import torch
from torch import nn

from ...camera import project
from ...skeleton import H36M_17, Skeleton, flip_poses

WEIGHTINGS = ("uncertainty", "constant", "none")


@dataclass
class TTOConfig:
    """Settings of the test-time optimisation; the defaults are the official ones
    (`common/arguments.py`: `--opt_iter_num 4`, `--lr_z 1e-3`, `--weight_gaussian 0.005`).

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
    """Per-joint weights (..., J) of the anchor term (the official prior term: the
    pseudo-GT distance weighted by exp(-s)).

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
    """UAO's test-time optimisation (official `main.py`) of one batch, for any lifter returning (pose, log_scale).

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
