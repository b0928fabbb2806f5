"""The report's hyper-parameter section: the landscape and the best value.

For a run with coordinates (``Outcomes.coords``: learning rates, init scales,
optimizer arguments trained as axes), :func:`hyper_section` adds the
statistic of the final metric against the learning rate (or the first
coordinate) with its bands and the best marked, a heatmap over two
coordinates when the run has two or more, and one line per initializer (and
setting of the other coordinates) naming the best value with how sure that
is (:func:`initlab.stats.best_value`). The numbers come from
:mod:`initlab.stats.landscape`; the figures from :mod:`initlab.plots`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab import plots, stats
from initlab.report.figures import DPI, FigureFile, _slug
from initlab.report.tables import column_decimals

if TYPE_CHECKING:
    from initlab.outcomes import Outcomes

_STAT = {"iqm": "IQM", "mean": "mean", "median": "median"}
#: More panels than this and a figure is left out (the lines still say it all).
MAX_PANELS = 12


def _num(value: float, places: int | None) -> str:
    if not np.isfinite(value):
        return "–" if np.isnan(value) else ("−∞" if value < 0 else "∞")
    return f"{value:.4g}" if places is None else f"{value:.{places}f}"


def _setting(row: Any, names: list[str]) -> str:
    parts = [f"{name.replace('_', ' ')} {row[name]:g}" for name in names]
    return f" ({', '.join(parts)})" if parts else ""


def best_lines(best: Any, numbers: list[tuple] | None = None) -> list[str]:
    """The section's text from :func:`initlab.stats.best_value`'s table.

    Args:
      best: the table.
      numbers: per row, ``(estimate, low, high)`` to print instead of the
        table's (the report passes its summary table's, so the two agree).

    Returns:
      A heading sentence, then one line per row.

    Example:
      >>> out = initlab.train("xor", "he_normal", learning_rate=[0.1, 1.0],
      ...                     num_restarts=4, steps=20, progress=False)
      >>> best_lines(initlab.stats.best_value(out, "train_loss"))[1]
      'he_normal: learning rate 0.3 wins 81 % of 2000 resamples; ...'
    """
    a = best.attrs
    coord, stat = a["coordinate"], _STAT.get(a["statistic"], a["statistic"])
    name = coord.replace("_", " ")
    pct = f"{a['confidence']:.0%}"
    within = list(a.get("within", []))
    direction = "higher" if a["higher_is_better"] else "lower"
    shown = ("its summary-table " if numbers is not None else "its ") + stat
    head = (
        f"Best {name} by the {stat} of final {a['metric']} ({direction} is better)"
        f", per initializer{' and setting' if within else ''}: the value that wins "
        f"on all the restarts, how often it wins when the restarts are resampled "
        f"({a['n_resamples']} paired resamples: restart i keeps its keys at every "
        f"{name}), the {pct} range of the winners, and {shown} with a {pct} "
        "interval. A diverged restart counts as worse than any other in choosing "
        "the best (and is left out of the interval)."
    )
    if numbers is not None:
        best = best.copy()
        best[["estimate", "low", "high"]] = np.asarray(numbers, float)
    places = column_decimals(best["low"], best["high"])
    lines = [head]
    for _, row in best.iterrows():
        others = sorted(row["wins"].items(), key=lambda kv: -kv[1])
        runners = ", ".join(f"{v:g} {s:.0%}" for v, s in others[1:3] if s > 0)
        runners = f" (then {runners})" if runners else ""
        spread = (f"{row['best_low']:g}" if row["best_low"] == row["best_high"]
                  else f"{row['best_low']:g} to {row['best_high']:g}")  # fmt: skip
        div = f"; {row['diverged']} diverged restarts" if row["diverged"] else ""
        lines.append(
            f"{row['initializer']}{_setting(row, within)}: {name} {row[coord]:g} wins "
            f"{row['share']:.0%} of resamples{runners}; {pct} of the winners: "
            f"{spread}; {stat} {_num(row['estimate'], places)} "
            f"[{_num(row['low'], places)}, {_num(row['high'], places)}]{div}."
        )
    return lines


def hyper_section(
    outcomes: Outcomes,
    metric: str,
    fig_dir: Path,
    *,
    rng: Any,
    confidence: float,
    n_resamples: int,
    vector: str | None,
    statistic: str = "iqm",
    table: Any = None,
) -> tuple[list[str], list[FigureFile]]:
    """The lines and figures of the section; nothing for a run without coords.

    The chosen coordinate is "learning_rate" when the run has it, else its
    first coordinate; the heatmap's rows are the first other coordinate.
    ``rng`` seeds every resampling here (one child per part). ``table``: the
    report's :func:`initlab.stats.summary_table` of ``outcomes.by()``, whose
    numbers the lines then quote for each best cell.

    Returns:
      ``(lines, figures)``; ``([], [])`` when ``outcomes.coords`` is empty or
      every group has a single value.
    """
    coords = list(outcomes.coords)
    if not coords:
        return [], []
    x = "learning_rate" if "learning_rate" in coords else coords[0]
    others = [c for c in coords if c != x]
    seeds = stats.as_rng(rng).spawn(3)
    try:
        best = stats.best_value(outcomes, metric, x, rng=seeds[0],
                                confidence=confidence,
                                n_resamples=n_resamples)  # fmt: skip
    except ValueError as err:  # a single value per group: nothing to choose
        return [f"No best {x.replace('_', ' ')}: {err}"], []
    figures: list[FigureFile] = []
    also = () if vector is None else (vector,)

    def add(fig_ax, name: str, caption: str, panels: int) -> None:
        fig = fig_ax[0]
        if panels > MAX_PANELS:
            import matplotlib.pyplot as plt

            plt.close(fig)
            return
        path = fig_dir / f"{_slug(name)}.png"
        plots.save_figure(fig, path, dpi=DPI, also=also)
        figures.append(FigureFile(
            name=_slug(name), png=f"figures/{path.name}", caption=caption,
            vector=f"figures/{path.with_suffix('.' + vector).name}" if vector
            else None,
        ))  # fmt: skip

    pct = f"{confidence:.0%}"
    stat = _STAT.get(statistic, statistic)
    name = x.replace("_", " ")
    with plots.figure_style("screen"):
        curve = stats.landscape(outcomes, metric, x, statistic=statistic,
                                rng=seeds[1], confidence=confidence,
                                n_resamples=n_resamples)  # fmt: skip
        panels = len({tuple(r) for r in curve[others].to_numpy().tolist()}) or 1
        add(plots.plot_coordinate_curves(curve, best=best), f"hyper_{x}",
            f"{stat} of the final {metric} against the {name}, per initializer, "
            f"with its {pct} bootstrap band (restarts that diverged left out); ★ "
            f"the best {name} (a diverged restart counts as the worst).",
            panels)  # fmt: skip
        if others:
            rows = others[0]
            grid = stats.landscape(outcomes, metric, rows, x, statistic=statistic,
                                   rng=seeds[2], confidence=confidence,
                                   n_resamples=n_resamples)  # fmt: skip
            keys = ["initializer", *grid.attrs["others"]]
            panels = len({tuple(r) for r in grid[keys].to_numpy().tolist()})
            add(plots.plot_landscape(grid), f"hyper_{rows}_{x}",
                f"{stat} of the final {metric} over {rows.replace('_', ' ')} x "
                f"{name}: each cell's estimate with its {pct} bootstrap interval "
                "and its diverged restarts (left out of the estimate); the best "
                "cell outlined.", panels)  # fmt: skip
    return best_lines(best, _quoted(outcomes, best, table, statistic)), figures


def _quoted(outcomes: Outcomes, best: Any, table: Any, statistic: str):
    """(estimate, low, high) of each best cell from the summary table, or None."""
    if table is None or statistic not in ("mean", "median", "iqm"):
        return None
    folded = "labels_by" in outcomes.metadata
    labelled = outcomes if folded else outcomes.by()
    base = stats.base_labels(outcomes)
    coord = best.attrs["coordinate"]
    rows = table.set_index(table["initializer"].astype(str))
    out = []
    for _, row in best.iterrows():
        mask = base == row["initializer"]
        for name in [*best.attrs["within"], coord]:
            mask &= np.asarray(outcomes.coords[name]) == row[name]
        label = str(labelled.initializer[np.flatnonzero(mask)[0]])
        if label not in rows.index:
            return None
        cell = rows.loc[label]
        out.append(tuple(float(cell[f"{statistic}{end}"])
                         for end in ("", "_low", "_high")))  # fmt: skip
    return out
