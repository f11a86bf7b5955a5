"""What notebooks 01 (KTPFormer) and 04 (HoT) share: the training budget of a paper's model against its MixSTE
baseline, the validation set and cadence of their learning curves, the papers' step counts, and the two figures.

Both notebooks train MixSTE as the baseline with the same seeds. Their MixSTE arms are the *same* run: both train
their main arms with `run_main`, which is `experiment.run_standard` (the one definition of a main-comparison arm,
at `experiment.standard_budget(profile)`), so the run cache trains them once and 09_leaderboard reads them too.

The papers' optimiser steps (Human3.6M, S1 S5 S6 S7 S8, about 1.56 M training frames at 50 fps over four cameras,
non-overlapping 243-frame clips, each clip a second time mirrored, `common/generators.py` of the official MixSTE
code; rounding per video ignored):
- MixSTE (Zhang et al., CVPR 2022; `run.py`): 4 clips a step (`-b 1024 -s 243`), 120 epochs: about 385 k steps;
- KTPFormer (Peng et al., CVPR 2024; `run_ktpformer.py`): 8 clips a step (`-b 1024 -s 128`), 200 epochs: 321 k;
- HoT (Li et al., CVPR 2024; `main_mixste.py`): 4 clips a step, 160 epochs: about 513 k.
A step here sees batch x T frames (cpu profile: 16 x 27 = 432), a paper's step 4 x 243 = 972 (8 x 243 for KTPFormer).
"""
from __future__ import annotations

import math

import numpy as np

from ..profiles import Profile

H36M_TRAIN_FRAMES = 1_559_752
PAPER_FRAMES = 243
PAPER_RECIPES = {"mixste": (4, 120), "ktpformer": (8, 200), "hot": (4, 160)}   # clips per step, epochs


def paper_steps(method: str) -> int:
    """About how many optimiser steps the paper trains `method` for (module docstring)."""
    if method not in PAPER_RECIPES:
        raise ValueError(f"no paper recipe for {method!r}; known: {', '.join(PAPER_RECIPES)}")
    clips, epochs = PAPER_RECIPES[method]
    return round(2 * H36M_TRAIN_FRAMES / PAPER_FRAMES / clips) * epochs


def budget(profile: Profile) -> Profile:
    """The training budget of every arm of 01 and 04: `experiment.standard_budget(profile)` (cpu: 6 epochs of 640
    windows, 240 steps of 16 clips; smoke, gpu and paper: the profile unchanged)."""
    from ..experiment import standard_budget
    return standard_budget(profile)


def run_main(method: str, train, test, profile: Profile, seed: int, *, name: str | None = None, device: str = "auto",
             retrain: bool | None = None, **options):
    """One arm of the main comparison of 01 and 04 (the paper's model or the MixSTE baseline) for one seed:
    `experiment.run_standard`, so 01, 04 and 09_leaderboard share it through the run cache (the budget's
    configuration and clip length, MixSTE's loss, test-time flip, a learning curve on `experiment.curve_set(test)`).
    `profile` may be the profile or `budget(profile)`: both train at the same budget. options: a variant's switches
    (then it is no longer the standard arm) or run_arm's fit/progress."""
    from .. import experiment
    return experiment.run_standard(method, train, test, profile, seed, name=name or method, device=device,
                                   retrain=retrain, **options)


def steps_per_epoch(train, run: Profile, frames: int) -> int:
    """Optimiser steps per epoch of a sequence model with `frames`-frame clips on `train` under budget `run`."""
    from ..data.samplers import ClipBank
    return ClipBank(train, frames, "sequence").num_batches(run.batch_size, run.max_train_windows)


def learning_curve(history, per_epoch: int) -> tuple[np.ndarray, np.ndarray]:
    """(steps, validation MPJPE in mm) of one run's History: the epochs that were validated."""
    points = [(r["epoch"] * per_epoch, r["val_mpjpe"]) for r in history.records if r.get("val_mpjpe") is not None]
    if not points:
        return np.zeros(0), np.zeros(0)
    steps, mpjpe = zip(*points)
    return np.asarray(steps), np.asarray(mpjpe, dtype=float)


