"""One training and evaluation loop for every posekit model.

The model contract is `posekit.nn.contract`: `model.receptive_field`, `model.output` ('sequence' or 'center'),
`model.example_input(batch)`, an optional `model.loss(output, target)`; `model(x)` returns the 3D pose in
root-relative metres or a tuple whose first element is that pose. The training loss is `loss_fn(output, target)` if
given, else `LOSSES[config.loss]`, else the model's own loss, else MPJPE.

The data contract: `fit` takes any *batch source*, an object with `batches(batch_size, rng, flip, max_items,
shard)` yielding (inputs, targets) tensors and `num_batches(batch_size, max_items, world)` (`BatchSource`); a
`PoseDataset` of keypoint sequences is turned into one (`ClipBank`) with the model's receptive field and output.

`fit` runs AdamW with a per-epoch exponential learning-rate decay (the schedule of MixSTE, KTPFormer and HoT),
flip augmentation, tqdm progress, a loss/metric history, checkpoints with exact resume, bf16 autocast on CUDA,
DistributedDataParallel under `torchrun`, and stops with a clear message on a non-finite loss. `evaluate` runs the
Human3.6M protocol on a `PoseDataset` (every test frame predicted once, optionally averaged with the flipped input,
the predicted root set to 0 like the target's, errors pooled per action and averaged over actions), and scores any
other batch source batch by batch.
"""
from __future__ import annotations

import json
import math
import os
import random
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable, Iterator, Protocol

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from tqdm.auto import tqdm

from .data.dataset import PoseDataset
from .data.samplers import ClipBank
from .evaluation import EvalResult, evaluate, is_batch_source, mean_pose_predictions, predict, resolve_device
from .nn.contract import mpjpe_loss
from .nn.mixste import mixste_loss
from .profiles import Profile

LOSSES = {"mpjpe": mpjpe_loss, "mixste": mixste_loss}


class BatchSource(Protocol):
    """What `fit` trains on: batches of (inputs, targets) tensors, shuffled by `rng`, mirrored at random when `flip`,
    capped at `max_items` items per epoch, and sharded as (rank, world) for distributed training."""

    def batches(self, batch_size: int, rng: np.random.Generator | None = None, flip: bool = False,
                max_items: int | None = None, shard: tuple[int, int] = (0, 1)) -> Iterator[tuple]: ...

    def num_batches(self, batch_size: int, max_items: int | None = None, world: int = 1) -> int: ...


def seed_everything(seed: int) -> None:
    """Seed Python, numpy and torch (CPU and CUDA)."""
    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)


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

    def __post_init__(self):
        rules = {"epochs": self.epochs >= 0, "batch_size": self.batch_size >= 1, "seed": self.seed >= 0,
                 "lr": math.isfinite(self.lr) and self.lr > 0, "lr_decay": 0 < self.lr_decay <= 1,
                 "max_train_windows": self.max_train_windows is None or self.max_train_windows >= 1,
                 "eval_every": self.eval_every >= 0, "warmup_steps": self.warmup_steps >= 0,
                 "loss": self.loss is None or self.loss in LOSSES}
        wanted = {"epochs": "an integer >= 0", "batch_size": "an integer >= 1", "seed": "an integer >= 0",
                  "lr": "a positive number", "lr_decay": "in (0, 1]", "max_train_windows": "None or >= 1",
                  "eval_every": "an integer >= 0", "warmup_steps": "an integer >= 0",
                  "loss": f"None or one of {', '.join(LOSSES)}"}
        for name, ok in rules.items():
            if not ok:
                raise ValueError(f"TrainConfig.{name} = {getattr(self, name)!r}: expected {wanted[name]}")

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


def fit(model: nn.Module, data: PoseDataset | BatchSource, config: TrainConfig, val=None,
        loss_fn: Callable | None = None, profile: Profile | None = None) -> History:
    """Train `model` on `data` (a PoseDataset or any batch source); validate on `val` (a PoseDataset or a batch
    source) every `eval_every` epochs.

    The same seed and config give the same numbers on the same machine; an interrupted run with a
    `checkpoint_dir` resumes from its last finished epoch to the same result.
    """
    rank, world = _distributed()
    device = resolve_device(config.device)
    if device.type == "cuda" and world > 1:
        device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", rank)))
        torch.cuda.set_device(device)
    seed_everything(config.seed)
    bank = data if is_batch_source(data) else ClipBank(data, model.receptive_field, model.output, config.stride)
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
                    f"(grad_clip), and check the data for NaN/inf (inputs finite: "
                    f"{bool(torch.isfinite(x).all())}, targets finite: {bool(torch.isfinite(y).all())}).")
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


def prepare_data(dataset: PoseDataset, profile: Profile) -> tuple[PoseDataset, PoseDataset]:
    """The (train, test) split a profile trains and evaluates on: downsampled, test sequences subsampled/truncated."""
    ds = dataset.downsample(profile.downsample)
    test = ds.test.subsample_sequences(profile.test_every)
    if profile.test_max_frames:
        test = test.truncate(profile.test_max_frames)
    return ds.train, test


__all__ = ["fit", "TrainConfig", "History", "BatchSource", "LOSSES", "prepare_data", "seed_everything",
           "resolve_device", "evaluate", "predict", "EvalResult", "mean_pose_predictions"]
