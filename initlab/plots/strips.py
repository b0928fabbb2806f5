"""Distributions as rows: every restart as a point, a box behind, names readable.

The horizontal counterpart of :func:`~initlab.plots.plot_distributions` for
many initializers: one row each, sorted best first, names on the y axis (no
legend, no rotated labels), and failed initializers in a panel of their own so
the working ones' axis zooms to their range.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab import stats
from initlab._checks import choice, number
from initlab.plots._values import (
    STATISTICS,
    best_first,
    collect,
    failed_labels,
    failed_xlim,
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
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from initlab.outcomes import Outcomes


def point_statistic(values: np.ndarray, statistic: str) -> float:
    """mean / iqm / median of finite values; NaN for none."""
    if values.size == 0:
        return float("nan")
    if statistic == "iqm":
        return stats.iqm(values)
    return float(np.mean(values) if statistic == "mean" else np.median(values))


def split_rows(data, metric, failed, chance, sort_by, higher_is_better, rng, where):
    """Shared by the row figures: values, the two groups, reasons, direction."""
    from initlab.outcomes import Outcomes

    sort_by = choice(sort_by, STATISTICS, "sort_by", where=where)
    labels, values, diverged, higher, name = collect(data, metric, higher_is_better)
    level = (
        stats.chance_level(data, name, chance=chance)
        if isinstance(data, Outcomes)
        else chance
    )
    bad = failed_labels(data, name, failed, labels=labels, values=values,
                        higher=higher, chance=level, rng=rng)  # fmt: skip
    key = {lab: point_statistic(values[lab], sort_by) for lab in labels}
    working = best_first([lab for lab in labels if lab not in bad], key, higher)
    broken = best_first([lab for lab in labels if lab in bad], key, higher)
    return labels, values, diverged, higher, name, level, bad, working, broken


def plot_strips(
    data: Outcomes | Mapping[str, Any],
    metric: str | None = None,
    *,
    kind: str = "box",
    sort_by: str = "iqm",
    failed: Any = None,
    chance: float | None = None,
    higher_is_better: bool | None = None,
    palette: Mapping[str, Any] | None = None,
    jitter: float = 0.28,
    rng: int = 0,
    ax: Axes | None = None,
) -> tuple[Figure, np.ndarray]:
    """Every restart's final value as a point, one row per initializer, sorted.

    Rows are sorted by ``sort_by`` (best on top) and named on the y axis with
    their number of restarts (and diverged ones, which are left out). Behind
    the points, ``kind="box"`` draws the inter-quartile box, the median and
    whiskers at the 5th and 95th percentiles; ``"strip"`` only marks the
    median. Failed initializers (see :func:`initlab.stats.failures`) are drawn
    in a labelled panel below with their own axis.

    Args:
      data: Outcomes (with ``metric``) or mapping label -> (R,) values.
      metric: final metric name (x axis).
      kind: "box" (default) or "strip".
      sort_by: "mean", "iqm" (default) or "median".
      failed: None (found from the data), a mapping label -> reason, a list of
        labels, or False (none drawn apart).
      chance: the task's chance level (dashed in the failed panel); default
        :func:`initlab.stats.chance_level` of the Outcomes.
      higher_is_better: override the metric's direction (mappings default True).
      palette: label -> colour; default :func:`colors` of the labels.
      jitter: vertical spread of the points, in rows.
      rng: seed of the jitter, so figures are reproducible.
      ax: an axes whose place the panels take; a new figure if None.

    Returns:
      ``(fig, axes)``: a (1 or 2, 1) array, working panel first.

    Raises:
      ValueError: unknown kind or sort_by, a bad jitter, unknown labels in
        ``failed``.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> fig, axes = plot_strips(outcomes, "test_accuracy")
    """
    where = "plot_strips"
    kind = choice(kind, ("box", "strip"), "kind", where=where)
    jitter = number(jitter, "jitter", where=where)
    if not 0 <= jitter < 0.5:
        raise ValueError(f"{where}: jitter must be in [0, 0.5) rows; got {jitter}.")
    labels, values, diverged, higher, name, level, bad, working, broken = split_rows(
        data, metric, failed, chance, sort_by, higher_is_better, rng, where
    )
    from matplotlib.transforms import blended_transform_factory

    palette = _palette(labels, palette)
    short = _names(labels)
    groups = [g for g in (working, broken) if g]
    rh = _row_height() * 1.3
    height = sum(0.75 + rh * len(g) for g in groups) + 0.4
    fig, axes = _panels(ax, len(groups), 1, height=height,
                        height_ratios=[len(g) + 1.4 for g in groups])  # fmt: skip
    gen = np.random.default_rng(rng)
    for r, group in enumerate(groups):
        a = axes[r, 0]
        across = blended_transform_factory(a.transAxes, a.transData)
        ticks = []
        for y, label in enumerate(group):
            v, c = values[label], palette[label]
            n_div = diverged[label]
            tick = f"{short[label]} (n={v.size}" + (
                f", {n_div} diverged)" if n_div else ")"
            )
            if label in bad:
                tick = f"{short[label]}: {bad[label]}"
            ticks.append(tick)
            if v.size == 0:
                a.text(0.5, y, f"all {n_div} diverged", transform=across,
                       ha="center", va="center", color=REFERENCE,
                       fontsize="small")  # fmt: skip
                continue
            if kind == "box" and v.size >= 2:
                a.boxplot(v, positions=[y], orientation="horizontal", widths=0.62,
                          whis=(5, 95), showfliers=False, patch_artist=True,
                          manage_ticks=False, zorder=2,
                          boxprops={"facecolor": (*c[:3], 0.12), "edgecolor": c},
                          whiskerprops={"color": c}, capprops={"color": c},
                          medianprops={"color": c, "linewidth": 2})  # fmt: skip
            else:
                med = float(np.median(v))
                a.plot([med, med], [y - 0.32, y + 0.32], color=c, linewidth=2)
            ys = y + gen.uniform(-jitter, jitter, v.size)
            a.scatter(v, ys, s=7, color=c, alpha=0.55, linewidths=0, zorder=3)
        a.set_yticks(range(len(group)), ticks)
        a.set_ylim(len(group) - 0.5, -0.5)
        a.grid(False, axis="y")
        a.grid(True, axis="x", alpha=0.3)
        if group is broken:
            if level is not None:
                a.axvline(level, color=REFERENCE, linestyle="--", linewidth=0.8)
            pts = [x for lab in group for x in values[lab]]
            limits = failed_xlim(pts, name, level)
            if limits is not None:
                a.set_xlim(*limits)
            what = "at chance level" + (f" {level:.3g}, dashed" if level else "")
            a.set_title(f"Failed ({what}, or diverged): own axis", loc="left",
                        fontsize="medium", color="#444444")  # fmt: skip
    axes[-1, 0].set_xlabel(
        f"final {_pretty(name)} ({'higher' if higher else 'lower'} is better)"
    )
    if ax is None:
        box = "box: quartiles, whiskers 5-95 %, " if kind == "box" else ""
        fig.suptitle(f"{_pretty(name)} of every restart ({box}best first)")
    return fig, axes
