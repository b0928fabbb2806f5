"""Expected best outcome of k restarts, with bootstrap bands."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.special

from initlab.stats._checks import RNG, Method, _check_ks, _check_method, check_values
from initlab.stats.bootstrap import bootstrap_ci


def _best_of_k_weights(n: int, ks: np.ndarray, replace: bool) -> np.ndarray:
    """(K, n) probability that the best of k draws is the i-th smallest value."""
    i = np.arange(1, n + 1, dtype=np.float64)
    k = ks[:, None].astype(np.float64)
    if replace:
        return (i / n) ** k - ((i - 1) / n) ** k
    # Without replacement: P(max = x_(i)) = C(i-1, k-1) / C(n, k), in log space
    # (the binomials overflow float64 beyond n ~ 1030); zero where i < k.
    log_c = scipy.special.gammaln
    log_w = (
        log_c(i) - log_c(k) - log_c(np.maximum(i - k + 1, 1))
        - (log_c(n + 1) - log_c(k + 1) - log_c(n - k + 1))
    )  # fmt: skip
    return np.where(i >= k, np.exp(log_w), 0.0)


def _best_of_k_stat(ks: np.ndarray, replace: bool) -> Callable:
    def stat(a, axis=-1):
        a = np.sort(np.moveaxis(a, axis, -1), axis=-1)
        w = _best_of_k_weights(a.shape[-1], ks, replace)
        return np.moveaxis(a @ w.T, -1, 0)  # (K, ...)

    return stat


def expected_best_of_k(
    values: Any,
    ks: int | Sequence[int] | None = None,
    *,
    higher_is_better: bool = True,
    replace: bool = True,
) -> Any:
    """Expected best outcome of k restarts, exactly, from the empirical distribution.

    With replacement (default) the k restarts are k independent draws from the
    n observed ones, and with sorted ``x_(1) <= ... <= x_(n)``::

        E[max of k] = sum_i x_(i) * ((i / n)^k - ((i - 1) / n)^k)

    Without replacement (k distinct restarts of the n, hypergeometric)::

        E[max of k] = sum_i x_(i) * C(i - 1, k - 1) / C(n, k)

    the unbiased estimate of the best of k fresh restarts. Lower-is-better
    metrics use the minimum instead. k = 1 gives the mean; k = n without
    replacement gives the observed best.

    Args:
      values: (R,) finite values.
      ks: an int, a list of ints, or None for 1..n. Each in 1..n.
      higher_is_better: best = max (True) or min (False).
      replace: draw with (True, default) or without replacement.

    Returns:
      A float for an int ``ks``, else a (len(ks),) array.

    Raises:
      ValueError: empty or non-finite values, k < 1 or k > n.

    Example:
      >>> expected_best_of_k([0.0, 1.0], 2)  # max is 1 unless both draws are 0
      0.75

    References:
      Dodge et al. (2019), "Show your work: improved reporting of experimental
      results" (expected validation performance), EMNLP.
    """
    x = check_values(values)
    k = _check_ks(ks, x.size, replace)
    sign = 1.0 if higher_is_better else -1.0
    out = sign * _best_of_k_stat(k, replace)(sign * x)
    return float(out[0]) if ks is not None and np.ndim(ks) == 0 else out


def best_of_k_ci(
    values: Any,
    ks: int | Sequence[int] | None = None,
    *,
    rng: RNG,
    higher_is_better: bool = True,
    replace: bool = True,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    method: Method = "percentile",
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`expected_best_of_k` with a bootstrap band over the restarts.

    Args:
      values: (R,) finite values, at least 2.
      ks: an int, a list of ints, or None for 1..n. For ``method="bca"`` with
        ``replace=False`` each k must be < n (the jackknife leaves one out).
      rng: int seed or ``np.random.Generator``.
      higher_is_better, replace: as in :func:`expected_best_of_k`.
      confidence, n_resamples, method: as in :func:`bootstrap_ci`.

    Returns:
      ``(estimate, low, high)``, each (len(ks),).

    Raises:
      ValueError: as :func:`expected_best_of_k` and :func:`bootstrap_ci`.

    Example:
      >>> est, low, high = best_of_k_ci(np.arange(20.0), [1, 5], rng=0)

    References:
      Dodge et al. (2019); Efron (1987).
    """
    x = check_values(values, min_n=2)
    k = _check_ks(ks, x.size, replace)
    if _check_method(method) == "BCa" and not replace and k.max() >= x.size:
        raise ValueError(
            f"BCa without replacement needs every k < n = {x.size} (its jackknife "
            "leaves one restart out); use method='percentile' or a smaller k."
        )
    sign = 1.0 if higher_is_better else -1.0
    stat = _best_of_k_stat(k, replace)
    low, high = bootstrap_ci(
        sign * x,
        stat,
        rng=rng,
        confidence=confidence,
        n_resamples=n_resamples,
        method=method,
    )
    est = sign * stat(sign * x)
    low, high = np.atleast_1d(low), np.atleast_1d(high)
    if sign < 0:
        low, high = -high, -low
    return est, low, high
