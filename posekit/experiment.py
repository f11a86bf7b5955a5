"""Experiments: train and score one arm of an ablation in one call, and judge two arms by one statistics rule.

Every notebook reproduces its paper's claim the same way: each arm (a model and its training budget) is trained
with several seeds, arms share the data order of a seed (`posekit.train.fit` draws the order from the seed alone),
so the per-seed differences are paired; `compare` turns them into a mean difference with a t-interval (ddof=1)
and a verdict whose text the notebook prints. `mean_std` and `md_table` format what the tables show.
"""
from __future__ import annotations

import dataclasses
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

import numpy as np
import torch
from scipy import stats
from torch import nn

from . import runcache

from .evaluation import EvalResult, resolve_device
from .evaluation import evaluate as generic_evaluate
from .models import build_model, count_parameters, trainer_for
from .profiles import PROFILES, Profile
from .train import History, TrainConfig, seed_everything
from .train import fit as generic_fit


@dataclass
class Arm:
    """One trained and scored arm: the model, its learning curve, its test result (mm), its seed and cost.

    train_seconds is the time its training took when it was trained; cached says it came from the run cache."""

    name: str
    seed: int
    model: nn.Module
    history: History
    result: EvalResult
    train_seconds: float
    cached: bool = False

    @property
    def params(self) -> int:
        return count_parameters(self.model)

    def __repr__(self) -> str:
        return (f"Arm({self.name!r}, seed {self.seed}: MPJPE {self.result.mpjpe:.1f} mm, P-MPJPE "
                f"{self.result.p_mpjpe:.1f} mm, {self.params:,} params, {self.train_seconds:.0f} s"
                f"{', from the run cache' if self.cached else ''})")


def run_arm(model: str | Callable[[], nn.Module], train, test, budget: Profile, seed: int = 0, *,
            config: str | None = None, frames: int | None = None, name: str | None = None, val=None,
            eval_every: int = 0, flip_test: bool = True, device: str = "auto", progress: bool = False,
            loss: str | None = None, fit: Callable | None = None, evaluate: Callable | None = None,
            cache: bool = True, retrain: bool | None = None, **overrides) -> Arm:
    """Seed, build, train on `budget`, evaluate on `test`: one arm of an ablation, one call.

    model: a registry name (built at `config`, default the budget's profile name, with `frames` and `overrides`;
    trained and scored by the method's own procedure, `posekit.models.trainer_for`) or a function returning a
    model (seeded before it is called). val/eval_every: validation during training for the learning curve
    (eval_every=0: none). flip_test applies to validation and to the final evaluation alike.

    The run cache (`posekit.runcache`) keeps every arm it can identify, keyed by all of the above, the data's
    content and the code's version: the same call later returns the stored arm at once (`Arm.cached`).
    retrain=True (default: $POSEKIT_RETRAIN) trains afresh and replaces the stored arm; cache=False neither
    reads nor writes it.
    """
    seed_everything(seed)
    if isinstance(model, str):
        trainer = trainer_for(model)
        fit, evaluate = fit or trainer.fit, evaluate or trainer.evaluate
        label = name or model
        build = lambda: build_model(model, config or budget.name, frames=frames, **overrides)  # noqa: E731
        what = {"method": model, "config": config or budget.name, "frames": frames, "overrides": overrides}
    else:
        if overrides or frames or config:
            raise ValueError("pass config/frames/overrides to the builder function itself, not to run_arm")
        label, build, what = name or getattr(model, "__name__", "model"), model, {"builder": model}
    fit, evaluate = fit or generic_fit, evaluate or generic_evaluate
    train_config = TrainConfig.from_profile(budget, seed=seed, device=device, progress=progress, loss=loss,
                                            eval_every=eval_every if val is not None else 0, eval_flip=flip_test)
    net = build()
    key = None
    if cache:
        identity = {**what, "budget": budget, "seed": seed, "loss": loss, "eval_every": train_config.eval_every,
                    "flip_test": flip_test, "fit": fit, "evaluate": evaluate, "device": str(resolve_device(device))}
        try:
            identity.update(train=runcache.fingerprint(train), test=runcache.fingerprint(test),
                            val=runcache.fingerprint(val))
        except runcache.Unidentifiable:
            identity = None
        key = runcache.run_key(identity) if identity is not None else None
        retrain = runcache.retrain_requested() if retrain is None else retrain
        stored = runcache.load(key) if key and not retrain else None
        if stored is not None:
            net.load_state_dict(stored["state"])
            net.eval()
            return Arm(label, seed, net, History(stored["record"]["history"]),
                       _result_from(stored["record"]["result"]), stored["record"]["train_seconds"], cached=True)
    t0 = time.perf_counter()
    history = fit(net, train, train_config, val=val)
    seconds = time.perf_counter() - t0
    result = evaluate(net, test, flip_test=flip_test, device=device)
    if key:
        state = {k: v.detach().cpu() for k, v in net.state_dict().items()}
        runcache.store(key, identity, state, {"history": history.records, "result": _result_record(result),
                                              "train_seconds": seconds, "label": label})
    return Arm(label, seed, net, history, result, seconds)


