"""Choosing among restarts: expected best of k, and performance profiles."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab import stats
from initlab.plots._values import collect
from initlab.plots.style import _axes, _legend, _legend_label, _palette, _pretty

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from initlab.outcomes import Outcomes


def plot_best_of_k(
    data: Outcomes | Mapping[str, Any],
    metric: str | None = None,
    *,
    ax: Axes | None = None,
    palette: Mapping[str, Any] | None = None,
    ks: Sequence[int] | None = None,
    rng: stats.RNG = 0,
    confidence: float = 0.95,
    n_resamples: int = 1000,
    higher_is_better: bool | None = None,
) -> tuple[Figure, Axes]:
    """Expected best of k restarts (with replacement) vs k, with bootstrap bands.

    See :func:`initlab.stats.expected_best_of_k` and
    :func:`initlab.stats.best_of_k_ci`. k runs over 1..n of each initializer
    unless ``ks`` is given (k larger than an initializer's n is skipped).

    Args:
      data: Outcomes (with ``metric``) or mapping label -> (R,) values.
      metric: final metric name.
      ax: axes to draw on; a new figure if None.
      palette: label -> colour; default :func:`colors` of the labels.
      ks: the k values; default 1..n per initializer.
      rng: seed of the bootstrap.
      confidence: band coverage. Default 0.95.
      n_resamples: bootstrap resamples. Default 1000.
      higher_is_better: override the metric's direction (mappings default True).

    Returns:
      ``(fig, ax)``: a line and a band per initializer with >= 2 restarts.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> fig, ax = plot_best_of_k(outcomes, "test_accuracy")
    """
    labels, values, diverged, higher, name = collect(data, metric, higher_is_better)
    fig, ax = _axes(ax)
    palette = _palette(labels, palette)
    children = stats.as_rng(rng).spawn(len(labels))
    for label, child in zip(labels, children, strict=True):
        v = values[label]
        if v.size < 2:
            continue
        k = np.arange(1, v.size + 1) if ks is None else np.asarray(ks)
        k = k[k <= v.size]
        if k.size == 0:
            continue
        est, lo, hi = stats.best_of_k_ci(
            v,
            k,
            rng=child,
            higher_is_better=higher,
            confidence=confidence,
            n_resamples=n_resamples,
        )
        ax.plot(
            k,
            est,
            marker="." if k.size < 30 else None,
            color=palette[label],
            label=_legend_label(label, v.size, diverged[label]),
        )
        ax.fill_between(k, lo, hi, color=palette[label], alpha=0.2, linewidth=0)
    ax.set_xscale("log")
    ax.set_xlabel("k (restarts tried, best kept)")
    ax.set_ylabel(f"expected {'best' if higher else 'lowest'} {_pretty(name)}")
    ax.set_title(f"Best of k restarts ({confidence:.0%} bootstrap band)")
    _legend(ax)
    return fig, ax


def plot_profiles(
    data: Outcomes | Mapping[str, Any],
    metric: str | None = None,
    *,
    ax: Axes | None = None,
    palette: Mapping[str, Any] | None = None,
    thresholds: Any = None,
    confidence: float = 0.95,
    higher_is_better: bool | None = None,
) -> tuple[Figure, Axes]:
    """Performance profiles: fraction of restarts better than each threshold.

    See :func:`initlab.stats.performance_profile`; the bands are pointwise
    Wilson intervals.

    Args:
      data: Outcomes (with ``metric``) or mapping label -> (R,) values.
      metric: final metric name.
      ax: axes to draw on; a new figure if None.
      palette: label -> colour; default :func:`colors` of the labels.
      thresholds: (T,) thresholds; default 200 points over the pooled range.
      confidence: band coverage. Default 0.95.
      higher_is_better: override the metric's direction (mappings default True).

    Returns:
      ``(fig, ax)``: a line and a band per initializer with restarts.

    Raises:
      ValueError: no finite value at all.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> fig, ax = plot_profiles(outcomes, "test_accuracy")
    """
    labels, values, diverged, higher, name = collect(data, metric, higher_is_better)
    pooled = np.concatenate([values[lab] for lab in labels])
    if pooled.size == 0:
        raise ValueError("no finite values to profile (every restart diverged?).")
    if thresholds is None:
        pad = 0.02 * (np.ptp(pooled) or 1.0)
        thresholds = np.linspace(pooled.min() - pad, pooled.max() + pad, 200)
    fig, ax = _axes(ax)
    palette = _palette(labels, palette)
    for label in labels:
        v = values[label]
        if v.size == 0:
            continue
        frac, lo, hi = stats.performance_profile(
            v, thresholds, higher_is_better=higher, confidence=confidence
        )
        ax.plot(
            thresholds,
            frac,
            color=palette[label],
            label=_legend_label(label, v.size, diverged[label]),
        )
        ax.fill_between(
            thresholds, lo, hi, color=palette[label], alpha=0.15, linewidth=0
        )
    sign = ">" if higher else "<"
    ax.set_xlabel(f"threshold τ on final {_pretty(name)}")
    ax.set_ylabel(f"fraction of restarts with value {sign} τ")
    ax.set_ylim(-0.02, 1.02)
    ax.set_title(f"Performance profile ({confidence:.0%} Wilson band)")
    _legend(ax)
    return fig, ax
