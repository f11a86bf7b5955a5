"""Figures that put many methods side by side: accuracy against cost, and error heat maps (matplotlib).

Generic: they draw numbers handed to them (the leaderboard's, or any table of methods), not posekit objects.
"""
from __future__ import annotations

from typing import Mapping

import matplotlib.ticker
import numpy as np

from .common import palette_colour
from .report import _mpl_figure


def accuracy_vs_cost(points: Mapping[str, tuple[float, float, float]], *, xlabel: str, floors: Mapping | None = None,
                     ylabel: str = "MPJPE (mm)", title: str | None = None, log_x: bool = True):
    """One marker per method at (cost, mean error) with the std over seeds as a vertical error bar.

    points: {method: (cost, mean, std)}; floors: {name: error} drawn as labelled horizontal lines (e.g. the
    mean pose and the lookup); log_x: costs spanning orders of magnitude (FLOPs, latency) on a log axis.
    """
    if not points:
        raise ValueError("points: expected at least one {method: (cost, mean, std)}")
    bad = [m for m, (c, _, _) in points.items() if not (np.isfinite(c) and (c > 0 or not log_x))]
    if bad:
        raise ValueError(f"points: cost of {bad} is not a positive finite number (a log axis needs one)")
    fig = _mpl_figure((6.4, 4.2))
    ax = fig.add_subplot(1, 1, 1)
    for n, (method, (cost, mean, std)) in enumerate(points.items()):
        ax.errorbar([cost], [mean], yerr=None if not np.isfinite(std) else [std], fmt="o", ms=7, capsize=4,
                    color=palette_colour(n), label=method)
        ax.annotate(method, (cost, mean), textcoords="offset points", xytext=(6, 4), fontsize=8)
    for name, value in (floors or {}).items():
        ax.axhline(value, color="#777", lw=0.9, ls="--")
        ax.annotate(name, (0.0, value), xycoords=("axes fraction", "data"), xytext=(4, 3),
                    textcoords="offset points", ha="left", fontsize=8, color="#555")
    if log_x:
        ax.set_xscale("log")
        ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())   # crowded 2x10^6 3x10^6 ... labels
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title or f"{ylabel.split(' ')[0]} against {xlabel}")
    fig.tight_layout()                  # every point carries its method's name: no legend needed
    return fig


def error_heatmap(errors: Mapping[str, Mapping[str, float]], *, title: str, unit: str = "mm", column_label: str = ""):
    """Rows: methods, columns: the keys of each row's dict (actions, joints); each cell's value written in it.

    One colour scale for the whole map, from the smallest to the largest value, so a row can be read against
    the others; columns missing for a method stay blank.
    """
    if not errors or not all(isinstance(v, Mapping) and v for v in errors.values()):
        raise ValueError("errors: expected {method: {column: error}} with at least one column each")
    columns = list(dict.fromkeys(c for row in errors.values() for c in row))
    grid = np.array([[float(row.get(c, np.nan)) for c in columns] for row in errors.values()])
    fig = _mpl_figure((max(6.0, 0.55 * len(columns) + 2.2), 0.42 * len(errors) + 1.6))
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(grid, aspect="auto", cmap="magma_r", vmin=np.nanmin(grid), vmax=np.nanmax(grid))
    ax.set_xticks(range(len(columns)), columns, rotation=45, ha="right", fontsize=8)
    ax.set_yticks(range(len(errors)), list(errors), fontsize=9)
    ax.grid(False)
    middle = (np.nanmin(grid) + np.nanmax(grid)) / 2
    for (i, j), value in np.ndenumerate(grid):
        if np.isfinite(value):
            ax.text(j, i, f"{value:.0f}", ha="center", va="center", fontsize=7,
                    color="white" if value > middle else "black")
    fig.colorbar(image, ax=ax, label=f"error ({unit})", fraction=0.03)
    ax.set_xlabel(column_label)
    ax.set_title(title)
    fig.tight_layout()
    return fig
