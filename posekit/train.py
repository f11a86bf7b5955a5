"""One training and evaluation loop for every posekit method.

The model contract:
- `model.receptive_field`: input frames T; `model.output`: 'sequence' (predicts all T frames) or 'center'
  (predicts the centre frame, output (B, 1, J, 3));
- `model(x)` takes (B, T, J, C_in) and returns the 3D pose (B, T or 1, J, 3) in root-relative metres, or a tuple
  whose first element is that pose (e.g. a pose and its uncertainty);
- the training loss is `loss_fn(output, target)` if given, else `model.loss(output, target)` if the model has
  one, else MPJPE.

`fit` runs AdamW with a per-epoch exponential learning-rate decay (the schedule of MixSTE, KTPFormer and HoT),
flip augmentation, tqdm progress, a loss/metric history, checkpoints with exact resume, bf16 autocast on CUDA,
DistributedDataParallel under `torchrun`, and stops with a clear message on a non-finite loss. `evaluate` runs the
Human3.6M protocol: every test frame predicted once (optionally averaged with the flipped input), the predicted
root set to 0 like the target's, errors pooled per action and averaged over actions.
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from . import metrics
from .data.dataset import PoseDataset
from .data.samplers import ClipBank, edge_index, eval_chunk_starts
from .profiles import Profile
from .skeleton import flip_poses

# MixSTE's joint weights for WMPJPE (mixste.md section 3), Human3.6M-17 order.
MIXSTE_JOINT_WEIGHTS = (1, 1, 2.5, 2.5, 1, 2.5, 2.5, 1, 1, 1, 1.5, 1.5, 4, 4, 1.5, 4, 4)


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


def resolve_device(device: str = "auto") -> torch.device:
    if device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise RuntimeError(f"device {device!r} requested but CUDA is not available; use device='cpu' or 'auto'")
    return torch.device(device)


# ---------------------------------------------------------------- losses

def mpjpe_loss(output, target: torch.Tensor) -> torch.Tensor:
    """Mean Euclidean joint error (Protocol #1) as a training loss."""
    return metrics.mpjpe_torch(_pose(output), target)


def mixste_loss(output, target: torch.Tensor) -> torch.Tensor:
    """MixSTE's loss (mixste.md section 3): WMPJPE + 0.5 * temporal consistency + 2.0 * MPJVE.

    Uses a plain backward, as HoT's re-implementation does, not the official code's 1/2 L^2 gradient quirk.
    """
    pred = _pose(output)
    w = pred.new_tensor(MIXSTE_JOINT_WEIGHTS[:pred.shape[-2]] if pred.shape[-2] == 17 else [1.0] * pred.shape[-2])
    loss = metrics.mpjpe_torch(pred, target, w)
    if pred.shape[1] > 1:
        dp, dt = pred[:, 1:] - pred[:, :-1], target[:, 1:] - target[:, :-1]
        tc = (w[:, None] * dp ** 2).mean()
        mpjve = torch.linalg.norm(dp - dt, dim=-1).mean()
        loss = loss + 0.5 * tc + 2.0 * mpjve
    return loss


LOSSES = {"mpjpe": mpjpe_loss, "mixste": mixste_loss}


def _pose(output) -> torch.Tensor:
    return output[0] if isinstance(output, (tuple, list)) else output


# ---------------------------------------------------------------- configuration and history

@dataclass
class TrainConfig:
    epochs: int = 10
    batch_size: int = 64
    lr: float = 1e-3
    lr_decay: float = 0.95          # per epoch
    weight_decay: float = 0.1       # AdamW, as MixSTE / KTPFormer / HoT
    warmup_steps: int = 0
    grad_clip: float | None = 1.0
    flip_augment: bool = True
    stride: int | None = None       # window hop of training clips (None: T for sequence models, 1 for centre)
    max_train_windows: int | None = None
    seed: int = 0
    device: str = "auto"
    amp: bool = True                # bf16 autocast on CUDA
    eval_every: int = 1             # epochs between validations (0: never)
    eval_flip: bool = True
    checkpoint_dir: str | None = None
    resume: bool = True
    progress: bool = True
    loss: str | None = None         # a key of LOSSES; None: the model's own loss or MPJPE

    @classmethod
    def from_profile(cls, profile: Profile, **overrides) -> "TrainConfig":
        base = dict(epochs=profile.epochs, batch_size=profile.batch_size, lr=profile.lr, lr_decay=profile.lr_decay,
                    max_train_windows=profile.max_train_windows, device="auto")
        return cls(**{**base, **overrides})


@dataclass
class History:
    """One record per epoch: epoch, loss, lr, seconds, val_mpjpe / val_p_mpjpe (mm) when validated."""

    records: list[dict] = field(default_factory=list)

    def __getitem__(self, key: str) -> list:
        return [r.get(key) for r in self.records]

    @property
    def final(self) -> dict:
        return self.records[-1] if self.records else {}

    def to_json(self) -> str:
        return json.dumps(self.records, indent=1)


# ---------------------------------------------------------------- training

def _distributed() -> tuple[int, int]:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
    return (dist.get_rank(), dist.get_world_size()) if world > 1 else (0, 1)


def fit(model: nn.Module, data: PoseDataset | ClipBank, config: TrainConfig, val: PoseDataset | None = None,
        loss_fn: Callable | None = None, profile: Profile | None = None) -> History:
    """Train `model` on `data` (a PoseDataset or a prepared ClipBank); validate on `val` every `eval_every` epochs.

    The same seed and config give the same numbers on the same machine; an interrupted run with a
    `checkpoint_dir` resumes from its last finished epoch to the same result.
    """
    rank, world = _distributed()
    device = resolve_device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
        torch.cuda.set_device(device)
    seed_everything(config.seed)
    bank = data if isinstance(data, ClipBank) else ClipBank(data, model.receptive_field, model.output, config.stride)
    model.to(device)
    if loss_fn is None:
        loss_fn = LOSSES[config.loss] if config.loss else getattr(model, "loss", mpjpe_loss)
    net = nn.parallel.DistributedDataParallel(model, device_ids=[device] if device.type == "cuda" else None) \
        if world > 1 else model
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, weight_decay=config.weight_decay)
    steps_per_epoch = bank.num_batches(config.batch_size, config.max_train_windows, world)
    warm = max(config.warmup_steps, 0)

    def lr_at(step: int) -> float:
        factor = config.lr_decay ** (step // max(steps_per_epoch, 1))
        return factor * (min(1.0, (step + 1) / warm) if warm else 1.0)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, lr_at)

    history, start = History(), 0
    ckpt = Path(config.checkpoint_dir) / "last.pt" if config.checkpoint_dir else None
    if ckpt is not None and config.resume and ckpt.is_file():
        state = torch.load(ckpt, map_location=device, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        history, start = History(state["history"]), state["epoch"] + 1
    autocast = device.type == "cuda" and config.amp
    step = start * steps_per_epoch
    for epoch in range(start, config.epochs):
        torch.manual_seed(config.seed * 100003 + epoch)  # dropout/drop-path draws depend on (seed, epoch) only
        rng = np.random.default_rng([config.seed, epoch])
        net.train()
        t0, total, count = time.perf_counter(), 0.0, 0
        bar = tqdm(bank.batches(config.batch_size, rng, config.flip_augment, config.max_train_windows, (rank, world)),
                   total=steps_per_epoch, desc=f"epoch {epoch + 1}/{config.epochs}",
                   disable=not config.progress or rank != 0, leave=False, mininterval=1.0)
        for x, y in bar:
            x, y = x.to(device, non_blocking=True), y.to(device, non_blocking=True)
            with torch.autocast(device.type, dtype=torch.bfloat16, enabled=autocast):
                out = net(x)
            loss = loss_fn(_float(out), y)
            if not torch.isfinite(loss):
                raise FloatingPointError(
                    f"the training loss became {loss.item()} at epoch {epoch + 1}, step {step + 1} (lr "
                    f"{sched.get_last_lr()[0]:.2e}). Lower the learning rate or enable gradient clipping "
                    f"(grad_clip), and check the inputs for NaN/inf (inputs finite: {bool(torch.isfinite(x).all())}).")
            opt.zero_grad(set_to_none=True)
            loss.backward()
            if config.grad_clip:
                nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            opt.step()
            sched.step()
            step += 1
            total += loss.item() * len(x)
            count += len(x)
            bar.set_postfix(loss=f"{total / count:.4f}", refresh=False)
        bar.close()
        record = {"epoch": epoch + 1, "loss": total / max(count, 1), "lr": sched.get_last_lr()[0],
                  "seconds": time.perf_counter() - t0}
        if world > 1:
            dist.barrier()
        if rank == 0 and val is not None and config.eval_every and (
                (epoch + 1) % config.eval_every == 0 or epoch + 1 == config.epochs):
            result = evaluate(model, val, flip_test=config.eval_flip, device=device, with_predictions=False)
            record.update(val_mpjpe=result.mpjpe, val_p_mpjpe=result.p_mpjpe)
        history.records.append(record)
        if config.progress and rank == 0:
            extra = f", val MPJPE {record['val_mpjpe']:.1f} mm" if "val_mpjpe" in record else ""
            print(f"epoch {epoch + 1}/{config.epochs}: loss {record['loss']:.4f}{extra} ({record['seconds']:.1f} s)")
        if ckpt is not None and rank == 0:
            ckpt.parent.mkdir(parents=True, exist_ok=True)
            tmp = ckpt.with_suffix(".tmp")
            torch.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "scheduler": sched.state_dict(),
                        "epoch": epoch, "history": history.records, "config": asdict(config)}, tmp)
            os.replace(tmp, ckpt)
    model.eval()
    return history


