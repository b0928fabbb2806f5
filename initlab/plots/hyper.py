"""Hyper-parameter landscapes: heatmaps over two coordinates, curves over one.

The figures of :func:`initlab.stats.landscape` and
:func:`initlab.stats.best_value`: :func:`plot_landscape` colours each cell of
(rows x columns) by the statistic and writes its estimate and interval in
it, best cell outlined; :func:`plot_coordinate_curves` draws the statistic
against one coordinate (learning rate) with its interval band, best value
marked, a line per initializer (or per value of another coordinate, e.g. the
width); :func:`plot_best_values` draws the best value against another
coordinate with its interval (does the optimal learning rate move with the
width?). Each takes ``ax=None`` and returns ``(fig, axes)``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab.plots.style import (
    _axes,
    _legend,
    _palette,
    _panels,
    _pretty,
    _width,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_STAT_NAMES = {"iqm": "IQM", "mean": "mean", "median": "median"}


def _attrs(table: pd.DataFrame, need: Sequence[str], what: str) -> dict[str, Any]:
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(f"{what}: expected a pandas DataFrame; got "
                        f"{type(table).__name__}.")  # fmt: skip
    missing = [k for k in need if k not in table.attrs]
    if missing:
        raise ValueError(
            f"{what}: the table lacks {missing} in its attrs; pass the DataFrame "
            "initlab.stats.landscape / best_value returned (not a copy that "
            "dropped its attrs)."
        )
    if table.empty:
        raise ValueError(f"{what}: the table is empty.")
    return dict(table.attrs)


def _tick(value: float) -> str:
    return f"{value:g}"


def _places(width: float) -> int:
    """Decimals that a value with an interval this wide supports (its first digit)."""
    if not np.isfinite(width) or width <= 0:
        return 3
    return int(min(6, max(0, -math.floor(math.log10(width)))))


def _panel_keys(table: pd.DataFrame, keys: Sequence[str]) -> list[tuple]:
    return list(dict.fromkeys(map(tuple, table[list(keys)].to_numpy().tolist())))


def _panel_title(names: Sequence[str], key: tuple) -> str:
    parts = []
    for name, value in zip(names, key, strict=True):
        parts.append(str(value) if name == "initializer" else
                     f"{_pretty(name)} {_tick(value)}")  # fmt: skip
    return ", ".join(parts)


def plot_landscape(
    table: pd.DataFrame,
    *,
    ax: Axes | None = None,
    cmap: str | None = None,
    annotate: bool = True,
) -> tuple[Figure, np.ndarray]:
    """A heatmap of a statistic over two coordinates, one panel per initializer.

    Each cell's colour is the statistic (one colour scale for every panel;
    brighter is better), its text the estimate with its interval beneath and
    the count of diverged restarts; a cell whose restarts all diverged is
    grey and says so. The best cell of each panel is outlined.

    Args:
      table: :func:`initlab.stats.landscape` with ``columns`` given (two
        coordinates); its other coordinates, if any, get panels of their own.
      ax: a place for the panels (replaced by them); a new figure if None.
      cmap: a matplotlib colormap name; default "viridis" (reversed for a
        metric where lower is better, so brighter is better either way).
      annotate: write the numbers in the cells.

    Returns:
      ``(fig, axes)``, one axes per panel.

    Raises:
      TypeError / ValueError: not a landscape table of two coordinates.

    Example:
      >>> out = initlab.train("xor", "he_normal", learning_rate=[0.1, 1.0],
      ...                     init_scale=[0.5, 1.0], num_restarts=4,
      ...                     steps=20, progress=False)
      >>> table = initlab.stats.landscape(out, "train_loss", "init_scale",
      ...                                 "learning_rate", rng=0)
      >>> fig, axes = plot_landscape(table)
    """
    attrs = _attrs(table, ("rows", "columns", "metric", "statistic"), "plot_landscape")
    rows, cols = attrs["rows"], attrs["columns"]
    if cols is None:
        raise ValueError(
            "plot_landscape: the table has one coordinate; draw it with "
            "plot_coordinate_curves, or make it with columns=..."
        )
    higher = bool(attrs.get("higher_is_better", True))
    keys = ["initializer", *attrs.get("others", [])]
    panels = _panel_keys(table, keys)
    row_values = sorted(set(table[rows].tolist()))
    col_values = sorted(set(table[cols].tolist()))
    finite = table["estimate"].to_numpy(float)
    finite = finite[np.isfinite(finite)]
    vmin, vmax = (finite.min(), finite.max()) if finite.size else (0.0, 1.0)
    if vmin == vmax:
        vmin, vmax = vmin - 0.5, vmax + 0.5
    import matplotlib

    cmap = matplotlib.colormaps[cmap or ("viridis" if higher else "viridis_r")]
    cell_w = max(0.55, min(1.1, 7.5 / max(len(col_values), 1)))
    ncols = min(len(panels), max(1, int(_width() // (cell_w * len(col_values) + 1.2))))
    nrows = math.ceil(len(panels) / ncols)
    height = nrows * (0.45 * len(row_values) + 1.1) + 0.4
    fig, axes = _panels(ax, nrows, ncols, height=height)
    flat = axes.ravel()
    image = None
    for p, key in enumerate(panels):
        a = flat[p]
        cell = _select(table, keys, key)
        grid = np.full((len(row_values), len(col_values)), np.nan)
        text = {}
        for r in cell.itertuples(index=False):
            d = r._asdict()
            i, j = row_values.index(d[rows]), col_values.index(d[cols])
            grid[i, j] = d["estimate"]
            text[i, j] = d
        image = a.imshow(np.ma.masked_invalid(grid), cmap=cmap, vmin=vmin,
                         vmax=vmax, aspect="auto", origin="lower")  # fmt: skip
        a.set_facecolor("#d9d9d9")  # cells without a value
        if np.isfinite(grid).any():
            flat_best = np.nanargmax(grid) if higher else np.nanargmin(grid)
            bi, bj = np.unravel_index(flat_best, grid.shape)
            a.add_patch(matplotlib.patches.Rectangle(
                (bj - 0.5, bi - 0.5), 1, 1, fill=False, edgecolor="#d62728",
                linewidth=2.0))  # fmt: skip
        if annotate:
            for (i, j), d in text.items():
                a.text(j, i, _cell_text(d), ha="center", va="center",
                       fontsize="x-small", color=_ink(cmap, vmin, vmax,
                                                      d["estimate"]))  # fmt: skip
        a.set_xticks(range(len(col_values)), [_tick(v) for v in col_values])
        a.set_yticks(range(len(row_values)), [_tick(v) for v in row_values])
        a.set_xlabel(_pretty(cols))
        a.set_ylabel(_pretty(rows))
        a.grid(False)
        a.set_title(_panel_title(keys, key))
    for a in flat[len(panels) :]:
        a.set_visible(False)
    stat = _STAT_NAMES.get(attrs["statistic"], attrs["statistic"])
    if image is not None:
        bar = fig.colorbar(image, ax=list(flat[: len(panels)]), shrink=0.9)
        bar.set_label(f"{stat} of final {_pretty(attrs['metric'])}")
    return fig, axes


def _select(table: pd.DataFrame, keys: Sequence[str], key: tuple) -> pd.DataFrame:
    mask = np.ones(len(table), bool)
    for name, value in zip(keys, key, strict=True):
        mask &= table[name].to_numpy() == value
    return table[mask]


def _cell_text(d: Mapping[str, Any]) -> str:
    est, low, high = d["estimate"], d["low"], d["high"]
    if not np.isfinite(est):
        return f"all {d['diverged']}\ndiverged" if d["diverged"] else "–"
    places = _places(high - low)
    lines = [f"{est:.{places}f}"]
    if np.isfinite(low) and np.isfinite(high):
        lines.append(f"[{low:.{places}f}, {high:.{places}f}]")
    if d["diverged"]:
        lines.append(f"{d['diverged']} div.")
    return "\n".join(lines)


def _ink(cmap, vmin: float, vmax: float, value: float) -> str:
    """Black or white text, whichever reads on the cell's colour."""
    if not np.isfinite(value):
        return "#1d1d1f"
    r, g, b, _ = cmap((value - vmin) / (vmax - vmin))
    return "#1d1d1f" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "#ffffff"


