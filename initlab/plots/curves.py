"""Learning curves over restarts: median line and percentile bands.

:func:`plot_curves` overlays every initializer on one axes (a few of them);
:func:`plot_curve_panels` gives each its own small panel, sorted by the final
metric, with the others' medians in grey behind (any number of them). Steps
go on a log scale where that helps: when the evaluations span two decades or
more (step 0, the initialization, stays visible on a symlog axis).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab.plots.style import (
    REFERENCE,
    _axes,
    _legend,
    _legend_label,
    _names,
    _palette,
    _panels,
    _pretty,
    _width,
)

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from initlab.outcomes import Outcomes


def plot_curves(
    outcomes: Outcomes,
    metric: str,
    *,
    ax: Axes | None = None,
    palette: Mapping[str, Any] | None = None,
    logy: bool | None = None,
    band: tuple[float, float] = (25.0, 75.0),
    outer: tuple[float, float] | None = None,
    logx: bool | None = None,
) -> tuple[Figure, Axes]:
    """Median learning curve and its inter-quartile band, per initializer.

    Diverged restarts are left out (their curves stop being meaningful at the
    step they blew up) and counted in the legend. For more than a few
    initializers, :func:`plot_curve_panels` reads better.

    Args:
      outcomes: Outcomes with ``metric`` in ``outcomes.curves``.
      metric: curve name, e.g. "train_loss".
      ax: axes to draw on; a new figure if None.
      palette: label -> colour; default :func:`colors` of the labels.
      logy: log-scaled y axis; None = on for lower-is-better metrics whose
        values are all positive (losses).
      band: percentiles of the shaded band (default the IQR, 25-75).
      outer: percentiles of a second, fainter band (e.g. (5, 95)); none by
        default.
      logx: log-scaled steps (symlog, so step 0 stays); None = on when the
        evaluated steps span two decades or more.

    Returns:
      ``(fig, ax)``: one median line and one band (two with ``outer``) per
      initializer that has a non-diverged restart.

    Raises:
      KeyError: unknown curve.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> fig, ax = plot_curves(outcomes, "train_loss")
    """
    if metric not in outcomes.curves:
        raise KeyError(f"unknown curve {metric!r}; available: {list(outcomes.curves)}.")
    _check_band(band, "band")
    if outer is not None:
        _check_band(outer, "outer")
    fig, ax = _axes(ax)
    labels = outcomes.labels
    palette = _palette(labels, palette)
    steps = np.asarray(outcomes.steps)
    curves = np.asarray(outcomes.curves[metric], np.float64)
    positive = True
    for label in labels:
        mask = outcomes.initializer == label
        keep = mask & ~outcomes.diverged
        n_div = int(np.sum(mask & outcomes.diverged))
        c = curves[keep]
        if c.shape[0] == 0:
            continue
        lo, med, hi = _percentiles(c, (band[0], 50.0, band[1]))
        positive &= bool(np.nanmin(c) > 0) if np.isfinite(c).any() else True
        ax.plot(
            steps,
            med,
            color=palette[label],
            label=_legend_label(label, c.shape[0], n_div),
        )
        ax.fill_between(steps, lo, hi, color=palette[label], alpha=0.2, linewidth=0)
        if outer is not None:
            olo, ohi = _percentiles(c, outer)
            ax.fill_between(steps, olo, ohi, color=palette[label], alpha=0.08,
                            linewidth=0)  # fmt: skip
    if logy is None:
        logy = not outcomes.higher_is_better(metric) and positive
    if logy:
        ax.set_yscale("log")
    _step_scale(ax, steps, logx)
    ax.set_xlabel("training step")
    ax.set_ylabel(_pretty(metric))
    ax.set_title(
        f"{_pretty(metric)}: median and {band[0]:g}-{band[1]:g}th percentile band"
    )
    _legend(ax)
    return fig, ax


def _check_band(band: Any, what: str) -> None:
    try:
        low, high = (float(x) for x in band)
    except (TypeError, ValueError):
        raise ValueError(
            f"{what} must be two percentiles (low, high), got {band!r}."
        ) from None
    if not 0 <= low < high <= 100:
        raise ValueError(f"{what} must be two percentiles low < high, got {band}.")


def _percentiles(c: np.ndarray, band: tuple[float, float]):
    with warnings.catch_warnings():  # an all-NaN step is drawn as a gap
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanpercentile(c, list(band), axis=0)


def log_steps(steps: Any) -> bool:
    """Whether steps read better on a log axis: positive ones span >= 2 decades.

    Example:
      >>> log_steps([0, 10, 100, 1000]), log_steps([0, 100, 200, 300])
      (True, False)
    """
    s = np.asarray(steps, np.float64)
    pos = s[s > 0]
    return bool(pos.size >= 3 and pos.max() / pos.min() >= 100)


def _step_scale(ax: Axes, steps: np.ndarray, logx: bool | None) -> None:
    if logx is None:
        logx = log_steps(steps)
    if not logx:
        return
    pos = np.asarray(steps)[np.asarray(steps) > 0]
    if pos.size == 0:
        return
    if np.any(np.asarray(steps) <= 0):
        ax.set_xscale("symlog", linthresh=float(pos.min()), linscale=0.4)
    else:
        ax.set_xscale("log")


def plot_curve_panels(
    outcomes: Outcomes,
    metric: str,
    *,
    order: Any = None,
    failed: Mapping[str, Any] | None = None,
    band: tuple[float, float] = (25.0, 75.0),
    outer: tuple[float, float] | None = (5.0, 95.0),
    logx: bool | None = None,
    logy: bool | None = None,
    ncols: int | None = None,
    palette: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, np.ndarray]:
    """Learning curves as small multiples: one panel per initializer, shared axes.

    Each panel shows its initializer's median over restarts with the ``band``
    and ``outer`` percentile bands, and every other initializer's median in
    thin grey behind it, so each curve is read against the rest without a
    legend. Panels are ordered best first by the final ``metric`` (IQM over
    restarts) unless ``order`` is given. Diverged restarts are left out and
    counted in the panel's title.

    Args:
      outcomes: Outcomes with ``metric`` in ``outcomes.curves``.
      metric: curve name, e.g. "test_accuracy".
      order: labels in panel order (default: best first by the final metric,
        or by the last median for a curve without a final value).
      failed: label -> reason (e.g. :func:`initlab.stats.failures`): written
        in those panels' titles.
      band: percentiles of the inner band. Default 25-75.
      outer: percentiles of the outer band, or None. Default 5-95.
      logx: log-scaled steps; None = when the steps span two decades.
      logy: log-scaled values; None = for a positive lower-is-better metric.
      ncols: panels per row; default up to 5 (6 beyond 20 initializers).
      palette: label -> colour; default :func:`colors` of the labels.
      ax: an axes whose place the panels take; a new figure if None.

    Returns:
      ``(fig, axes)``: a (rows, ncols) array; cells past the last panel are
      switched off.

    Raises:
      KeyError: unknown curve. ValueError: bad bands, ``order`` that is not a
        permutation of some labels.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> fig, axes = plot_curve_panels(outcomes, "test_accuracy")
    """
    from initlab import stats
    from initlab._checks import positive_int

    if metric not in outcomes.curves:
        raise KeyError(f"unknown curve {metric!r}; available: {list(outcomes.curves)}.")
    _check_band(band, "band")
    if outer is not None:
        _check_band(outer, "outer")
    labels = outcomes.labels
    higher = outcomes.higher_is_better(metric)
    steps = np.asarray(outcomes.steps)
    curves = np.asarray(outcomes.curves[metric], np.float64)
    kept = {lab: curves[(outcomes.initializer == lab) & ~outcomes.diverged]
            for lab in labels}  # fmt: skip
    medians = {lab: _percentiles(c, (50.0, 50.0))[0] if len(c) else None
               for lab, c in kept.items()}  # fmt: skip
    if order is None:
        from initlab.plots._values import best_first

        if metric in outcomes.final:
            key = {lab: (stats.iqm(v) if (v := outcomes.values(metric, lab)).size
                         else float("nan")) for lab in labels}  # fmt: skip
        else:
            key = {lab: (float(m[-1]) if m is not None else float("nan"))
                   for lab, m in medians.items()}  # fmt: skip
        order = best_first(labels, key, higher)
    else:
        order = [str(x) for x in order]
        wrong = [x for x in order if x not in labels]
        if wrong or len(set(order)) != len(order):
            raise ValueError(
                f"order must list distinct labels of the outcomes; got {order} "
                f"(labels: {labels})."
            )
    failed = dict(failed or {})
    n = len(order)
    ncols = positive_int(ncols, "ncols", where="plot_curve_panels") if ncols else (
        min(n, 5 if n <= 20 else 6)
    )  # fmt: skip
    nrows = -(-n // ncols)
    palette = _palette(labels, palette)
    short = _names(labels, limit=22)
    height = nrows * (_width() / ncols) * 0.72 + 0.6
    fig, axes = _panels(ax, nrows, ncols, height=height, sharex=True, sharey=True)
    positive = all(np.nanmin(c) > 0 for c in kept.values()
                   if len(c) and np.isfinite(c).any())  # fmt: skip
    if logy is None:
        logy = not higher and positive
    for k, label in enumerate(order):
        a = axes.flat[k]
        for other in order:
            if other != label and medians[other] is not None:
                a.plot(steps, medians[other], color=REFERENCE, linewidth=0.6,
                       alpha=0.35, zorder=1)  # fmt: skip
        c = kept[label]
        colour = palette[label]
        if len(c):
            if outer is not None:
                lo, hi = _percentiles(c, outer)
                a.fill_between(steps, lo, hi, color=colour, alpha=0.12, linewidth=0)
            lo, hi = _percentiles(c, band)
            a.fill_between(steps, lo, hi, color=colour, alpha=0.3, linewidth=0)
            a.plot(steps, medians[label], color=colour, linewidth=1.6, zorder=3)
        n_div = int(np.sum((outcomes.initializer == label) & outcomes.diverged))
        title = short[label]
        if label in failed:
            reason = failed[label]
            title += f"\n{getattr(reason, 'short', reason)}"
        if n_div:
            title += f" ({n_div} diverged)"
        a.set_title(title, color=colour if len(c) else REFERENCE,
                    fontsize="x-small" if label in failed else "small")  # fmt: skip
    for a in axes.flat[n:]:
        a.set_axis_off()
    if logy:
        axes.flat[0].set_yscale("log")
    _step_scale(axes.flat[0], steps, logx)
    for a in axes[-1, :]:
        a.set_xlabel("training step")
    for a in axes[:, 0]:
        a.set_ylabel(_pretty(metric))
    for k in range(n, axes.size):  # the last row's empty cells: label the row above
        r, col = divmod(k, ncols)
        if r:
            axes[r - 1, col].tick_params(labelbottom=True)
            axes[r - 1, col].set_xlabel("training step")
    if ax is None:
        bands = f"{band[0]:g}-{band[1]:g}" + (
            f" and {outer[0]:g}-{outer[1]:g}" if outer is not None else ""
        )
        fig.suptitle(f"{_pretty(metric)}: median, {bands} % bands; grey: the others")
    return fig, axes
