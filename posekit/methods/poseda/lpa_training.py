"""Training LPA (PoseDA Sec. 3.3, reconstructed from PoseAug's `function_poseaug/` and `utils/gan_utils.py`): the
generator against the anchor discriminator with LSGAN losses, a history pool and PoseAug's range regularisers, no
lifter in the loop (PoseDA issue #1: the augmented data is generated first, the lifter trained on it afterwards);
then the trained generator run offline over the source poses.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import nn
from tqdm.auto import tqdm

from ...skeleton import H36M_17, Skeleton
from .gpa import TargetPool, global_position_alignment, project_pinhole
from .lpa import AnchorDiscriminator, LPAGenerator, normalize_2d_for_discriminator

# ---------------------------------------------------------------------------- losses (LSGAN, PoseAug)

def discriminator_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """LSGAN D loss: 0.5 [MSE(D(real), 1) + MSE(D(fake), 0)]."""
    return 0.5 * (((real - 1) ** 2).mean() + (fake ** 2).mean())


def generator_adversarial_loss(real: torch.Tensor, fake: torch.Tensor) -> torch.Tensor:
    """PoseAug's G loss: 0.5 [MSE(D(real), 0) + MSE(D(fake), 1)] (the first term carries no gradient to G)."""
    return 0.5 * ((real ** 2).mean() + ((fake - 1) ** 2).mean())


def bone_angle_range_loss(ba_diff: torch.Tensor, m: float = 0.205, w: float = 0.165) -> torch.Tensor:
    """PoseAug's `diff_range_loss` on the mean (1 - cos) per pose: (a - m)^2 where |a - m| > w, else 0."""
    a = ba_diff.mean(-1)
    d = (a - m) ** 2
    return (d * (d > w ** 2)).mean()


def bone_length_range_loss(blr: torch.Tensor, limit: float = 0.1) -> torch.Tensor:
    """PoseAug's `rectifiedL2loss`: r^2 where |r| > limit, else 0."""
    d = blr ** 2
    return (d * (d > limit ** 2)).mean()


class HistoryPool:
    """Shrivastava et al.'s image pool (PoseAug's Sample_from_Pool): until `size` fakes are stored, return the
    new ones; then each new fake is, with probability 1/2, swapped for a stored one (which is returned)."""

    def __init__(self, size: int = 4096, rng: np.random.Generator | None = None):
        self.size, self.items = size, None
        self.count = 0
        self.rng = rng or np.random.default_rng(0)

    def __call__(self, x: torch.Tensor) -> torch.Tensor:
        x = x.detach()
        if self.items is None:
            self.items = x.new_zeros((self.size,) + tuple(x.shape[1:]))
        out = x.clone()
        n_fill = min(self.size - self.count, len(x))
        if n_fill > 0:
            self.items[self.count:self.count + n_fill] = x[:n_fill]
            self.count += n_fill
        rest = np.arange(n_fill, len(x))
        swap = rest[self.rng.random(len(rest)) > 0.5]
        if len(swap):
            slots = torch.as_tensor(self.rng.integers(0, self.size, len(swap)))
            sw = torch.as_tensor(swap)
            out[sw] = self.items[slots]
            self.items[slots] = x[sw]
        return out


# ---------------------------------------------------------------------------- adversarial training

@dataclass
class LPAConfig:
    """LPA's training budget and loss weights (PoseAug's defaults where they exist: Adam 1e-4, D every 2 G steps,
    gradient clipping 1, weights 1 adv2D + 6 adv3D + 3 range)."""

    steps: int = 2000
    batch_size: int = 256
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    d_every: int = 2
    w_adv_2d: float = 1.0
    w_adv_3d: float = 6.0
    w_range: float = 3.0
    ba_range: tuple[float, float] = (0.205, 0.165)
    bl_limit: float = 0.1
    max_rotation: float = math.pi / 4
    pool_size: int = 4096
    grad_clip: float = 1.0
    seed: int = 0
    device: str = "cpu"
    progress: bool = True

    @classmethod
    def from_profile(cls, profile, **overrides) -> "LPAConfig":
        """posekit's LPA budget for a profile (`LPA_BUDGETS`, keyed like the profiles) on the profile's device."""
        base = dict(LPA_BUDGETS.get(profile.name, LPA_BUDGETS["cpu"]),
                    device="cuda" if profile.device == "cuda" and torch.cuda.is_available() else "cpu")
        return cls(**{**base, **overrides})


