"""Comparing initializers: probability of improvement and performance profiles."""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.stats

from initlab.stats._checks import (
    RNG,
    Method,
    _as_rng,
    _check_confidence,
    _check_method,
    _check_n_resamples,
    _check_values,
)
from initlab.stats.bootstrap import _scipy_bootstrap
from initlab.stats.estimates import _wilson


def _prob_greater(x, y, axis=-1):
    """P(X > Y) + P(X = Y) / 2 = U / (n m), from ranks (memory O(n + m))."""
    x, y = np.moveaxis(x, axis, -1), np.moveaxis(y, axis, -1)
    n, m = x.shape[-1], y.shape[-1]
    lead = np.broadcast_shapes(x.shape[:-1], y.shape[:-1])  # BCa jackknifes one
    x, y = np.broadcast_to(x, (*lead, n)), np.broadcast_to(y, (*lead, m))
    ranks = scipy.stats.rankdata(np.concatenate([x, y], axis=-1), axis=-1)
    u = ranks[..., :n].sum(-1) - n * (n + 1) / 2
    return u / (n * m)


def probability_of_improvement(
    x: Any,
    y: Any,
    *,
    rng: RNG,
    higher_is_better: bool = True,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    method: Method = "percentile",
) -> tuple[float, float, float]:
    """Probability that a restart of X beats a restart of Y, with an interval.

    ``P(X > Y) + 0.5 P(X = Y)`` over independent draws, which equals the
    Mann-Whitney ``U / (n m)`` (``scipy.stats.mannwhitneyu(x, y).statistic``).
    0.5 means no difference. The interval resamples X and Y independently
    (``scipy.stats.bootstrap`` with two samples); if X and Y do not overlap
    every resample gives 0 or 1 and the interval collapses to that point.

    Args:
      x, y: (n,), (m,) finite values of two initializers.
      rng: int seed or ``np.random.Generator``.
      higher_is_better: for losses pass False (X better = X smaller).
      confidence, n_resamples, method: as in :func:`bootstrap_ci`.

    Returns:
      ``(p, low, high)``.

    Raises:
      ValueError: fewer than 2 values in x or y, non-finite values, bad
        confidence/method.

    Example:
      >>> probability_of_improvement([3, 4], [1, 2], rng=0)[0]
      1.0

    References:
      Agarwal et al. (2021), "Deep RL at the edge of the statistical precipice".
      Mann & Whitney (1947), Ann. Math. Statist. 18.
    """
    a = _check_values(x, "x", min_n=2)
    b = _check_values(y, "y", min_n=2)
    confidence = _check_confidence(confidence)
    n_resamples = _check_n_resamples(n_resamples)
    method = _check_method(method)
    if not higher_is_better:
        a, b = -a, -b
    low, high = _scipy_bootstrap(
        (a, b), _prob_greater, _as_rng(rng), confidence, n_resamples, method
    )
    return float(_prob_greater(a, b)), float(low), float(high)


def performance_profile(
    values: Any,
    thresholds: Any,
    *,
    higher_is_better: bool = True,
    confidence: float = 0.95,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Fraction of restarts scoring better than each threshold, with Wilson bands.

    ``F(tau) = #{r : x_r > tau} / n`` (``<`` when lower is better): the
    survival function of the restart distribution (Agarwal et al. 2021). The
    band at each threshold is a pointwise Wilson interval (exact for one
    threshold, not simultaneous over all of them); no resampling, so no rng.
    Thresholds outside the observed range are allowed and give fraction 0 or 1
    (with a Wilson interval that still has width).

    Args:
      values: (R,) finite values.
      thresholds: (T,) finite thresholds.
      higher_is_better: count ``x > tau`` (True) or ``x < tau`` (False).
      confidence: in (0, 1). Default 0.95.

    Returns:
      ``(fraction, low, high)``, each (T,).

    Raises:
      ValueError: empty or non-finite values or thresholds, bad confidence.

    Example:
      >>> performance_profile([1, 2, 3, 4], [0, 2.5, 9])[0]
      array([1. , 0.5, 0. ])

    References:
      Agarwal et al. (2021); Wilson (1927).
    """
    x = _check_values(values)
    t = _check_values(np.atleast_1d(np.asarray(thresholds, np.float64)), "thresholds")
    confidence = _check_confidence(confidence)
    if higher_is_better:
        hits = np.sum(x[None, :] > t[:, None], axis=1)
    else:
        hits = np.sum(x[None, :] < t[:, None], axis=1)
    bands = np.array([_wilson(h, x.size, confidence) for h in hits])
    return hits / x.size, bands[:, 0], bands[:, 1]
