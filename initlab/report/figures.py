"""The report's figures: drawn by initlab.plots, written as PNG, listed with captions.

One colour per initializer in every figure (one palette for the whole report).
Figures are written in the order the report shows them: distributions, ECDF,
profiles, best of k, learning curves, variance splits, per-layer statistics.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab import plots

if TYPE_CHECKING:
    import pandas as pd

    from initlab.outcomes import Outcomes

_DPI = 100


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or "x"


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
) -> list[tuple[str, str]]:
    """Writes every figure into ``fig_dir``; returns ``(relative path, caption)``.

    ``any_values``: some restart kept a value (else no distribution figure);
    ``rng``: the best-of-k bootstrap's generator; ``n_resamples``: its resamples.
    """
    figures: list[tuple[str, str]] = []
    everyone = list(outcomes.labels)
    if layer_stats is not None and "initializer" in layer_stats:
        everyone += layer_stats["initializer"].astype(str).tolist()
    palette = plots.colors(everyone)  # one colour per initializer in every figure

    def add(fig_ax: tuple[Any, Any], name: str, caption: str) -> None:
        path = fig_dir / f"{_slug(name)}.png"
        plots.save_figure(fig_ax[0], path, dpi=_DPI)
        figures.append((f"figures/{path.name}", caption))

    if any_values:
        add(
            plots.plot_distributions(outcomes, metric, palette=palette),
            "distributions",
            f"Final {metric} of every restart, per initializer.",
        )
        add(
            plots.plot_ecdf(outcomes, metric, palette=palette),
            "ecdf",
            f"Empirical CDF of the final {metric}.",
        )
        add(
            plots.plot_profiles(
                outcomes, metric, confidence=confidence, palette=palette
            ),
            "profiles",
            "Performance profiles: fraction of restarts better than each "
            "threshold (pointwise Wilson bands).",
        )
        add(
            plots.plot_best_of_k(
                outcomes,
                metric,
                palette=palette,
                rng=rng,
                confidence=confidence,
                n_resamples=n_resamples,
            ),
            "best_of_k",
            "Expected best of k restarts (draws with replacement from the observed "
            "restarts), with bootstrap bands.",
        )
    for curve in outcomes.curves:
        if np.any(~outcomes.diverged):
            add(
                plots.plot_curves(outcomes, curve, palette=palette),
                f"curves_{curve}",
                f"{curve} during training: median over restarts and the "
                "inter-quartile band.",
            )
    for label, vc in components.items():
        if isinstance(vc, str):
            continue
        add(
            plots.plot_variance_components(vc, title=f"{label}: sources of variance"),
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
