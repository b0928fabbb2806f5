"""Sources of variance: init seed vs data-order seed, and the binomial check."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab.stats._checks import (
    _DROP_HINT,
    RNG,
    _check_confidence,
    _check_n_resamples,
    as_rng,
)

if TYPE_CHECKING:
    from initlab.outcomes import Outcomes


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
    gen = as_rng(rng)
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


def binomial_checks(
    outcomes: Outcomes, name: str = "test_correct"
) -> dict[str, dict[str, float] | str]:
    """:func:`binomial_check` of every initializer of a run, diverged left out.

    Args:
      outcomes: a run with ``outcomes.per_example[name]``, (R, M) bool.
      name: the per-example result to check. Default "test_correct".

    Returns:
      ``{label: check}`` in ``outcomes.labels`` order: the dict of
      :func:`binomial_check` over the label's kept restarts, or a message
      (str) saying why there is none (e.g. fewer than 2 kept restarts).

    Raises:
      KeyError: ``outcomes.per_example`` has no ``name``.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> binomial_checks(outcomes)["he_normal"]["ratio"]

    References:
      Jordan (2024), "On the variance of neural network training with respect
      to test sets and distributions", ICLR.
    """
    if name not in outcomes.per_example:
        raise KeyError(
            f"outcomes.per_example has no {name!r}; it holds "
            f"{list(outcomes.per_example)}. Evaluate per-example results (e.g. "
            "test_correct) to run the binomial check."
        )
    correct = np.asarray(outcomes.per_example[name])
    out: dict[str, dict[str, float] | str] = {}
    for label in outcomes.labels:
        keep = (outcomes.initializer == label) & ~outcomes.diverged
        try:
            out[label] = binomial_check(correct[keep])
        except ValueError as err:
            out[label] = f"no binomial check ({err})"
    return out
