"""Per-layer statistics at initialization (signal propagation) vs depth."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab.plots.style import _axes, _legend, _palette, _pretty

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure


def plot_layer_stats(
    table: pd.DataFrame,
    statistic: str | None = None,
    *,
    ax: Axes | None = None,
    palette: Mapping[str, Any] | None = None,
    logy: bool = False,
) -> tuple[Figure, Axes]:
    """A per-layer diagnostic (e.g. activation std) vs layer index, per initializer.

    Args:
      table: DataFrame with columns initializer, layer, statistic, value; one
        row per (initializer, layer, statistic). ``layer`` may be integers
        (used as the index) or names (indexed in order of appearance and
        written on the x axis).
      statistic: which statistic to plot; may be omitted when there is one.
      ax: axes to draw on; a new figure if None.
      palette: label -> colour; default :func:`colors` of the labels.
      logy: log-scaled y axis (for quantities that grow or vanish with depth).

    Returns:
      ``(fig, ax)``: one line per initializer.

    Raises:
      ValueError: missing columns, unknown or ambiguous statistic.

    Example:
      >>> import pandas as pd
      >>> table = pd.DataFrame({"initializer": ["he", "he", "lecun", "lecun"],
      ...                       "layer": [0, 1, 0, 1], "statistic": "activation_std",
      ...                       "value": [1.0, 1.0, 0.7, 0.5]})
      >>> fig, ax = plot_layer_stats(table, "activation_std", logy=True)
    """
    need = {"initializer", "layer", "statistic", "value"}
    if not need <= set(table.columns):
        raise ValueError(
            f"table needs columns {sorted(need)}, has {list(table.columns)}."
        )
    available = list(dict.fromkeys(table["statistic"].tolist()))
    if statistic is None:
        if len(available) != 1:
            raise ValueError(f"pass statistic=; the table holds {available}.")
        statistic = available[0]
    if statistic not in available:
        raise ValueError(f"unknown statistic {statistic!r}; available: {available}.")
    sub = table[table["statistic"] == statistic]
    layers = list(dict.fromkeys(sub["layer"].tolist()))
    numeric = all(isinstance(v, (int, np.integer)) for v in layers)
    index = {lay: (int(lay) if numeric else i) for i, lay in enumerate(layers)}
    labels = list(dict.fromkeys(sub["initializer"].astype(str).tolist()))
    palette = _palette(labels, palette)
    fig, ax = _axes(ax)
    for label in labels:
        rows = sub[sub["initializer"].astype(str) == label]
        x = np.array([index[v] for v in rows["layer"]])
        y = rows["value"].to_numpy(np.float64)
        order = np.argsort(x, kind="stable")
        ax.plot(
            x[order],
            y[order],
            marker="o",
            markersize=3,
            color=palette[label],
            label=label,
        )
    if numeric:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.set_xticks(
            range(len(layers)),
            [str(v) for v in layers],
            rotation=45 if len(layers) > 6 else 0,
            ha="right",
        )
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("layer index (input → output)")
    ax.set_ylabel(_pretty(statistic))
    ax.set_title(f"{_pretty(statistic)} per layer")
    _legend(ax)
    return fig, ax
