"""Bootstrap confidence intervals over restarts (plain, stratified, BCa)."""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.special
import scipy.stats

from initlab.stats._checks import (
    RNG,
    Method,
    _check_confidence,
    _check_method,
    _check_n_resamples,
    as_rng,
    check_values,
)


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
    x = check_values(values, min_n=2)
    confidence = _check_confidence(confidence)
    n_resamples = _check_n_resamples(n_resamples)
    method = _check_method(method)
    gen = as_rng(rng)
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
