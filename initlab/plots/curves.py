"""Learning curves over restarts: median line and percentile band."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab.plots.style import _axes, _legend, _legend_label, _palette, _pretty

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
) -> tuple[Figure, Axes]:
    """Median learning curve and its inter-quartile band, per initializer.

    Diverged restarts are left out (their curves stop being meaningful at the
    step they blew up) and counted in the legend.

    Args:
      outcomes: Outcomes with ``metric`` in ``outcomes.curves``.
      metric: curve name, e.g. "train_loss".
      ax: axes to draw on; a new figure if None.
      palette: label -> colour; default :func:`colors` of the labels.
      logy: log-scaled y axis; None = on for lower-is-better metrics whose
        values are all positive (losses).
      band: percentiles of the shaded band (default the IQR, 25-75).

    Returns:
      ``(fig, ax)``: one median line and one band per initializer that has a
      non-diverged restart.

    Raises:
      KeyError: unknown curve.

    Example:
      >>> fig, ax = plot_curves(outcomes, "train_loss")
    """
    if metric not in outcomes.curves:
        raise KeyError(f"unknown curve {metric!r}; available: {list(outcomes.curves)}.")
    if not 0 <= band[0] < band[1] <= 100:
        raise ValueError(f"band must be two percentiles low < high, got {band}.")
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
        with warnings.catch_warnings():  # an all-NaN step is drawn as a gap
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, med, hi = np.nanpercentile(c, [band[0], 50, band[1]], axis=0)
        positive &= bool(np.nanmin(c) > 0) if np.isfinite(c).any() else True
        ax.plot(
            steps,
            med,
            color=palette[label],
            label=_legend_label(label, c.shape[0], n_div),
        )
        ax.fill_between(steps, lo, hi, color=palette[label], alpha=0.2, linewidth=0)
    if logy is None:
        logy = not outcomes.higher_is_better(metric) and positive
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(_pretty(metric))
    ax.set_title(
        f"{_pretty(metric)}: median and {band[0]:g}-{band[1]:g}th percentile band"
    )
    _legend(ax)
    return fig, ax
