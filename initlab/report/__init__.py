"""A written report of a run: Parquet results, PNG figures, Markdown and HTML.

``write_report(outcomes, "out/")`` writes::

    out/results.parquet      every restart (Outcomes.save)
    out/figures/*.png        distributions, ECDF, profiles, best of k, curves,
                             variance split (grid designs), per-layer statistics
    out/report.md            summary table, comparisons, metadata, figures
    out/report.html          the same, one self-contained page (images linked)

Modules: :mod:`~initlab.report.tables` (the summary table as text),
:mod:`~initlab.report.figures` (the figures and their captions),
:mod:`~initlab.report.sections` (the words), :mod:`~initlab.report.pages`
(Markdown and HTML), :mod:`~initlab.report.write` (the folder). The numbers come
from :mod:`initlab.stats`; :func:`seed_grid` and :func:`variance_split` live
there and are re-exported here for code written before they moved.
"""

from initlab.report.tables import display_table
from initlab.report.write import default_metric, write_report
from initlab.stats.grids import seed_grid, variance_split

__all__ = [
    "default_metric", "display_table", "seed_grid", "variance_split", "write_report",
]  # fmt: skip
