"""One look for every figure: colours per initializer, sizes, legends, saving.

- Colours: :func:`colors` gives every initializer one colour, the same in every
  figure and every report: names initlab knows (its registry) have fixed slots
  of :data:`PALETTE` (40 colours: tab10 without its grey, then 31 picked to be
  far apart in the OKLab colour space), other names take the free slots in
  sorted order. Grey is kept for references (chance level, other curves).
- Sizes: :func:`figure_style` is a context for screens (the default look) or papers
  (smaller type, a page or column width); figures size their height from the
  number of rows they show, so 3 or 30 initializers both read.
- A legend at most once per figure: a figure's second panel draws none.
- :func:`save_figure` writes a figure (PNG, SVG, PDF, with ``also=`` extra
  formats beside it) and closes it.

matplotlib is imported inside each function.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from initlab._checks import choice, number

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

_FIGSIZE = (6.4, 4.0)
_ASPECT = _FIGSIZE[1] / _FIGSIZE[0]

#: Colours of initializers, in slot order: tab10 without its grey (#7f7f7f,
#: kept for references), then 31 colours chosen greedily, each the farthest
#: (in OKLab, lightness 0.42-0.80, in the sRGB gamut) from those before it and
#: from grey: any two of the first 30 differ by at least 0.10 in OKLab.
PALETTE = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
    "#bcbd22", "#17becf", "#511eb8", "#115d18", "#950681", "#dcb2ac", "#a2a8ff",
    "#434a70", "#30de97", "#940308", "#a38b19", "#d7328d", "#586dfe", "#cd7671",
    "#259dfb", "#0a7a67", "#93ae86", "#bd6afc", "#706d06", "#8537ca", "#64470e",
    "#034fbc", "#27a28a", "#ab95b4", "#4ac327", "#b60356", "#b76006", "#782f53",
    "#6155a6", "#e99bfb", "#f94564", "#fd8993", "#f5ae4b",
)  # fmt: skip

#: The colour of references: chance level, the other initializers' curves.
REFERENCE = "#7f7f7f"

# Fixed slots of the names initlab knows: the initializers most often compared
# first (they get tab10), then the rest of the registry. Append only: a new
# name goes at the end, so no existing name changes colour.
_KNOWN = (
    "glorot_uniform", "he_normal", "orthogonal", "zeros", "lecun_normal",
    "random_normal", "he_uniform", "glorot_normal", "lecun_uniform",
    "truncated_normal", "random_uniform", "variance_scaling", "identity", "ones",
    "constant", "xavier_uniform", "xavier_normal", "kaiming_uniform",
    "kaiming_normal", "torch_default", "torch_default_bias", "dirac",
    "delta_orthogonal", "sparse", "zero_init", "depth_scaled", "fixup",
    "gpt2_residual", "depth_schedule", "edge_of_chaos", "edge_of_chaos_bias",
    "gabor", "dct", "haar", "lsuv",
)  # fmt: skip
_SLOT = {name: i for i, name in enumerate(_KNOWN)}

#: Figure widths (inches) and type sizes of :func:`figure_style`'s media.
MEDIA = {
    "screen": {"width": 8.0, "font": 9.5, "dpi": 110},
    "paper": {"width": 6.75, "font": 8.0, "dpi": 300},
    "column": {"width": 3.35, "font": 7.0, "dpi": 300},
}


def colors(labels: Sequence[str]) -> dict[str, tuple[float, float, float, float]]:
    """One colour per label, the same in every figure and every report.

    A name initlab knows (e.g. ``"he_normal"``, or ``"constant(0.1)"`` by its
    base name when that base is not itself among ``labels``) keeps its fixed
    slot of :data:`PALETTE` whatever else is shown, so two figures of
    different subsets agree. Other labels take the lowest free slots in
    sorted order (so ``colors(["b", "a", "c"])`` is the first three tab10
    colours); they agree between figures of the same set of labels (pass
    ``palette=colors(all_labels)`` to a figure of some of them). Beyond 40
    labels the palette repeats.

    Args:
      labels: initializer labels (order and duplicates ignored).

    Returns:
      ``label -> RGBA`` tuple.

    Example:
      >>> colors(["b", "a"])["a"][:3]
      (0.12156862745098039, 0.4666666666666667, 0.7058823529411765)
      >>> colors(["zeros", "he_normal"])["he_normal"] == colors(["he_normal"])[
      ...     "he_normal"]
      True
    """
    from matplotlib.colors import to_rgba

    unique = sorted(set(map(str, labels)))
    slots: dict[str, int] = {}
    taken: set[int] = set()
    for label in unique:
        slot = _SLOT.get(label)
        if slot is None:
            base = label.split("(", 1)[0].strip()
            slot = _SLOT.get(base) if base not in unique else None
        if slot is not None and slot not in taken:
            slots[label] = slot
            taken.add(slot)
    free = (i for i in range(10**6) if i not in taken)
    for label in unique:
        if label not in slots:
            slots[label] = next(free)
    n = len(PALETTE)
    return {
        label: tuple(float(c) for c in to_rgba(PALETTE[slots[label] % n]))
        for label in unique
    }


@contextlib.contextmanager
def figure_style(medium: str = "screen") -> Iterator[dict[str, Any]]:
    """A context in which new figures have the look of a screen or a paper.

    Sets matplotlib's rcParams inside the ``with`` block: figure width
    (:data:`MEDIA`: screen 8 in, paper 6.75 in, column 3.35 in), type size,
    saving resolution, light grid, no top/right spines, TrueType fonts in PDF
    (editable text). Figures of rows (intervals, distributions) take their
    height from their number of rows.

    Args:
      medium: "screen" (default), "paper" or "column".

    Yields:
      The medium's settings (width, font, dpi).

    Raises:
      ValueError: unknown medium.

    Example:
      >>> from initlab.plots import plot_ecdf
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> with figure_style("paper"):
      ...     fig, ax = plot_ecdf(outcomes, "test_accuracy")
      ...     save_figure(fig, "ecdf.pdf")
    """
    import matplotlib

    medium = choice(medium, tuple(MEDIA), "medium", where="figure_style")
    m = MEDIA[medium]
    rc = {
        "figure.figsize": (m["width"], m["width"] * _ASPECT),
        "font.size": m["font"],
        "axes.titlesize": m["font"] * 1.1,
        "axes.labelsize": m["font"],
        "xtick.labelsize": m["font"] * 0.9,
        "ytick.labelsize": m["font"] * 0.9,
        "legend.fontsize": m["font"] * 0.9,
        "savefig.dpi": m["dpi"],
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.grid": True,
        "grid.alpha": 0.3,
        "grid.linewidth": 0.6,
        "legend.frameon": False,
        "pdf.fonttype": 42,
        "svg.fonttype": "none",
    }
    with matplotlib.rc_context(rc):
        yield dict(m)


def save_figure(
    fig: Figure,
    path: str | os.PathLike,
    *,
    dpi: float = 100,
    also: Sequence[str] = (),
) -> Path:
    """Writes ``fig`` to ``path`` (format from the suffix) and closes it.

    The figure is closed even when saving fails, so a loop that writes many
    figures does not keep them all open. ``also`` writes the same figure in
    more formats beside ``path`` (e.g. a PNG for screens and an SVG or PDF for
    a paper).

    Args:
      fig: a matplotlib figure, e.g. the first item a plot function returns.
      path: file to write, e.g. ``"figures/ecdf.png"``; its folder must exist.
      dpi: dots per inch of raster formats. Default 100 (a 6.4 x 4 in figure
        is 640 x 400 px).
      also: extra formats, e.g. ``("svg", "pdf")``: written as ``path`` with
        that suffix.

    Returns:
      ``path`` as a Path.

    Raises:
      TypeError: ``path`` is not a str or path; ``dpi`` is not a number;
        ``also`` is not a sequence of format names.
      ValueError: ``dpi`` is not positive; an unknown format in ``also``.

    Example:
      >>> from initlab.plots import plot_ecdf
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> save_figure(plot_ecdf(outcomes, "test_loss")[0], "ecdf.png", also=["svg"])
      PosixPath('ecdf.png')
    """
    import matplotlib.pyplot as plt

    try:
        if not isinstance(path, (str, os.PathLike)):
            raise TypeError(
                f"path must be a str or os.PathLike, got {type(path).__name__}."
            )
        number(dpi, "dpi", where="save_figure", positive=True)
        if isinstance(also, str) or not all(isinstance(f, str) for f in also):
            raise TypeError(
                f"save_figure: also must be a list of format names such as "
                f"['svg', 'pdf']; got {also!r}."
            )
        known = fig.canvas.get_supported_filetypes()
        for fmt in also:
            choice(fmt.lower().lstrip("."), tuple(known), "each format in also",
                   where="save_figure")  # fmt: skip
        fig.savefig(path, dpi=dpi)
        for fmt in also:
            fig.savefig(Path(path).with_suffix("." + fmt.lower().lstrip(".")), dpi=dpi)
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


def _width() -> float:
    import matplotlib

    return float(matplotlib.rcParams["figure.figsize"][0])


def _axes(ax: Axes | None, figsize: tuple[float, float] | None = None):
    """``(fig, ax)``: the given axes, or one new figure of the current width."""
    import matplotlib.pyplot as plt

    if ax is None:
        width = _width()
        fig, ax = plt.subplots(figsize=figsize or (width, width * _ASPECT),
                               layout="constrained")  # fmt: skip
        return fig, ax
    return ax.figure, ax


def _panels(
    ax: Axes | None,
    nrows: int,
    ncols: int,
    *,
    height: float,
    height_ratios: Sequence[float] | None = None,
    width_ratios: Sequence[float] | None = None,
    sharex: str | bool = False,
    sharey: str | bool = False,
):
    """A grid of panels: a new figure ``height`` inches tall, or in ``ax``'s place.

    A given ``ax`` is replaced by the grid (its figure keeps every other
    axes), so a multi-panel figure can go into one cell of a user's layout.
    Returns ``(fig, axes)`` with axes a (nrows, ncols) array.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    kw = dict(height_ratios=height_ratios, width_ratios=width_ratios)
    if ax is None:
        fig = plt.figure(figsize=(_width(), height), layout="constrained")
        grid = fig.add_gridspec(nrows, ncols, **kw)
    else:
        fig = ax.figure
        grid = ax.get_subplotspec().subgridspec(nrows, ncols, **kw)
        ax.remove()
    axes = np.empty((nrows, ncols), dtype=object)
    for r in range(nrows):
        for c in range(ncols):
            share_x = None
            if sharex == "row" and c:
                share_x = axes[r, 0]
            elif sharex == "col" and r:
                share_x = axes[0, c]
            elif sharex is True and (r or c):
                share_x = axes[0, 0]
            share_y = None
            if sharey == "row" and c:
                share_y = axes[r, 0]
            elif sharey is True and (r or c):
                share_y = axes[0, 0]
            axes[r, c] = fig.add_subplot(grid[r, c], sharex=share_x, sharey=share_y)
    return fig, axes


