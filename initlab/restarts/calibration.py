"""Calibration: does a confidence of 0.9 come true 90 % of the time?

:func:`expected_calibration_error` (ECE with equal-width confidence bins) of
one model or a stack of them, and :func:`reliability` (the per-bin table a
reliability diagram draws). Both read full class probabilities: a restart's
confidence is the probability of its predicted class, which compact
predictions (the probability of the *true* class) do not hold when the
prediction is wrong.

References:
  Naeini, Cooper & Hauskrecht (2015), "Obtaining well calibrated
  probabilities using Bayesian binning", AAAI. Guo, Pleiss, Sun & Weinberger
  (2017), "On calibration of modern neural networks", ICML (15 bins).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from initlab import _checks

#: Bins of Guo et al. (2017).
N_BINS = 15


def _check(probs: Any, labels: Any, n_bins: Any, where: str):
    p = np.asarray(probs, np.float64)
    y = np.asarray(labels).reshape(-1)
    n_bins = _checks.positive_int(n_bins, "n_bins", where=where)
    if p.ndim < 2 or p.shape[-2] != y.size or p.shape[-1] < 2:
        raise ValueError(
            f"{where}: probs must be (..., M, C) with M = {y.size} examples and "
            f"C >= 2 classes; got {p.shape}."
        )
    if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1 + 1e-6:
        raise ValueError(f"{where}: probs must be probabilities in [0, 1].")
    if not np.issubdtype(y.dtype, np.integer) or y.min() < 0 or y.max() >= p.shape[-1]:
        raise ValueError(
            f"{where}: labels must be integer classes in 0..{p.shape[-1] - 1}."
        )
    return p, y.astype(np.int64), n_bins


def _binned(p: np.ndarray, y: np.ndarray, n_bins: int):
    """Per model and bin: count, summed confidence, summed correctness.

    Bin b holds confidences in [b / n_bins, (b + 1) / n_bins) (the last bin
    also holds 1.0). Returns three (K, n_bins) arrays for K = prod(batch).
    """
    flat = p.reshape(-1, *p.shape[-2:])  # (K, M, C)
    conf = flat.max(axis=-1)
    correct = (flat.argmax(axis=-1) == y[None, :]).astype(np.float64)
    b = np.minimum((conf * n_bins).astype(np.int64), n_bins - 1)
    index = (np.arange(flat.shape[0])[:, None] * n_bins + b).reshape(-1)
    size = flat.shape[0] * n_bins
    count = np.bincount(index, minlength=size).reshape(-1, n_bins)
    sum_conf = np.bincount(index, conf.reshape(-1), size).reshape(-1, n_bins)
    sum_correct = np.bincount(index, correct.reshape(-1), size).reshape(-1, n_bins)
    return count, sum_conf, sum_correct


def expected_calibration_error(probs: Any, labels: Any, *, n_bins: int = N_BINS):
    """ECE: the mean |accuracy - confidence| over equal-width confidence bins.

    ``ECE = sum_b (n_b / M) |acc_b - conf_b|``: confidence is the probability
    of the predicted class (the argmax), bins are ``[b/B, (b+1)/B)``, acc_b
    and conf_b the mean correctness and confidence of the examples in bin b.
    0 is perfect calibration; an always-confident wrong model has ECE near 1.

    Args:
      probs: (M, C) probabilities of one model, or (..., M, C) of many.
      labels: (M,) true classes.
      n_bins: B (default 15, as Guo et al. 2017).

    Returns:
      A float for one model; an array of the batch shape for many.

    Raises:
      ValueError: shapes that do not fit, values outside [0, 1], bad labels.

    Example:
      >>> expected_calibration_error([[0.9, 0.1], [0.9, 0.1]], [0, 1])
      0.4

    References:
      Naeini et al. (2015); Guo et al. (2017).
    """
    p, y, n_bins = _check(probs, labels, n_bins, "expected_calibration_error")
    count, sum_conf, sum_correct = _binned(p, y, n_bins)
    ece = np.abs(sum_correct - sum_conf).sum(axis=-1) / y.size
    if p.ndim == 2:
        return float(ece[0])
    return ece.reshape(p.shape[:-2])


def reliability(probs: Any, labels: Any, *, n_bins: int = N_BINS) -> pd.DataFrame:
    """The reliability diagram's table: per confidence bin, how often right.

    Args:
      probs: (M, C) of one model, or (R, M, C): then the bins pool every
        restart's examples (the reliability of a typical single restart).
      labels: (M,) true classes.
      n_bins: equal-width bins (default 15).

    Returns:
      One row per bin: ``bin``, ``low``, ``high`` (its edges), ``count``,
      ``confidence`` and ``accuracy`` (means over its examples; NaN when
      empty) and ``share`` (its fraction of all examples).

    Example:
      >>> reliability([[0.9, 0.1], [0.6, 0.4]], [0, 1], n_bins=5)["count"].sum()
      2
    """
    p, y, n_bins = _check(probs, labels, n_bins, "reliability")
    count, sum_conf, sum_correct = (a.sum(axis=0) for a in _binned(p, y, n_bins))
    with np.errstate(invalid="ignore", divide="ignore"):
        conf = np.where(count > 0, sum_conf / np.maximum(count, 1), np.nan)
        acc = np.where(count > 0, sum_correct / np.maximum(count, 1), np.nan)
    edges = np.arange(n_bins + 1) / n_bins
    return pd.DataFrame(
        {
            "bin": np.arange(n_bins),
            "low": edges[:-1],
            "high": edges[1:],
            "count": count.astype(np.int64),
            "confidence": conf,
            "accuracy": acc,
            "share": count / count.sum(),
        }
    )
