"""Statistics over restarts: intervals, success, best-of-k, profiles, variance.

Every function takes arrays whose first (here: only) axis is the restart. Every
resampling takes an explicit ``rng`` (an ``int`` seed or a
``np.random.Generator``): the same seed gives the same interval, a different
seed a different one. Pass an ``int`` for results that do not depend on what
ran before; a ``Generator`` is consumed (its state advances).

Functions over a whole run (an :class:`~initlab.outcomes.Outcomes`) work per
initializer label: :func:`summary_table`, :func:`compare_with_best`,
:func:`seed_grid` / :func:`variance_split` (runs with ``design="grid"``) and
:func:`binomial_checks`, :func:`improvement_matrix` (every pair) and
:func:`failures` (diverged, at chance, symmetry never broken). :func:`as_rng`
and :func:`check_values` are the argument helpers every statistic uses; plots
and reports use them too.

How many restarts a comparison needs, from a pilot run: :func:`restarts_needed`,
:func:`power_at`, :func:`minimum_difference`, :func:`expected_interval_width`
and :func:`per_restart_variance` (module ``power``).

Bad input raises, never returns a silent NaN: empty arrays, NaN or inf values
(usually diverged restarts; see :func:`drop_diverged`), confidence outside
(0, 1), k outside 1..n, mismatched lengths.

References:
  Agarwal, Schwarzer, Castro, Courville, Bellemare (2021), "Deep reinforcement
  learning at the edge of the statistical precipice", NeurIPS (IQM,
  performance profiles, probability of improvement, stratified bootstrap).
  Efron (1987), "Better bootstrap confidence intervals", JASA 82 (BCa).
  Wilson (1927), "Probable inference, the law of succession, and statistical
  inference", JASA 22 (score interval for a proportion).
  Jordan (2024), "On the variance of neural network training with respect to
  test sets and distributions", ICLR (binomial check).
  Summers & Dinneen (2021), "Nondeterminism and instability in neural network
  optimization", ICML (init vs data-order variance).
"""

from initlab.stats._checks import RNG, Method, as_rng, check_values
from initlab.stats.best_of_k import best_of_k_ci, expected_best_of_k
from initlab.stats.bootstrap import bootstrap_ci
from initlab.stats.comparisons import (
    compare_with_best,
    improvement_matrix,
    performance_profile,
    probability_of_improvement,
)
from initlab.stats.estimates import iqm, success_rate, summarize
from initlab.stats.failures import (
    CHANCE_TOLERANCE,
    Failure,
    at_chance,
    chance_level,
    failures,
)
from initlab.stats.grids import seed_grid, variance_split
from initlab.stats.landscape import base_labels, best_value, landscape
from initlab.stats.power import (
    expected_interval_width,
    minimum_difference,
    per_restart_variance,
    power_at,
    restarts_needed,
)
from initlab.stats.tables import drop_diverged, summary_table
from initlab.stats.variance import binomial_check, binomial_checks, variance_components

__all__ = [
    "CHANCE_TOLERANCE", "RNG", "Failure", "Method", "as_rng", "at_chance",
    "best_of_k_ci", "binomial_check", "binomial_checks", "bootstrap_ci",
    "chance_level", "check_values", "compare_with_best", "drop_diverged",
    "expected_best_of_k", "failures", "improvement_matrix", "iqm",
    "performance_profile", "probability_of_improvement", "seed_grid",
    "success_rate", "summarize", "summary_table", "variance_components",
    "variance_split",
    "expected_interval_width", "minimum_difference", "per_restart_variance", "power_at",
    "restarts_needed",
]  # fmt: skip
__all__ += ["base_labels", "best_value", "landscape"]
