"""Figures of restart outcomes: each takes ``ax=None`` and returns ``(fig, ax)``.

matplotlib is imported inside each function, so ``import initlab`` stays light.
Nothing here calls ``plt.show()``; close what you create (``plt.close(fig)``,
or :func:`save_figure`, which writes and closes). Every initializer keeps one
colour in every figure and report (:func:`colors`: a fixed slot per known
name); :func:`figure_style` sizes figures for a screen or a paper.

Figures that answer "which initializer is better, by how much, how sure"
draw a row per initializer, sorted best first, with failed initializers
(diverged, or at the task's chance level: :func:`initlab.stats.failures`) in a
panel of their own so the working ones' axis zooms to their range. They take
an ``ax`` whose place their panels take and return ``(fig, axes)``.

Distribution plots accept an :class:`~initlab.outcomes.Outcomes` with a metric
(diverged restarts are left out and counted) or a mapping
``label -> (R,) values`` (finite values only).

Modules, one question each: :mod:`~initlab.plots.style` (colours, sizes,
saving), :mod:`~initlab.plots.intervals` (which is better, how sure),
:mod:`~initlab.plots.comparisons` (every pair: probability of improvement),
:mod:`~initlab.plots.strips` and :mod:`~initlab.plots.distributions` (how the
final metric is spread), :mod:`~initlab.plots.curves` (how training went),
:mod:`~initlab.plots.profiles` (what choosing among restarts buys),
:mod:`~initlab.plots.variance` (where the variance comes from),
:mod:`~initlab.plots.layers` (signal per layer at init).
Of the restarts themselves: :mod:`~initlab.plots.ensembles` (restarts as a
sample: ensembles, agreement, calibration, how many restarts) and
:mod:`~initlab.plots.landscape` (the line between restarts, barriers,
perturbed starts).
"""

from initlab.plots.comparisons import plot_improvement_matrix
from initlab.plots.coord_check import plot_coord_check
from initlab.plots.curves import log_steps, plot_curve_panels, plot_curves
from initlab.plots.distributions import plot_distributions, plot_ecdf, plot_ecdf_split
from initlab.plots.ensembles import (
    plot_agreement,
    plot_ensemble_curves,
    plot_interval_widths,
    plot_reliability,
)
from initlab.plots.hyper import (
    plot_best_values,
    plot_coordinate_curves,
    plot_landscape,
)
from initlab.plots.intervals import plot_interval_estimates
from initlab.plots.landscape import (
    plot_estimates,
    plot_interpolation,
    plot_perturbation,
)
from initlab.plots.layers import plot_layer_stats
from initlab.plots.profiles import plot_best_of_k, plot_profiles
from initlab.plots.strips import plot_strips
from initlab.plots.style import MEDIA, PALETTE, colors, figure_style, save_figure
from initlab.plots.variance import plot_variance_components

__all__ = [
    "MEDIA", "PALETTE", "colors", "figure_style", "log_steps", "plot_best_of_k",
    "plot_curve_panels", "plot_curves", "plot_distributions", "plot_ecdf",
    "plot_ecdf_split", "plot_improvement_matrix", "plot_interval_estimates",
    "plot_layer_stats", "plot_profiles", "plot_strips", "plot_variance_components",
    "save_figure",
    "plot_agreement", "plot_ensemble_curves", "plot_estimates", "plot_interpolation",
    "plot_interval_widths", "plot_perturbation", "plot_reliability",
]  # fmt: skip
__all__ += ["plot_best_values", "plot_coord_check", "plot_coordinate_curves",
            "plot_landscape"]  # fmt: skip
