"""Figures of restart outcomes: each takes ``ax=None`` and returns ``(fig, ax)``.

matplotlib is imported inside each function, so ``import initlab`` stays light.
Nothing here calls ``plt.show()``; close what you create (``plt.close(fig)``,
or :func:`save_figure`, which writes and closes). Every initializer keeps one
colour across figures: :func:`colors` maps the sorted labels to tab10; pass
``palette=colors(all_labels)`` to figures that show only some of them.

Distribution plots accept an :class:`~initlab.outcomes.Outcomes` with a metric
(diverged restarts are left out and counted in the legend) or a mapping
``label -> (R,) values`` (finite values only).

Modules, one question each: :mod:`~initlab.plots.style` (colours, saving),
:mod:`~initlab.plots.distributions` (how the final metric is spread),
:mod:`~initlab.plots.curves` (how training went), :mod:`~initlab.plots.profiles`
(what choosing among restarts buys), :mod:`~initlab.plots.variance` (where the
variance comes from), :mod:`~initlab.plots.layers` (signal per layer at init).
"""

from initlab.plots.curves import plot_curves
from initlab.plots.distributions import plot_distributions, plot_ecdf
from initlab.plots.layers import plot_layer_stats
from initlab.plots.profiles import plot_best_of_k, plot_profiles
from initlab.plots.style import colors, save_figure
from initlab.plots.variance import plot_variance_components

__all__ = [
    "colors", "plot_best_of_k", "plot_curves", "plot_distributions", "plot_ecdf",
    "plot_layer_stats", "plot_profiles", "plot_variance_components", "save_figure",
]  # fmt: skip
