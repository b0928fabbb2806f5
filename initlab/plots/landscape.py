"""Figures of the landscape between restarts and of perturbed starts.

* :func:`plot_interpolation` -- a metric along the line between restarts;
* :func:`plot_estimates` -- a row per condition, point and interval, sorted
  (barriers, rank correlations, spreads);
* :func:`plot_perturbation` -- spread of outcomes against the size of the
  change of the start.

Each takes ``ax=None`` and returns ``(fig, ax)`` (``(fig, axes)`` for
several panels); matplotlib is imported inside each function.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab.plots.style import (
    REFERENCE,
    _axes,
    _legend,
    _names,
    _palette,
    _panels,
    _pretty,
    _row_height,
    _width,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def _need(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValueError(f"{where}: the table has no column(s) {missing}.")


def plot_interpolation(
    alphas: Any,
    curves: Mapping[str, Any],
    *,
    metric: str = "test_loss",
    palette: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """A metric along the line between two restarts: median and IQR over pairs.

    Args:
      alphas: (A,) positions (0 = restart a, 1 = restart b).
      curves: condition label -> (P, A) values (e.g. "raw", "aligned",
        "spawned at step 50").
      metric: the metric's name, for the axis.
      palette: label -> colour.
      ax: axes to draw on.

    Returns:
      ``(fig, ax)``.

    Example:
      >>> alphas = np.linspace(0, 1, 5)
      >>> raw = 1 + np.sin(np.pi * alphas) * np.array([[0.5], [0.8]])  # 2 pairs
      >>> plot_interpolation(alphas, {"raw": raw})
    """
    fig, ax = _axes(ax)
    x = np.asarray(alphas, float)
    colours = _palette(list(curves), palette)
    for label, values in curves.items():
        v = np.asarray(values, float)
        q25, q50, q75 = np.nanpercentile(v, [25, 50, 75], axis=0)
        ax.plot(x, q50, "-", color=colours[label], label=f"{label} (n={len(v)})")
        ax.fill_between(x, q25, q75, color=colours[label], alpha=0.2, lw=0)
    ax.set(xlabel="alpha (0: restart a, 1: restart b)", ylabel=_pretty(metric))
    _legend(ax)
    return fig, ax


def plot_estimates(
    table: pd.DataFrame,
    *,
    label: str = "condition",
    value: str = "mean",
    low: str = "low",
    high: str = "high",
    xlabel: str = "",
    reference: float | None = 0.0,
    sort: bool = True,
    palette: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """A row per condition: point and interval, largest on top.

    Args:
      table: one row per condition.
      label, value, low, high: its columns.
      xlabel: the axis label.
      reference: a vertical reference line (None: none).
      sort: order the rows by ``value``, largest first (else as given).
      palette: label -> colour (default: one per label).
      ax: axes to draw on (a new figure sized to the rows if None).

    Returns:
      ``(fig, ax)``.

    Example:
      >>> barriers = {"raw": [0.5, 0.8, 0.6], "aligned": [0.1, 0.0, 0.05]}
      >>> table = initlab.restarts.barrier_summary(barriers, rng=0)
      >>> plot_estimates(table, xlabel="barrier")
    """
    _need(table, (label, value, low, high), "plot_estimates")
    rows = table.sort_values(value, ascending=False) if sort else table
    names = [str(v) for v in rows[label]]
    if ax is None:
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(
            figsize=(_width(), 0.9 + _row_height() * len(names)), layout="constrained"
        )
    else:
        fig = ax.figure
    colours = _palette(names, palette)
    ticks = _names(names)
    for y, (name, v, lo, hi) in enumerate(
        zip(names, rows[value], rows[low], rows[high], strict=True)
    ):
        if np.isfinite(lo) and np.isfinite(hi):
            ax.plot(
                [lo, hi],
                [y, y],
                color=colours[name],
                lw=5,
                alpha=0.35,
                solid_capstyle="butt",
            )
        ax.plot([v], [y], "o", color=colours[name], ms=4.5, zorder=3)
    if reference is not None:
        ax.axvline(reference, color=REFERENCE, lw=1, ls=":")
    ax.set_yticks(range(len(names)), [ticks[n] for n in names])
    ax.set_ylim(len(names) - 0.5, -0.5)
    ax.grid(False, axis="y")
    ax.set_xlabel(xlabel)
    return fig, ax


def plot_perturbation(
    table: pd.DataFrame,
    *,
    redraw: str = "redraw",
    columns: Sequence[tuple[str, str]] = (
        ("std", "std of the final metric"),
        ("disagreement", "pairwise disagreement"),
    ),
    ax: Axes | None = None,
) -> tuple[Figure, np.ndarray]:
    """Spread of outcomes against the size of the change of the start.

    One panel per ``(column, title)`` of ``columns``: x is the size of the
    change (``delta``, log scale), y the column with its interval
    (``<column>_low`` / ``_high``); the fully re-drawn restarts (row
    ``arm == redraw``) are the grey band.

    Args:
      table: one row per arm: ``arm``, ``delta`` (NaN for the redraw) and
        the columns with their intervals.
      redraw: the arm of fully re-drawn restarts.
      columns: the panels.
      ax: an axes whose place the panels take.

    Returns:
      ``(fig, axes)``.

    Example:
      >>> import pandas as pd
      >>> table = pd.DataFrame(dict(arm=["redraw", "eps=1e-02"],
      ...     delta=[np.nan, 1e-2], std=[0.02, 0.001], std_low=[0.01, 0.0],
      ...     std_high=[0.03, 0.002], disagreement=[0.2, 0.01],
      ...     disagreement_low=[0.18, 0.0], disagreement_high=[0.22, 0.02]))
      >>> plot_perturbation(table)   # or the perturb study's result.table
    """
    _need(table, ("arm", "delta"), "plot_perturbation")
    width = _width()
    fig, axes = _panels(ax, 1, len(columns), height=width * 0.38)
    base = table[table.arm == redraw]
    arms = table[table.arm != redraw].sort_values("delta")
    for i, (column, title) in enumerate(columns):
        a = axes[0, i]
        _need(table, (column, f"{column}_low", f"{column}_high"), "plot_perturbation")
        if len(base):
            row = base.iloc[0]
            a.axhspan(
                row[f"{column}_low"],
                row[f"{column}_high"],
                color=REFERENCE,
                alpha=0.25,
                lw=0,
                label="re-drawn restarts",
            )
            a.axhline(row[column], color=REFERENCE, lw=1)
        a.errorbar(
            arms.delta,
            arms[column],
            yerr=[
                arms[column] - arms[f"{column}_low"],
                arms[f"{column}_high"] - arms[column],
            ],
            fmt="o-",
            ms=4,
            color="#1f77b4",
            capsize=2,
            label="one weight changed",
        )
        for _, row in arms.iterrows():
            a.annotate(
                str(row.arm),
                (row.delta, row[column]),
                xytext=(3, 4),
                textcoords="offset points",
                fontsize="x-small",
            )
        a.set(xscale="log", xlabel="size of the change |delta w|", title=title)
        a.set_ylim(bottom=0)
        if i == 0:
            _legend(a)
    return fig, axes