def curve_set(test):
    """The validation set of every standard learning curve: a fixed quarter of the test sequences."""
    return test.subsample_sequences(4)


def curve_every(budget: Profile) -> int:
    """Epochs between the validations of a standard learning curve: about three points over the budget (each costs
    as much as a tenth of the cpu budget's training for a one-frame-per-window model; they do not change the result)."""
    return max(1, budget.epochs // 3)


# The MixSTE family trains with MixSTE's loss (WMPJPE + 0.5 temporal consistency + 2 MPJVE; KTPFormer and HoT keep
# it in their official code) at the budget's clip length; every other method with its own loss and clip length.
MIXSTE_FAMILY = ("mixste", "ktpformer", "hot", "hot-tpc")

# profile name -> (epochs, training windows per epoch) of the main comparisons, where it differs from the profile.
_STANDARD_BUDGETS = {"cpu": (6, 640)}


def standard_budget(profile: Profile) -> Profile:
    """The training budget of every main comparison and of the leaderboard at `profile`.

    smoke, gpu and paper, and any profile changed with `with_`: unchanged. cpu: 6 epochs of 640 windows (240 steps of 16 clips, 15 % of the
    profile's steps: what a notebook training its paper's model and its baseline over three seeds can afford in ten
    minutes on two cores), with the per-epoch decay raised so the learning rate falls as far as over the profile.
    """
    if profile.name not in _STANDARD_BUDGETS or profile != PROFILES[profile.name]:
        return profile                  # a profile's own budget, or one you changed yourself: used as given
    epochs, windows = _STANDARD_BUDGETS[profile.name]
    return profile.with_(epochs=epochs, max_train_windows=windows,
                         lr_decay=profile.lr_decay ** (profile.epochs / epochs))


def run_standard(method: str, train, test, profile: Profile, seed: int = 0, **options) -> Arm:
    """`method`'s arm exactly as every notebook's main comparison and the leaderboard train it.

    `standard_budget(profile)` and the profile's model size, MixSTE's loss and the budget's clip length for the
    MixSTE family, test-time flip on, a learning curve on `curve_set(test)` every `curve_every(budget)` epochs: one
    definition, so the run cache shares the arm between notebooks (01 and 04 train the same MixSTE; 09_leaderboard
    reads them). options: retrain, device, progress, name, and the method's own switches (a variant of the method:
    then it is no longer the standard arm of `method` and the leaderboard does not use it).
    """
    budget = standard_budget(profile)
    family = method in MIXSTE_FAMILY
    return run_arm(method, train, test, budget, seed, config=budget.name, frames=budget.frames if family else None,
                   loss="mixste" if family else None, val=curve_set(test), eval_every=curve_every(budget),
                   flip_test=True, **options)


def _result_record(result: EvalResult) -> dict:
    """An EvalResult as plain values and tensors (what `torch.load(weights_only=True)` reads back)."""
    record = dataclasses.asdict(result)
    record["per_joint"] = torch.as_tensor(np.asarray(result.per_joint))
    if result.predictions is not None:
        record["predictions"] = {k: torch.as_tensor(np.asarray(v)) for k, v in result.predictions.items()}
    return record


def _result_from(record: dict) -> EvalResult:
    record = dict(record)
    record["per_joint"] = record["per_joint"].numpy()
    if record.get("predictions") is not None:
        record["predictions"] = {k: v.numpy() for k, v in record["predictions"].items()}
    return EvalResult(**record)


def mean_std(values: Sequence[float]) -> tuple[float, float]:
    """Mean and sample standard deviation (ddof=1) of `values`; the std is NaN for a single value."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise ValueError("mean_std needs at least one value")
    return float(v.mean()), float(v.std(ddof=1)) if v.size > 1 else math.nan


def pm(values: Sequence[float], digits: int = 1) -> str:
    """'mean ± std' (ddof=1) of `values` as text, or the single value alone."""
    m, s = mean_std(values)
    return f"{m:.{digits}f}" if math.isnan(s) else f"{m:.{digits}f} ± {s:.{digits}f}"


@dataclass(frozen=True)
class Verdict:
    """The outcome of `compare`: the mean difference a - b, its t-interval and what they allow one to say."""

    a: str
    b: str
    diff: float                # mean of a - b (paired) or difference of means (unpaired)
    low: float                 # the interval's ends (NaN with a single seed)
    high: float
    n: int                     # seeds (pairs, or the smaller arm when unpaired)
    paired: bool
    confidence: float
    metric: str
    unit: str
    lower_is_better: bool

    @property
    def decided(self) -> bool:
        """True when the interval excludes 0: the arms differ at this confidence."""
        return not math.isnan(self.low) and (self.low > 0 or self.high < 0)

    @property
    def better(self) -> str | None:
        """The better arm's name when the interval excludes 0, else None."""
        if not self.decided:
            return None
        a_lower = self.high < 0
        return self.a if a_lower == self.lower_is_better else self.b

    @property
    def resolution(self) -> float:
        """Half-width of the interval: differences smaller than this cannot be told apart with these seeds."""
        return (self.high - self.low) / 2

    @property
    def text(self) -> str:
        how = f"{'paired over' if self.paired else 'unpaired,'} {self.n} seed{'s' if self.n != 1 else ''}"
        d = f"{self.a} − {self.b} = {self.diff:+.2f} {self.unit} {self.metric}"
        if math.isnan(self.low):
            return f"{d} ({how}): one seed gives no interval, so no verdict."
        ci = f"{self.confidence:.0%} CI {self.low:+.2f} to {self.high:+.2f} {self.unit}, {how}"
        if self.decided:
            loser = self.b if self.better == self.a else self.a
            return f"{self.better} is better than {loser}: {d} ({ci})."
        return (f"{self.a} and {self.b} cannot be told apart: {d} ({ci}); these seeds resolve differences larger "
                f"than about {self.resolution:.1f} {self.unit}.")

    def __str__(self) -> str:
        return self.text

    def _repr_markdown_(self) -> str:
        return f"**Verdict:** {self.text}"


def compare(a: Sequence[float], b: Sequence[float], names: tuple[str, str] = ("A", "B"), paired: bool = True,
            confidence: float = 0.95, metric: str = "MPJPE", unit: str = "mm", lower_is_better: bool = True) -> Verdict:
    """The one decision rule of the notebooks: arm `a` against arm `b`, one value per seed each.

    paired=True (arms trained with the same seeds, the i-th values belong together): the mean of the differences
    a_i - b_i with a Student-t interval from their sample std (ddof=1), n - 1 degrees of freedom. paired=False:
    the difference of the means with Welch's interval (unequal variances). The arms differ when the interval
    excludes 0; the verdict says which is better (lower, for errors) or how large a difference the seeds resolve.
    """
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if a.ndim != 1 or b.ndim != 1 or not len(a) or not len(b):
        raise ValueError("compare takes two non-empty 1-D sequences of per-seed values")
    if not (np.isfinite(a).all() and np.isfinite(b).all()):
        raise ValueError("compare got a non-finite value; a diverged run has no place in a comparison: fix or drop it")
    q = (1 + confidence) / 2
    if paired:
        if len(a) != len(b):
            raise ValueError(f"paired comparison needs one value per seed in both arms, got {len(a)} and {len(b)}; "
                             f"pass paired=False for arms with different seeds")
        d = a - b
        n, diff = len(d), float(d.mean())
        if n < 2:
            low = high = math.nan
        else:
            half = stats.t.ppf(q, n - 1) * d.std(ddof=1) / math.sqrt(n)
            low, high = diff - half, diff + half
    else:
        n, diff = min(len(a), len(b)), float(a.mean() - b.mean())
        if min(len(a), len(b)) < 2:
            low = high = math.nan
        else:
            va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
            se = math.sqrt(va + vb)
            dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1)) if se > 0 else len(a) + len(b) - 2
            half = stats.t.ppf(q, dof) * se
            low, high = diff - half, diff + half
    return Verdict(names[0], names[1], diff, low, high, n, paired, confidence, metric, unit, lower_is_better)


