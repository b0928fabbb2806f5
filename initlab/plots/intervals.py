"""Interval estimates: a row per initializer, point and interval, sorted.

The figure that answers "which initializer is better, by how much, and how
sure is that": one panel per statistic (mean, IQM, median) with the same rows,
sorted by one of them, best on top; failed initializers (diverged, or at the
task's chance level) in a labelled panel of their own below, so the axis of
the working ones zooms to their range (Agarwal et al. 2021).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab import stats
from initlab._checks import choice
from initlab.plots._values import (
    _TITLES,
    STATISTICS,
    best_first,
    check_statistics,
    failed_labels,
    failed_xlim,
    interval_rows,
)
from initlab.plots.style import (
    REFERENCE,
    _names,
    _palette,
    _panels,
    _pretty,
    _row_height,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from initlab.outcomes import Outcomes


def _draw_rows(ax, order, rows, stat, palette, ticks) -> None:
    from matplotlib.transforms import blended_transform_factory

    across = blended_transform_factory(ax.transAxes, ax.transData)
    for y, label in enumerate(order):
        est, low, high = rows[label][stat]
        c = palette[label]
        if np.isfinite(low) and np.isfinite(high):
            ax.plot([low, high], [y, y], color=c, linewidth=5, alpha=0.35,
                    solid_capstyle="butt")  # fmt: skip
        if np.isfinite(est):
            ax.plot([est], [y], "o", color=c, markersize=4.5, zorder=3)
        else:
            n_div = rows[label]["diverged"]
            ax.text(0.5, y, f"all {n_div} diverged" if n_div else "no value",
                    transform=across, ha="center", va="center", color=REFERENCE,
                    fontsize="small")  # fmt: skip
    ax.set_yticks(range(len(order)), [ticks[lab] for lab in order])
    ax.set_ylim(len(order) - 0.5, -0.5)  # the first (best) row on top
    ax.grid(False, axis="y")
    ax.grid(True, axis="x", alpha=0.3)


def plot_interval_estimates(
    data: Outcomes | Mapping[str, Any],
    metric: str | None = None,
    *,
    statistics: Sequence[str] = STATISTICS,
    sort_by: str = "iqm",
    failed: Any = None,
    chance: float | None = None,
    table: pd.DataFrame | None = None,
    rng: stats.RNG = 0,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    higher_is_better: bool | None = None,
    palette: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, np.ndarray]:
    """Point and interval of mean / IQM / median, a row per initializer, sorted.

    One panel per statistic, side by side, with the same rows: initializers
    sorted by ``sort_by``, best on top. Failed initializers (most restarts
    diverged, or an interval at the task's chance level: see
    :func:`initlab.stats.failures`) go to a labelled panel below with an axis
    of their own (the chance level dashed), so the axis of the working ones
    zooms to their range. Intervals are percentile-bootstrap intervals
    (:func:`initlab.stats.summary_table` for Outcomes,
    :func:`initlab.stats.summarize` for a mapping).

    Args:
      data: Outcomes (with ``metric``) or mapping label -> (R,) values.
      metric: final metric name.
      statistics: panels, from "mean", "iqm", "median". Default all three.
      sort_by: the statistic that orders the rows. Default "iqm".
      failed: which initializers to draw apart: None (found from the data),
        a mapping label -> reason (e.g. what :func:`initlab.stats.failures`
        returns), a list of labels, or False (none).
      chance: the task's chance level; default
        :func:`initlab.stats.chance_level` of the Outcomes (for a mapping,
        none unless given).
      table: a summary table of ``data`` to draw (so the figure shows the
        report's numbers); default computed here.
      rng: seed of the bootstrap when the intervals are computed here.
      confidence: interval coverage. Default 0.95.
      n_resamples: bootstrap resamples. Default 2000.
      higher_is_better: override the metric's direction (mappings default True).
      palette: label -> colour; default :func:`colors` of the labels.
      ax: an axes whose place the panels take (it is replaced); a new figure
        if None.

    Returns:
      ``(fig, axes)``: axes is a (rows, statistics) array, the working panel
      row first and the failed one (when any) second.

    Raises:
      ValueError: unknown statistic or sort_by, a label in ``failed`` that is
        not in the data, a table without a row for a label.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> fig, axes = plot_interval_estimates(outcomes, "test_accuracy")

    References:
      Agarwal, Schwarzer, Castro, Courville & Bellemare (2021), "Deep
      reinforcement learning at the edge of the statistical precipice",
      NeurIPS (interval estimates of mean, median and IQM).
    """
    from initlab.outcomes import Outcomes

    where = "plot_interval_estimates"
    chosen = check_statistics(statistics, where)
    sort_by = choice(sort_by, STATISTICS, "sort_by", where=where)
    labels, rows, higher, name, table = interval_rows(
        data, metric, rng=rng, confidence=confidence, n_resamples=n_resamples,
        higher_is_better=higher_is_better, table=table,
    )  # fmt: skip
    level = (
        stats.chance_level(data, name, chance=chance)
        if isinstance(data, Outcomes)
        else chance
    )
    bad = failed_labels(data, name, failed, labels=labels, rows=rows, higher=higher,
                        chance=level, table=table, rng=rng)  # fmt: skip
    key = {lab: rows[lab][sort_by][0] for lab in labels}
    working = best_first([lab for lab in labels if lab not in bad], key, higher)
    broken = best_first([lab for lab in labels if lab in bad], key, higher)
    palette = _palette(labels, palette)
    short = _names(labels)
    ticks = {}
    for lab in labels:
        d = rows[lab]["diverged"]
        ticks[lab] = short[lab] + (f" ({d} diverged)" if d and rows[lab]["n"] else "")
        if lab in bad:
            ticks[lab] = f"{short[lab]}: {bad[lab]}"
    groups = [g for g in (working, broken) if g]
    rh = _row_height()
    height = sum(0.75 + rh * len(g) for g in groups) + 0.55
    fig, axes = _panels(ax, len(groups), len(chosen), height=height,
                        height_ratios=[len(g) + 1.6 for g in groups],
                        sharex="row", sharey="row")  # fmt: skip
    direction = "higher" if higher else "lower"
    for r, group in enumerate(groups):
        for c, stat in enumerate(chosen):
            a = axes[r, c]
            _draw_rows(a, group, rows, stat, palette, ticks)
            if c:
                a.tick_params(labelleft=False)
            if group is broken and level is not None:
                a.axvline(level, color=REFERENCE, linestyle="--", linewidth=0.8,
                          zorder=1)  # fmt: skip
            if group is broken and c == 0:
                pts = [x for lab in group for s in chosen for x in rows[lab][s]]
                limits = failed_xlim(pts, name, level)
                if limits is not None:
                    a.set_xlim(*limits)
            if r == 0:
                mark = " (sorted)" if stat == sort_by else ""
                a.set_title(f"{_TITLES[stat]}{mark}")
        if group is broken:
            what = "at chance level" + (f" {level:.3g}, dashed" if level else "")
            axes[r, 0].set_title(
                f"Failed ({what}, or diverged): own axis", loc="left",
                fontsize="medium", color="#444444",
            )  # fmt: skip
    for c in range(len(chosen)):
        axes[-1, c].set_xlabel(f"final {_pretty(name)}")
    if ax is None:
        fig.suptitle(
            f"{_pretty(name)} ({direction} is better): point and {confidence:.0%} "
            f"bootstrap interval, best first"
        )
    return fig, axes
