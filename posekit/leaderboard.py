"""The leaderboard: every lifting method on the same data, budget, seeds and evaluation, beside its cost.

No official repository compares these methods on identical inputs; here every method is trained by
`experiment.run_standard` (the standard budget of the profile and its model sizes, the same seeds and data order,
the profile's test split, test-time flip), so the arms are the very ones the paper notebooks train and the run cache serves them. Each
setting (a dataset and a 2D source) gets its floors (mean pose, nearest-neighbour lookup) as rows; each method its
parameters, FLOPs in both conventions (Linear/Conv only as the papers count, and every matmul), CPU latency at
batch 1, throughput at batch 64 and training time. The papers' published Human3.6M numbers stand in their own,
labelled column: they are measured on other data with the papers' budgets, so they show scale, not a ranking.
"""
from __future__ import annotations

import copy
import csv
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from . import complexity
from .data import load_dataset
from .experiment import Arm, compare, mean_std, md_table, run_standard, standard_budget
from .floors import floors
from .profiles import Profile
from .protocols.published import PUBLISHED
from .train import prepare_data

METHODS = ("mlp", "tcn", "mixste", "ktpformer", "hot", "convformer", "uao", "glagcn")
SETTINGS = {  # name: (dataset, 2D keypoints)
    "synth, detector 2D": ("synth", "det"),
    "synth, exact 2D": ("synth", "gt"),
    "synth-3dhp, detector 2D": ("synth-3dhp", "det"),
}
MAIN = "synth, detector 2D"
METRICS = ("MPJPE", "P-MPJPE", "MPJVE", "PCK", "AUC")
_PUBLISHED_ALIASES = {"glagcn": "glagcn-released"}


@dataclass
class Cost:
    """What one method costs at the leaderboard's configuration (one output frame; CPU timings, medians)."""

    params: int
    flops_linear: float            # per output frame, Linear/Conv layers only (the papers' convention)
    flops_full: float              # per output frame, every matmul incl. attention products
    latency_ms: float              # one clip at batch 1
    throughput: float              # output frames per second at batch 64


