"""Ensembles of restarts: what averaging k of them buys, with intervals.

:func:`ensemble_metrics` scores given ensembles (sets of restarts);
:func:`ensemble_curve` estimates the expected accuracy, NLL and calibration
error of an ensemble of k random restarts for every k, from one run.

An ensemble combines its members' predictions in one of two ways:

* ``"mean"``: average the class probabilities, predict the argmax (deep
  ensembles; needs full probabilities, :func:`initlab.restarts.predict`);
* ``"vote"``: the plurality of the predicted classes (compact predictions
  suffice); a tie between classes credits the fraction of tied classes that
  are right (the expected accuracy of breaking ties at random).

Its NLL is ``mean_m -log(mean_members p_true)`` either way (the mean of the
members' probabilities of the true class), with probabilities floored at the
smallest normal float32 (an NLL of at most 87.3 per example).

References:
  Lakshminarayanan, Pritzel & Blundell (2017), "Simple and scalable
  predictive uncertainty estimation using deep ensembles", NeurIPS.
  Hoeffding (1948), "A class of statistics with asymptotically normal
  distribution", Ann. Math. Stat. 19; Hoeffding (1963), "Probability
  inequalities for sums of bounded random variables", JASA 58 (the variance
  of a U-statistic is at most that of the mean of disjoint blocks).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats

from initlab import _checks
from initlab.restarts.calibration import N_BINS, expected_calibration_error
from initlab.restarts.predictions import RestartPredictions
from initlab.stats import RNG, as_rng

METRICS = ("accuracy", "nll", "ece")
COMBINES = ("auto", "mean", "vote")
# Probabilities are floored here before the log (float32's smallest normal).
_FLOOR = float(np.finfo(np.float32).tiny)
# Elements (subsets x members x examples x classes) gathered at once.
_BLOCK = 2_000_000


def _combine(preds: RestartPredictions, combine: str, where: str) -> str:
    combine = _checks.choice(combine, COMBINES, "combine", where=where)
    if combine == "auto":
        return "mean" if preds.probs is not None else "vote"
    if combine == "mean" and preds.probs is None:
        raise ValueError(
            f"{where}: combine='mean' averages class probabilities, which these "
            "predictions do not hold (compact storage); compute them with "
            "initlab.restarts.predict(model, outcomes.final_params, x, y) "
            "(keep_params=True), or use combine='vote'."
        )
    return combine


def _metrics(metrics: Sequence[str] | None, preds, combine: str, where: str):
    if metrics is None:
        return ("accuracy", "nll", "ece") if combine == "mean" else ("accuracy", "nll")
    if isinstance(metrics, str):
        metrics = (metrics,)
    out = tuple(_checks.choice(m, METRICS, "metric", where=where) for m in metrics)
    if "ece" in out and (combine != "mean" or preds.probs is None):
        raise ValueError(
            f"{where}: 'ece' needs full probabilities and combine='mean' (the "
            "confidence of a wrong prediction is not stored compactly); use "
            "initlab.restarts.predict to compute them."
        )
    return out


def ensemble_metrics(
    preds: RestartPredictions,
    members: Any,
    *,
    metrics: Sequence[str] | None = None,
    combine: str = "auto",
    n_bins: int = N_BINS,
) -> dict[str, np.ndarray]:
    """The metrics of given ensembles: each row of ``members`` is one.

    Args:
      preds: the restarts' predictions.
      members: (S, k) restart indices, one ensemble per row (a (k,) array is
        one ensemble); indices may repeat within a row (weights).
      metrics: some of "accuracy", "nll", "ece" (default: every one the
        predictions allow).
      combine: "mean", "vote" or "auto" (mean when probabilities are held).
      n_bins: calibration bins for "ece".

    Returns:
      metric -> (S,) values.

    Raises:
      ValueError: indices out of range, or a metric / combine the
        predictions cannot give (the message says how to get them).

    Example:
      >>> preds = RestartPredictions(labels=np.array([0, 1, 1]),
      ...     predicted=np.array([[0, 1, 0], [0, 0, 1], [1, 1, 1]]),
      ...     p_true=np.array([[0.9, 0.6, 0.4], [0.8, 0.3, 0.7], [0.2, 0.9, 0.8]]),
      ...     num_classes=2)
      >>> ensemble_metrics(preds, [[0, 1, 2]])["accuracy"]   # majority vote
    """
    where = "ensemble_metrics"
    combine = _combine(preds, combine, where)
    metrics = _metrics(metrics, preds, combine, where)
    m = np.asarray(members)
    if m.ndim == 1:
        m = m[None, :]
    if m.ndim != 2 or m.shape[1] < 1 or not np.issubdtype(m.dtype, np.integer):
        raise ValueError(f"{where}: members must be (S, k) ints; got {m.shape}.")
    if m.min() < 0 or m.max() >= preds.num_restarts:
        raise ValueError(
            f"{where}: members must index the {preds.num_restarts} restarts."
        )
    s, k = m.shape
    out = {name: np.empty(s) for name in metrics}
    c, n_ex = preds.num_classes, preds.num_examples
    step = max(1, _BLOCK // (k * n_ex * c))
    labels = preds.labels
    for lo in range(0, s, step):
        rows = m[lo : lo + step]
        if "nll" in metrics:
            p = preds.p_true[rows].mean(axis=1)  # (s', M)
            out["nll"][lo : lo + step] = -np.log(np.maximum(p, _FLOOR)).mean(axis=1)
        if "accuracy" not in metrics and "ece" not in metrics:
            continue
        if combine == "mean":
            probs = preds.probs[rows].mean(axis=1)  # (s', M, C)
            if "accuracy" in metrics:
                hit = probs.argmax(axis=-1) == labels[None, :]
                out["accuracy"][lo : lo + step] = hit.mean(axis=1)
            if "ece" in metrics:
                out["ece"][lo : lo + step] = np.atleast_1d(
                    expected_calibration_error(probs, labels, n_bins=n_bins)
                )
        else:
            cls = preds.predicted[rows]  # (s', k, M)
            votes = (cls[..., None] == np.arange(c)).sum(axis=1)  # (s', M, C)
            top = votes.max(axis=-1, keepdims=True)
            tied = (votes == top).sum(axis=-1)
            true_top = np.take_along_axis(votes, labels[None, :, None], -1)[..., 0]
            credit = (true_top == top[..., 0]) / tied
            out["accuracy"][lo : lo + step] = credit.mean(axis=1)
    return out


def _ks(ks: Any, r: int) -> np.ndarray:
    if ks is None:
        powers = [2**i for i in range(int(math.log2(r)) + 1)]
        return np.asarray(sorted({*powers, r}), np.int64)
    values = np.atleast_1d(np.asarray(ks))
    if (
        values.ndim != 1
        or values.size == 0
        or not np.issubdtype(values.dtype, np.integer)
    ):
        raise TypeError(f"ensemble_curve: ks must be ints; got {ks!r}.")
    if values.min() < 1 or values.max() > r:
        raise ValueError(
            f"ensemble_curve: every k must be in 1..{r} (the restarts held); got "
            f"{values.tolist()}."
        )
    return np.unique(values.astype(np.int64))


def ensemble_curve(
    preds: RestartPredictions,
    ks: Any = None,
    *,
    metrics: Sequence[str] | None = None,
    combine: str = "auto",
    n_subsets: int = 200,
    confidence: float = 0.95,
    n_bins: int = N_BINS,
    rng: RNG,
) -> pd.DataFrame:
    """Expected metrics of an ensemble of k random restarts, for each k.

    For each k, random partitions of the R restarts into ``G = floor(R / k)``
    disjoint ensembles of k (the rest of a partition left out), drawn until
    at least ``n_subsets`` ensembles are scored (at least one partition):
    every ensemble is a uniformly random set of k distinct restarts, so their
    mean estimates the expected metric of a k-ensemble. k = 1 (every restart
    once) and k = R (the whole pool) are exact.

    Interval (k <= R/2): ``mean +- t_{G-1} s_k / sqrt(G)``, with ``s_k^2``
    the variance of the ensembles within a partition (averaged over
    partitions). The G ensembles of one partition are independent draws, and
    the mean over all k-subsets (the U-statistic this estimates) has at most
    the variance of their mean (Hoeffding 1963), so the interval is
    conservative; at k = 1 it is the usual t-interval of the mean over
    restarts. Beyond R/2 the pool holds fewer than two independent
    ensembles of k: no interval (NaN). ``spread_low`` / ``spread_high`` are
    the 2.5 / 97.5 % quantiles of single k-ensembles (what one ensemble of k
    gives), also for k <= R/2 only.

    Args:
      preds: the restarts' predictions (:func:`initlab.restarts.from_outcomes`
        or :func:`initlab.restarts.predict`).
      ks: ensemble sizes (default 1, 2, 4, ... and R).
      metrics: as :func:`ensemble_metrics`.
      combine: as :func:`ensemble_metrics`.
      n_subsets: ensembles scored per k (at least).
      confidence: coverage of the intervals.
      n_bins: calibration bins.
      rng: seed or Generator of the partitions.

    Returns:
      One row per (k, metric): ``k``, ``metric``, ``value``, ``low``,
      ``high``, ``spread_low``, ``spread_high``, ``n_groups`` (G),
      ``n_subsets`` (ensembles scored), ``combine``.

    Raises:
      ValueError / TypeError: bad ks, metrics or combine.

    Example:
      >>> preds = RestartPredictions(labels=np.array([0, 1, 1]),
      ...     predicted=np.array([[0, 1, 0], [0, 0, 1], [1, 1, 1]]),
      ...     p_true=np.array([[0.9, 0.6, 0.4], [0.8, 0.3, 0.7], [0.2, 0.9, 0.8]]),
      ...     num_classes=2)
      >>> curve = ensemble_curve(preds, rng=0)
      >>> curve[curve.metric == "accuracy"][["k", "value", "low", "high"]]

    References:
      Lakshminarayanan et al. (2017); Hoeffding (1963).
    """
    where = "ensemble_curve"
    combine = _combine(preds, combine, where)
    metrics = _metrics(metrics, preds, combine, where)
    n_subsets = _checks.positive_int(n_subsets, "n_subsets", where=where)
    confidence = _checks.number(confidence, "confidence", where=where)
    if not 0 < confidence < 1:
        raise ValueError(f"{where}: confidence must be in (0, 1); got {confidence}.")
    gen = as_rng(rng)
    r = preds.num_restarts
    rows = []
    for k in _ks(ks, r):
        g = r // k
        n_part = max(1, math.ceil(n_subsets / g))
        perms = np.argsort(gen.random((n_part, r)), axis=1)[:, : g * k]
        members = perms.reshape(n_part * g, k)
        values = ensemble_metrics(
            preds, members, metrics=metrics, combine=combine, n_bins=n_bins
        )
        for name in metrics:
            v = values[name]
            row = dict(
                k=int(k),
                metric=name,
                value=float(v.mean()),
                low=np.nan,
                high=np.nan,
                spread_low=np.nan,
                spread_high=np.nan,
                n_groups=int(g),
                n_subsets=int(v.size),
                combine=combine,
            )
            if g >= 2:
                s2 = v.reshape(n_part, g).var(axis=1, ddof=1).mean()
                half = scipy.stats.t.ppf((1 + confidence) / 2, g - 1) * math.sqrt(
                    s2 / g
                )
                row.update(low=row["value"] - half, high=row["value"] + half)
                alpha = (1 - confidence) / 2
                spread = np.quantile(v, [alpha, 1 - alpha])
                row["spread_low"], row["spread_high"] = spread
            rows.append(row)
    return pd.DataFrame(rows)
