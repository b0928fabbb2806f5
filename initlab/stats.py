"""Statistics over restarts: intervals, success, best-of-k, profiles, variance.

Every function takes arrays whose first (here: only) axis is the restart. Every
resampling takes an explicit ``rng`` (an ``int`` seed or a
``np.random.Generator``): the same seed gives the same interval, a different
seed a different one. Pass an ``int`` for results that do not depend on what
ran before; a ``Generator`` is consumed (its state advances).

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

from __future__ import annotations

import inspect
import math
import warnings
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.special
import scipy.stats

if TYPE_CHECKING:
    import pandas as pd

    from initlab.outcomes import Outcomes

RNG = np.random.Generator | int
_TABLE_COLUMNS = ("mean", "mean_low", "mean_high", "iqm", "iqm_low", "iqm_high",
                  "median", "std")  # fmt: skip
Method = Literal["percentile", "bca"]

_DROP_HINT = (
    "Non-finite outcomes usually come from diverged restarts: leave them out with "
    "initlab.stats.drop_diverged(values, diverged) or Outcomes.values(metric), "
    "which drops them and lets you count them."
)


# ----------------------------------------------------------------- validation


def _as_rng(rng: RNG) -> np.random.Generator:
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng seed must be >= 0, got {rng}.")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be an int seed or a np.random.Generator, got {type(rng).__name__}"
        f" ({rng!r}). Pass e.g. rng=0 so that the interval is reproducible."
    )


def _check_values(values: Any, name: str = "values", min_n: int = 1) -> np.ndarray:
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be numbers, got {values!r:.80}.") from err
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array with one value per restart, got shape "
            f"{x.shape}. Select one metric, e.g. Outcomes.values(metric, label)."
        )
    if x.size < min_n:
        raise ValueError(
            f"{name} has {x.size} value(s); at least {min_n} needed "
            f"(is every restart of this initializer diverged?)."
        )
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        where = bad[:10].tolist()
        more = ", ..." if bad.size > 10 else ""
        raise ValueError(
            f"{name} has {bad.size} non-finite value(s) (NaN/inf) of {x.size}, at "
            f"restart index {str(where)[1:-1]}{more}. {_DROP_HINT}"
        )
    return x


def _check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(
        confidence, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"confidence must be a number in (0, 1), got {type(confidence).__name__}."
        )
    if not 0.0 < float(confidence) < 1.0:
        hint = f" (did you mean {confidence / 100}?)" if 1 < confidence < 100 else ""
        raise ValueError(f"confidence must be in (0, 1), got {confidence}{hint}.")
    return float(confidence)


def _check_method(method: Any) -> str:
    name = str(method).lower()
    if name not in ("percentile", "bca"):
        raise ValueError(
            f"method must be 'percentile' or 'bca' (Efron 1987), got {method!r}."
        )
    return "BCa" if name == "bca" else "percentile"


def _check_n_resamples(n_resamples: Any) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise TypeError(f"n_resamples must be an int, got {n_resamples!r}.")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}.")
    return int(n_resamples)


def _check_ks(ks: Any, n: int, replace: bool) -> np.ndarray:
    k = np.arange(1, n + 1) if ks is None else np.asarray(ks)
    if k.ndim > 1 or k.size == 0:
        raise ValueError(f"ks must be an int or a 1-D list of ints, got {ks!r}.")
    if not np.issubdtype(k.dtype, np.integer):
        raise TypeError(f"ks must be integers, got {ks!r}.")
    k = k.reshape(-1).astype(np.int64)
    if k.min() < 1:
        raise ValueError(f"k must be >= 1, got {k.min()}.")
    if k.max() > n:
        how = "with" if replace else "without"
        raise ValueError(
            f"k = {k.max()} is larger than the number of restarts n = {n}. Best of "
            f"k ({how} replacement) is only estimated for k <= n: beyond that it "
            "extrapolates; run more restarts or lower k."
        )
    return k


def _wilson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    ci = scipy.stats.binomtest(int(successes), int(n)).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    return float(ci.low), float(ci.high)


# ------------------------------------------------------------------ bootstrap


def _vectorized(statistic: Callable) -> Callable:
    """``statistic(a, axis=-1)``; wraps a 1-D-only callable."""
    try:
        takes_axis = "axis" in inspect.signature(statistic).parameters
    except (TypeError, ValueError):
        takes_axis = False
    if takes_axis:
        return statistic

    def stat(a, axis=-1):
        out = np.apply_along_axis(lambda v: np.asarray(statistic(v)), axis, a)
        return np.moveaxis(out, -1, 0) if out.ndim > a.ndim - 1 else out

    return stat


def _finish(theta: np.ndarray, low, high, boot: np.ndarray, method: str):
    """Degenerate bootstrap distributions give a point interval, not a NaN."""
    low, high = np.array(low, np.float64), np.array(high, np.float64)
    flat = boot.reshape(-1, boot.shape[-1]) if boot.ndim > 1 else boot[None]
    const = np.ptp(flat, axis=-1) == 0
    lo, hi = low.reshape(-1), high.reshape(-1)
    lo[const], hi[const] = flat[const, 0], flat[const, 0]
    if not (np.all(np.isfinite(lo)) and np.all(np.isfinite(hi))):
        raise ValueError(
            f"the {method} interval could not be computed (the bootstrap "
            "distribution is too lumpy for BCa's bias correction); use "
            "method='percentile'."
        )
    return lo.reshape(np.shape(theta)), hi.reshape(np.shape(theta))


def _scipy_bootstrap(data, stat, rng, confidence, n_resamples, method):
    with warnings.catch_warnings():
        # A degenerate distribution is handled (and explained) by _finish.
        warnings.simplefilter("ignore", scipy.stats.DegenerateDataWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        res = scipy.stats.bootstrap(
            data,
            stat,
            n_resamples=n_resamples,
            vectorized=True,
            paired=False,
            confidence_level=confidence,
            method=method,
            rng=rng,
        )
    theta = np.asarray(stat(*data, axis=-1), np.float64)
    ci = res.confidence_interval
    return _finish(
        theta, ci.low, ci.high, np.asarray(res.bootstrap_distribution), method
    )


def _stratified_bootstrap(x, groups, stat, rng, confidence, n_resamples, method):
    """Resamples within each group (same draws as scipy for a single group)."""
    members = [np.flatnonzero(groups == g) for g in np.unique(groups)]
    idx = np.concatenate(
        [m[rng.integers(0, m.size, (n_resamples, m.size))] for m in members], axis=-1
    )
    theta = np.asarray(stat(x, axis=-1), np.float64)
    boot = np.asarray(stat(x[idx], axis=-1), np.float64)  # (K..., B)
    flat = boot.reshape(-1, n_resamples)  # (K, B)
    alpha = (1 - confidence) / 2
    levels = np.tile([alpha, 1 - alpha], (flat.shape[0], 1))  # (K, 2)
    if method == "BCa":
        # Acceleration from the ordinary leave-one-out jackknife over all points.
        jk_idx = np.array([np.delete(np.arange(x.size), i) for i in range(x.size)])
        jack = np.asarray(stat(x[jk_idx], axis=-1), np.float64).reshape(-1, x.size)
        t = theta.reshape(-1, 1)
        with np.errstate(divide="ignore", invalid="ignore"):
            z0 = scipy.special.ndtri(
                (np.mean(flat < t, -1) + np.mean(flat <= t, -1)) / 2
            )[:, None]
            u = jack.mean(-1, keepdims=True) - jack
            a = (np.sum(u**3, -1) / (6 * np.sum(u**2, -1) ** 1.5))[:, None]
            num = z0 + scipy.special.ndtri(levels)
            levels = scipy.special.ndtr(z0 + num / (1 - a * num))
    ends = np.full_like(levels, np.nan)
    for i, (row, lv) in enumerate(zip(flat, levels, strict=True)):
        if np.all(np.isfinite(lv)):
            ends[i] = np.percentile(row, 100 * lv)
    return _finish(theta, ends[:, 0], ends[:, 1], flat, method)


def bootstrap_ci(
    values: Any,
    statistic: Callable[..., Any],
    *,
    rng: RNG,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    method: Method = "percentile",
    groups: Any = None,
) -> tuple[Any, Any]:
    """Bootstrap confidence interval of ``statistic`` over restarts.

    Draws ``n_resamples`` resamples of the restarts with replacement, evaluates
    the statistic on each, and returns the percentile interval (the
    ``(1 - confidence) / 2`` and ``(1 + confidence) / 2`` quantiles of the
    bootstrap distribution) or the bias-corrected and accelerated (BCa)
    interval. Without ``groups`` this is ``scipy.stats.bootstrap``. With
    ``groups`` the bootstrap is stratified: each group is resampled within
    itself, so group sizes stay fixed (Agarwal et al. 2021 stratify over tasks);
    BCa's acceleration then comes from the ordinary jackknife over all points.
    A bootstrap distribution with a single value (e.g. constant data) gives the
    point interval ``(v, v)``.

    Args:
      values: (R,) one finite value per restart.
      statistic: ``f(a, axis=-1)`` reducing the last axis, like ``np.mean``;
        may return several numbers (then shape (K, ...)). A function without an
        ``axis`` argument is applied one resample at a time (slower).
      rng: int seed or ``np.random.Generator``.
      confidence: coverage of the interval, in (0, 1). Default 0.95.
      n_resamples: bootstrap resamples. Default 2000.
      method: "percentile" (default) or "bca" (Efron 1987).
      groups: optional (R,) labels; resample within each label.

    Returns:
      ``(low, high)``: floats, or (K,) arrays for a statistic with K outputs.

    Raises:
      ValueError: empty or non-finite values, fewer than 2 restarts, groups of
        another length, confidence outside (0, 1), an unknown method, or a BCa
        interval that cannot be computed.
      TypeError: rng that is neither int nor Generator.

    Example:
      >>> low, high = bootstrap_ci([1.0, 2.0, 3.0, 4.0], np.mean, rng=0)

    References:
      Efron (1987), "Better bootstrap confidence intervals", JASA 82.
      Agarwal et al. (2021), "Deep RL at the edge of the statistical precipice".
    """
    x = _check_values(values, min_n=2)
    confidence = _check_confidence(confidence)
    n_resamples = _check_n_resamples(n_resamples)
    method = _check_method(method)
    gen = _as_rng(rng)
    stat = _vectorized(statistic)
    if groups is None:
        low, high = _scipy_bootstrap((x,), stat, gen, confidence, n_resamples, method)
    else:
        g = np.asarray(groups)
        if g.shape != x.shape:
            raise ValueError(
                f"groups has shape {g.shape} but values has {x.shape}: give one "
                "group label per restart."
            )
        low, high = _stratified_bootstrap(
            x, g, stat, gen, confidence, n_resamples, method
        )
    if np.ndim(low) == 0:
        return float(low), float(high)
    return low, high


# ------------------------------------------------------------ point estimates


def iqm(values: Any) -> float:
    """Interquartile mean: the mean of the middle 50 % of restarts.

    ``scipy.stats.trim_mean(values, 0.25)``: drops ``floor(n / 4)`` values at
    each end, then averages. Robust to a few outlying restarts, yet less noisy
    than the median (Agarwal et al. 2021).

    Args:
      values: (R,) finite values.

    Returns:
      The IQM.

    Raises:
      ValueError: empty or non-finite values.

    Example:
      >>> iqm([1, 2, 3, 4, 5, 6, 7, 8])  # mean of 3, 4, 5, 6
      4.5

    References:
      Agarwal et al. (2021), "Deep RL at the edge of the statistical precipice".
    """
    return float(scipy.stats.trim_mean(_check_values(values), 0.25))


def _mean_median_iqm(a, axis=-1):
    return np.stack(
        [
            np.mean(a, axis=axis),
            np.median(a, axis=axis),
            scipy.stats.trim_mean(a, 0.25, axis=axis),
        ]
    )


def summarize(
    values: Any,
    *,
    rng: RNG,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    method: Method = "percentile",
) -> dict[str, float]:
    """Summary of one distribution of restart outcomes, with bootstrap intervals.

    ``std`` uses ``ddof=1``; ``sem = std / sqrt(n)``; quantiles are numpy's
    linear ones. Intervals for the mean, median and IQM come from one shared
    set of bootstrap resamples (:func:`bootstrap_ci`).

    Args:
      values: (R,) finite values, at least 2.
      rng: int seed or ``np.random.Generator``.
      confidence: interval coverage in (0, 1). Default 0.95.
      n_resamples: bootstrap resamples. Default 2000.
      method: "percentile" (default) or "bca".

    Returns:
      A flat dict: n, mean, std, sem, median, iqm, min, max, q05, q25, q75, q95,
      mean_low, mean_high, median_low, median_high, iqm_low, iqm_high,
      confidence.

    Raises:
      ValueError: fewer than 2 values, NaN/inf values, bad confidence/method.

    Example:
      >>> s = summarize(np.arange(10.0), rng=0)
      >>> s["mean"], s["median"]
      (4.5, 4.5)

    References:
      Agarwal et al. (2021) (IQM); Efron (1987) (BCa).
    """
    x = _check_values(values, min_n=2)
    low, high = bootstrap_ci(
        x,
        _mean_median_iqm,
        rng=rng,
        confidence=confidence,
        n_resamples=n_resamples,
        method=method,
    )
    q05, q25, q75, q95 = np.quantile(x, [0.05, 0.25, 0.75, 0.95])
    std = float(np.std(x, ddof=1))
    out = {
        "n": x.size,
        "mean": float(np.mean(x)),
        "std": std,
        "sem": std / math.sqrt(x.size),
        "median": float(np.median(x)),
        "iqm": float(scipy.stats.trim_mean(x, 0.25)),
        "min": float(x.min()),
        "max": float(x.max()),
        "q05": float(q05),
        "q25": float(q25),
        "q75": float(q75),
        "q95": float(q95),
    }
    for i, name in enumerate(("mean", "median", "iqm")):
        out[f"{name}_low"], out[f"{name}_high"] = float(low[i]), float(high[i])
    out["confidence"] = _check_confidence(confidence)
    return out


def success_rate(
    values: Any,
    threshold: float,
    *,
    higher_is_better: bool = True,
    confidence: float = 0.95,
) -> tuple[float, float, float]:
    """Fraction of restarts reaching ``threshold``, with a Wilson interval.

    Success is ``value >= threshold`` (or ``<=`` when lower is better). The
    Wilson score interval (``scipy.stats.binomtest(...).proportion_ci(
    method="wilson")``) stays inside [0, 1] and behaves at 0 or n successes:
    centre ``(k + z^2/2) / (n + z^2)``, half-width
    ``z / (n + z^2) * sqrt(k (n - k) / n + z^2 / 4)``.

    Args:
      values: (R,) finite values.
      threshold: the target.
      higher_is_better: True for accuracies, False for losses.
      confidence: in (0, 1). Default 0.95.

    Returns:
      ``(rate, low, high)``.

    Raises:
      ValueError: empty or non-finite values, non-finite threshold, bad
        confidence.

    Example:
      >>> success_rate([0.9, 0.8, 0.95, 0.4], 0.85)[0]
      0.5

    References:
      Wilson (1927), "Probable inference, the law of succession, and
      statistical inference", JASA 22.
    """
    x = _check_values(values)
    confidence = _check_confidence(confidence)
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}.")
    hits = int(np.sum(x >= threshold if higher_is_better else x <= threshold))
    return (hits / x.size, *_wilson(hits, x.size, confidence))


# ------------------------------------------------------------------ best of k


def _best_of_k_weights(n: int, ks: np.ndarray, replace: bool) -> np.ndarray:
    """(K, n) probability that the best of k draws is the i-th smallest value."""
    i = np.arange(1, n + 1, dtype=np.float64)
    k = ks[:, None].astype(np.float64)
    if replace:
        return (i / n) ** k - ((i - 1) / n) ** k
    # Without replacement: P(max = x_(i)) = C(i-1, k-1) / C(n, k).
    return scipy.special.comb(i - 1, k - 1) / scipy.special.comb(n, k)


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
    x = _check_values(values)
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
    x = _check_values(values, min_n=2)
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


# ------------------------------------------------- comparison and profiles


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


# ------------------------------------------------------ sources of variance


def _anova(y: np.ndarray) -> np.ndarray:
    """Variance components of (..., I, J, K) by the method of moments, clipped."""
    i_, j_, k_ = y.shape[-3:]
    cell = y.mean(-1)
    row, col = cell.mean(-1), cell.mean(-2)
    grand = row.mean(-1)
    ms_a = j_ * k_ * np.sum((row - grand[..., None]) ** 2, -1) / (i_ - 1)
    ms_b = i_ * k_ * np.sum((col - grand[..., None]) ** 2, -1) / (j_ - 1)
    inter = cell - row[..., :, None] - col[..., None, :] + grand[..., None, None]
    ms_ab = k_ * np.sum(inter**2, (-2, -1)) / ((i_ - 1) * (j_ - 1))
    comps = [(ms_a - ms_ab) / (j_ * k_), (ms_b - ms_ab) / (i_ * k_)]
    if k_ == 1:
        comps.append(ms_ab)
    else:
        ms_e = np.sum((y - cell[..., None]) ** 2, (-3, -2, -1)) / (i_ * j_ * (k_ - 1))
        comps += [(ms_ab - ms_e) / k_, ms_e]
    return np.maximum(np.stack(comps, -1), 0.0)


def variance_components(
    grid: Any,
    *,
    rng: RNG,
    confidence: float = 0.95,
    n_resamples: int = 1000,
) -> dict[str, Any]:
    """Split the variance of an outcome between init seed and data-order seed.

    Two-way random-effects ANOVA on a balanced grid,
    ``y_ijr = mu + a_i + b_j + (ab)_ij + e_ijr`` (i = init seed, j = data
    seed, r = replicate), estimated by the method of moments from the mean
    squares::

        var_init = (MS_init - MS_inter) / (J R)
        var_data = (MS_data - MS_inter) / (I R)
        var_inter = (MS_inter - MS_resid) / R,  var_resid = MS_resid

    With one outcome per cell (R = 1, the usual case) the interaction cannot
    be told apart from the residual: the third component is their sum
    ("interaction+residual", = MS_inter). Negative estimates (a component
    smaller than its sampling noise) are clipped to 0 before the shares
    ``component / sum(components)`` are formed. Intervals: percentile
    bootstrap that resamples init rows and data columns independently (the
    two-way "pigeonhole" bootstrap, Owen 2007); resamples with no variance at
    all are left out of the quantiles and counted in ``n_degenerate``.

    Args:
      grid: (n_init, n_data) or (n_init, n_data, n_rep) outcomes, finite,
        n_init >= 2 and n_data >= 2.
      rng: int seed or ``np.random.Generator``.
      confidence: in (0, 1). Default 0.95.
      n_resamples: bootstrap resamples. Default 1000.

    Returns:
      A dict: ``components`` (names), ``variance``, ``variance_low``,
      ``variance_high``, ``share``, ``share_low``, ``share_high`` (arrays
      aligned with ``components``), ``total_variance``, ``n_init``,
      ``n_data``, ``n_rep``, ``confounded`` (True when R = 1),
      ``n_degenerate``, ``confidence``.

    Raises:
      ValueError: wrong shape, fewer than 2 rows or columns, non-finite cells,
        a grid with no variance, bad confidence.

    Example:
      >>> vc = variance_components([[1.0, 2.0], [3.0, 4.0]], rng=0)
      >>> vc["share"].round(2).tolist()
      [0.8, 0.2, 0.0]

    References:
      Summers & Dinneen (2021), "Nondeterminism and instability in neural
      network optimization", ICML. Searle, Casella & McCulloch (1992),
      "Variance components", ch. 4. Owen (2007), "The pigeonhole bootstrap",
      Ann. Appl. Stat. 1.
    """
    y = np.asarray(grid, np.float64)
    if y.ndim == 2:
        y = y[..., None]
    if y.ndim != 3 or y.shape[0] < 2 or y.shape[1] < 2 or y.shape[2] < 1:
        raise ValueError(
            "grid must have shape (n_init, n_data) or (n_init, n_data, n_rep) with "
            f"n_init >= 2 and n_data >= 2, got {np.shape(grid)}."
        )
    bad = np.argwhere(~np.isfinite(y))
    if bad.size:
        raise ValueError(
            f"grid has {len(bad)} non-finite cell(s), first at (init, data, rep) = "
            f"{tuple(bad[0].tolist())}. {_DROP_HINT} A variance decomposition needs "
            "a full grid: drop the whole init row or data column."
        )
    confidence = _check_confidence(confidence)
    n_resamples = _check_n_resamples(n_resamples)
    gen = _as_rng(rng)
    var = _anova(y)
    total = var.sum()
    if total <= 0:
        raise ValueError(
            "grid has no variance (every cell is equal): nothing to split."
        )
    n_i, n_j, n_r = y.shape
    rows = gen.integers(0, n_i, (n_resamples, n_i))
    cols = gen.integers(0, n_j, (n_resamples, n_j))
    chunk = max(1, int(2e6 // y.size))  # ~16 MB per intermediate array
    boot = np.concatenate(
        [
            _anova(y[rows[s : s + chunk, :, None], cols[s : s + chunk, None, :]])
            for s in range(0, n_resamples, chunk)
        ]
    )
    tot_b = boot.sum(-1, keepdims=True)
    ok = tot_b[:, 0] > 0
    share_b = boot[ok] / tot_b[ok]
    alpha = (1 - confidence) / 2
    qs = [alpha, 1 - alpha]
    v_lo, v_hi = np.quantile(boot, qs, axis=0)
    if share_b.shape[0]:
        s_lo, s_hi = np.quantile(share_b, qs, axis=0)
    else:  # only possible for tiny grids; the data cannot bound the shares
        s_lo, s_hi = np.zeros_like(var), np.ones_like(var)
    names = ["init", "data"] + (
        ["interaction+residual"] if n_r == 1 else ["interaction", "residual"]
    )
    return {
        "components": names,
        "variance": var,
        "variance_low": v_lo,
        "variance_high": v_hi,
        "share": var / total,
        "share_low": s_lo,
        "share_high": s_hi,
        "total_variance": float(total),
        "n_init": n_i,
        "n_data": n_j,
        "n_rep": n_r,
        "confounded": n_r == 1,
        "n_degenerate": int((~ok).sum()),
        "confidence": confidence,
    }


def binomial_check(correct: Any) -> dict[str, float]:
    """Observed vs binomial-predicted std of test accuracy across restarts.

    If each test example j were an independent coin with its own rate ``p_j``
    (the fraction of restarts that get it right), the accuracy of a restart
    would have ``std = sqrt(sum_j p_j (1 - p_j)) / M``. Jordan (2024) found
    that the observed std across restarts is close to this: most of the
    restart-to-restart variance is "independent per example" noise, not
    differences in skill. A ratio above 1 means restarts differ in a
    correlated way (some are truly better); below 1 means anticorrelation.
    Both std use ``ddof = 0`` so that, exactly, ``observed^2 - predicted^2``
    = the sum of the between-example covariances / M^2.

    Args:
      correct: (R, M) bool, restart r got test example j right. R >= 2.

    Returns:
      dict with ``observed_std``, ``predicted_std``, ``ratio`` (observed /
      predicted), ``mean_accuracy``, ``n_restarts``, ``n_examples``.

    Raises:
      ValueError: not 2-D, fewer than 2 restarts, entries not 0/1, or every
        example always right or always wrong (nothing to compare).

    Example:
      >>> binomial_check([[1, 0], [0, 1]])["observed_std"]  # always 50 %
      0.0

    References:
      Jordan (2024), "On the variance of neural network training with respect
      to test sets and distributions", ICLR.
    """
    c = np.asarray(correct)
    if c.ndim != 2 or c.shape[0] < 2 or c.shape[1] < 1:
        raise ValueError(
            "correct must be (restarts, examples) with >= 2 restarts, got shape "
            f"{c.shape}; see Outcomes.per_example['test_correct']."
        )
    c = c.astype(np.float64)
    if not np.all((c == 0) | (c == 1)):
        raise ValueError("correct must hold booleans (or 0/1) only.")
    m = c.shape[1]
    p = c.mean(0)
    predicted = math.sqrt(float(np.sum(p * (1 - p)))) / m
    if predicted == 0:
        raise ValueError(
            "every test example is right in all restarts or wrong in all: the "
            "binomial prediction is 0 and the ratio is undefined."
        )
    observed = float(np.std(c.mean(1)))
    return {
        "observed_std": observed,
        "predicted_std": predicted,
        "ratio": observed / predicted,
        "mean_accuracy": float(c.mean()),
        "n_restarts": c.shape[0],
        "n_examples": m,
    }


# ---------------------------------------------------------- tables of runs


def drop_diverged(values: Any, diverged: Any) -> tuple[np.ndarray, int]:
    """Leaves out diverged restarts and says how many.

    Args:
      values: (R, ...) per-restart values (restart axis first).
      diverged: (R,) bool.

    Returns:
      ``(kept, n_dropped)``: the rows with ``diverged == False``, and the count.

    Raises:
      ValueError: lengths differ, or diverged is not boolean.

    Example:
      >>> drop_diverged([1.0, np.nan, 3.0], [False, True, False])
      (array([1., 3.]), 1)
    """
    v = np.asarray(values)
    d = np.asarray(diverged)
    if d.ndim != 1 or v.ndim < 1 or d.shape[0] != v.shape[0]:
        raise ValueError(
            f"diverged has shape {d.shape} but values has {v.shape}: one flag per "
            "restart (values' first axis) is needed."
        )
    if d.dtype != bool:
        raise ValueError(f"diverged must be boolean, got dtype {d.dtype}.")
    return v[~d], int(d.sum())


def summary_table(
    outcomes: Outcomes,
    metric: str,
    *,
    rng: RNG,
    target: float | None = None,
    k: int = 5,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    method: Method = "percentile",
) -> pd.DataFrame:
    """One row per initializer: n, diverged, mean/IQM with intervals, success.

    Diverged restarts are counted in ``diverged`` and left out of every other
    column (``n`` counts the rest). Columns: initializer, n, diverged, mean,
    mean_low, mean_high, iqm, iqm_low, iqm_high, median, std, then
    success_rate, success_low, success_high if ``target`` is given (success =
    reaching the target in the metric's better direction, Wilson interval),
    then ``best_of_{k}`` (expected best of k with replacement). Cells that
    cannot be estimated are NaN by rule, never by accident: every column when
    n = 0 (all diverged), intervals and std when n = 1, best-of-k when n < k.
    Each initializer gets its own child generator of ``rng``, so its row does
    not depend on the other initializers.

    Args:
      outcomes: an :class:`initlab.outcomes.Outcomes`.
      metric: a final metric name.
      rng: int seed or ``np.random.Generator``.
      target: optional success threshold.
      k: restarts for the best-of-k column. Default 5.
      confidence, n_resamples, method: as in :func:`bootstrap_ci`.

    Returns:
      A ``pandas.DataFrame`` in ``outcomes.labels`` order.

    Raises:
      KeyError: unknown metric. ValueError: non-finite values in restarts not
      flagged as diverged, bad confidence, k < 1.

    Example:
      >>> summary_table(outcomes, "test_accuracy", rng=0, target=0.9)

    References:
      Agarwal et al. (2021); Wilson (1927); Efron (1987).
    """
    import pandas as pd

    confidence = _check_confidence(confidence)
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be an int >= 1, got {k!r}.")
    if metric not in outcomes.final:
        raise KeyError(f"unknown metric {metric!r}; available: {outcomes.metrics}.")
    labels = outcomes.labels
    higher = outcomes.higher_is_better(metric)
    children = _as_rng(rng).spawn(len(labels))
    rows = []
    for label, child in zip(labels, children, strict=True):
        mask = outcomes.initializer == label
        kept, n_div = drop_diverged(
            np.asarray(outcomes.final[metric])[mask], outcomes.diverged[mask]
        )
        x = _check_values(kept, f"{metric} of {label!r}", min_n=0)
        row: dict[str, Any] = {"initializer": label, "n": x.size, "diverged": n_div}
        nan = float("nan")
        s = dict.fromkeys(_TABLE_COLUMNS, nan)
        if x.size >= 2:
            opts = dict(confidence=confidence, n_resamples=n_resamples, method=method)
            full = summarize(x, rng=child, **opts)
            s = {key: full[key] for key in s}
        elif x.size == 1:
            s.update(mean=x[0], iqm=x[0], median=x[0])
        row.update(s)
        if target is not None:
            rate = (
                success_rate(x, target, higher_is_better=higher, confidence=confidence)
                if x.size
                else (nan,) * 3
            )
            row.update(success_rate=rate[0], success_low=rate[1], success_high=rate[2])
        row[f"best_of_{k}"] = (
            expected_best_of_k(x, int(k), higher_is_better=higher)
            if x.size >= k
            else nan
        )
        rows.append(row)
    return pd.DataFrame(rows)