@dataclass
class Board:
    """Every trained arm by (setting, method), the floors per setting, the cost per method."""

    profile: Profile
    seeds: list[int]
    arms: dict[tuple[str, str], list[Arm]] = field(default_factory=dict)
    floors: dict[str, dict] = field(default_factory=dict)
    costs: dict[str, Cost] = field(default_factory=dict)
    tests: dict = field(default_factory=dict)        # setting -> the test PoseDataset

    @property
    def settings(self) -> list[str]:
        return list(dict.fromkeys(s for s, _ in self.arms))

    def methods(self, setting: str) -> list[str]:
        return [m for s, m in self.arms if s == setting]

    def values(self, setting: str, method: str, metric: str = "MPJPE") -> list[float]:
        """One value per seed."""
        return [arm.result.summary()[metric] for arm in self.arms[(setting, method)]]

    def ranking(self, setting: str = MAIN, metric: str = "MPJPE") -> list[str]:
        """Methods from best to worst by the mean over seeds (lower is better, except PCK and AUC)."""
        sign = -1 if metric in ("PCK", "AUC") else 1
        return sorted(self.methods(setting), key=lambda m: sign * np.mean(self.values(setting, m, metric)))

    def verdict_vs_best(self, setting: str, method: str):
        """The paired verdict of `method` against the best method of `setting` (None for the best itself)."""
        best = self.ranking(setting)[0]
        if method == best:
            return None
        return compare(self.values(setting, method), self.values(setting, best), (method, best))

    def rows(self) -> list[dict]:
        """One row per (setting, method) and per floor, as plain values (what the CSV holds)."""
        rows = []
        for setting in self.settings:
            for method in self.ranking(setting):
                arms = self.arms[(setting, method)]
                row = {"setting": setting, "method": method, "seeds": len(arms)}
                for metric in METRICS:
                    row[metric], row[f"{metric} std"] = mean_std(self.values(setting, method, metric))
                verdict = self.verdict_vs_best(setting, method)
                row["vs best (mm)"] = "" if verdict is None else round(verdict.diff, 2)
                row["vs best 95% CI"] = "" if verdict is None or math.isnan(verdict.low) else \
                    f"{verdict.low:+.2f} to {verdict.high:+.2f}"
                cost = self.costs.get(method)
                if cost is not None:
                    row.update(params=cost.params, **{"MFLOPs/frame (Linear)": cost.flops_linear / 1e6,
                                                      "MFLOPs/frame (all)": cost.flops_full / 1e6,
                                                      "latency b1 (ms)": cost.latency_ms,
                                                      "throughput b64 (frames/s)": cost.throughput})
                row["train (s)"] = float(np.mean([a.train_seconds for a in arms]))
                row["paper: Human3.6M MPJPE"] = published_mpjpe(method)
                rows.append(row)
            f = self.floors[setting]
            for name, key in (("floor: nearest-neighbour lookup", "lookup"), ("floor: mean pose", "mean_pose")):
                rows.append({"setting": setting, "method": name, "MPJPE": f[f"{key}_MPJPE"],
                             "P-MPJPE": f[f"{key}_P-MPJPE"]})
        return rows

    def markdown(self, setting: str | None = None) -> str:
        """The table of one setting (default: all) as markdown, numbers rounded for reading."""
        header = ["setting", "method", "MPJPE (mm)", "P-MPJPE (mm)", "MPJVE (mm)", "PCK", "AUC", "vs best: Δ MPJPE, 95% CI",
                  "params", "MFLOPs/frame (Linear / all)", "CPU ms (b1)", "frames/s (b64)", "train s",
                  "paper: H36M MPJPE"]
        table = []
        for r in self.rows():
            if setting is not None and r["setting"] != setting:
                continue
            cell = lambda k, d=1: "" if r.get(k, "") == "" else (  # noqa: E731
                f"{r[k]:.{d}f}" + (f" ± {r[k + ' std']:.{d}f}" if not math.isnan(r.get(k + " std", math.nan)) else ""))
            vs = "best" if r.get("vs best (mm)") == "" else (
                "" if "vs best (mm)" not in r else f"{r['vs best (mm)']:+.1f} ({r['vs best 95% CI'] or 'one seed'})")
            flops = "" if "params" not in r else f"{r['MFLOPs/frame (Linear)']:.2f} / {r['MFLOPs/frame (all)']:.2f}"
            table.append([r["setting"], r["method"], cell("MPJPE"), cell("P-MPJPE"), cell("MPJVE", 2), cell("PCK"),
                          cell("AUC"), vs, "" if "params" not in r else f"{r['params']:,}", flops,
                          "" if "params" not in r else f"{r['latency b1 (ms)']:.1f}",
                          "" if "params" not in r else f"{r['throughput b64 (frames/s)']:,.0f}",
                          "" if "train (s)" not in r else f"{r['train (s)']:.0f}",
                          "" if r.get("paper: Human3.6M MPJPE") is None else f"{r['paper: Human3.6M MPJPE']:.1f}"])
        return str(md_table(header, table))

    def write(self, out: str | Path) -> dict[str, Path]:
        """leaderboard.csv (every column) and leaderboard.md (the readable table) in `out`."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        rows = self.rows()
        columns = list(dict.fromkeys(k for r in rows for k in r))
        with open(out / "leaderboard.csv", "w", newline="") as f:
            writer = csv.DictWriter(f, columns)
            writer.writeheader()
            writer.writerows(rows)
        (out / "leaderboard.md").write_text(self.caption() + "\n\n" + self.markdown() + "\n")
        return {"csv": out / "leaderboard.csv", "md": out / "leaderboard.md"}

    def caption(self) -> str:
        p = self.profile
        return (f"Profile `{p.name}`: {p.epochs} epochs of at most {p.max_train_windows or 'all'} windows, batch "
                f"{p.batch_size}, T = {p.frames}, seeds {', '.join(map(str, self.seeds))} (mean ± std, ddof 1; 'vs best': "
                f"paired difference to the best method of the setting with its 95% t-interval). Test: every "
                f"{p.test_every}th test sequence, at most {p.test_max_frames or 'all'} frames each, flip test on. "
                f"Costs at this configuration on this machine's CPU (medians). The paper column is Human3.6M "
                f"(CPN 2D, the paper's own frames and budget): other data, shown for scale only.")


def published_mpjpe(method: str) -> float | None:
    """The paper's Human3.6M MPJPE with CPN 2D at its largest published clip length, or None."""
    name = _PUBLISHED_ALIASES.get(method, method)
    entries = [e for e in PUBLISHED if e["method"] == name and e["dataset"] == "h36m" and e["keypoints"] == "cpn"
               and "MPJPE" in e["values"]]
    return max(entries, key=lambda e: e["frames"] or 0)["values"]["MPJPE"] if entries else None