def plateau_drop(history, per_epoch: int) -> float:
    """How much the validation MPJPE fell (mm) between the last two validations: near 0 at a plateau."""
    _, mpjpe = learning_curve(history, per_epoch)
    return float(mpjpe[-2] - mpjpe[-1]) if len(mpjpe) >= 2 else math.nan


def plot_learning_curves(arms: dict, per_epoch: int, floors: dict | None = None, title: str | None = None,
                         paper_total: int | None = None):
    """Validation MPJPE against optimiser steps, one colour per arm ({label: [experiment.Arm, one per seed]} or
    {label: [History]}): a thin line per seed, a thick line for the mean over seeds, and the two training-free floors
    (mean pose, nearest-neighbour lookup) as dashed lines (matplotlib Figure). `paper_total` adds a second axis
    label with the steps as a fraction of the paper's."""
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(7.5, 4.2))
    colours = plt.get_cmap("tab10")
    for i, (label, runs) in enumerate(arms.items()):
        curves = [learning_curve(getattr(r, "history", r), per_epoch) for r in runs]
        curves = [c for c in curves if len(c[0])]
        for steps, mpjpe in curves:
            ax.plot(steps, mpjpe, color=colours(i), lw=0.8, alpha=0.45)
        if curves and all(len(c[0]) == len(curves[0][0]) for c in curves):
            mean = np.mean([c[1] for c in curves], axis=0)
            ax.plot(curves[0][0], mean, color=colours(i), lw=2.4, marker="o", ms=4,
                    label=f"{label} ({len(curves)} seed{'s' if len(curves) != 1 else ''}; final {mean[-1]:.1f} mm)")
    if floors:
        ax.axhline(floors["mean_pose_MPJPE"], color="0.35", ls=":", lw=1.2,
                   label=f"mean-pose floor {floors['mean_pose_MPJPE']:.1f} mm")
        ax.axhline(floors["lookup_MPJPE"], color="0.1", ls="--", lw=1.2,
                   label=f"nearest-neighbour lookup {floors['lookup_MPJPE']:.1f} mm")
    xlabel = "optimiser steps"
    if paper_total:
        xlabel += f" (the paper trains about {paper_total / 1e3:.0f} k)"
    ax.set(xlabel=xlabel, ylabel="validation MPJPE (mm)", title=title or "learning curves")
    ax.legend(fontsize=8, loc="upper right")
    fig.tight_layout()
    plt.close(fig)  # returned, not auto-shown: a notebook displays it once, as the cell's value
    return fig


def floor_sentence(final: dict, floors: dict, run: Profile, paper_total: int, steps: int) -> str:
    """One plain sentence: are all arms ({label: mean final MPJPE in mm}) below the lookup floor, and what share
    of the paper's steps the budget is."""
    lookup = floors["lookup_MPJPE"]
    above = {k: v for k, v in final.items() if v >= lookup}
    share = f"{steps:,} steps per run, {steps / paper_total:.2%} of the paper's about {paper_total / 1e3:.0f} k"
    if above:
        names = ", ".join(f"{k} ({v:.1f} mm)" for k, v in above.items())
        return (f"**The budget is too small to judge the claim.** {names} {'is' if len(above) == 1 else 'are'} not "
                f"below the training-free nearest-neighbour lookup ({lookup:.1f} mm) after {share}: such a model "
                f"has not yet learnt more than a table of training poses, and the comparison ranks how fast the arms "
                f"learn, not the architectures.")
    return (f"Every arm ends below the nearest-neighbour lookup ({lookup:.1f} mm; worst arm "
            f"{max(final.values()):.1f} mm) after {share}: the models use the 2D input beyond looking up training "
            f"poses, so the comparison is between models that have learnt something.")


__all__ = ["paper_steps", "budget", "run_main", "steps_per_epoch",
           "learning_curve", "plateau_drop", "plot_learning_curves", "floor_sentence", "PAPER_RECIPES"]
