"""Probability of improvement between every pair of initializers, as a matrix."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab import stats
from initlab.plots.style import _axes, _names, _width

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from initlab.outcomes import Outcomes

#: Above this many initializers the cells show the probability only (the
#: intervals would not fit); the interval then decides bold vs plain text.
MAX_ANNOTATED = 12


def _p(x: float) -> str:
    """A probability in 4 characters at most: .61, 1.00 (no leading zero)."""
    text = f"{x:.2f}"
    return text[1:] if text.startswith("0") else text


def _check_matrix(matrix: Mapping[str, Any]) -> tuple[list[str], np.ndarray, ...]:
    for key in ("labels", "p", "low", "high"):
        if key not in matrix:
            raise ValueError(
                f"matrix lacks {key!r}: pass what initlab.stats.improvement_matrix "
                "returns."
            )
    labels = [str(x) for x in matrix["labels"]]
    p, low, high = (np.asarray(matrix[k], np.float64) for k in ("p", "low", "high"))
    n = len(labels)
    if any(a.shape != (n, n) for a in (p, low, high)):
        raise ValueError(
            f"matrix: p, low and high must be ({n}, {n}) for {n} labels; got "
            f"{p.shape}, {low.shape}, {high.shape}."
        )
    return labels, p, low, high


def plot_improvement_matrix(
    data: Outcomes | Mapping[str, Any],
    metric: str | None = None,
    *,
    labels: Sequence[str] | None = None,
    rng: stats.RNG = 0,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    higher_is_better: bool | None = None,
    annotate: bool | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, Axes]:
    """A heatmap of P(a restart of the row beats a restart of the column).

    Each cell holds the probability of improvement with its bootstrap
    interval (:func:`initlab.stats.improvement_matrix`): 0.5 (white) = no
    difference; blue = the row is better, red = the column is. A cell whose
    interval excludes 0.5 is written in bold: that difference is resolved
    with these restarts; plain text is a tie the restarts cannot break.

    Args:
      data: the matrix from :func:`initlab.stats.improvement_matrix`, or an
        Outcomes (with ``metric``) or a mapping label -> (R,) values to
        compute it from (labels sorted best first by IQM unless given).
      metric: final metric (for Outcomes).
      labels: which initializers, in which order (rows and columns).
      rng: seed of the bootstrap when the matrix is computed here.
      confidence: interval coverage. Default 0.95.
      n_resamples: bootstrap resamples. Default 2000.
      higher_is_better: the metric's direction (default from the data).
      annotate: write the interval in each cell; default when there are at
        most :data:`MAX_ANNOTATED` labels.
      ax: axes to draw on; a new figure if None.

    Returns:
      ``(fig, ax)``.

    Raises:
      ValueError: a matrix without p/low/high or of the wrong shape, fewer
        than 2 labels.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> fig, ax = plot_improvement_matrix(outcomes, "test_accuracy")

    References:
      Agarwal et al. (2021), "Deep RL at the edge of the statistical precipice".
    """
    from matplotlib.colors import TwoSlopeNorm

    matrix_confidence = confidence
    if isinstance(data, Mapping) and "p" in data:
        names, p, low, high = _check_matrix(data)
        matrix_confidence = float(data.get("confidence", confidence))
        if labels is not None:
            index = [names.index(str(lab)) for lab in labels]
            names = [names[i] for i in index]
            p, low, high = (a[np.ix_(index, index)] for a in (p, low, high))
    else:
        if labels is None:
            from initlab.plots._values import best_first, collect

            pool, values, _, higher, _ = collect(data, metric, higher_is_better)
            usable = [lab for lab in pool if values[lab].size >= 2]
            key = {lab: stats.iqm(values[lab]) for lab in usable}
            labels = best_first(usable, key, higher)
        m = stats.improvement_matrix(
            data, metric, rng=rng, labels=labels, confidence=confidence,
            n_resamples=n_resamples, higher_is_better=higher_is_better,
        )  # fmt: skip
        names, p, low, high = _check_matrix(m)
    n = len(names)
    if n < 2:
        raise ValueError(f"need at least 2 labels for a matrix; got {names}.")
    annotate = n <= MAX_ANNOTATED if annotate is None else bool(annotate)
    side = min(_width(), 1.2 + 0.52 * n)
    fig, ax = _axes(ax, figsize=(side + 1.0, side * 0.86))
    shown = np.where(np.eye(n, dtype=bool), np.nan, p)
    image = ax.imshow(shown, cmap="RdBu", norm=TwoSlopeNorm(0.5, 0.0, 1.0),
                      aspect="auto")  # fmt: skip
    size = 8.0 if n <= 6 else 7.0 if n <= 9 else 6.0 if n <= MAX_ANNOTATED else 5.0
    for i in range(n):
        for j in range(n):
            if i == j:
                continue
            resolved = not (low[i, j] <= 0.5 <= high[i, j])
            colour = "white" if abs(p[i, j] - 0.5) > 0.3 else "#222222"
            with_interval = annotate and np.isfinite(low[i, j])
            ax.text(j, i - (0.16 if with_interval else 0), _p(p[i, j]),
                    ha="center", va="center", fontsize=size, color=colour,
                    fontweight="bold" if resolved else "normal")  # fmt: skip
            if with_interval:
                ax.text(j, i + 0.2, f"{_p(low[i, j])}–{_p(high[i, j])}",
                        ha="center", va="center", fontsize=size * 0.8,
                        color=colour)  # fmt: skip
    short = _names(names, limit=20)
    ax.set_xticks(range(n), [short[x] for x in names], rotation=40, ha="right",
                  rotation_mode="anchor")  # fmt: skip
    ax.set_yticks(range(n), [short[x] for x in names])
    ax.set_xlabel("column: the other initializer")
    ax.set_ylabel("row: this initializer")
    ax.grid(False)
    ax.tick_params(length=0)
    for side_name in ("top", "right", "bottom", "left"):
        ax.spines[side_name].set_visible(False)
    bar = fig.colorbar(image, ax=ax, shrink=0.8, pad=0.02)
    bar.set_label("P(restart of row beats restart of column)")
    conf = f"{matrix_confidence:.0%}"
    ax.set_title(
        f"Probability of improvement, {conf} interval below "
        "(bold: excludes 0.5)" if annotate else
        "Probability of improvement (bold: its interval excludes 0.5)",
        fontsize="medium",
    )  # fmt: skip
    return fig, ax