def measure_cost(model, repeats: int = 7) -> Cost:
    """Parameters, FLOPs per output frame (both conventions) and CPU timings (medians) of a trained `model`."""
    model = copy.deepcopy(model).cpu().eval()
    report = complexity.report(model)
    clip = complexity.latency(model, batch=1, repeats=repeats)
    batch = complexity.latency(model, batch=64, repeats=max(3, repeats // 2))
    out_frames = report["frames"] if getattr(model, "output", "sequence") == "sequence" else 1
    return Cost(report["params"], report["flops_linear_per_frame"], report["flops_full_per_frame"],
                clip["median_ms"], 64 * out_frames / (batch["median_ms"] / 1000))


def run(profile: Profile, methods=METHODS, settings=(MAIN,), seeds: list[int] | None = None, retrain: bool = False,
        costs: bool = True, log: Callable[[str], None] | None = print, datasets: dict | None = None,
        device: str = "auto") -> Board:
    """Train (or fetch from the run cache) every method in every setting with every seed, and measure the costs.

    datasets: {setting: PoseDataset} to use instead of loading a setting's dataset (a smaller one, or your own data
    under a setting name of your choice, e.g. {'h36m, CPN 2D': load_dataset('h36m', root=...)})."""
    datasets = datasets or {}
    unknown = [s for s in settings if s not in SETTINGS and s not in datasets]
    if unknown:
        raise ValueError(f"unknown leaderboard setting {unknown[0]!r}; choose from {', '.join(SETTINGS)} or pass its "
                         f"data in datasets=")
    seeds = list(range(profile.seeds)) if seeds is None else list(seeds)
    board = Board(standard_budget(profile), seeds)
    for setting in settings:
        full = datasets.get(setting) or load_dataset(SETTINGS[setting][0], keypoints=SETTINGS[setting][1])
        train, test = prepare_data(full, profile)
        board.tests[setting] = test
        board.floors[setting] = floors(train, test)
        for method in methods:
            arms = [run_standard(method, train, test, profile, seed, retrain=retrain, device=device) for seed in seeds]
            board.arms[(setting, method)] = arms
            if log:
                cached = sum(a.cached for a in arms)
                log(f"{setting:>24} | {method:<10} MPJPE {mean_std([a.result.mpjpe for a in arms])[0]:6.1f} mm "
                    f"({cached}/{len(arms)} from the run cache, {sum(a.train_seconds for a in arms):.0f} s of training)")
    if costs:
        for method in methods:
            board.costs[method] = measure_cost(board.arms[(settings[0], method)][0].model)
    return board


README_START, README_END = "<!-- leaderboard:start -->", "<!-- leaderboard:end -->"


def update_readme(path: str | Path, board: Board, setting: str = MAIN) -> None:
    """Replace the README's generated table (between the leaderboard markers) with this board's."""
    path = Path(path)
    text = path.read_text()
    if README_START not in text or README_END not in text:
        raise ValueError(f"{path} has no '{README_START}' ... '{README_END}' block to fill: add the two markers where "
                         f"the generated table belongs")
    block = f"{README_START}\n{board.caption()}\n\n{board.markdown(setting)}\n{README_END}"
    path.write_text(re.sub(re.escape(README_START) + ".*?" + re.escape(README_END), lambda _: block, text,
                           flags=re.S))


__all__ = ["METHODS", "SETTINGS", "MAIN", "METRICS", "Cost", "Board", "run", "measure_cost", "published_mpjpe",
           "update_readme"]