def _log_axis(values: np.ndarray) -> bool:
    v = np.asarray(values, float)
    return bool(v.size and np.all(v > 0) and v.max() / v.min() >= 10)


def plot_coordinate_curves(
    table: pd.DataFrame,
    *,
    hue: str | None = None,
    best: pd.DataFrame | None = None,
    ax: Axes | None = None,
    palette: Mapping[str, Any] | None = None,
    logx: bool | None = None,
) -> tuple[Figure, np.ndarray]:
    """The statistic against one coordinate, with its interval band and the best.

    Args:
      table: :func:`initlab.stats.landscape` of one coordinate (``rows``, no
        ``columns``): the x axis.
      hue: another coordinate of the table to draw as lines (e.g. "width",
        coloured from light to dark); the initializers then get one panel
        each. None: one line per initializer (its colour), a panel per value
        of the other coordinates.
      best: :func:`initlab.stats.best_value` of the same coordinate, whose
        best values are marked (a star); default each line's best estimate.
      ax: a place for the panels; a new figure if None.
      palette: initializer -> colour (when ``hue`` is None).
      logx: log-scaled x axis; None: when every value is > 0 and they span
        a decade or more.

    Returns:
      ``(fig, axes)``.

    Raises:
      TypeError / ValueError: not a landscape table of one coordinate, or an
        unknown ``hue``.

    Example:
      >>> out = initlab.train("xor", "he_normal", learning_rate=[0.1, 1.0],
      ...                     num_restarts=4, steps=20, progress=False)
      >>> table = initlab.stats.landscape(out, "train_loss", "learning_rate",
      ...                                 rng=0)
      >>> fig, axes = plot_coordinate_curves(table)
    """
    attrs = _attrs(table, ("rows", "metric", "statistic"), "plot_coordinate_curves")
    x_name = attrs["rows"]
    if attrs.get("columns") is not None:
        raise ValueError(
            "plot_coordinate_curves: the table has two coordinates; use "
            "plot_landscape, or make it with one (columns=None)."
        )
    others = list(attrs.get("others", []))
    if hue is not None and hue not in others:
        raise ValueError(
            f"plot_coordinate_curves: hue {hue!r} is not a coordinate of the "
            f"table (its others: {others})."
        )
    higher = bool(attrs.get("higher_is_better", True))
    keys = (["initializer"] if hue else []) + [k for k in others if k != hue]
    panels = _panel_keys(table, keys) if keys else [()]
    labels = list(dict.fromkeys(table["initializer"].astype(str).tolist()))
    palette = _palette(labels, palette) if hue is None else None
    ncols = min(len(panels), 3)
    nrows = math.ceil(len(panels) / ncols)
    fig, axes = _panels(ax, nrows, ncols, height=3.0 * nrows + 0.3, sharey=True)
    flat = axes.ravel()
    if logx is None:
        logx = _log_axis(table[x_name].to_numpy())
    import matplotlib

    hues = sorted(set(table[hue].tolist())) if hue else []
    shades = matplotlib.colormaps["viridis"](np.linspace(0.85, 0.1, max(len(hues), 1)))
    for p, key in enumerate(panels):
        a = flat[p]
        cell = _select(table, keys, key) if keys else table
        lines = hues if hue else [lab for lab in labels
                                  if lab in set(cell["initializer"])]  # fmt: skip
        for i, line in enumerate(lines):
            column = hue if hue else "initializer"
            rows = cell[cell[column].to_numpy() == line].sort_values(x_name)
            if rows.empty:
                continue
            colour = shades[i] if hue else palette[line]
            label = f"{_pretty(hue)} {_tick(line)}" if hue else line
            x = rows[x_name].to_numpy(float)
            y = rows["estimate"].to_numpy(float)
            a.plot(x, y, marker="o", markersize=3, color=colour, label=label)
            a.fill_between(x, rows["low"].to_numpy(float),
                           rows["high"].to_numpy(float), color=colour, alpha=0.18,
                           linewidth=0)  # fmt: skip
            star = _best_x(best, rows, x_name, hue, line, key, keys, x, y, higher)
            if star is not None:
                a.plot([star[0]], [star[1]], marker="*", markersize=11,
                       color=colour, markeredgecolor="#1d1d1f", zorder=4,
                       linestyle="none")  # fmt: skip
        if logx:
            a.set_xscale("log", base=2 if _spans_octaves(table[x_name]) else 10)
        a.set_xlabel(_pretty(x_name))
        a.set_title(_panel_title(keys, key) if keys else "")
        _legend(a)
    for a in flat[len(panels) :]:
        a.set_visible(False)
    stat = _STAT_NAMES.get(attrs["statistic"], attrs["statistic"])
    flat[0].set_ylabel(f"{stat} of final {_pretty(attrs['metric'])}")
    pct = f"{attrs.get('confidence', 0.95):.0%}"
    fig.suptitle(f"{stat} with {pct} bootstrap band; ★ best "
                 f"({'higher' if higher else 'lower'} is better)",
                 fontsize="medium")  # fmt: skip
    return fig, axes


