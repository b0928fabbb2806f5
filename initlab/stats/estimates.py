"""Point estimates of one distribution of restarts: IQM, summary, success rate."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import scipy.stats

from initlab.stats._checks import RNG, Method, _check_confidence, check_values
from initlab.stats.bootstrap import bootstrap_ci


def _wilson(successes: int, n: int, confidence: float) -> tuple[float, float]:
    ci = scipy.stats.binomtest(int(successes), int(n)).proportion_ci(
        confidence_level=confidence, method="wilson"
    )
    return float(ci.low), float(ci.high)


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
    return float(scipy.stats.trim_mean(check_values(values), 0.25))


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
    x = check_values(values, min_n=2)
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
    x = check_values(values)
    confidence = _check_confidence(confidence)
    if not np.isfinite(threshold):
        raise ValueError(f"threshold must be finite, got {threshold}.")
    hits = int(np.sum(x >= threshold if higher_is_better else x <= threshold))
    return (hits / x.size, *_wilson(hits, x.size, confidence))
