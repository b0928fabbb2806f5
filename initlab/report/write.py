"""Writing a report: the folder, its Parquet results, figures and two pages.

``write_report(outcomes, "out/")`` writes::

    out/results.parquet      every restart (Outcomes.save)
    out/figures/*.png        distributions, ECDF, profiles, best of k, curves,
                             variance split (grid designs), per-layer statistics
    out/report.md            summary table, comparisons, metadata, figures
    out/report.html          the same, one self-contained page (images linked)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from initlab import stats
from initlab.report.figures import _write_figures
from initlab.report.pages import _html, _markdown
from initlab.report.sections import (
    _binomial_lines,
    _comparison_lines,
    _diverged_text,
    _metadata_items,
    _method_text,
    _target_text,
    _variance_line,
)
from initlab.report.tables import display_table

if TYPE_CHECKING:
    import pandas as pd

    from initlab.outcomes import Outcomes


def default_metric(outcomes: Outcomes) -> str:
    """The metric a report leads with: test_accuracy, else test_loss, else the first.

    Args:
      outcomes: the run.

    Returns:
      A name in ``outcomes.metrics``.

    Raises:
      ValueError: the outcomes hold no final metric.

    Example:
      >>> default_metric(outcomes)
      'test_accuracy'
    """
    for name in ("test_accuracy", "test_loss"):
        if name in outcomes.final:
            return name
    if not outcomes.final:
        raise ValueError("the outcomes hold no final metric to report.")
    return next(iter(outcomes.final))


def write_report(
    outcomes: Outcomes,
    out_dir: str | os.PathLike,
    *,
    metric: str | None = None,
    target: float | None = None,
    rng: stats.RNG = 0,
    k: int = 5,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    layer_stats: pd.DataFrame | None = None,
    title: str = "initlab report",
    components: Mapping[str, dict[str, Any] | str] | None = None,
    table: pd.DataFrame | None = None,
) -> Path:
    """Writes results, figures and a Markdown + HTML report into ``out_dir``.

    The summary table has one row per initializer: restarts kept (n), diverged
    restarts, mean and IQM with percentile-bootstrap intervals, median, std,
    success rate with a Wilson interval (if ``target``), and the expected best
    of ``k`` restarts (:func:`initlab.stats.summary_table`). Diverged restarts
    are counted and left out of every statistic and figure; the report says
    so. The best initializer by IQM is compared with each other one by the
    probability of improvement. A variance split (init vs data order) is added
    for every initializer whose restarts form a full (init seed x data seed)
    grid; a binomial check (Jordan 2024) when ``per_example["test_correct"]``
    is present; per-layer figures when ``layer_stats`` is given.

    Args:
      outcomes: the run's Outcomes.
      out_dir: folder to write into (created; existing files are replaced).
      metric: final metric to lead with; default :func:`default_metric`.
      target: success threshold on ``metric`` (in its better direction).
      rng: seed of every bootstrap in the report.
      k: restarts for the best-of-k column. Default 5.
      confidence: interval coverage. Default 0.95.
      n_resamples: bootstrap resamples. Default 2000.
      layer_stats: optional DataFrame (initializer, layer, statistic, value).
      title: heading of the report.
      components: precomputed :func:`initlab.stats.variance_split` (so a
        caller prints the same intervals as the report); default computed here
        from ``rng``.
      table: precomputed ``stats.summary_table(outcomes, metric, target=target,
        k=k, confidence=confidence)``; default computed here from ``rng``.

    Returns:
      The folder ``out_dir`` as a Path.

    Raises:
      ValueError: no restarts; KeyError: unknown metric; TypeError: ``out_dir``
        not a path or ``title`` not a str. Bad ``k``, ``confidence`` or
        ``n_resamples`` raise from the initlab.stats function that uses them.

    Example:
      >>> folder = write_report(outcomes, "runs/mlp", target=0.9)
      >>> (folder / "report.html").exists()
      True

    References:
      Agarwal et al. (2021); Wilson (1927); Jordan (2024); Summers & Dinneen
      (2021).
    """
    if len(outcomes) == 0:
        raise ValueError("no restarts to report.")
    metric = default_metric(outcomes) if metric is None else metric
    if metric not in outcomes.final:
        raise KeyError(f"unknown metric {metric!r}; available: {outcomes.metrics}.")
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(
            "out_dir must be a str or os.PathLike folder, got "
            f"{type(out_dir).__name__}."
        )
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}.")
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    outcomes.save(out / "results.parquet")
    # One child stream per part: table, best-of-k figure, variance split,
    # comparisons (the fifth is spare); each part's numbers depend on rng only.
    seeds = stats.as_rng(rng).spawn(5)
    higher = outcomes.higher_is_better(metric)
    if table is None:
        table = stats.summary_table(
            outcomes,
            metric,
            rng=seeds[0],
            target=target,
            k=k,
            confidence=confidence,
            n_resamples=n_resamples,
        )
    shown = display_table(table, confidence=confidence)
    if components is None:
        components = stats.variance_split(
            outcomes,
            metric,
            rng=seeds[2],
            confidence=confidence,
            n_resamples=min(n_resamples, 1000),
        )
    figures = _write_figures(
        outcomes,
        metric,
        fig_dir,
        any_values=bool(table["n"].sum()),
        rng=seeds[1],
        confidence=confidence,
        n_resamples=min(n_resamples, 1000),
        components=components,
        layer_stats=layer_stats,
    )
    best, comparisons = stats.compare_with_best(
        outcomes,
        metric,
        rng=seeds[3],
        table=table,
        confidence=confidence,
        n_resamples=n_resamples,
    )
    direction = "higher" if higher else "lower"
    sections = {
        "title": title,
        "lead": f"Final {metric} ({direction} is better) over "
        f"{len(outcomes)} restarts of {len(outcomes.labels)} initializer(s).",
        "diverged": _diverged_text(outcomes),
        "method": _method_text(
            confidence=confidence, n_resamples=n_resamples, k=k, target=target
        ),
        "target": _target_text(metric, target, higher),
        "comparisons": _comparison_lines(best, comparisons),
        "variance": [_variance_line(lab, vc) for lab, vc in components.items()],
        "binomial": _binomial_lines(outcomes),
        "metadata": _metadata_items(outcomes),
    }
    (out / "report.md").write_text(_markdown(sections, shown, figures))
    (out / "report.html").write_text(_html(sections, shown, figures))
    return out
