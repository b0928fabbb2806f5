"""Figures of restarts as a sample: ensembles, agreement, calibration, how many.

Each answers one question of :mod:`initlab.restarts` (and
:func:`initlab.stats.restarts_needed`) and draws the table those functions
return, one colour per initializer (:func:`~initlab.plots.style.colors`):

* :func:`plot_ensemble_curves` -- what averaging k restarts buys;
* :func:`plot_agreement` -- do restarts err on the same examples (observed
  counts against the binomial);
* :func:`plot_reliability` -- calibration of one restart vs an ensemble;
* :func:`plot_interval_widths` -- how many restarts a comparison needs.

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
    _palette,
    _panels,
    _width,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_METRIC_NAMES = {
    "accuracy": "test accuracy",
    "nll": "test NLL",
    "ece": "calibration error (ECE)",
}


def _need(frame: pd.DataFrame, columns: Sequence[str], where: str) -> None:
    missing = [c for c in columns if c not in frame]
    if missing:
        raise ValueError(f"{where}: the table has no column(s) {missing}.")


def plot_ensemble_curves(
    table: pd.DataFrame,
    *,
    metrics: Sequence[str] | None = None,
    palette: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, np.ndarray]:
    """Expected metric of an ensemble of k restarts against k, a panel per metric.

    Args:
      table: rows of :func:`initlab.restarts.ensemble_curve` with an
        ``initializer`` column (one curve per label).
      metrics: panels (default: every metric of the table).
      palette: label -> colour.
      ax: an axes whose place the panels take; a new figure if None.

    Returns:
      ``(fig, axes)``, one panel per metric; the line is the estimate, the
      band its interval (k <= R/2).

    Example:
      >>> rng = np.random.default_rng(0)
      >>> probs = rng.dirichlet(np.ones(3), size=(4, 50))
      >>> y = rng.integers(0, 3, 50)
      >>> preds = initlab.restarts.RestartPredictions(y, probs.argmax(-1),
      ...     np.take_along_axis(probs, y[None, :, None], -1)[..., 0], 3, probs)
      >>> curve = initlab.restarts.ensemble_curve(preds, rng=0)
      >>> fig, axes = plot_ensemble_curves(curve.assign(initializer="he"))
    """
    _need(
        table,
        ("initializer", "k", "metric", "value", "low", "high"),
        "plot_ensemble_curves",
    )
    metrics = list(metrics or dict.fromkeys(table["metric"]))
    labels = list(dict.fromkeys(table["initializer"].astype(str)))
    colours = _palette(labels, palette)
    width = _width()
    fig, axes = _panels(ax, 1, len(metrics), height=width * 0.36)
    for i, metric in enumerate(metrics):
        a = axes[0, i]
        for label in labels:
            rows = table[(table.metric == metric) & (table.initializer == label)]
            rows = rows.sort_values("k")
            c = colours[label]
            a.plot(rows.k, rows.value, "o-", ms=3, color=c, label=label)
            a.fill_between(rows.k, rows.low, rows.high, color=c, alpha=0.2, lw=0)
        a.set_xscale("log", base=2)
        a.set(xlabel="restarts averaged (k)", title=_METRIC_NAMES.get(metric, metric))
        if i == 0:
            _legend(a)
    return fig, axes


def plot_agreement(
    table: pd.DataFrame,
    summary: Mapping[str, Any] | None = None,
    *,
    title: str | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Examples by how many restarts get them right, against the binomial.

    Bars: observed examples per count c (0..R); dots: what Binomial(R, p̄)
    predicts if every example were equally hard and restarts independent.
    Mass at 0 and R beyond the dots means the restarts share their mistakes.

    Args:
      table: the first item of :func:`initlab.restarts.agreement`.
      summary: its second item (rho is written in the title).
      title: a title prefix (e.g. the initializer).
      ax: axes to draw on.

    Returns:
      ``(fig, ax)``.

    Example:
      >>> correct = np.random.default_rng(0).random((8, 100)) < 0.8
      >>> fig, ax = plot_agreement(*initlab.restarts.agreement(correct, rng=0))
    """
    _need(table, ("count", "observed", "binomial"), "plot_agreement")
    fig, ax = _axes(ax)
    ax.bar(
        table["count"],
        table["observed"],
        width=0.8,
        color="#1f77b4",
        alpha=0.7,
        label="observed",
    )
    ax.plot(
        table["count"],
        table["binomial"],
        "o",
        ms=3,
        color=REFERENCE,
        label="binomial (independent, equally hard)",
    )
    ax.set_yscale("symlog", linthresh=1)
    ax.set(xlabel="restarts right on the example", ylabel="test examples")
    head = f"{title}: " if title else ""
    if summary is not None:
        rho, low, high = summary["rho"], summary["rho_low"], summary["rho_high"]
        head += f"rho {rho:.2f} [{low:.2f}, {high:.2f}]"
    ax.set_title(head)
    _legend(ax)
    return fig, ax