# LPA's budget per profile (the GAN trains once, before any lifter): posekit's choice. PoseDA's schedule is not
# public; PoseAug trains its GAN for 50 epochs of batch 1,024, alternating with the lifter.
LPA_BUDGETS = {
    "smoke": dict(steps=30, batch_size=128),
    "cpu": dict(steps=400, batch_size=256),
    "gpu": dict(steps=5000, batch_size=1024),
    "paper": dict(steps=19000, batch_size=1024),
}


@dataclass
class LPAResult:
    generator: LPAGenerator
    discriminator: AnchorDiscriminator
    history: list[dict] = field(default_factory=list)

    def curves(self, every: int = 1) -> dict[str, np.ndarray]:
        keys = self.history[0].keys() if self.history else []
        return {k: np.array([h[k] for h in self.history[::every]]) for k in keys}


def train_lpa(source_poses: np.ndarray, target: TargetPool, config: LPAConfig | None = None,
              skeleton: Skeleton = H36M_17) -> LPAResult:
    """Train the LPA generator against the anchor discriminator (Sec. 3.3; reconstructed from PoseAug, see the
    package docstring). No lifter is involved (PoseDA issue #1): the losses are adversarial and range terms only.

    source_poses (N, J, 3) root-relative source 3D (the 3D anchors and the poses to augment); target: the
    unlabelled target pool (its 2D are the 2D anchors; its cameras project the augmented poses after GPA).
    Each step: augment a batch, GPA it to random target frames (differentiably), project, and score
    (3D: KCS, 2D: root-relative, scale-normalised); update G every step, D every `d_every` steps from the pool.
    """
    config = config or LPAConfig()
    device = torch.device(config.device)
    torch.manual_seed(config.seed)
    rng = np.random.default_rng(config.seed)
    poses = torch.as_tensor(np.asarray(source_poses, dtype=np.float32))
    if poses.ndim != 3 or poses.shape[1:] != (skeleton.num_joints, 3):
        raise ValueError(f"source_poses must be (N, {skeleton.num_joints}, 3), got {tuple(poses.shape)}")
    if len(poses) < 2 or len(target) < 2:
        raise ValueError("LPA needs at least 2 source poses and 2 target 2D poses")
    poses = poses - poses[:, :1]
    gen = LPAGenerator(skeleton, max_rotation=config.max_rotation).to(device)
    dis = AnchorDiscriminator(skeleton).to(device)
    opt_g = torch.optim.Adam(gen.parameters(), lr=config.lr_g)
    opt_d = torch.optim.Adam(dis.parameters(), lr=config.lr_d)
    decay = lambda step: 1 - step / (config.steps + 1)  # PoseAug's linear decay, per step here
    sched_g = torch.optim.lr_scheduler.LambdaLR(opt_g, decay)
    sched_d = torch.optim.lr_scheduler.LambdaLR(opt_d, decay)
    pool_3d, pool_2d = HistoryPool(config.pool_size, rng), HistoryPool(config.pool_size, rng)
    target_kp = torch.as_tensor(target.keypoints_2d)
    target_k = torch.as_tensor(target.intrinsics)
    n, bs = len(poses), min(config.batch_size, len(poses))
    history = []
    gen.train()
    dis.train()
    bar = tqdm(range(config.steps), desc="LPA (G and D)", disable=not config.progress, mininterval=1.0)
    for step in bar:
        src = poses[rng.integers(0, n, bs)].to(device)
        anchors_3d = poses[rng.integers(0, n, bs)].to(device)
        ti = torch.as_tensor(rng.integers(0, len(target), bs))
        pair_i = torch.as_tensor(rng.integers(0, len(target), bs))
        anchors_2d = target_kp[ti].to(device)
        pair_kp, pair_k = target_kp[pair_i].to(device), target_k[pair_i].to(device)

        out = gen(src)
        fake_3d = out["pose"]
        fake_2d = project_pinhole(global_position_alignment(fake_3d, pair_kp, pair_k), pair_k)
        # --- generator
        _set_requires_grad(dis, False)
        real3, real2 = dis(anchors_3d, anchors_2d)
        f3, f2 = dis(fake_3d, fake_2d)
        adv3 = generator_adversarial_loss(real3, f3)
        adv2 = generator_adversarial_loss(real2, f2)
        rng_loss = bone_angle_range_loss(out["ba_diff"], *config.ba_range) + \
            bone_length_range_loss(out["blr"], config.bl_limit)
        loss_g = config.w_adv_2d * adv2 + config.w_adv_3d * adv3 + config.w_range * rng_loss
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        nn.utils.clip_grad_norm_(gen.parameters(), config.grad_clip)
        opt_g.step()
        sched_g.step()
        _set_requires_grad(dis, True)
        record = {"step": step + 1, "loss_g": loss_g.item(), "adv_3d": adv3.item(), "adv_2d": adv2.item(),
                  "range": rng_loss.item(), "ba_deg": float(torch.rad2deg(torch.acos(
                      (1 - out["ba_diff"].detach()).clamp(-1, 1))).mean()),
                  "blr_abs": float(out["blr"].detach().abs().mean()),
                  "rot_deg": float(torch.rad2deg(out["rotation"].detach().norm(dim=-1)).mean())}
        # --- discriminator, every d_every generator steps, on fakes from the history pool
        if step % config.d_every == 0:
            r3, r2 = dis(anchors_3d, anchors_2d)
            p3, p2 = dis(pool_3d(fake_3d), pool_2d(fake_2d))
            loss_d = discriminator_loss(r3, p3) + discriminator_loss(r2, p2)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            nn.utils.clip_grad_norm_(dis.parameters(), config.grad_clip)
            opt_d.step()
            record["loss_d"] = loss_d.item()
        elif history:
            record["loss_d"] = history[-1]["loss_d"]
        sched_d.step()
        if not math.isfinite(record["loss_g"]):
            raise FloatingPointError(f"LPA's generator loss became {record['loss_g']} at step {step + 1}; lower lr_g")
        history.append(record)
        bar.set_postfix(G=f"{record['loss_g']:.3f}", D=f"{record.get('loss_d', float('nan')):.3f}", refresh=False)
    bar.close()
    gen.eval()
    dis.eval()
    return LPAResult(gen.cpu(), dis.cpu(), history)


