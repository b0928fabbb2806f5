"""One look for every figure: colours per initializer, axes, legends, saving.

Every initializer keeps one colour across figures: :func:`colors` maps the
sorted labels to tab10 (tab20 beyond 10); pass ``palette=colors(all_labels)``
to figures that show only some of them. :func:`save_figure` writes a figure
and closes it. matplotlib is imported inside each function.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from initlab._checks import number

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_FIGSIZE = (6.4, 4.0)


def colors(labels: Sequence[str]) -> dict[str, tuple[float, float, float, float]]:
    """A fixed colour per label: tab10 (tab20 beyond 10 labels) by sorted position.

    Sorting makes the mapping independent of the order in which labels come,
    so the same set of initializers gets the same colours in every figure.
    More than 20 labels cycle through tab20.

    Args:
      labels: initializer labels (duplicates ignored).

    Returns:
      ``label -> RGBA`` tuple.

    Example:
      >>> colors(["he_normal", "glorot_uniform"])["glorot_uniform"][:3]
      (0.12156862745098039, 0.4666666666666667, 0.7058823529411765)
    """
    import matplotlib

    unique = sorted(set(map(str, labels)))
    cmap = matplotlib.colormaps["tab10" if len(unique) <= 10 else "tab20"]
    n = cmap.N
    return {
        label: tuple(float(c) for c in cmap(i % n)) for i, label in enumerate(unique)
    }


def save_figure(fig: Figure, path: str | os.PathLike, *, dpi: float = 100) -> Path:
    """Writes ``fig`` to ``path`` (format from the suffix) and closes it.

    The figure is closed even when saving fails, so a loop that writes many
    figures does not keep them all open.

    Args:
      fig: a matplotlib figure, e.g. the first item a plot function returns.
      path: file to write, e.g. ``"figures/ecdf.png"``; its folder must exist.
      dpi: dots per inch. Default 100 (a 6.4 x 4 in figure is 640 x 400 px).

    Returns:
      ``path`` as a Path.

    Raises:
      TypeError: ``path`` is not a str or path; ``dpi`` is not a number.
      ValueError: ``dpi`` is not positive.

    Example:
      >>> save_figure(plot_ecdf(outcomes, "test_loss")[0], "ecdf.png")
      PosixPath('ecdf.png')
    """
    import matplotlib.pyplot as plt

    try:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"path must be a str or os.PathLike, got {type(path).__name__}."
            )
        number(dpi, "dpi", where="save_figure", positive=True)
        fig.savefig(path, dpi=dpi)
    finally:
        plt.close(fig)
    return Path(path)


def _palette(labels: Sequence[str], palette: Mapping[str, Any] | None) -> dict:
    if palette is None:
        return colors(labels)
    missing = [lab for lab in labels if lab not in palette]
    if missing:
        raise ValueError(f"palette has no colour for {missing}; give every label one.")
    return dict(palette)


def _axes(ax: Axes | None, figsize=_FIGSIZE) -> tuple[Figure, Axes]:
    import matplotlib.pyplot as plt

    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax


def _legend(ax: Axes, **kwargs: Any) -> None:
    """A legend inside the axes for a few entries, beside them for many."""
    n = len(ax.get_legend_handles_labels()[0]) + len(kwargs.get("handles", []))
    if n > 6:
        ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1.0),
                  borderaxespad=0.0, **kwargs)  # fmt: skip
    else:
        ax.legend(fontsize="small", loc="best", **kwargs)


def _legend_label(label: str, n: int, diverged: int) -> str:
    if diverged and n == 0:
        return f"{label} (all {diverged} diverged)"
    if diverged:
        return f"{label} (n={n}, {diverged} diverged)"
    return f"{label} (n={n})"


def _pretty(metric: str) -> str:
    return metric.replace("_", " ")