def _float(out):
    if isinstance(out, (tuple, list)):
        return type(out)(o.float() for o in out)
    return out.float()


# ---------------------------------------------------------------- evaluation

@dataclass
class EvalResult:
    """Errors in millimetres. per_action: {action: MPJPE} plus 'Average' (the protocol's number)."""

    mpjpe: float
    p_mpjpe: float
    n_mpjpe: float
    mpjve: float
    pck: float
    auc: float
    per_action: dict
    per_action_p_mpjpe: dict
    per_joint: np.ndarray
    frames: int
    seconds: float
    predictions: dict | None = None

    def summary(self) -> dict:
        return {"MPJPE": self.mpjpe, "P-MPJPE": self.p_mpjpe, "N-MPJPE": self.n_mpjpe, "MPJVE": self.mpjve,
                "PCK": self.pck, "AUC": self.auc}

    def __repr__(self) -> str:
        return (f"EvalResult(MPJPE {self.mpjpe:.1f} mm, P-MPJPE {self.p_mpjpe:.1f} mm, N-MPJPE {self.n_mpjpe:.1f} mm, "
                f"MPJVE {self.mpjve:.2f} mm, PCK {self.pck:.1f}, AUC {self.auc:.1f}, {self.frames} frames)")


@torch.no_grad()
def predict(model: nn.Module, dataset: PoseDataset, flip_test: bool = True, batch_size: int = 256,
            device: str | torch.device = "auto") -> dict[str, np.ndarray]:
    """Predict every frame of every sequence once: {sequence name: (T, J, 3) metres, root joint set to 0}.

    Sequence models see non-overlapping clips from frame 0 (the last edge-padded, padded frames dropped); centre
    models see one window per frame. flip_test averages with the un-flipped prediction of the mirrored input.
    """
    device = resolve_device(device) if isinstance(device, str) else device
    model.eval().to(device)
    frames, mode = model.receptive_field, model.output
    out = {}
    for seq in dataset:
        length = seq.num_frames
        if mode == "sequence":
            starts = eval_chunk_starts(length, frames)
        else:
            starts = np.arange(length) - (frames - 1) // 2
        idx = edge_index(starts, frames, np.full(len(starts), length))
        preds = []
        for i in range(0, len(idx), batch_size):
            x = torch.from_numpy(seq.keypoints_2d[idx[i:i + batch_size]]).to(device)
            y = _pose(model(x)).float()
            if flip_test:
                yf = flip_poses(_pose(model(flip_poses(x, dataset.skeleton))).float(), dataset.skeleton)
                y = (y + yf) / 2
            preds.append(y.cpu().numpy())
        pred = np.concatenate(preds)
        pred = pred.reshape(-1, *pred.shape[2:])[:length] if mode == "sequence" else pred[:, 0]
        pred[:, dataset.skeleton.root] = 0.0
        out[seq.name] = pred
    return out


