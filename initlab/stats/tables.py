"""Tables of runs: dropping diverged restarts and the per-initializer summary."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from initlab.stats._checks import RNG, Method, _check_confidence, as_rng, check_values
from initlab.stats.best_of_k import expected_best_of_k
from initlab.stats.estimates import success_rate, summarize

if TYPE_CHECKING:
    import pandas as pd

    from initlab.outcomes import Outcomes

_TABLE_COLUMNS = ("mean", "mean_low", "mean_high", "iqm", "iqm_low", "iqm_high",
                  "median", "median_low", "median_high", "std")  # fmt: skip


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
    mean_low, mean_high, iqm, iqm_low, iqm_high, median, median_low,
    median_high, std (the three intervals from one shared set of resamples,
    :func:`summarize`), then
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
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
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
    children = as_rng(rng).spawn(len(labels))
    rows = []
    for label, child in zip(labels, children, strict=True):
        mask = outcomes.initializer == label
        kept, n_div = drop_diverged(
            np.asarray(outcomes.final[metric])[mask], outcomes.diverged[mask]
        )
        x = check_values(kept, f"{metric} of {label!r}", min_n=0)
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
