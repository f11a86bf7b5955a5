"""The run card: everything that determines a training run, written beside its results, and the rules that keep an
output folder to one run.

`posekit train` writes the card to `<out>/run.json` before training and into `metrics.json` and `model.pt` after
it: method, configuration, overrides, clip length, joints, profile, dataset, root, keypoints, split, seed,
optimiser settings, epochs asked and done, the data version when the dataset has one, and the environment
(posekit version, git commit, torch version, device, threads). The same card on the same machine and thread count
gives the same numbers.

A folder that already holds a run is never reused silently: `--resume` continues the same run (refused when the
card differs), `--overwrite` deletes it first, anything else is refused with the differences named.
"""
from __future__ import annotations

import json
import os
import shlex
import shutil
import subprocess
from dataclasses import asdict
from pathlib import Path

import torch

import posekit

# The fields that make two cards the same run (a resumed run may ask for more epochs and run elsewhere).
IDENTITY = ("method", "configuration", "frames", "joints", "profile", "dataset", "root", "keypoints", "split", "seed",
            "optimiser", "data_version")
RUN_FILES = ("run.json", "model.pt", "metrics.json", "checkpoint")
TIMING_KEYS = ("seconds", "train_seconds", "eval_seconds")


def git_commit() -> str | None:
    """The commit of the posekit checkout in use ('+dirty' when it has uncommitted changes), or None."""
    repo = Path(posekit.__file__).resolve().parent.parent
    if not (repo / ".git").exists():
        return None
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "HEAD"], capture_output=True, text=True,
                              timeout=10)
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain", "--untracked-files=no"],
                               capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return None
    if head.returncode != 0:
        return None
    return head.stdout.strip() + ("+dirty" if dirty.stdout.strip() else "")


def data_version(dataset) -> str | None:
    """The dataset's version where it has one: the embedded data's generator version, seed and length (its cache
    folder name, e.g. 'synth-v2-seed0'); None for the real datasets, whose files carry no version."""
    folder = dataset.info.get("folder")
    return Path(folder).name if folder else None


def make_card(*, method: str, configuration: str, overrides: dict, model, profile: str, dataset, root, keypoints,
              split: str, config, device: str) -> dict:
    """The run card of a training run (module docstring); `config` is its `posekit.train.TrainConfig`."""
    settings = asdict(config)
    optimiser = {"name": "AdamW", **{k: settings[k] for k in ("lr", "lr_decay", "weight_decay", "batch_size",
                                                              "warmup_steps", "grad_clip", "flip_augment",
                                                              "max_train_windows", "stride", "loss", "amp")}}
    return {"method": method, "configuration": configuration, "overrides": overrides,
            "frames": int(model.receptive_field), "joints": int(getattr(model, "joints", dataset.skeleton.num_joints)),
            "skeleton": dataset.skeleton.name, "profile": profile, "dataset": dataset.name,
            "root": None if root is None else str(Path(root).resolve()), "keypoints": keypoints, "split": split,
            "seed": config.seed, "optimiser": optimiser, "epochs": config.epochs, "epochs_done": 0,
            "data_version": data_version(dataset), "posekit_version": posekit.__version__,
            "git_commit": git_commit(), "torch_version": str(torch.__version__), "device": device,
            "threads": torch.get_num_threads()}


def differences(old: dict, new: dict, keys=IDENTITY) -> list[str]:
    """'name old -> new' for every identity field that differs (nested optimiser settings by their own name)."""
    out = []
    for key in keys:
        a, b = old.get(key), new.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += [f"{k} {a.get(k)!r} -> {b.get(k)!r}" for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k)]
        elif a != b:
            out.append(f"{key} {a!r} -> {b!r}")
    return out


def epochs_saved(out: Path) -> int:
    """Epochs finished in `<out>/checkpoint/last.pt` (0 when there is none or it cannot be read)."""
    ckpt = out / "checkpoint" / "last.pt"
    if not ckpt.is_file():
        return 0
    try:
        return int(torch.load(ckpt, map_location="cpu", weights_only=False)["epoch"]) + 1
    except Exception:  # a truncated or foreign file: treated as no checkpoint, the caller decides
        return 0


def prepare_output(out: Path) -> None:
    """Create `out` and prove it writable before anything is trained (one clear error otherwise)."""
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"--out {out} is a file, expected a folder: choose another --out")
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".posekit-write-test-{os.getpid()}"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        raise OSError(f"cannot write to the output folder {out} ({exc.__class__.__name__}: "
                      f"{exc.strerror or exc}): choose a writable --out") from None


def claim_folder(out: Path, card: dict, resume: bool, overwrite: bool) -> int:
    """Decide what `out` may hold before training: returns the epoch training starts from (0 for a new run).

    Refuses (ValueError) a folder holding another run or a finished one unless `--resume` continues the same run or
    `--overwrite` replaces it; the message names what differs and both ways out.
    """
    if resume and overwrite:
        raise ValueError("--resume and --overwrite contradict each other: pass one of them")
    present = [name for name in RUN_FILES if (out / name).exists()]
    if overwrite:
        for name in present:
            target = out / name
            shutil.rmtree(target) if target.is_dir() else target.unlink()
        return 0
    if not present:
        if resume:
            raise ValueError(f"--resume: {out} holds no run to resume; drop --resume to start one there")
        return 0
    stored = _stored_card(out)
    done = epochs_saved(out)
    finished = (out / "model.pt").exists() or (out / "metrics.json").exists()
    state = (f"finished, {done} epoch{'s' * (done != 1)}" if finished else
             f"unfinished, {done} of {stored.get('epochs', '?')} epochs done")
    diff = differences(stored, card) if stored else ["no run card (run.json) to compare with"]
    if not resume:
        what = f"another run ({state}): {', '.join(diff)}" if diff else f"this run ({state})"
        raise ValueError(f"{out} already holds {what}; pass --resume to continue it or --overwrite to replace it "
                         f"(or choose another --out)")
    if diff:
        raise ValueError(f"--resume: {out} holds a different run ({state}): {', '.join(diff)}; resume it with its "
                         f"own settings, or pass --overwrite to replace it (or choose another --out)")
    if done == 0:
        raise ValueError(f"--resume: {out} has no readable checkpoint (checkpoint/last.pt); pass --overwrite to "
                         f"start the run again")
    if done >= card["epochs"]:
        raise ValueError(f"--resume: the run in {out} has already trained {done} epoch{'s' * (done != 1)}; pass "
                         f"--epochs N with N > "
                         f"{done} to train on, or --overwrite to start again")
    return done


def _stored_card(out: Path) -> dict:
    for name in ("run.json", "metrics.json"):
        path = out / name
        if path.is_file():
            try:
                data = json.loads(path.read_text())
            except (OSError, ValueError):
                continue
            return data.get("run", data) if isinstance(data, dict) else {}
    return {}


def write_card(out: Path, card: dict) -> None:
    (out / "run.json").write_text(json.dumps(card, indent=1))


def resume_command(argv: list[str]) -> str:
    """The command line that resumes the run started by `argv` (posekit's arguments, without 'posekit')."""
    args = [a for a in argv if a != "--overwrite"]
    if "--resume" not in args:
        args.append("--resume")
    return "posekit " + shlex.join(args)


def without_timings(value):
    """A copy of a metrics.json value with wall-clock timings removed, for field-by-field comparison."""
    if isinstance(value, dict):
        return {k: without_timings(v) for k, v in value.items() if k not in TIMING_KEYS}
    if isinstance(value, list):
        return [without_timings(v) for v in value]
    return value
