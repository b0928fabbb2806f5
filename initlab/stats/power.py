"""How many restarts: sample sizes, power and interval widths from a pilot run.

A pilot run gives, per initializer, the spread of the outcome over restarts.
From it, before spending the compute:

* :func:`per_restart_variance` -- ``v``, the variance one restart adds to a
  statistic: ``Var(statistic of n restarts) ~ v / n``;
* :func:`restarts_needed` -- the restarts per initializer that resolve a
  given difference of the mean or the IQM with a given power;
* :func:`power_at` -- the power of n restarts per initializer for a difference;
* :func:`minimum_difference` -- the smallest difference n restarts resolve;
* :func:`expected_interval_width` -- the width of the 95 % interval to
  expect from n restarts (by the formula, or by simulating the bootstrap).

The test behind the numbers is the one a comparison of initializers runs:
Welch's two-sample t-test for the mean (Colas et al. 2018 use it to size
reinforcement-learning comparisons) and Yuen's test for the 25 %-trimmed
mean, the IQM (Yuen 1974; ``scipy.stats.ttest_ind(..., trim=0.25)``).

References:
  Colas, Sigaud & Oudeyer (2018), "How many random seeds? Statistical power
  analysis in deep reinforcement learning experiments", arXiv:1806.08295.
  Yuen (1974), "The two-sample trimmed t for unequal population variances",
  Biometrika 61. Tukey & McLaughlin (1963), "Less vulnerable confidence and
  significance procedures for location based on a single sample", Sankhya A
  25 (the winsorized variance of a trimmed mean).
"""

from __future__ import annotations

import math
from typing import Any, Literal

import numpy as np
import scipy.stats

from initlab import _checks
from initlab.stats._checks import RNG, _check_confidence, as_rng, check_values

Statistic = Literal["mean", "iqm"]
STATISTICS = ("mean", "iqm")
# The IQM trims a quarter at each end.
_TRIM = 0.25


def _winsorized_variance(x: np.ndarray, trim: float = _TRIM) -> float:
    """Sample variance (ddof=1) after clipping the ``floor(trim n)`` values at
    each end to the nearest kept value (Tukey & McLaughlin 1963)."""
    s = np.sort(x)
    g = int(math.floor(trim * s.size))
    if g:
        s[:g], s[-g:] = s[g], s[-g - 1]
    return float(np.var(s, ddof=1))


def _statistic_fn(statistic: str):
    if statistic == "mean":
        return np.mean
    return lambda a, axis=-1: scipy.stats.trim_mean(a, _TRIM, axis=axis)


def per_restart_variance(
    values: Any,
    statistic: Statistic = "mean",
    *,
    method: Literal["formula", "bootstrap"] = "formula",
    rng: RNG = 0,
    n_resamples: int = 2000,
) -> float:
    """``v``: the variance one restart contributes to a statistic (``v / n``).

    The statistic of n restarts has variance about ``v / n``. With
    ``method="formula"``: for the mean ``v`` is the sample variance (ddof=1);
    for the IQM (the 25 %-trimmed mean) ``v = s_w^2 / (1 - 2 * 0.25)^2 = 4
    s_w^2``, with ``s_w^2`` the 25 %-winsorized variance (Tukey & McLaughlin
    1963; the variance Yuen's test uses). With ``method="bootstrap"``: ``v =
    n * Var*(statistic)``, the variance of the statistic over ``n_resamples``
    bootstrap resamples of the pilot's n restarts, scaled back to one restart.
    Both estimate the same number; the bootstrap needs no formula for the
    statistic.

    Args:
      values: (n,) the pilot's outcomes of one initializer, n >= 4.
      statistic: "mean" or "iqm".
      method: "formula" (default) or "bootstrap".
      rng: seed or Generator for the bootstrap.
      n_resamples: bootstrap resamples.

    Returns:
      ``v`` (>= 0).

    Raises:
      ValueError: fewer than 4 values, non-finite values, unknown statistic
        or method.

    Example:
      >>> v = per_restart_variance([0.97, 0.96, 0.98, 0.97, 0.95], "mean")

    References:
      Tukey & McLaughlin (1963); Yuen (1974); Efron & Tibshirani (1993),
      "An introduction to the bootstrap", ch. 6.
    """
    x = check_values(values, "pilot values", min_n=4)
    statistic = _checks.choice(
        statistic, STATISTICS, "statistic", where="per_restart_variance"
    )
    method = _checks.choice(
        method, ("formula", "bootstrap"), "method", where="per_restart_variance"
    )
    if method == "formula":
        if statistic == "mean":
            return float(np.var(x, ddof=1))
        return _winsorized_variance(x) / (1 - 2 * _TRIM) ** 2
    n_resamples = _checks.positive_int(
        n_resamples, "n_resamples", where="per_restart_variance"
    )
    gen = as_rng(rng)
    idx = gen.integers(0, x.size, (n_resamples, x.size))
    boot = _statistic_fn(statistic)(x[idx], axis=-1)
    return float(x.size * np.var(boot, ddof=1))


