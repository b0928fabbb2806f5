"""Distributions of the final metric over restarts: violins/boxes and ECDFs."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab.plots._values import collect
from initlab.plots.style import _axes, _legend, _legend_label, _palette, _pretty

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from initlab.outcomes import Outcomes


def plot_distributions(
    data: Outcomes | Mapping[str, Any],
    metric: str | None = None,
    *,
    kind: str = "violin",
    ax: Axes | None = None,
    palette: Mapping[str, Any] | None = None,
    jitter: float = 0.12,
    rng: int = 0,
) -> tuple[Figure, Axes]:
    """One violin (or box) per initializer with every restart as a jittered dot.

    Diverged restarts are left out of the shapes and named in the legend
    ("he (n=18, 2 diverged)"). A violin needs two distinct values; with fewer
    only the dots are drawn.

    Args:
      data: Outcomes (with ``metric``) or mapping label -> (R,) values.
      metric: final metric name (y axis).
      kind: "violin" (default) or "box".
      ax: axes to draw on; a new figure if None.
      palette: label -> colour; default :func:`colors` of the labels.
      jitter: horizontal spread of the dots, in units of one slot.
      rng: seed of the jitter, so figures are reproducible.

    Returns:
      ``(fig, ax)``.

    Raises:
      ValueError: unknown kind, missing metric, non-finite values in a mapping.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> fig, ax = plot_distributions(outcomes, "test_accuracy")
    """
    from matplotlib.patches import Patch

    if kind not in ("violin", "box"):
        raise ValueError(f"kind must be 'violin' or 'box', got {kind!r}.")
    labels, values, diverged, _, name = collect(data, metric)
    fig, ax = _axes(ax)
    palette = _palette(labels, palette)
    gen = np.random.default_rng(rng)
    handles = []
    for pos, label in enumerate(labels):
        v, c = values[label], palette[label]
        if kind == "violin" and v.size >= 2 and np.ptp(v) > 0:
            body = ax.violinplot(v, positions=[pos], showextrema=False, widths=0.8)
            for patch in body["bodies"]:
                patch.set_facecolor(c)
                patch.set_alpha(0.3)
        elif kind == "box" and v.size:
            ax.boxplot(
                v,
                positions=[pos],
                widths=0.5,
                showfliers=False,
                medianprops={"color": c},
                manage_ticks=False,
            )
        if v.size:
            x = pos + gen.uniform(-jitter, jitter, v.size)
            ax.scatter(x, v, s=12, color=c, alpha=0.8, linewidths=0, zorder=3)
        handles.append(
            Patch(color=c, label=_legend_label(label, v.size, diverged[label]))
        )
    ax.set_xticks(
        range(len(labels)),
        labels,
        rotation=30 if len(labels) > 4 else 0,
        ha="right" if len(labels) > 4 else "center",
    )
    ax.set_xlabel("initializer")
    ax.set_ylabel(f"final {_pretty(name)}")
    total_div = sum(diverged.values())
    ax.set_title(
        f"{_pretty(name)} over restarts"
        + (f" ({total_div} diverged restarts left out)" if total_div else "")
    )
    _legend(ax, handles=handles)
    return fig, ax


def plot_ecdf(
    data: Outcomes | Mapping[str, Any],
    metric: str | None = None,
    *,
    ax: Axes | None = None,
    palette: Mapping[str, Any] | None = None,
) -> tuple[Figure, Axes]:
    """Empirical CDF of the final metric, one step line per initializer.

    ``F(v) = #{restarts with value <= v} / n`` over non-diverged restarts.

    Args:
      data: Outcomes (with ``metric``) or mapping label -> (R,) values.
      metric: final metric name (x axis).
      ax: axes to draw on; a new figure if None.
      palette: label -> colour; default :func:`colors` of the labels.

    Returns:
      ``(fig, ax)``; one line per initializer with at least one finite value.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> fig, ax = plot_ecdf(outcomes, "test_loss")
    """
    labels, values, diverged, _, name = collect(data, metric)
    fig, ax = _axes(ax)
    palette = _palette(labels, palette)
    for label in labels:
        v = np.sort(values[label])
        if v.size == 0:
            continue
        frac = np.arange(1, v.size + 1) / v.size
        ax.step(
            np.r_[v[0], v],
            np.r_[0.0, frac],
            where="post",
            color=palette[label],
            label=_legend_label(label, v.size, diverged[label]),
        )
    ax.set_xlabel(f"final {_pretty(name)}")
    ax.set_ylabel("fraction of restarts ≤ value")
    ax.set_ylim(0, 1.02)
    _legend(ax)
    ax.set_title(f"ECDF of {_pretty(name)}")
    return fig, ax


def plot_ecdf_split(
    data: Outcomes | Mapping[str, Any],
    metric: str | None = None,
    *,
    sort_by: str = "iqm",
    failed: Any = None,
    chance: float | None = None,
    higher_is_better: bool | None = None,
    palette: Mapping[str, Any] | None = None,
    ax: Axes | None = None,
) -> tuple[Figure, np.ndarray]:
    """Empirical CDFs, the working initializers zoomed, the failed ones apart.

    As :func:`plot_ecdf`, with failed initializers (see
    :func:`initlab.stats.failures`) in a narrower panel of their own on the
    right, so the working ones' axis spans only their values. One legend for
    the figure, beside the panels, best first (by ``sort_by``).

    Args:
      data: Outcomes (with ``metric``) or mapping label -> (R,) values.
      metric: final metric name (x axis).
      sort_by: "mean", "iqm" (default) or "median": the legend's order.
      failed: None (found from the data), a mapping label -> reason, a list of
        labels, or False (one panel).
      chance: the task's chance level (dashed in the failed panel); default
        :func:`initlab.stats.chance_level` of the Outcomes.
      higher_is_better: override the metric's direction (mappings default True).
      palette: label -> colour; default :func:`colors` of the labels.
      ax: an axes whose place the panels take; a new figure if None.

    Returns:
      ``(fig, axes)``: a (1, 1 or 2) array, working panel first.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> fig, axes = plot_ecdf_split(outcomes, "test_accuracy")
    """
    from matplotlib.lines import Line2D

    from initlab.plots._values import failed_xlim
    from initlab.plots.strips import split_rows
    from initlab.plots.style import REFERENCE, _names, _panels, _width

    labels, values, diverged, higher, name, level, bad, working, broken = split_rows(
        data, metric, failed, chance, sort_by, higher_is_better, 0, "plot_ecdf_split"
    )
    palette = _palette(labels, palette)
    short = _names(labels)
    groups = [g for g in (working, broken) if g]
    fig, axes = _panels(ax, 1, len(groups), height=_width() * 0.5,
                        width_ratios=[1.0, 0.42][: len(groups)],
                        sharey="row")  # fmt: skip
    handles = []
    for c, group in enumerate(groups):
        a = axes[0, c]
        for label in group:
            v = np.sort(values[label])
            text = short[label] + (f": {bad[label]}" if label in bad else "")
            if diverged[label]:
                text += f" ({diverged[label]} diverged)"
            if v.size == 0:
                handles.append(Line2D([], [], color=palette[label], label=text))
                continue
            frac = np.arange(1, v.size + 1) / v.size
            (line,) = a.step(np.r_[v[0], v], np.r_[0.0, frac], where="post",
                             color=palette[label], label=text)  # fmt: skip
            handles.append(line)
        if group is broken:
            if level is not None:
                a.axvline(level, color=REFERENCE, linestyle="--", linewidth=0.8)
            limits = failed_xlim([x for lab in group for x in values[lab]], name,
                                 level)  # fmt: skip
            if limits is not None:
                a.set_xlim(*limits)
            a.set_title("failed: own axis", loc="left", fontsize="medium",
                        color="#444444")  # fmt: skip
            a.tick_params(labelleft=c == 0)
        a.set_xlabel(f"final {_pretty(name)}")
    axes[0, 0].set_ylabel("fraction of restarts ≤ value")
    axes[0, 0].set_ylim(0, 1.02)
    better = "right" if higher else "left"
    legend_ax = axes[0, -1]
    legend_ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.02, 1.0),
                     borderaxespad=0.0, fontsize="small",
                     ncols=1 if len(handles) <= 18 else 2,
                     title="best first")  # fmt: skip
    if ax is None:
        fig.suptitle(f"ECDF of {_pretty(name)} (better to the {better})")
    return fig, axes
