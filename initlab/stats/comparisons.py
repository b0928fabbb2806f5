"""Comparing initializers: probability of improvement (pairs, the best, every pair)
and performance profiles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
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
from initlab.stats.bootstrap import _scipy_bootstrap
from initlab.stats.estimates import _wilson, iqm

if TYPE_CHECKING:
    import pandas as pd

    from initlab.outcomes import Outcomes


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
    a = check_values(x, "x", min_n=2)
    b = check_values(y, "y", min_n=2)
    confidence = _check_confidence(confidence)
    n_resamples = _check_n_resamples(n_resamples)
    method = _check_method(method)
    if not higher_is_better:
        a, b = -a, -b
    low, high = _scipy_bootstrap(
        (a, b), _prob_greater, as_rng(rng), confidence, n_resamples, method
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
    x = check_values(values)
    t = check_values(np.atleast_1d(np.asarray(thresholds, np.float64)), "thresholds")
    confidence = _check_confidence(confidence)
    if higher_is_better:
        hits = np.sum(x[None, :] > t[:, None], axis=1)
    else:
        hits = np.sum(x[None, :] < t[:, None], axis=1)
    bands = np.array([_wilson(h, x.size, confidence) for h in hits])
    return hits / x.size, bands[:, 0], bands[:, 1]


def compare_with_best(
    outcomes: Outcomes,
    metric: str,
    *,
    rng: RNG,
    table: pd.DataFrame | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
) -> tuple[str | None, dict[str, tuple[float, float, float]]]:
    """The best initializer by IQM, and its probability of beating each other one.

    Initializers with fewer than 2 kept (non-diverged) restarts take no part.
    The best is the one with the highest IQM (lowest for a lower-is-better
    metric); each other one gets :func:`probability_of_improvement` of a
    restart of the best over one of its own, with a bootstrap interval. Each
    comparison draws from its own child generator of ``rng``.

    Args:
      outcomes: the run.
      metric: a final metric.
      rng: int seed or ``np.random.Generator``.
      table: a :func:`initlab.stats.summary_table` of ``outcomes`` and
        ``metric`` (its ``initializer``, ``n`` and ``iqm`` columns pick the
        best); default: the IQM of each initializer's kept restarts.
      confidence, n_resamples: as in :func:`bootstrap_ci`.

    Returns:
      ``(best, {label: (p, low, high)})`` with the other labels in table order;
      ``(None, {})`` when fewer than 2 initializers have 2 restarts.

    Raises:
      KeyError: unknown metric. ValueError: ``table`` lacks a column, non-finite
      values in restarts not flagged as diverged, bad confidence.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> best, p = compare_with_best(outcomes, "test_accuracy", rng=0)
      >>> p["zeros"]  # (P(best beats zeros), low, high)

    References:
      Agarwal et al. (2021), "Deep RL at the edge of the statistical precipice".
    """
    import pandas as pd

    if metric not in outcomes.final:
        raise KeyError(f"unknown metric {metric!r}; available: {outcomes.metrics}.")
    confidence = _check_confidence(confidence)
    n_resamples = _check_n_resamples(n_resamples)
    if table is None:
        rows = []
        for label in outcomes.labels:
            x = check_values(
                outcomes.values(metric, label), f"{metric} of {label!r}", min_n=0
            )
            middle = iqm(x) if x.size else np.nan
            rows.append({"initializer": label, "n": x.size, "iqm": middle})
        table = pd.DataFrame(rows)
    missing = {"initializer", "n", "iqm"} - set(table.columns)
    if missing:
        raise ValueError(
            f"table lacks column(s) {sorted(missing)}; pass what "
            "initlab.stats.summary_table returns (or table=None)."
        )
    higher = outcomes.higher_is_better(metric)
    kept = table[table["n"] >= 2]
    if len(kept) < 2:
        return None, {}
    best = kept.sort_values("iqm", ascending=not higher).iloc[0]["initializer"]
    x = outcomes.values(metric, best)
    others = [lab for lab in kept["initializer"] if lab != best]
    children = as_rng(rng).spawn(len(others))
    return best, {
        label: probability_of_improvement(
            x,
            outcomes.values(metric, label),
            rng=child,
            higher_is_better=higher,
            confidence=confidence,
            n_resamples=n_resamples,
        )
        for label, child in zip(others, children, strict=True)
    }


def improvement_matrix(
    data: Outcomes | Mapping[str, Any],
    metric: str | None = None,
    *,
    rng: RNG,
    labels: Sequence[str] | None = None,
    higher_is_better: bool | None = None,
    confidence: float = 0.95,
    n_resamples: int = 2000,
) -> dict[str, Any]:
    """Probability of improvement between every pair of initializers.

    ``p[i, j]`` is :func:`probability_of_improvement` of a restart of
    ``labels[i]`` over one of ``labels[j]`` (0.5 = no difference), with its
    percentile-bootstrap interval ``[low[i, j], high[i, j]]``. Each pair
    ``i < j`` is resampled once, from its own child generator of ``rng``;
    ``p[j, i] = 1 - p[i, j]`` with the interval mirrored, which is exact: on
    every resample the two probabilities add up to 1 (ties count half). The
    diagonal is 0.5 with a NaN interval.

    Args:
      data: an Outcomes (with ``metric``; diverged restarts left out) or a
        mapping label -> (R,) finite values.
      metric: the final metric (for Outcomes).
      rng: int seed or ``np.random.Generator``.
      labels: which initializers, in which order (default: all, in order);
        each needs at least 2 values.
      higher_is_better: the metric's direction; default from the Outcomes
        (True for a mapping).
      confidence, n_resamples: as in :func:`bootstrap_ci`.

    Returns:
      ``{"labels": [...], "p": (N, N), "low": (N, N), "high": (N, N),
      "confidence": ..., "higher_is_better": ...}``.

    Raises:
      KeyError: unknown metric or label. ValueError: fewer than 2 labels, a
      label with fewer than 2 values, bad confidence.

    Example:
      >>> m = improvement_matrix({"a": [3, 4, 5], "b": [1, 2, 3]}, rng=0)
      >>> float(m["p"][0, 1])  # P(a beats b) = (8 + 0.5) / 9
      0.9444444444444444

    References:
      Agarwal et al. (2021), "Deep RL at the edge of the statistical precipice".
    """
    from initlab.outcomes import Outcomes

    if isinstance(data, Outcomes):
        if metric is None or metric not in data.final:
            raise KeyError(f"unknown metric {metric!r}; available: {data.metrics}.")
        pool = {lab: data.values(metric, lab) for lab in data.labels}
        higher = (
            data.higher_is_better(metric)
            if higher_is_better is None
            else bool(higher_is_better)
        )
    elif isinstance(data, Mapping):
        pool = {str(k): v for k, v in data.items()}
        higher = True if higher_is_better is None else bool(higher_is_better)
    else:
        raise TypeError(
            "data must be an Outcomes (with a metric) or a mapping label -> values, "
            f"got {type(data).__name__}."
        )
    names = list(pool) if labels is None else [str(lab) for lab in labels]
    unknown = [lab for lab in names if lab not in pool]
    if unknown:
        raise KeyError(f"unknown label(s) {unknown}; available: {list(pool)}.")
    if len(names) < 2:
        raise ValueError(f"need at least 2 labels to compare, got {names}.")
    values = {
        lab: check_values(pool[lab], f"values of {lab!r}", min_n=2) for lab in names
    }
    confidence = _check_confidence(confidence)
    n_resamples = _check_n_resamples(n_resamples)
    n = len(names)
    p = np.full((n, n), 0.5)
    low = np.full((n, n), np.nan)
    high = np.full((n, n), np.nan)
    pairs = [(i, j) for i in range(n) for j in range(i + 1, n)]
    children = as_rng(rng).spawn(len(pairs))
    for (i, j), child in zip(pairs, children, strict=True):
        p[i, j], low[i, j], high[i, j] = probability_of_improvement(
            values[names[i]],
            values[names[j]],
            rng=child,
            higher_is_better=higher,
            confidence=confidence,
            n_resamples=n_resamples,
        )
        p[j, i], low[j, i], high[j, i] = 1 - p[i, j], 1 - high[i, j], 1 - low[i, j]
    return {"labels": names, "p": p, "low": low, "high": high,
            "confidence": confidence, "higher_is_better": higher}  # fmt: skip