def plot_reliability(
    tables: Mapping[str, pd.DataFrame],
    *,
    palette: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Accuracy against confidence per bin, one line per model (the diagonal:
    perfectly calibrated).

    Args:
      tables: label -> :func:`initlab.restarts.reliability` table (e.g.
        "one restart", "ensemble of 64").
      palette: label -> colour.
      ax: axes to draw on.

    Returns:
      ``(fig, ax)``.

    Example:
      >>> rng = np.random.default_rng(0)
      >>> probs = rng.dirichlet(np.ones(3), size=(4, 50))
      >>> y = rng.integers(0, 3, 50)
      >>> plot_reliability({"single": initlab.restarts.reliability(probs, y)})
    """
    fig, ax = _axes(ax)
    colours = _palette(list(tables), palette)
    ax.plot([0, 1], [0, 1], ls="--", color=REFERENCE, lw=1)
    for label, rel in tables.items():
        _need(rel, ("confidence", "accuracy", "count"), "plot_reliability")
        keep = rel["count"] > 0
        ax.plot(
            rel.confidence[keep],
            rel.accuracy[keep],
            "o-",
            ms=3,
            color=colours[label],
            label=label,
        )
    ax.set(
        xlabel="confidence (probability of the predicted class)",
        ylabel="accuracy",
        xlim=(0, 1),
        ylim=(0, 1.02),
    )
    _legend(ax)
    return fig, ax


def plot_interval_widths(
    table: pd.DataFrame,
    *,
    difference: float | None = None,
    palette: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """Expected interval width against restarts, log-log, one line per label.

    Args:
      table: columns ``initializer``, ``n``, ``width`` (and optionally
        ``statistic``: one line style per statistic).
      difference: a difference to resolve, drawn as a horizontal line.
      palette: label -> colour.
      ax: axes to draw on.

    Returns:
      ``(fig, ax)``.

    Example:
      >>> import pandas as pd
      >>> pilot = np.random.default_rng(0).normal(0.97, 0.005, 32)
      >>> widths = pd.DataFrame([dict(initializer="he", n=n,
      ...     width=initlab.stats.expected_interval_width(pilot, n))
      ...     for n in (8, 64, 512)])
      >>> plot_interval_widths(widths, difference=0.001)
    """
    _need(table, ("initializer", "n", "width"), "plot_interval_widths")
    fig, ax = _axes(ax)
    labels = list(dict.fromkeys(table["initializer"].astype(str)))
    colours = _palette(labels, palette)
    stats_ = list(dict.fromkeys(table["statistic"])) if "statistic" in table else [None]
    styles = dict(zip(stats_, ("-", "--", ":", "-."), strict=False))
    for label in labels:
        for stat in stats_:
            rows = table[table.initializer == label]
            if stat is not None:
                rows = rows[rows.statistic == stat]
            name = label if stat is None else f"{label} ({stat})"
            ax.plot(
                rows.n,
                rows.width,
                styles[stat],
                marker="o",
                ms=3,
                color=colours[label],
                label=name,
            )
    if difference is not None:
        ax.axhline(
            difference,
            color=REFERENCE,
            ls=":",
            lw=1,
            label=f"difference to resolve ({difference:g})",
        )
    ax.set(
        xscale="log",
        yscale="log",
        xlabel="restarts per initializer (n)",
        ylabel="expected 95% interval width",
    )
    _legend(ax)
    return fig, ax
