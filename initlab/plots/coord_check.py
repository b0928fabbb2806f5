"""The coordinate check's figure: activation size against width, a panel per step.

As in the mup package's README: one panel per training step t (t = 0 is the
initialization), the width on a log2 axis, one line per layer (its mean over
restarts, the band their range). Flat lines: the parametrization keeps every
layer's coordinates at a width-independent size; lines that climb: it does not.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from initlab.plots.style import _legend, _panels

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_NAMES = {"l1": "mean |x|", "rms": "RMS of x"}


def plot_coord_check(
    frame: pd.DataFrame,
    *,
    ax: Axes | None = None,
    title: str | None = None,
    steps: list[int] | None = None,
) -> tuple[Figure, np.ndarray]:
    """Activation size per layer against width, one panel per training step.

    Args:
      frame: :func:`initlab.parametrization.coord_check`'s table (width,
        layer, t, restart, value).
      ax: a place for the panels (replaced by them); a new figure if None.
      title: a title above the panels; default the settings in
        ``frame.attrs`` (model, optimizer, learning rate).
      steps: the steps t to draw; default all.

    Returns:
      ``(fig, axes)``: one axes per step; the legend names the layers once.

    Raises:
      ValueError: a table without the coordinate check's columns, or a step
        it does not hold.

    Example:
      >>> pz = initlab.parametrization.Parametrization("mup", 16)
      >>> frame = initlab.parametrization.coord_check(pz, (16, 64), steps=1,
      ...                                             num_restarts=2)
      >>> fig, axes = plot_coord_check(frame)
    """
    import matplotlib

    need = {"width", "layer", "t", "restart", "value"}
    if not need <= set(frame.columns):
        raise ValueError(
            f"plot_coord_check: the table needs columns {sorted(need)}; it has "
            f"{list(frame.columns)}."
        )
    held = sorted(set(frame["t"].tolist()))
    steps = held if steps is None else list(steps)
    missing = [t for t in steps if t not in held]
    if missing or not steps:
        raise ValueError(f"plot_coord_check: no step(s) {missing or steps}; "
                         f"the table holds t = {held}.")  # fmt: skip
    layers = list(dict.fromkeys(frame["layer"].tolist()))
    shades = matplotlib.colormaps["viridis"](np.linspace(0.1, 0.85, len(layers)))
    ncols = min(len(steps), 4)
    nrows = math.ceil(len(steps) / ncols)
    fig, axes = _panels(ax, nrows, ncols, height=2.6 * nrows + 0.5, sharey=True)
    flat = axes.ravel()
    stats = frame.groupby(["t", "layer", "width"])["value"].agg(["mean", "min", "max"])
    for a, t in zip(flat, steps, strict=False):
        for colour, layer in zip(shades, layers, strict=True):
            rows = stats.loc[(t, layer)].sort_index()
            if not np.any(rows["mean"].to_numpy() > 0):
                continue  # zero everywhere (a zero-initialized output at t = 0)
            w = rows.index.to_numpy(float)
            a.plot(w, rows["mean"], marker="o", markersize=3, color=colour,
                   label=layer)  # fmt: skip
            a.fill_between(w, rows["min"], rows["max"], color=colour, alpha=0.2,
                           linewidth=0)  # fmt: skip
        a.set_xscale("log", base=2)
        a.set_yscale("log")
        a.set_title(f"t = {t}")
        a.set_xlabel("width")
    for a in flat[len(steps) :]:
        a.set_visible(False)
    attrs = frame.attrs
    flat[0].set_ylabel(_NAMES.get(attrs.get("statistic"), "size"))
    _legend(flat[len(steps) - 1])
    if title is None and attrs:
        title = (f"{attrs.get('model', '')}: {attrs.get('optimizer', '')} "
                 f"lr {attrs.get('learning_rate', '')}, "
                 f"{attrs.get('num_restarts', '')} restarts "
                 "(band: their range)")  # fmt: skip
    if title:
        fig.suptitle(title, fontsize="medium")
    return fig, axes