class Table(str):
    """A markdown table: prints as text, renders as a table in Jupyter."""

    def _repr_markdown_(self) -> str:
        return str(self)


def md_table(header: Sequence[str], rows: Sequence[Sequence]) -> Table:
    """A markdown table from a header and rows of cells (numbers are shown as given: format them first)."""
    if any(len(r) != len(header) for r in rows):
        raise ValueError(f"every row needs {len(header)} cells, one per header column")
    cell = lambda c: str(c).replace("|", "\\|").replace("\n", " ")  # noqa: E731
    lines = ["| " + " | ".join(map(cell, header)) + " |", "|" + " --- |" * len(header)]
    return Table("\n".join(lines + ["| " + " | ".join(map(cell, r)) + " |" for r in rows]))


RECORD_DIR = "POSEKIT_RECORD_DIR"


def record(notebook: str, profile: str, numbers: dict[str, float]) -> dict[str, float]:
    """The key numbers of a notebook run (e.g. every arm's final MPJPE), rounded to 0.01, for the reproducibility
    check: written to $POSEKIT_RECORD_DIR/<notebook>.<profile>.json when that variable is set (the notebook test
    sets it and compares with the committed values in tests/recorded/), and returned for display."""
    clean = {}
    for key, value in numbers.items():
        value = float(value)
        if not math.isfinite(value):
            raise ValueError(f"record: {key} is {value}; a key number of the run must be finite")
        clean[key] = round(value, 2)
    folder = os.environ.get(RECORD_DIR)
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        (Path(folder) / f"{notebook}.{profile}.json").write_text(json.dumps(clean, indent=1, sort_keys=True))
    return clean


__all__ = ["Arm", "run_arm", "run_standard", "standard_budget", "MIXSTE_FAMILY", "curve_set", "curve_every", "mean_std", "pm", "Verdict", "compare", "Table", "md_table", "record"]