def _set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


@torch.no_grad()
def augment_poses(generator: LPAGenerator, poses: np.ndarray, seed: int = 0, batch_size: int = 4096) -> dict:
    """Run the trained generator offline (eval mode) over poses (N, J, 3): {'pose', 'pose_ba', 'pose_bl'} (N, J, 3)
    root-relative, 'ba_deg' (N,), 'blr' (N, R), 'rotation_deg' (N,)."""
    generator.eval()
    torch.manual_seed(seed)
    x = torch.as_tensor(np.asarray(poses, dtype=np.float32))
    outs = [generator(x[i:i + batch_size]) for i in range(0, len(x), batch_size)]
    cat = {k: torch.cat([o[k] for o in outs]) for k in outs[0]}
    return {"pose": cat["pose"].numpy(), "pose_ba": cat["pose_ba"].numpy(), "pose_bl": cat["pose_bl"].numpy(),
            "ba_deg": torch.rad2deg(torch.acos((1 - cat["ba_diff"]).clamp(-1, 1))).mean(-1).numpy(),
            "blr": cat["blr"].numpy(), "rotation_deg": torch.rad2deg(cat["rotation"].norm(dim=-1)).numpy()}


# ---------------------------------------------------------------------------- inspecting the trained networks

@torch.no_grad()
def discriminator_scores(discriminator: AnchorDiscriminator, poses_3d=None, keypoints_2d=None) -> dict:
    """What the anchor discriminator thinks: {'3D': (N,) mean KCS score over the parts, '2D': (N,)}; 1 = real."""
    out = {}
    if poses_3d is not None:
        out["3D"] = discriminator.d3(torch.as_tensor(np.asarray(poses_3d, np.float32))).mean(-1).numpy()
    if keypoints_2d is not None:
        kp = torch.as_tensor(np.asarray(keypoints_2d, np.float32))
        out["2D"] = discriminator.d2(normalize_2d_for_discriminator(kp))[:, 0].numpy()
    return out
