"""Hyper-parameter landscapes: a statistic per cell of the coordinates, and the best.

A run with hyper-parameter axes (``learning_rate=[...]``, ``init_scale=[...]``,
list-valued optimizer arguments) records each restart's values in
``Outcomes.coords``. :func:`landscape` tabulates a statistic of the final
metric (mean, median or IQM, with a bootstrap interval) in every cell of one
or two coordinates, per initializer; :func:`best_value` finds the best value
of one coordinate per initializer (and per value of the other coordinates),
with how sure that is: the restarts are resampled, the best value found again
in every resample, and the report gives how often each value wins and the
central interval of the winners.

Restart i has the same keys in every cell of a run (``initlab.train``), so
the resampling is *paired*: one draw of restart indices serves every value
of the coordinate (and every group with the same restarts), which keeps the
comparison between cells from mixing in the noise of different keys.

References:
  Efron & Tibshirani (1993), "An introduction to the bootstrap", Chapman &
  Hall (bootstrap of an arg max; paired resampling).
  Agarwal et al. (2021), "Deep RL at the edge of the statistical precipice"
  (IQM; interval estimates).
  Yang et al. (2022), "Tensor Programs V" (the optimal learning rate against
  width as the test of hyper-parameter transfer).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import scipy.stats

from initlab import _checks
from initlab.stats._checks import (
    RNG,
    _check_confidence,
    _check_n_resamples,
    as_rng,
    check_values,
)
from initlab.stats.bootstrap import bootstrap_ci

if TYPE_CHECKING:
    import pandas as pd

    from initlab.outcomes import Outcomes

Statistic = Literal["mean", "median", "iqm"]


def _iqm(a: np.ndarray, axis: int = -1) -> np.ndarray:
    return scipy.stats.trim_mean(a, 0.25, axis=axis)


#: The statistics a landscape reports: name -> ``f(a, axis)``.
STATISTICS: dict[str, Callable[..., Any]] = {
    "mean": np.mean,
    "median": np.median,
    "iqm": _iqm,
}


def base_labels(outcomes: Outcomes) -> np.ndarray:
    """Each restart's initializer label without the coordinates ``by`` added.

    :meth:`~initlab.Outcomes.by` appends one ``name=value`` word per
    coordinate to each label (and records them in ``metadata["labels_by"]``);
    this removes them again, so a landscape of ``out.by("learning_rate")``
    groups by initializer, not by cell.

    Example:
      >>> out = initlab.train("xor", "he_normal", learning_rate=[0.1, 1.0],
      ...                     num_restarts=4, steps=20, progress=False)
      >>> base_labels(out.by("learning_rate"))[:2]
      array(['he_normal', 'he_normal'], dtype='<U9')
    """
    labels = np.asarray(outcomes.initializer).astype(str)
    folded = len(outcomes.metadata.get("labels_by", ()))
    if not folded:
        return labels
    return np.asarray([label.rsplit(" ", folded)[0] for label in labels])


def _check_coordinate(outcomes: Outcomes, name: Any, what: str) -> str:
    if not isinstance(name, str):
        raise TypeError(f"{what} must be a coordinate name; got {name!r}.")
    if name not in outcomes.coords:
        available = list(outcomes.coords) or "none (train with a list of values)"
        raise KeyError(
            f"unknown coordinate {name!r}.{_checks.closest(name, outcomes.coords)} "
            f"This run's coordinates: {available}."
        )
    return name


def _groups(outcomes: Outcomes, keys: Sequence[str]) -> list[tuple[tuple, np.ndarray]]:
    """(key values, row indices) per group: by initializer then ``keys``, in order."""
    labels = base_labels(outcomes)
    columns = [labels] + [np.asarray(outcomes.coords[k]) for k in keys]
    order: dict[tuple, list[int]] = {}
    for i, values in enumerate(zip(*columns, strict=True)):
        order.setdefault(tuple(v if isinstance(v, str) else float(v)
                               for v in values), []).append(i)  # fmt: skip
    label_rank = {lab: r for r, lab in enumerate(dict.fromkeys(labels.tolist()))}
    keys_sorted = sorted(order, key=lambda k: (label_rank[k[0]], *k[1:]))
    return [(k, np.asarray(order[k])) for k in keys_sorted]


def landscape(
    outcomes: Outcomes,
    metric: str,
    rows: str,
    columns: str | None = None,
    *,
    statistic: Statistic = "iqm",
    rng: RNG = 0,
    confidence: float = 0.95,
    n_resamples: int = 2000,
) -> pd.DataFrame:
    """A statistic of the final metric in every cell of one or two coordinates.

    One row per (initializer, values of the other coordinates, ``rows``
    value[, ``columns`` value]): the restarts of that cell that did not
    diverge give the statistic and its percentile-bootstrap interval
    (:func:`bootstrap_ci`); diverged ones are counted. Every coordinate of
    the run that is neither ``rows`` nor ``columns`` is kept as a column, so
    no two settings are pooled.

    Args:
      outcomes: a run with coordinates (``Outcomes.coords``; a run relabelled
        with :meth:`~initlab.Outcomes.by` works too).
      metric: a final metric.
      rows: a coordinate, e.g. "init_scale" (or "learning_rate" alone).
      columns: a second coordinate, e.g. "learning_rate", or None.
      statistic: "iqm" (default), "mean" or "median".
      rng: seed of the bootstraps (one child stream per cell, in table order).
      confidence: interval coverage in (0, 1).
      n_resamples: bootstrap resamples per cell.

    Returns:
      ``pandas.DataFrame`` with columns initializer, the other coordinates,
      ``rows``[, ``columns``], n (restarts kept), diverged, estimate, low,
      high. Cells with one kept restart have no interval (NaN), with none no
      estimate. ``frame.attrs`` records metric, statistic, rows, columns,
      higher_is_better, confidence.

    Raises:
      KeyError: unknown metric or coordinate.
      ValueError: ``rows == columns``, an unknown statistic, bad confidence
        or n_resamples, non-finite values of restarts not flagged diverged.

    Example:
      >>> out = initlab.train("xor", "he_normal", learning_rate=[0.1, 1.0],
      ...                     init_scale=[0.5, 1.0], num_restarts=4,
      ...                     steps=20, progress=False)
      >>> landscape(out, "train_loss", "init_scale", "learning_rate", rng=0)

    References:
      Agarwal et al. (2021) (IQM, interval estimates); Efron (1987).
    """
    import pandas as pd

    if metric not in outcomes.final:
        raise KeyError(f"unknown metric {metric!r}; available: {outcomes.metrics}.")
    rows = _check_coordinate(outcomes, rows, "rows")
    if columns is not None:
        columns = _check_coordinate(outcomes, columns, "columns")
        if columns == rows:
            raise ValueError(
                f"landscape: rows and columns are both {rows!r}; give two "
                "coordinates, or columns=None for one."
            )
    statistic = _checks.choice(statistic, tuple(STATISTICS), "statistic",
                               where="landscape")  # fmt: skip
    confidence = _check_confidence(confidence)
    n_resamples = _check_n_resamples(n_resamples)
    axes = [rows] + ([columns] if columns else [])
    others = [k for k in outcomes.coords if k not in axes]
    groups = _groups(outcomes, [*others, *axes])
    values = np.asarray(outcomes.final[metric], np.float64)
    children = as_rng(rng).spawn(len(groups))
    fn = STATISTICS[statistic]
    out = []
    for (key, idx), child in zip(groups, children, strict=True):
        diverged = outcomes.diverged[idx]
        kept = check_values(values[idx][~diverged],
                            f"{metric} of {key}", min_n=0)  # fmt: skip
        row: dict[str, Any] = {"initializer": key[0]}
        row.update(zip([*others, *axes], key[1:], strict=True))
        est = low = high = float("nan")
        if kept.size:
            est = float(fn(kept))
        if kept.size >= 2:
            low, high = bootstrap_ci(kept, fn, rng=child, confidence=confidence,
                                     n_resamples=n_resamples)  # fmt: skip
        row.update(n=int(kept.size), diverged=int(diverged.sum()), estimate=est,
                   low=low, high=high)  # fmt: skip
        out.append(row)
    frame = pd.DataFrame(out)
    frame.attrs.update(metric=metric, statistic=statistic, rows=rows,
                       columns=columns, others=others, confidence=confidence,
                       higher_is_better=outcomes.higher_is_better(metric))  # fmt: skip
    return frame


def best_value(
    outcomes: Outcomes,
    metric: str,
    coordinate: str = "learning_rate",
    *,
    within: Sequence[str] | None = None,
    statistic: Statistic = "iqm",
    rng: RNG = 0,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    return_draws: bool = False,
) -> pd.DataFrame | tuple[pd.DataFrame, np.ndarray]:
    """The best value of a coordinate per initializer, and how sure that is.

    For each group (initializer and the values of ``within``), the statistic
    of the final metric is computed at every value of ``coordinate``; the
    best value is the one with the best statistic (the metric's better
    direction). A diverged restart counts as worse than every restart that
    did not diverge (its value is -inf for a metric where higher is better,
    +inf otherwise): a setting where restarts diverge cannot win by the mean,
    and by the median or IQM only if few do.

    Uncertainty: the restarts are resampled ``n_resamples`` times with
    replacement and the best value is found in each resample. When every
    value of the coordinate has the same restarts (as ``initlab.train`` runs
    them: restart i has the same keys in every cell), one draw of restart
    indices serves every value, and every group with the same restarts (so a
    statistic across groups, such as the trend of the best value over widths,
    can be bootstrapped from the draws); otherwise each value is resampled on
    its own. Ties are broken at random. The reported best is, among the
    values tied for the best statistic on all the restarts, the one that wins
    most often.

    Args:
      outcomes: a run with coordinates.
      metric: a final metric.
      coordinate: the coordinate to choose (default "learning_rate").
      within: coordinates to keep apart (one best per combination of their
        values); default every other coordinate of the run.
      statistic: "iqm" (default), "mean" or "median".
      rng: seed of the resampling.
      confidence: the coverage of the intervals (default 0.95).
      n_resamples: resamples (default 2000).
      return_draws: also return the winners of every resample.

    Returns:
      ``pandas.DataFrame``, one row per group: initializer, the ``within``
      coordinates, ``coordinate`` (the best value), estimate, low, high (the
      statistic at the best value and its percentile interval over the
      resamples), share (fraction of resamples the best value wins),
      best_low, best_high (the central ``confidence`` interval of the
      winning values, in the coordinate's order), wins (value -> fraction of
      resamples it wins), values (how many values were compared), n (fewest
      restarts at a value), diverged (diverged restarts over all values),
      paired. With ``return_draws``: ``(frame, draws)``, draws of shape
      (groups, n_resamples), the winning value of each resample.

    Raises:
      KeyError: unknown metric or coordinate.
      ValueError: ``coordinate`` in ``within``, an unknown ``within``
        coordinate, a group with fewer than 2 values or a value with fewer
        than 2 restarts, bad statistic, confidence or n_resamples,
        non-finite values of restarts not flagged diverged.

    Example:
      >>> out = initlab.train("xor", "he_normal", learning_rate=[0.1, 1.0],
      ...                     num_restarts=4, steps=20, progress=False)
      >>> best = best_value(out, "train_loss", "learning_rate", rng=0)
      >>> best[["initializer", "learning_rate", "share", "best_low",
      ...       "best_high"]]

    References:
      Efron & Tibshirani (1993) (bootstrap; paired resampling); Agarwal et
      al. (2021) (IQM).
    """
    import pandas as pd

    where = "best_value"
    if metric not in outcomes.final:
        raise KeyError(f"unknown metric {metric!r}; available: {outcomes.metrics}.")
    coordinate = _check_coordinate(outcomes, coordinate, "coordinate")
    if within is None:
        within = [k for k in outcomes.coords if k != coordinate]
    elif isinstance(within, str):
        within = [within]
    within = [_check_coordinate(outcomes, k, "each within") for k in within]
    if coordinate in within:
        raise ValueError(
            f"{where}: {coordinate!r} is both the coordinate and in within."
        )
    statistic = _checks.choice(statistic, tuple(STATISTICS), "statistic",
                               where=where)  # fmt: skip
    confidence = _check_confidence(confidence)
    n_resamples = _check_n_resamples(n_resamples)
    _checks.boolean(return_draws, "return_draws", where=where)
    fn = STATISTICS[statistic]
    higher = outcomes.higher_is_better(metric)
    worst = -np.inf if higher else np.inf
    values = np.asarray(outcomes.final[metric], np.float64)
    gen = as_rng(rng)
    shared: dict[tuple, np.ndarray] = {}  # restart set -> its index draws
    rows, draws = [], []
    for key, idx in _groups(outcomes, within):
        coord = np.asarray(outcomes.coords[coordinate])[idx]
        grid = np.unique(coord)
        name = f"{metric} of {key}"
        if grid.size < 2:
            raise ValueError(
                f"{where}: {key} has one value of {coordinate!r} ({grid[0]:g}); "
                "a best needs at least 2."
            )
        columns, restarts = [], []
        for v in grid:
            at = idx[coord == v]
            x = values[at].copy()
            x[outcomes.diverged[at]] = worst
            check_values(np.where(np.isinf(x), 0.0, x), name, min_n=2)
            order = np.argsort(outcomes.restart[at], kind="stable")
            columns.append(x[order])
            restarts.append(tuple(np.asarray(outcomes.restart[at])[order].tolist()))
        paired = all(r == restarts[0] for r in restarts)
        if paired:
            matrix = np.stack(columns, axis=1)  # (n, K)
            n = matrix.shape[0]
            if restarts[0] not in shared:
                shared[restarts[0]] = gen.integers(0, n, (n_resamples, n))
            take = shared[restarts[0]]
            boot = fn(matrix[take], axis=1)  # (B, K)
        else:
            boot = np.stack([fn(c[gen.integers(0, c.size, (n_resamples, c.size))],
                                axis=1) for c in columns], axis=1)  # fmt: skip
        point = np.asarray([fn(c) for c in columns])
        winners = _winners(boot, higher, gen)
        counts = np.bincount(winners, minlength=grid.size) / n_resamples
        target = np.nanmax(point) if higher else np.nanmin(point)
        tied = np.flatnonzero(point == target)
        best = int(tied[np.argmax(counts[tied])])
        lo_i, hi_i = np.quantile(winners, [(1 - confidence) / 2,
                                           (1 + confidence) / 2],
                                 method="inverted_cdf")  # fmt: skip
        at_best = boot[:, best]
        method = "linear" if np.all(np.isfinite(at_best)) else "inverted_cdf"
        low, high = np.quantile(at_best, [(1 - confidence) / 2, (1 + confidence) / 2],
                                method=method)  # fmt: skip
        row: dict[str, Any] = {"initializer": key[0]}
        row.update(zip(within, key[1:], strict=True))
        row.update({
            coordinate: float(grid[best]), "estimate": float(point[best]),
            "low": float(low), "high": float(high), "share": float(counts[best]),
            "best_low": float(grid[int(lo_i)]), "best_high": float(grid[int(hi_i)]),
            "wins": {float(v): float(c) for v, c in zip(grid, counts, strict=True)},
            "values": int(grid.size), "n": int(min(c.size for c in columns)),
            "diverged": int(outcomes.diverged[idx].sum()), "paired": paired,
        })  # fmt: skip
        rows.append(row)
        draws.append(grid[winners])
    frame = pd.DataFrame(rows)
    frame.attrs.update(metric=metric, statistic=statistic, coordinate=coordinate,
                       within=list(within), confidence=confidence,
                       n_resamples=n_resamples, higher_is_better=higher)  # fmt: skip
    if return_draws:
        return frame, np.stack(draws) if draws else np.zeros((0, n_resamples))
    return frame


def _winners(boot: np.ndarray, higher: bool, gen: np.random.Generator) -> np.ndarray:
    """(B,) index of the best column of each row of ``boot``; ties at random."""
    best = boot.max(axis=1) if higher else boot.min(axis=1)
    tie = boot == best[:, None]
    noise = gen.random(boot.shape)
    return np.argmax(np.where(tie, noise, -1.0), axis=1)
