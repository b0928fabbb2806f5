"""Seed grids of a run: (init seed x data seed) tables and their variance split.

A run trained with ``design="grid"`` gives every initializer one restart (or
the same number of restarts) per pair of init seed and data-order seed. These
functions read that grid out of an :class:`~initlab.outcomes.Outcomes` and
split its variance with :func:`initlab.stats.variance_components`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from initlab.stats._checks import RNG, _check_confidence, _check_n_resamples, as_rng
from initlab.stats.variance import variance_components

if TYPE_CHECKING:
    from initlab.outcomes import Outcomes


def _check_metric(outcomes: Outcomes, metric: Any) -> str:
    if metric not in outcomes.final:
        raise KeyError(
            f"unknown metric {metric!r}; available: {outcomes.metrics}. Pass the "
            "name of a final metric, e.g. 'test_accuracy'."
        )
    return metric


def _second_factor(outcomes: Outcomes) -> np.ndarray:
    """The seeds crossed with the init seeds: the data order for ``grid``, the
    dropout noise for ``grid_noise``, the augmentation for ``grid_augment``."""
    design = outcomes.metadata.get("design")
    if design == "grid_noise":
        return outcomes.noise_seed
    if design == "grid_augment":
        return outcomes.augment_seed
    return outcomes.data_seed


def _grid_cells(outcomes: Outcomes, label: str):
    """(init index, data index, counts) if ``label`` ran a full seed grid, else None.

    A full grid: at least 2 init seeds x 2 data seeds, the same number of
    restarts in every cell.
    """
    mask = outcomes.initializer == label
    ui, ii = np.unique(outcomes.init_seed[mask], return_inverse=True)
    uj, jj = np.unique(_second_factor(outcomes)[mask], return_inverse=True)
    if ui.size < 2 or uj.size < 2:
        return None
    counts = np.zeros((ui.size, uj.size), int)
    np.add.at(counts, (ii, jj), 1)
    if np.any(counts != counts.flat[0]):
        return None
    return ii, jj, counts


def seed_grid(outcomes: Outcomes, label: str, metric: str) -> np.ndarray:
    """The (init seed x data seed) grid of a metric over one initializer's restarts.

    Args:
      outcomes: a run whose restarts of ``label`` fill a full seed grid (e.g.
        ``design="grid"``).
      label: an initializer label.
      metric: a final metric.

    Returns:
      ``grid[i, j]`` = the metric of the restart with the i-th init seed and
      the j-th data seed (seeds in increasing order), shape (n_init, n_data);
      (n_init, n_data, n_rep) when every cell holds n_rep > 1 restarts, the
      replicates in the order the restarts appear in ``outcomes``.

    Raises:
      KeyError: unknown label or metric.
      ValueError: the restarts do not fill a grid (>= 2 x 2, the same number per
        cell), or some diverged (their value is not defined).

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=16,
      ...                          steps=100, design="grid", grid_data=4,
      ...                          progress=False)
      >>> grid = seed_grid(outcomes, "he_normal", "test_accuracy")
      >>> variance_components(grid, rng=0)["share"]

    References:
      Summers & Dinneen (2021), "Nondeterminism and instability in neural
      network optimization", ICML (init vs data-order seeds).
    """
    if label not in outcomes.labels:
        raise KeyError(f"unknown initializer {label!r}; available: {outcomes.labels}.")
    _check_metric(outcomes, metric)
    cells = _grid_cells(outcomes, label)
    if cells is None:
        raise ValueError(
            f"{label}: restarts do not form an (init seed x data seed) grid with "
            "the same number of restarts per cell; train with design='grid'."
        )
    mask = outcomes.initializer == label
    n_div = int(np.sum(outcomes.diverged[mask]))
    if n_div:
        raise ValueError(
            f"seed grid not decomposed, {n_div} diverged cell(s); the variance "
            "split needs every cell of the grid."
        )
    ii, jj, counts = cells
    y = np.empty((*counts.shape, counts.flat[0]))
    fill = np.zeros_like(counts)
    for value, i, j in zip(
        np.asarray(outcomes.final[metric])[mask], ii, jj, strict=True
    ):
        y[i, j, fill[i, j]] = value
        fill[i, j] += 1
    return y[..., 0] if y.shape[2] == 1 else y


def variance_split(
    outcomes: Outcomes,
    metric: str,
    *,
    rng: RNG = 0,
    confidence: float = 0.95,
    n_resamples: int = 1000,
) -> dict[str, dict[str, Any] | str]:
    """Init vs data-order variance components of every initializer that ran a grid.

    Args:
      outcomes: the run.
      metric: a final metric.
      rng: seed of the bootstraps (one child stream per initializer label, in
        ``outcomes.labels`` order, so a label's split does not depend on which
        other labels ran a grid).
      confidence: interval coverage.
      n_resamples: bootstrap resamples.

    Returns:
      ``{label: components}`` for every label whose restarts form a full seed
      grid (see :func:`seed_grid`): the dict of
      :func:`initlab.stats.variance_components`, or a message (str) saying why
      it could not be split. Labels without a grid are left out.

    Raises:
      KeyError: unknown metric.
      TypeError, ValueError: bad ``rng``, ``confidence`` or ``n_resamples``.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=16,
      ...                          steps=100, design="grid", grid_data=4,
      ...                          progress=False)
      >>> split = variance_split(outcomes, "test_accuracy", rng=0)
      >>> split["he_normal"]["share"]  # init, data, interaction+residual

    References:
      Summers & Dinneen (2021); Owen (2007), "The pigeonhole bootstrap".
    """
    _check_metric(outcomes, metric)
    confidence = _check_confidence(confidence)
    n_resamples = _check_n_resamples(n_resamples)
    out: dict[str, dict[str, Any] | str] = {}
    children = as_rng(rng).spawn(len(outcomes.labels))
    for label, child in zip(outcomes.labels, children, strict=True):
        if _grid_cells(outcomes, label) is None:
            continue
        try:
            grid = seed_grid(outcomes, label, metric)
        except ValueError as err:
            out[label] = str(err)
            continue
        try:
            out[label] = variance_components(
                grid, rng=child, confidence=confidence, n_resamples=n_resamples
            )
        except ValueError as err:
            out[label] = f"not decomposed ({err})"
    return out
