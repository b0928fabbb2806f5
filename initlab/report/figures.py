"""The report's figures: drawn by initlab.plots, written as PNG (+ SVG), captioned.

One colour per initializer in every figure (one palette for the whole report,
the same for every report of the same names), one style (:func:`initlab.plots.
figure_style`), one order (best first by the report's statistic). Written in
the order the report shows them: interval estimates, probability of
improvement, distributions, ECDF, learning curves, performance profiles, best
of k, variance splits, per-layer statistics. Failed initializers are drawn
apart (intervals, distributions, ECDF) or left out and named (matrix,
profiles, best of k) so that the working ones' axes zoom to their range.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab import plots

if TYPE_CHECKING:
    import pandas as pd

    from initlab.outcomes import Outcomes
    from initlab.stats import Failure

#: Raster resolution of the report's PNGs (an 8 in figure is 1040 px wide,
#: sharp on a high-density screen at half size).
DPI = 130

#: More initializers than this: learning curves as small multiples.
OVERLAY_MAX = 6


@dataclasses.dataclass(frozen=True)
class FigureFile:
    """One figure of a report: its files (relative to the report) and caption."""

    name: str
    png: str
    caption: str
    vector: str | None = None


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or "x"


def _names(labels: list[str]) -> str:
    return ", ".join(labels)


def _write_figures(
    outcomes: Outcomes,
    metric: str,
    fig_dir: Path,
    *,
    any_values: bool,
    rng: np.random.Generator,
    confidence: float,
    n_resamples: int,
    components: Mapping[str, dict[str, Any] | str],
    layer_stats: pd.DataFrame | None,
    table: pd.DataFrame | None = None,
    failures: Mapping[str, Failure] | None = None,
    order: list[str] | None = None,
    matrix: Mapping[str, Any] | None = None,
    chance: float | None = None,
    vector: str | None = "svg",
) -> list[FigureFile]:
    """Writes every figure into ``fig_dir``; returns them in report order.

    ``any_values``: some restart kept a value (else no distribution figure);
    ``rng``: the best-of-k bootstrap's generator; ``n_resamples``: its
    resamples; ``table`` / ``failures`` / ``order`` / ``matrix``: the report's
    summary table, failed initializers, best-first order and probability of
    improvement matrix, so every figure shows the report's numbers; ``vector``:
    a second format beside each PNG ("svg", "pdf" or None).
    """
    figures: list[FigureFile] = []
    everyone = list(outcomes.labels)
    if layer_stats is not None and "initializer" in layer_stats:
        everyone += layer_stats["initializer"].astype(str).tolist()
    palette = plots.colors(everyone)  # one colour per initializer in every figure
    failures = dict(failures or {})
    order = list(order or outcomes.labels)
    working = [lab for lab in order if lab not in failures]
    gone = [lab for lab in order if lab in failures]
    also = () if vector is None else (vector,)

    def add(fig_ax: tuple[Any, Any], name: str, caption: str) -> None:
        path = fig_dir / f"{_slug(name)}.png"
        plots.save_figure(fig_ax[0], path, dpi=DPI, also=also)
        figures.append(
            FigureFile(
                name=_slug(name),
                png=f"figures/{path.name}",
                caption=caption,
                vector=f"figures/{path.with_suffix('.' + vector).name}"
                if vector
                else None,
            )
        )

    left_out = (
        f" Failed initializers ({_names(gone)}) are left out; see the first figure."
        if gone
        else ""
    )
    apart = (
        f" Failed initializers ({_names(gone)}) are drawn apart, on their own axis."
        if gone
        else ""
    )
    # The working initializers' restarts, best first (so are the legends).
    rows = [np.flatnonzero(outcomes.initializer == lab) for lab in working]
    kept = outcomes.select(np.concatenate(rows)) if rows else None
    pct = f"{confidence:.0%}"
    with plots.figure_style("screen"):
        if any_values:
            add(
                plots.plot_interval_estimates(
                    outcomes,
                    metric,
                    table=table,
                    failed=failures,
                    chance=chance,
                    confidence=confidence,
                    palette=palette,
                ),  # fmt: skip
                "intervals",
                f"Final {metric}: mean, IQM and median of each initializer with "
                f"{pct} percentile-bootstrap intervals, best first (sorted by the "
                f"IQM).{apart}",
            )
            if matrix is not None:
                add(
                    plots.plot_improvement_matrix(matrix),
                    "improvement",
                    "Probability that a restart of the row's initializer beats a "
                    "restart of the column's (0.5 = no difference), with its "
                    f"{pct} bootstrap interval; bold where the interval excludes "
                    f"0.5.{left_out}",
                )
            add(
                plots.plot_strips(
                    outcomes, metric, failed=failures, chance=chance, palette=palette
                ),
                "distributions",
                f"Final {metric} of every restart (one point each), with the "
                f"quartile box and 5-95 % whiskers, best first.{apart}",
            )
            add(
                plots.plot_ecdf_split(
                    outcomes, metric, failed=failures, chance=chance, palette=palette
                ),
                "ecdf",
                f"Empirical CDF of the final {metric}.{apart}",
            )
        if np.any(~outcomes.diverged):
            curves = [metric, *[c for c in outcomes.curves if c != metric]]
            for curve in [c for c in curves if c in outcomes.curves]:
                if len(outcomes.labels) > OVERLAY_MAX:
                    drawn = plots.plot_curve_panels(
                        outcomes, curve, order=order, failed=failures, palette=palette
                    )
                    how = (
                        "one panel per initializer (best first), median over "
                        "restarts with the 25-75 and 5-95 percentile bands; the "
                        "other initializers' medians in grey"
                    )
                else:
                    drawn = plots.plot_curves(
                        outcomes, curve, palette=palette, outer=(5.0, 95.0)
                    )
                    how = "median over restarts, 25-75 and 5-95 percentile bands"
                add(drawn, f"curves_{curve}", f"{curve} during training: {how}.")
        if any_values:
            shown = kept if kept is not None else outcomes
            add(
                plots.plot_profiles(
                    shown, metric, confidence=confidence, palette=palette
                ),
                "profiles",
                "Performance profiles: fraction of restarts better than each "
                f"threshold (pointwise Wilson bands).{left_out}",
            )
            add(
                plots.plot_best_of_k(
                    shown,
                    metric,
                    palette=palette,
                    rng=rng,
                    confidence=confidence,
                    n_resamples=n_resamples,
                ),  # fmt: skip
                "best_of_k",
                "Expected best of k restarts (draws with replacement from the "
                f"observed restarts), with bootstrap bands.{left_out}",
            )
        for label, vc in components.items():
            if isinstance(vc, str):
                continue
            add(
                plots.plot_variance_components(
                    vc, title=f"{label}: sources of variance"
                ),
                f"variance_{label}",
                f"{label}: share of the variance of {metric} from "
                "the init seed, the data-order seed, and the rest.",
            )
        if layer_stats is not None and len(layer_stats):
            for statistic in dict.fromkeys(layer_stats["statistic"].tolist()):
                add(
                    plots.plot_layer_stats(layer_stats, statistic, palette=palette),
                    f"layer_{statistic}",
                    f"{statistic} per layer.",
                )
    return figures