def _variances(a, b, statistic, method, rng, n_resamples) -> tuple[float, float]:
    gen = as_rng(rng)
    v_a = per_restart_variance(
        a, statistic, method=method, rng=gen, n_resamples=n_resamples
    )
    if b is None:
        return v_a, v_a
    v_b = per_restart_variance(
        b, statistic, method=method, rng=gen, n_resamples=n_resamples
    )
    return v_a, v_b


def _kept(n: int, statistic: str) -> int:
    """Values a statistic of n restarts keeps (Yuen's h = n - 2 floor(0.25 n))."""
    return n if statistic == "mean" else n - 2 * int(math.floor(_TRIM * n))


def _power_of(
    n: int, v_a: float, v_b: float, difference: float, alpha: float, statistic: str
) -> float:
    """Two-sided power of Welch's (mean) or Yuen's (IQM) test, n per arm.

    The test statistic is a noncentral t with noncentrality ``difference /
    sqrt((v_a + v_b) / n)`` and Welch-Satterthwaite degrees of freedom (with
    Yuen's h - 1 in place of n - 1 for the IQM).
    """
    if v_a + v_b == 0:
        return 1.0
    se2_a, se2_b = v_a / n, v_b / n
    dof_each = _kept(n, statistic) - 1
    if dof_each < 1:
        return 0.0
    df = (se2_a + se2_b) ** 2 / ((se2_a**2 + se2_b**2) / dof_each)
    nc = abs(difference) / math.sqrt(se2_a + se2_b)
    crit = scipy.stats.t.ppf(1 - alpha / 2, df)
    with np.errstate(all="ignore"):
        value = scipy.stats.nct.sf(crit, df, nc) + scipy.stats.nct.cdf(-crit, df, nc)
    if not np.isfinite(value):
        # scipy's noncentral t fails far in its tail (nc in the hundreds); the
        # normal approximation is exact to float precision there.
        value = scipy.stats.norm.sf(crit - nc) + scipy.stats.norm.cdf(-crit - nc)
    return float(min(max(value, 0.0), 1.0))


def _common(difference, power_, confidence, where):
    difference = _checks.number(difference, "difference", where=where)
    if difference == 0:
        raise ValueError(
            f"{where}: difference must be non-zero (the gap to resolve, in the "
            "metric's units, e.g. 0.001 for 0.1 percentage points)."
        )
    if power_ is not None:
        power_ = _checks.number(power_, "power", where=where)
        if not 0 < power_ < 1:
            raise ValueError(f"{where}: power must be in (0, 1); got {power_}.")
    return difference, power_, 1 - _check_confidence(confidence)


