"""A written report of a run: findings, tables, figures, provenance; Markdown + HTML.

``write_report(outcomes, "out/")`` writes::

    out/results.parquet      every restart (Outcomes.save)
    out/config.toml          the run's TrainConfig, when it can be rebuilt
    out/figures/*.png, .svg  interval estimates, probability of improvement,
                             distributions, ECDF, curves, profiles, best of k,
                             variance split (grid designs), per-layer statistics
    out/report.md            findings, tables, figures, settings and provenance
    out/report.html          the same, one self-contained page (images embedded,
                             nothing fetched: it opens offline)

Modules: :mod:`~initlab.report.tables` (the summary table as text, digits from
the interval widths), :mod:`~initlab.report.figures` (the figures and their
captions), :mod:`~initlab.report.sections` (the words: findings, sections,
provenance), :mod:`~initlab.report.pages` (Markdown and HTML),
:mod:`~initlab.report.write` (the folder). The numbers come from
:mod:`initlab.stats`; :func:`seed_grid` and :func:`variance_split` live there
and are re-exported here for code written before they moved.
"""

from initlab.report.tables import column_decimals, decimals, display_table
from initlab.report.write import default_metric, write_report
from initlab.stats.grids import seed_grid, variance_split

__all__ = [
    "column_decimals", "decimals", "default_metric", "display_table", "seed_grid",
    "variance_split", "write_report",
]  # fmt: skip