def _has_legend(fig: Figure, but: Axes | None = None) -> bool:
    return bool(fig.legends) or any(
        a.get_legend() is not None for a in fig.axes if a is not but
    )


def _legend(ax: Axes, **kwargs: Any) -> None:
    """A legend inside the axes for a few entries, beside them for many.

    At most one legend per figure: when another axes of the figure already
    has one (panels drawn by several calls), this one is left out.
    """
    if _has_legend(ax.figure, but=ax):
        return
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


def _short(label: str, limit: int = 26) -> str:
    """A name that fits a tick label: long ones keep their start and end."""
    label = str(label)
    if len(label) <= limit:
        return label
    head = (limit - 1) * 2 // 3
    return label[:head] + "…" + label[-(limit - 1 - head) :]


def _names(labels: Sequence[str], limit: int = 26) -> dict[str, str]:
    """Short tick names, kept whole where shortening would make two equal."""
    short = {lab: _short(lab, limit) for lab in labels}
    counts: dict[str, int] = {}
    for s in short.values():
        counts[s] = counts.get(s, 0) + 1
    return {lab: (s if counts[s] == 1 else lab) for lab, s in short.items()}


def _row_height() -> float:
    """Inches per row of a figure of rows: about 1.9 lines of the current type."""
    import matplotlib

    return float(matplotlib.rcParams["font.size"]) * 1.9 / 72 + 0.02