def power_at(
    a: Any,
    b: Any = None,
    *,
    n: int,
    difference: float,
    statistic: Statistic = "mean",
    confidence: float = 0.95,
    method: Literal["formula", "bootstrap"] = "formula",
    rng: RNG = 0,
    n_resamples: int = 2000,
) -> float:
    """The power of n restarts per initializer to resolve ``difference``.

    The probability that a two-sided test at level ``1 - confidence``
    (Welch's t for the mean, Yuen's trimmed t for the IQM) finds a
    difference when the true difference of the statistic is ``difference``
    and the spreads are the pilots' (``b=None``: both as ``a``): ``P(|T| >
    t_crit)`` for a noncentral t with noncentrality ``|difference| /
    sqrt((v_a + v_b) / n)`` and Welch-Satterthwaite degrees of freedom
    (:func:`per_restart_variance` gives ``v``).

    Args:
      a, b: pilot outcomes of the two initializers (b None: same spread).
      n: restarts per initializer.
      difference: the true difference of the statistic, metric units.
      statistic: "mean" or "iqm".
      confidence: 1 - the test's level (0.95: a 5 % test).
      method, rng, n_resamples: as :func:`per_restart_variance`.

    Returns:
      The power in [0, 1].

    Raises:
      ValueError / TypeError: bad arguments (as :func:`restarts_needed`).

    Example:
      >>> p = power_at(np.random.default_rng(0).normal(0, 1, 1000), n=64,
      ...           difference=0.5)   # about 0.80

    References:
      Colas, Sigaud & Oudeyer (2018); Yuen (1974).
    """
    difference, _, alpha = _common(difference, None, confidence, "power_at")
    n = _checks.integer(n, "n", low=2, where="power_at")
    v_a, v_b = _variances(a, b, statistic, method, rng, n_resamples)
    return _power_of(n, v_a, v_b, difference, alpha, statistic)


def restarts_needed(
    a: Any,
    b: Any = None,
    *,
    difference: float,
    statistic: Statistic = "mean",
    power: float = 0.8,
    confidence: float = 0.95,
    method: Literal["formula", "bootstrap"] = "formula",
    rng: RNG = 0,
    n_resamples: int = 2000,
    max_restarts: int = 1_000_000,
) -> int:
    """Restarts per initializer to resolve ``difference`` with ``power``.

    The smallest n whose :func:`power_at` reaches ``power``: a two-sided test at
    level ``1 - confidence`` on n restarts of each initializer finds a true
    difference ``difference`` of the statistic that often. Close to the normal
    approximation ``n = (z_{1-alpha/2} + z_power)^2 (v_a + v_b) /
    difference^2`` (Colas et al. 2018), with the t distribution's correction
    for small n. Spreads come from the pilots (``b=None``: both initializers
    spread like ``a``), so n is only as good as the pilot: a pilot of 10
    restarts estimates a variance to about +-45 % (95 %).

    Args:
      a, b: pilot outcomes, (n_a,) and (n_b,), at least 4 each.
      difference: the difference to resolve, in the metric's units (0.001
        is 0.1 percentage points of accuracy).
      statistic: "mean" (Welch's t) or "iqm" (Yuen's trimmed t).
      power: the probability of resolving it, in (0, 1). Default 0.8.
      confidence: 1 - the test's level. Default 0.95.
      method: how ``v`` is estimated (:func:`per_restart_variance`).
      rng, n_resamples: for ``method="bootstrap"``.
      max_restarts: give up above this many (the answer is then this).

    Returns:
      n, restarts per initializer (at least 2; 4 for the IQM).

    Raises:
      ValueError: a zero difference, power or confidence outside (0, 1),
        pilots of fewer than 4 finite values, unknown statistic or method.
      TypeError: non-numeric arguments.

    Example:
      >>> pilot = np.random.default_rng(0).normal(0.97, 0.005, 64)
      >>> restarts_needed(pilot, difference=0.001)   # 0.1 pp: several hundred

    References:
      Colas, Sigaud & Oudeyer (2018), "How many random seeds?"; Yuen (1974);
      Cohen (1988), "Statistical power analysis for the behavioral sciences".
    """
    where = "restarts_needed"
    difference, power_, alpha = _common(difference, power, confidence, where)
    max_restarts = _checks.integer(max_restarts, "max_restarts", low=4, where=where)
    v_a, v_b = _variances(a, b, statistic, method, rng, n_resamples)
    low = 2 if statistic == "mean" else 4
    if _power_of(max_restarts, v_a, v_b, difference, alpha, statistic) < power_:
        return max_restarts
    # Power grows with n: bisect on [low, max_restarts].
    lo, hi = low, max_restarts
    while lo < hi:
        mid = (lo + hi) // 2
        if _power_of(mid, v_a, v_b, difference, alpha, statistic) >= power_:
            hi = mid
        else:
            lo = mid + 1
    return int(lo)


