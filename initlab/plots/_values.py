"""What the distribution figures read: finite values per initializer label."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from initlab import stats


def collect(data: Any, metric: str | None, higher_is_better: bool | None = None):
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


STATISTICS = ("mean", "iqm", "median")
_TITLES = {"mean": "Mean", "iqm": "IQM", "median": "Median"}


def check_statistics(statistics: Any, where: str) -> tuple[str, ...]:
    """A non-empty tuple of names from STATISTICS, or a teaching error."""
    if isinstance(statistics, str):
        statistics = (statistics,)
    try:
        chosen = tuple(statistics)
    except TypeError:
        raise TypeError(
            f"{where}: statistics must be a list of names from {STATISTICS}; got "
            f"{statistics!r}."
        ) from None
    bad = [s for s in chosen if s not in STATISTICS]
    if not chosen or bad:
        raise ValueError(
            f"{where}: statistics must be one or more of {STATISTICS}; got "
            f"{list(chosen)}."
        )
    return chosen


def interval_rows(
    data: Any,
    metric: str | None,
    *,
    rng: Any,
    confidence: float,
    n_resamples: int,
    higher_is_better: bool | None,
    table: Any = None,
):
    """Point and interval of mean / IQM / median per label.

    Returns ``(labels, rows, higher, name, table)``; ``rows[label]`` holds n,
    diverged and ``stat -> (estimate, low, high)`` (NaN where it cannot be
    estimated); ``table`` is the summary table used (None for a mapping).
    """
    from initlab.outcomes import Outcomes

    labels, values, diverged, higher, name = collect(data, metric, higher_is_better)
    rows: dict[str, dict[str, Any]] = {}
    nan = float("nan")
    if isinstance(data, Outcomes):
        if table is None:
            table = stats.summary_table(data, name, rng=rng, confidence=confidence,
                                        n_resamples=n_resamples)  # fmt: skip
        by_label = {str(r["initializer"]): r for _, r in table.iterrows()}
        for label in labels:
            r = by_label.get(label)
            if r is None:
                raise ValueError(
                    f"the table has no row for {label!r}; pass the summary table "
                    "of these outcomes (or table=None)."
                )
            row: dict[str, Any] = {"n": int(r["n"]), "diverged": int(r["diverged"])}
            for s in STATISTICS:
                row[s] = tuple(
                    float(r[c]) if c in r.index else nan
                    for c in (s, f"{s}_low", f"{s}_high")
                )
            rows[label] = row
        return labels, rows, higher, name, table
    children = stats.as_rng(rng).spawn(len(labels))
    for label, child in zip(labels, children, strict=True):
        v = values[label]
        row = {"n": int(v.size), "diverged": 0}
        if v.size >= 2:
            full = stats.summarize(v, rng=child, confidence=confidence,
                                   n_resamples=n_resamples)  # fmt: skip
            for s in STATISTICS:
                row[s] = (full[s], full[f"{s}_low"], full[f"{s}_high"])
        else:
            point = float(v[0]) if v.size else nan
            for s in STATISTICS:
                row[s] = (point, nan, nan)
        rows[label] = row
    return labels, rows, higher, name, None


def failed_labels(
    data: Any,
    metric: str,
    failed: Any,
    *,
    labels: list[str],
    rows: dict[str, dict[str, Any]] | None = None,
    values: dict[str, np.ndarray] | None = None,
    higher: bool,
    chance: float | None,
    table: Any = None,
    rng: Any = 0,
) -> dict[str, str]:
    """label -> a few words of why it failed, for the labels drawn apart.

    ``failed``: None (found here: :func:`initlab.stats.failures` for Outcomes;
    for a mapping, fewer than 2 values or an IQM interval at ``chance``), a
    mapping label -> Failure or words, a list of labels, or False / empty
    (nothing drawn apart).
    """
    from initlab.outcomes import Outcomes

    if failed is None:
        if isinstance(data, Outcomes):
            found = stats.failures(data, metric, rng=rng, chance=chance, table=table)
            return {lab: f.short for lab, f in found.items() if lab in labels}
        out = {}
        for label in labels:
            n = rows[label]["n"] if rows is not None else values[label].size
            if n < 2:
                out[label] = "too few values"
                continue
            if chance is None:
                continue
            if rows is not None:
                _, low, high = rows[label]["iqm"]
            else:
                est = stats.iqm(values[label])
                low = high = est
            if np.isfinite(low) and stats.at_chance(
                low, high, chance, metric=metric, higher_is_better=higher
            ):
                out[label] = "at chance"
        return out
    if failed is False:
        return {}
    if isinstance(failed, Mapping):
        chosen = {
            str(k): (v.short if isinstance(v, stats.Failure) else str(v))
            for k, v in failed.items()
        }
    elif isinstance(failed, (str, bytes)):
        raise TypeError(
            f"failed must be a list of labels or a mapping label -> reason; got the "
            f"string {failed!r} (write [{failed!r}] for one label)."
        )
    else:
        try:
            chosen = {str(k): "failed" for k in failed}
        except TypeError:
            raise TypeError(
                "failed must be None, False, a list of labels or a mapping label -> "
                f"reason; got {type(failed).__name__}."
            ) from None
    unknown = [k for k in chosen if k not in labels]
    if unknown:
        raise ValueError(f"failed names unknown label(s) {unknown}; labels: {labels}.")
    return {lab: chosen[lab] for lab in labels if lab in chosen}


def best_first(labels: list[str], key: dict[str, float], higher: bool) -> list[str]:
    """Labels sorted by ``key``, best first; NaN keys last, ties in given order."""

    def rank(label: str) -> tuple[int, float]:
        v = key[label]
        if not np.isfinite(v):
            return (1, 0.0)
        return (0, -v if higher else v)

    return sorted(labels, key=rank)


def failed_xlim(values: list[float], metric: str, level: float | None):
    """x limits of a failed panel: its values and the chance band, never a sliver.

    Half-width at least the chance band's (:func:`initlab.stats.at_chance`,
    around the chance level or the values' centre): differences inside the
    band mean nothing, so the panel does not zoom into them.
    """
    pts = [v for v in values if np.isfinite(v)]
    if level is not None:
        pts.append(level)
    if not pts:
        return None
    centre = level if level is not None else float(np.median(pts))
    if "accuracy" in metric:
        half = stats.CHANCE_TOLERANCE * abs(1.0 - centre)
    else:
        half = stats.CHANCE_TOLERANCE * (abs(centre) or 1.0)
    low, high = min(min(pts), centre - half), max(max(pts), centre + half)
    pad = 0.08 * (high - low)
    return low - pad, high + pad