def evaluate(model: nn.Module | None, dataset: PoseDataset, flip_test: bool = True, batch_size: int = 256,
             device: str | torch.device = "auto", predictions: dict | None = None,
             with_predictions: bool = True) -> EvalResult:
    """MPJPE, P-MPJPE, N-MPJPE, MPJVE, PCK@150 and AUC (mm, %), per action and per joint, on `dataset`.

    Pass `predictions` ({sequence name: (T, J, 3)}) to score them without a model. Frames with `valid` False
    are left out. PCK/AUC use the 14 joints of the MPI-INF-3DHP protocol.
    """
    t0 = time.perf_counter()
    if predictions is None:
        predictions = predict(model, dataset, flip_test, batch_size, device)
    per_frame, per_frame_p, all_pred, all_gt, vel = {}, {}, [], [], []
    for seq in dataset:
        pred, gt = predictions[seq.name], seq.poses_3d
        if seq.valid is not None:
            keep = seq.valid.astype(bool)
            if len(pred) > 1:
                vel.append((metrics.joint_errors(np.diff(pred, axis=0), np.diff(gt, axis=0))[keep[1:] & keep[:-1]]))
            pred, gt = pred[keep], gt[keep]
        elif len(pred) > 1:
            vel.append(metrics.joint_errors(np.diff(pred, axis=0), np.diff(gt, axis=0)))
        if len(gt) == 0:
            continue
        per_frame.setdefault(seq.action, []).append(metrics.joint_errors(pred, gt).mean(-1))
        aligned = metrics.procrustes_align(pred, gt)
        per_frame_p.setdefault(seq.action, []).append(metrics.joint_errors(aligned, gt).mean(-1))
        all_pred.append(pred)
        all_gt.append(gt)
    if not all_gt:
        raise ValueError(f"dataset {dataset.name!r} has no valid frames to evaluate")
    pred, gt = np.concatenate(all_pred), np.concatenate(all_gt)
    per_action = metrics.to_mm(metrics.per_action({a: np.concatenate(v) for a, v in per_frame.items()}))
    per_action_p = metrics.to_mm(metrics.per_action({a: np.concatenate(v) for a, v in per_frame_p.items()}))
    joints = metrics.PCK_JOINTS_H36M if dataset.skeleton.num_joints == 17 else None
    return EvalResult(
        mpjpe=per_action["Average"], p_mpjpe=per_action_p["Average"],
        n_mpjpe=1000 * metrics.n_mpjpe(pred, gt),
        mpjve=1000 * float(np.concatenate([v.ravel() for v in vel]).mean()) if vel else math.nan,
        pck=metrics.pck(pred, gt, joints=joints), auc=metrics.auc(pred, gt, joints=joints),
        per_action=per_action, per_action_p_mpjpe=per_action_p,
        per_joint=1000 * metrics.joint_errors(pred, gt).mean(0), frames=len(gt),
        seconds=time.perf_counter() - t0, predictions=predictions if with_predictions else None)


def mean_pose_predictions(train: PoseDataset, test: PoseDataset) -> dict[str, np.ndarray]:
    """The trivial baseline: every test frame gets the mean root-relative training pose (camera frame)."""
    mean = np.concatenate([s.poses_3d for s in train]).mean(0)
    return {s.name: np.repeat(mean[None], s.num_frames, 0) for s in test}


def prepare_data(dataset: PoseDataset, profile: Profile) -> tuple[PoseDataset, PoseDataset]:
    """The (train, test) split a profile trains and evaluates on: downsampled, test sequences subsampled/truncated."""
    ds = dataset.downsample(profile.downsample)
    test = ds.test.subsample_sequences(profile.test_every)
    if profile.test_max_frames:
        test = test.truncate(profile.test_max_frames)
    return ds.train, test
