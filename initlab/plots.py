"""Figures of restart outcomes: each takes ``ax=None`` and returns ``(fig, ax)``.

matplotlib is imported inside each function, so ``import initlab`` stays light.
Nothing here calls ``plt.show()``; close what you create (``plt.close(fig)``).
Every initializer keeps one colour across figures: :func:`colors` maps the
sorted labels to tab10; pass ``palette=colors(all_labels)`` to figures that show
only some of them.

Distribution plots accept an :class:`~initlab.outcomes.Outcomes` with a metric
(diverged restarts are left out and counted in the legend) or a mapping
``label -> (R,) values`` (finite values only).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab import stats

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    from initlab.outcomes import Outcomes

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


def _collect(data: Any, metric: str | None, higher_is_better: bool | None = None):
    """(labels, finite values per label, diverged count per label, higher, name)."""
    from initlab.outcomes import Outcomes

    if isinstance(data, Outcomes):
        if metric is None:
            raise ValueError(f"pass the metric to plot; available: {data.metrics}.")
        values = {lab: data.values(metric, lab) for lab in data.labels}
        diverged = {
            lab: int(np.sum(data.diverged[data.initializer == lab]))
            for lab in data.labels
        }
        higher = (
            data.higher_is_better(metric)
            if higher_is_better is None
            else higher_is_better
        )
        for lab, v in values.items():
            stats.check_values(v, f"{metric} of {lab!r}", min_n=0)
        return list(values), values, diverged, higher, metric
    if isinstance(data, Mapping):
        if not data:
            raise ValueError("nothing to plot: the mapping of labels is empty.")
        values = {
            str(lab): stats.check_values(v, f"values of {lab!r}", min_n=0)
            for lab, v in data.items()
        }
        higher = True if higher_is_better is None else higher_is_better
        return list(values), values, dict.fromkeys(values, 0), higher, metric or "value"
    raise TypeError(
        "data must be an Outcomes (with a metric) or a mapping label -> values, "
        f"got {type(data).__name__}."
    )


def _legend_label(label: str, n: int, diverged: int) -> str:
    if diverged and n == 0:
        return f"{label} (all {diverged} diverged)"
    if diverged:
        return f"{label} (n={n}, {diverged} diverged)"
    return f"{label} (n={n})"


def _pretty(metric: str) -> str:
    return metric.replace("_", " ")


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
      >>> fig, ax = plot_distributions(outcomes, "test_accuracy")
    """
    from matplotlib.patches import Patch

    if kind not in ("violin", "box"):
        raise ValueError(f"kind must be 'violin' or 'box', got {kind!r}.")
    labels, values, diverged, _, name = _collect(data, metric)
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
      >>> fig, ax = plot_ecdf(outcomes, "test_loss")
    """
    labels, values, diverged, _, name = _collect(data, metric)
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


def plot_curves(
    outcomes: Outcomes,
    metric: str,
    *,
    ax: Axes | None = None,
    palette: Mapping[str, Any] | None = None,
    logy: bool | None = None,
    band: tuple[float, float] = (25.0, 75.0),
) -> tuple[Figure, Axes]:
    """Median learning curve and its inter-quartile band, per initializer.

    Diverged restarts are left out (their curves stop being meaningful at the
    step they blew up) and counted in the legend.

    Args:
      outcomes: Outcomes with ``metric`` in ``outcomes.curves``.
      metric: curve name, e.g. "train_loss".
      ax: axes to draw on; a new figure if None.
      palette: label -> colour; default :func:`colors` of the labels.
      logy: log-scaled y axis; None = on for lower-is-better metrics whose
        values are all positive (losses).
      band: percentiles of the shaded band (default the IQR, 25-75).

    Returns:
      ``(fig, ax)``: one median line and one band per initializer that has a
      non-diverged restart.

    Raises:
      KeyError: unknown curve.

    Example:
      >>> fig, ax = plot_curves(outcomes, "train_loss")
    """
    if metric not in outcomes.curves:
        raise KeyError(f"unknown curve {metric!r}; available: {list(outcomes.curves)}.")
    if not 0 <= band[0] < band[1] <= 100:
        raise ValueError(f"band must be two percentiles low < high, got {band}.")
    fig, ax = _axes(ax)
    labels = outcomes.labels
    palette = _palette(labels, palette)
    steps = np.asarray(outcomes.steps)
    curves = np.asarray(outcomes.curves[metric], np.float64)
    positive = True
    for label in labels:
        mask = outcomes.initializer == label
        keep = mask & ~outcomes.diverged
        n_div = int(np.sum(mask & outcomes.diverged))
        c = curves[keep]
        if c.shape[0] == 0:
            continue
        with warnings.catch_warnings():  # an all-NaN step is drawn as a gap
            warnings.simplefilter("ignore", RuntimeWarning)
            lo, med, hi = np.nanpercentile(c, [band[0], 50, band[1]], axis=0)
        positive &= bool(np.nanmin(c) > 0) if np.isfinite(c).any() else True
        ax.plot(
            steps,
            med,
            color=palette[label],
            label=_legend_label(label, c.shape[0], n_div),
        )
        ax.fill_between(steps, lo, hi, color=palette[label], alpha=0.2, linewidth=0)
    if logy is None:
        logy = not outcomes.higher_is_better(metric) and positive
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("training step")
    ax.set_ylabel(_pretty(metric))
    ax.set_title(
        f"{_pretty(metric)}: median and {band[0]:g}-{band[1]:g}th percentile band"
    )
    _legend(ax)
    return fig, ax


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
      >>> fig, ax = plot_best_of_k(outcomes, "test_accuracy")
    """
    labels, values, diverged, higher, name = _collect(data, metric, higher_is_better)
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
      >>> fig, ax = plot_profiles(outcomes, "test_accuracy")
    """
    labels, values, diverged, higher, name = _collect(data, metric, higher_is_better)
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


def plot_variance_components(
    components: Mapping[str, Any],
    *,
    ax: Axes | None = None,
    title: str | None = None,
) -> tuple[Figure, Axes]:
    """Bars of the share of variance per source, with bootstrap error bars.

    Args:
      components: the dict returned by :func:`initlab.stats.variance_components`.
      ax: axes to draw on; a new figure if None.
      title: optional title; default names the grid size.

    Returns:
      ``(fig, ax)``: one bar per component.

    Example:
      >>> fig, ax = plot_variance_components(stats.variance_components(grid, rng=0))
    """
    for key in ("components", "share", "share_low", "share_high"):
        if key not in components:
            raise ValueError(
                f"components lacks {key!r}: pass what "
                "initlab.stats.variance_components returns."
            )
    names = list(components["components"])
    share = np.asarray(components["share"], np.float64)
    err = np.stack(
        [
            share - np.asarray(components["share_low"]),
            np.asarray(components["share_high"]) - share,
        ]
    )
    fig, ax = _axes(ax)
    import matplotlib

    cmap = matplotlib.colormaps["Set2"]
    ax.bar(
        range(len(names)),
        share,
        yerr=np.maximum(err, 0),
        capsize=4,
        color=[cmap(i) for i in range(len(names))],
    )
    ax.set_xticks(range(len(names)), [n.replace("+", "+\n") for n in names])
    ax.set_xlabel("source of variance")
    ax.set_ylabel("share of total variance")
    ax.set_ylim(0, 1.05)
    conf = components.get("confidence", 0.95)
    ax.set_title(
        title
        or f"{components.get('n_init', '?')} init x {components.get('n_data', '?')} "
        f"data seeds ({conf:.0%} bootstrap intervals)"
    )
    return fig, ax


def plot_layer_stats(
    table: pd.DataFrame,
    statistic: str | None = None,
    *,
    ax: Axes | None = None,
    palette: Mapping[str, Any] | None = None,
    logy: bool = False,
) -> tuple[Figure, Axes]:
    """A per-layer diagnostic (e.g. activation std) vs layer index, per initializer.

    Args:
      table: DataFrame with columns initializer, layer, statistic, value; one
        row per (initializer, layer, statistic). ``layer`` may be integers
        (used as the index) or names (indexed in order of appearance and
        written on the x axis).
      statistic: which statistic to plot; may be omitted when there is one.
      ax: axes to draw on; a new figure if None.
      palette: label -> colour; default :func:`colors` of the labels.
      logy: log-scaled y axis (for quantities that grow or vanish with depth).

    Returns:
      ``(fig, ax)``: one line per initializer.

    Raises:
      ValueError: missing columns, unknown or ambiguous statistic.

    Example:
      >>> fig, ax = plot_layer_stats(table, "activation_std", logy=True)
    """
    need = {"initializer", "layer", "statistic", "value"}
    if not need <= set(table.columns):
        raise ValueError(
            f"table needs columns {sorted(need)}, has {list(table.columns)}."
        )
    available = list(dict.fromkeys(table["statistic"].tolist()))
    if statistic is None:
        if len(available) != 1:
            raise ValueError(f"pass statistic=; the table holds {available}.")
        statistic = available[0]
    if statistic not in available:
        raise ValueError(f"unknown statistic {statistic!r}; available: {available}.")
    sub = table[table["statistic"] == statistic]
    layers = list(dict.fromkeys(sub["layer"].tolist()))
    numeric = all(isinstance(v, (int, np.integer)) for v in layers)
    index = {lay: (int(lay) if numeric else i) for i, lay in enumerate(layers)}
    labels = list(dict.fromkeys(sub["initializer"].astype(str).tolist()))
    palette = _palette(labels, palette)
    fig, ax = _axes(ax)
    for label in labels:
        rows = sub[sub["initializer"].astype(str) == label]
        x = np.array([index[v] for v in rows["layer"]])
        y = rows["value"].to_numpy(np.float64)
        order = np.argsort(x, kind="stable")
        ax.plot(
            x[order],
            y[order],
            marker="o",
            markersize=3,
            color=palette[label],
            label=label,
        )
    if numeric:
        from matplotlib.ticker import MaxNLocator

        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    else:
        ax.set_xticks(
            range(len(layers)),
            [str(v) for v in layers],
            rotation=45 if len(layers) > 6 else 0,
            ha="right",
        )
    if logy:
        ax.set_yscale("log")
    ax.set_xlabel("layer index (input → output)")
    ax.set_ylabel(_pretty(statistic))
    ax.set_title(f"{_pretty(statistic)} per layer")
    _legend(ax)
    return fig, ax
