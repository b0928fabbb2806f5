"""Do restarts make the same mistakes? Disagreement, churn, per-example agreement.

Between two restarts i and j, over the M test examples:

* :func:`pairwise_disagreement`: the fraction of examples on which their
  predicted classes differ (prediction *churn*, Milani Fard et al. 2016);
* :func:`pairwise_churn`: the fraction on which exactly one of them is right
  (a change a user of the model sees as a fix or a regression);
* :func:`error_consistency`: Cohen's kappa of their correctness, the
  agreement beyond what two independent models of their accuracies would
  share (0: independent errors, 1: the same errors; Geirhos et al. 2020).

:func:`pair_mean` averages a pairwise matrix over distinct pairs with an
interval; :func:`agreement` asks, per example, how many restarts get it right,
against the binomial that holds if every example were equally hard and the
restarts independent.

References:
  Milani Fard, Cormier, Canini & Gupta (2016), "Launch and iterate: reducing
  prediction churn", NeurIPS. Geirhos, Meding & Wichmann (2020), "Beyond
  accuracy: quantifying trial-by-trial behaviour of CNNs and humans by
  measuring error consistency", NeurIPS. Hoeffding (1948) (U-statistics).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import scipy.stats

from initlab import _checks
from initlab.stats import RNG, as_rng


def _matrix(values: Any, what: str, where: str, boolean: bool) -> np.ndarray:
    a = np.asarray(values)
    if a.ndim != 2 or a.shape[0] < 1 or a.shape[1] < 1:
        raise ValueError(
            f"{where}: {what} must be (R, M): restarts x examples; got {a.shape}."
        )
    if boolean and a.dtype != bool:
        raise TypeError(f"{where}: {what} must be bool (R, M); got {a.dtype}.")
    if not boolean and not np.issubdtype(a.dtype, np.integer):
        raise TypeError(f"{where}: {what} must be integer classes; got {a.dtype}.")
    return a


def pairwise_disagreement(predicted: Any) -> np.ndarray:
    """(R, R): the fraction of examples where restarts i and j predict differently.

    Args:
      predicted: (R, M) predicted classes (``RestartPredictions.predicted``
        or ``per_example["test_predicted"]``).

    Returns:
      A symmetric (R, R) matrix with a zero diagonal.

    Example:
      >>> pairwise_disagreement([[0, 1, 2], [0, 2, 2]])[0, 1]
      0.3333333333333333

    References:
      Milani Fard et al. (2016).
    """
    a = _matrix(predicted, "predicted", "pairwise_disagreement", boolean=False)
    classes = np.unique(a)
    agree = np.zeros((a.shape[0], a.shape[0]))
    for c in classes:  # sum over classes of [i predicts c][j predicts c]
        hit = (a == c).astype(np.float64)
        agree += hit @ hit.T
    return 1.0 - agree / a.shape[1]


def pairwise_churn(correct: Any) -> np.ndarray:
    """(R, R): the fraction of examples that exactly one of i and j gets right.

    Args:
      correct: (R, M) bool (``per_example["test_correct"]``).

    Returns:
      A symmetric (R, R) matrix with a zero diagonal.

    Example:
      >>> pairwise_churn(np.array([[True, True], [True, False]]))[0, 1]
      0.5
    """
    c = _matrix(correct, "correct", "pairwise_churn", boolean=True).astype(np.float64)
    both = c @ c.T
    ones = c.sum(axis=1)
    return (ones[:, None] + ones[None, :] - 2 * both) / c.shape[1]


def error_consistency(correct: Any) -> np.ndarray:
    """(R, R): Cohen's kappa of two restarts' correctness (same errors beyond chance).

    ``kappa = (c_obs - c_exp) / (1 - c_exp)`` with ``c_obs`` the fraction of
    examples both get right or both wrong and ``c_exp = p_i p_j + (1 - p_i)(1 -
    p_j)`` what two independent models of accuracies p_i, p_j would share. NaN
    where ``c_exp = 1`` (a restart right or wrong on everything).

    Args:
      correct: (R, M) bool.

    Returns:
      A symmetric (R, R) matrix (1 on the diagonal where defined).

    Example:
      >>> k = error_consistency(np.array([[True, False, True, False]] * 2))
      >>> k[0, 1]
      1.0

    References:
      Geirhos, Meding & Wichmann (2020).
    """
    c = _matrix(correct, "correct", "error_consistency", boolean=True).astype(
        np.float64
    )
    m = c.shape[1]
    both_right = c @ c.T
    both_wrong = (1 - c) @ (1 - c).T
    observed = (both_right + both_wrong) / m
    p = c.mean(axis=1)
    expected = p[:, None] * p[None, :] + (1 - p[:, None]) * (1 - p[None, :])
    with np.errstate(invalid="ignore", divide="ignore"):
        kappa = (observed - expected) / (1 - expected)
    return np.where(np.isclose(expected, 1.0), np.nan, kappa)


def pair_mean(matrix: Any, *, confidence: float = 0.95) -> tuple[float, float, float]:
    """Mean of a pairwise matrix over distinct pairs i < j, with an interval.

    The mean over pairs is a U-statistic of degree 2 in the restarts; its
    variance is ``(4 (R - 2) zeta_1 + 2 zeta_2) / (R (R - 1))`` (Hoeffding
    1948), with ``zeta_1`` the variance over restarts of their mean against the
    others (plugged in from the rows) and ``zeta_2`` the variance over pairs.
    The interval is the normal one, clipped to the range of the pairs'
    values. NaN entries (undefined pairs) are left out.

    Args:
      matrix: (R, R) symmetric, R >= 3 (e.g. :func:`pairwise_disagreement`).
      confidence: coverage. Default 0.95.

    Returns:
      ``(mean, low, high)``.

    Raises:
      ValueError: not square, fewer than 3 restarts, or no defined pair.

    Example:
      >>> predicted = np.random.default_rng(0).integers(0, 3, (5, 100))
      >>> mean, low, high = pair_mean(pairwise_disagreement(predicted))

    References:
      Hoeffding (1948), "A class of statistics with asymptotically normal
      distribution", Ann. Math. Stat. 19.
    """
    d = np.asarray(matrix, np.float64)
    if d.ndim != 2 or d.shape[0] != d.shape[1] or d.shape[0] < 3:
        raise ValueError(
            f"pair_mean: matrix must be (R, R) with R >= 3; got {d.shape}."
        )
    confidence = _checks.number(confidence, "confidence", where="pair_mean")
    r = d.shape[0]
    off = ~np.eye(r, dtype=bool)
    upper = d[np.triu_indices(r, 1)]
    if not np.isfinite(upper).any():
        raise ValueError("pair_mean: no pair has a defined value.")
    mean = float(np.nanmean(upper))
    with np.errstate(invalid="ignore"):
        rows = np.nanmean(np.where(off, d, np.nan), axis=1)
    zeta1 = float(np.nanvar(rows, ddof=1)) if np.isfinite(rows).sum() > 1 else 0.0
    zeta2 = float(np.nanvar(upper, ddof=1)) if np.isfinite(upper).sum() > 1 else 0.0
    var = (4 * (r - 2) * zeta1 + 2 * zeta2) / (r * (r - 1))
    half = scipy.stats.norm.ppf((1 + confidence) / 2) * math.sqrt(max(var, 0.0))
    # A mean of the pairs cannot leave their range: clip the normal interval.
    lo, hi = float(np.nanmin(upper)), float(np.nanmax(upper))
    return mean, max(mean - half, lo), min(mean + half, hi)


def _rho(counts: np.ndarray, r: int) -> float:
    """Intraclass correlation of correctness from per-example counts (M,)."""
    p = counts.mean() / r
    binomial = r * p * (1 - p)
    if binomial == 0 or r < 2:
        return float("nan")
    return float((counts.var() / binomial - 1) / (r - 1))


def agreement(
    correct: Any,
    *,
    rng: RNG,
    confidence: float = 0.95,
    n_resamples: int = 1000,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """How many restarts get each example right, against the binomial.

    If every example were equally hard (accuracy p̄ = the mean over restarts
    and examples) and restarts erred independently, the number of restarts
    right on an example would be Binomial(R, p̄). Restarts that make the same
    mistakes pile the examples up at 0 and R instead. The summary says how
    much: ``rho``, the intraclass correlation of correctness (``(var(counts) /
    (R p̄ (1 - p̄)) - 1) / (R - 1)``: 0 = binomial, 1 = every restart right
    on the same examples; the overdispersion of a beta-binomial), and the
    fractions of examples no restart / every restart gets right against the
    binomial's ``(1 - p̄)^R`` and ``p̄^R``. Intervals: percentile bootstrap
    over the test examples, the restarts held fixed (resampling restarts
    would repeat some, and a repeated restart agrees with itself perfectly,
    which biases rho upward by about (1 - rho) / R).

    Args:
      correct: (R, M) bool, R >= 2.
      rng: seed or Generator of the bootstrap.
      confidence: coverage. Default 0.95.
      n_resamples: bootstrap resamples. Default 1000.

    Returns:
      ``(table, summary)``: table has one row per count c = 0..R with
      ``observed`` (examples right for exactly c restarts) and ``binomial``
      (expected M * pmf(c; R, p̄)); summary has ``accuracy`` (p̄), ``rho``,
      ``rho_low``, ``rho_high``, ``never_right`` (+ ``_low``/``_high``),
      ``never_right_binomial``, ``always_right`` (+ interval),
      ``always_right_binomial``, ``num_restarts``, ``num_examples``.

    Raises:
      ValueError: fewer than 2 restarts.

    Example:
      >>> correct = np.random.default_rng(0).random((8, 200)) < 0.9
      >>> table, summary = agreement(correct, rng=0, n_resamples=100)
      >>> summary["rho"]   # 0 if errors were independent and equally likely

    References:
      Geirhos et al. (2020); Williams (1975), "The analysis of binary
      responses from toxicological experiments involving reproduction and
      teratogenicity", Biometrics 31 (beta-binomial overdispersion).
    """
    c = _matrix(correct, "correct", "agreement", boolean=True)
    r, m = c.shape
    if r < 2:
        raise ValueError(f"agreement: need at least 2 restarts; got {r}.")
    n_resamples = _checks.positive_int(n_resamples, "n_resamples", where="agreement")
    gen = as_rng(rng)
    counts = c.sum(axis=0)
    p = counts.mean() / r
    table = pd.DataFrame(
        {
            "count": np.arange(r + 1),
            "observed": np.bincount(counts, minlength=r + 1),
            "binomial": m * scipy.stats.binom.pmf(np.arange(r + 1), r, p),
        }
    )
    boot = np.empty((n_resamples, 3))
    for b in range(n_resamples):
        cb = counts[gen.integers(0, m, m)]
        boot[b] = (_rho(cb, r), np.mean(cb == 0), np.mean(cb == r))
    alpha = (1 - confidence) / 2
    with np.errstate(invalid="ignore"):
        low, high = np.nanquantile(boot, [alpha, 1 - alpha], axis=0)
    summary = dict(
        accuracy=float(p),
        rho=_rho(counts, r),
        rho_low=low[0],
        rho_high=high[0],
        never_right=float(np.mean(counts == 0)),
        never_right_low=low[1],
        never_right_high=high[1],
        never_right_binomial=float((1 - p) ** r),
        always_right=float(np.mean(counts == r)),
        always_right_low=low[2],
        always_right_high=high[2],
        always_right_binomial=float(p**r),
        num_restarts=int(r),
        num_examples=int(m),
    )
    return table, {
        k: float(v) if isinstance(v, np.floating) else v for k, v in summary.items()
    }