def _spans_octaves(values) -> bool:
    """Whether the values are powers of two apart (log2 ticks then read better)."""
    v = np.unique(np.asarray(values, float))
    if v.size < 2 or np.any(v <= 0):
        return False
    steps = np.diff(np.log2(v))
    return bool(np.allclose(steps, np.round(steps), atol=1e-6))


def _best_x(best, rows, x_name, hue, line, key, keys, x, y, higher):
    """(x, y) of the star of one line: from ``best`` when given, else its best y."""
    if best is not None and x_name in best.columns:
        pick = best
        names = list(keys) + ([hue] if hue else ["initializer"])
        values = list(key) + [line]
        for name, value in zip(names, values, strict=True):
            if name in pick.columns:
                pick = pick[pick[name].to_numpy() == value]
        if len(pick) == 1:
            bx = float(pick[x_name].iloc[0])
            at = np.flatnonzero(np.isclose(x, bx))
            if at.size:
                return bx, y[at[0]]
        return None
    if not np.isfinite(y).any():
        return None
    i = int(np.nanargmax(y) if higher else np.nanargmin(y))
    return x[i], y[i]


def plot_best_values(
    best: pd.DataFrame,
    x: str,
    *,
    ax: Axes | None = None,
    palette: Mapping[str, Any] | None = None,
) -> tuple[Figure, Axes]:
    """The best value of a coordinate against another one, with its interval.

    The question of hyper-parameter transfer: does the best learning rate
    move when the width grows? One line per initializer (or parametrization)
    of the best value (a point) and the central interval of the winning
    values over the resamples (a bar); both axes log-scaled when positive.

    Args:
      best: :func:`initlab.stats.best_value` computed ``within`` ``x``.
      x: the coordinate on the x axis, e.g. "width".
      ax: axes to draw on; a new figure if None.
      palette: initializer -> colour.

    Returns:
      ``(fig, ax)``.

    Raises:
      ValueError: ``x`` is not a column of ``best``; not a best_value table.

    Example:
      >>> out = initlab.train("xor", "he_normal", learning_rate=[0.1, 1.0],
      ...                     init_scale=[0.5, 1.0], num_restarts=4,
      ...                     steps=20, progress=False)
      >>> best = initlab.stats.best_value(out, "train_loss",
      ...                                 within=["init_scale"])
      >>> fig, ax = plot_best_values(best, "init_scale")
    """
    attrs = _attrs(best, ("coordinate", "metric", "statistic"), "plot_best_values")
    y_name = attrs["coordinate"]
    if x not in best.columns or x == y_name:
        raise ValueError(
            f"plot_best_values: {x!r} is not a coordinate the bests were computed "
            f"within; the table has {list(attrs.get('within', []))}."
        )
    fig, ax = _axes(ax)
    labels = list(dict.fromkeys(best["initializer"].astype(str).tolist()))
    palette = _palette(labels, palette)
    n = len(labels)
    for i, label in enumerate(labels):
        rows = best[best["initializer"].astype(str) == label].sort_values(x)
        xs = rows[x].to_numpy(float)
        # a small sideways offset so the bars of two lines do not overlap
        shift = 2.0 ** ((i - (n - 1) / 2) * 0.06) if _log_axis(xs) else 1.0
        ys = rows[y_name].to_numpy(float)
        lo, hi = rows["best_low"].to_numpy(float), rows["best_high"].to_numpy(float)
        ax.errorbar(xs * shift, ys, yerr=[ys - lo, hi - ys], marker="o",
                    markersize=4, capsize=3, color=palette[label],
                    label=label)  # fmt: skip
    if _log_axis(best[x].to_numpy()):
        ax.set_xscale("log", base=2)
    if np.all(best[y_name].to_numpy(float) > 0):
        ax.set_yscale("log", base=2 if _spans_octaves(best[y_name]) else 10)
    ax.set_xlabel(_pretty(x))
    stat = _STAT_NAMES.get(attrs["statistic"], attrs["statistic"])
    pct = f"{attrs.get('confidence', 0.95):.0%}"
    ax.set_ylabel(f"best {_pretty(y_name)}")
    ax.set_title(f"best {_pretty(y_name)} ({stat} of final "
                 f"{_pretty(attrs['metric'])}); bars: {pct} of the winners",
                 fontsize="medium")  # fmt: skip
    ax.grid(True, which="both", alpha=0.3)
    _legend(ax)
    return fig, ax
