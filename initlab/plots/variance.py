"""Sources of variance: the init / data-order / rest shares of a seed grid."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab.plots.style import _axes

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def plot_variance_components(
    components: Mapping[str, Any],
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Bars of the share of variance per source, with bootstrap error bars.

    Args:
      components: the dict returned by :func:`initlab.stats.variance_components`.
      ax: axes to draw on; a new figure if None.
      title: optional title; default names the grid size.

    Returns:
      ``(fig, ax)``: one bar per component.

    Example:
      >>> from initlab import stats
      >>> grid = np.random.default_rng(0).normal(size=(8, 4))  # init x data
      >>> fig, ax = plot_variance_components(stats.variance_components(grid, rng=0))
    """
    for key in ("components", "share", "share_low", "share_high"):
        if key not in components:
            raise ValueError(
                f"components lacks {key!r}: pass what "
                "initlab.stats.variance_components returns."
            )
    names = list(components["components"])
    share = np.asarray(components["share"], np.float64)
    err = np.stack(
        [
            share - np.asarray(components["share_low"]),
            np.asarray(components["share_high"]) - share,
        ]
    )
    fig, ax = _axes(ax)
    import matplotlib

    cmap = matplotlib.colormaps["Set2"]
    ax.bar(
        range(len(names)),
        share,
        yerr=np.maximum(err, 0),
        capsize=4,
        color=[cmap(i) for i in range(len(names))],
    )
    ax.set_xticks(range(len(names)), [n.replace("+", "+\n") for n in names])
    ax.set_xlabel("source of variance")
    ax.set_ylabel("share of total variance")
    ax.set_ylim(0, 1.05)
    conf = components.get("confidence", 0.95)
    ax.set_title(
        title
        or f"{components.get('n_init', '?')} init x {components.get('n_data', '?')} "
        f"data seeds ({conf:.0%} bootstrap intervals)"
    )
    return fig, ax