def minimum_difference(
    a: Any,
    b: Any = None,
    *,
    n: int,
    statistic: Statistic = "mean",
    power: float = 0.8,
    confidence: float = 0.95,
    method: Literal["formula", "bootstrap"] = "formula",
    rng: RNG = 0,
    n_resamples: int = 2000,
) -> float:
    """The smallest difference that n restarts per initializer resolve.

    The difference whose :func:`power_at` with n restarts is ``power`` (found by
    bisection; about ``(z_{1-alpha/2} + z_power) sqrt((v_a + v_b) / n)``).

    Args:
      a, b, statistic, power, confidence, method, rng, n_resamples: as
        :func:`restarts_needed`.
      n: restarts per initializer.

    Returns:
      The difference, in the metric's units (> 0; 0 when the pilots have no
      spread).

    Example:
      >>> minimum_difference(np.random.default_rng(0).normal(0, 1, 500), n=64)
    """
    where = "minimum_difference"
    _, power_, alpha = _common(1.0, power, confidence, where)
    n = _checks.integer(n, "n", low=2, where=where)
    v_a, v_b = _variances(a, b, statistic, method, rng, n_resamples)
    if v_a + v_b == 0:
        return 0.0
    lo, hi = 0.0, 1.0
    while _power_of(n, v_a, v_b, hi, alpha, statistic) < power_:
        hi *= 2.0
    for _ in range(60):  # 2^-60 of the bracket: exact to float precision
        mid = (lo + hi) / 2
        if _power_of(n, v_a, v_b, mid, alpha, statistic) >= power_:
            hi = mid
        else:
            lo = mid
    return float(hi)


def expected_interval_width(
    values: Any,
    n: int,
    *,
    statistic: Statistic = "mean",
    confidence: float = 0.95,
    method: Literal["formula", "simulation"] = "formula",
    rng: RNG = 0,
    n_simulations: int = 200,
    n_resamples: int = 1000,
) -> float:
    """The width of the interval of the statistic to expect from n restarts.

    ``method="formula"``: ``2 z_{(1+confidence)/2} sqrt(v / n)`` with ``v``
    from :func:`per_restart_variance` (the width of a normal interval, which
    a percentile bootstrap approaches as n grows). ``method="simulation"``:
    ``n_simulations`` times, draw n restarts from the pilot with replacement
    and compute the percentile-bootstrap interval that
    :func:`initlab.stats.summarize` would report (``n_resamples``
    resamples); return the mean width. The simulation also sees what the
    formula cannot (skewness, few distinct values) but costs
    ``n_simulations x n_resamples`` statistics.

    Args:
      values: (m,) pilot outcomes of one initializer, m >= 4.
      n: restarts of the run to plan (>= 2).
      statistic: "mean" or "iqm".
      confidence: coverage of the interval. Default 0.95.
      method: "formula" (default) or "simulation".
      rng: seed or Generator (simulation).
      n_simulations, n_resamples: sizes of the simulation.

    Returns:
      The expected width, in the metric's units.

    Raises:
      ValueError / TypeError: bad arguments.

    Example:
      >>> pilot = np.random.default_rng(0).normal(0.97, 0.005, 64)
      >>> expected_interval_width(pilot, 256)   # about 2 * 1.96 * 0.005 / 16

    References:
      Efron & Tibshirani (1993), ch. 13 (percentile intervals).
    """
    where = "expected_interval_width"
    x = check_values(values, "pilot values", min_n=4)
    n = _checks.integer(n, "n", low=2, where=where)
    confidence = _check_confidence(confidence)
    method = _checks.choice(method, ("formula", "simulation"), "method", where=where)
    statistic = _checks.choice(statistic, STATISTICS, "statistic", where=where)
    if method == "formula":
        v = per_restart_variance(x, statistic)
        return float(2 * scipy.stats.norm.ppf((1 + confidence) / 2) * math.sqrt(v / n))
    n_simulations = _checks.positive_int(n_simulations, "n_simulations", where=where)
    n_resamples = _checks.positive_int(n_resamples, "n_resamples", where=where)
    gen = as_rng(rng)
    stat = _statistic_fn(statistic)
    alpha = (1 - confidence) / 2
    widths = np.empty(n_simulations)
    for i in range(n_simulations):
        sample = x[gen.integers(0, x.size, n)]
        boot = stat(sample[gen.integers(0, n, (n_resamples, n))], axis=-1)
        low, high = np.quantile(boot, [alpha, 1 - alpha])
        widths[i] = high - low
    return float(np.mean(widths))
