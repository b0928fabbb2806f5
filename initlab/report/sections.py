"""The report's words: each section's text from numbers computed in initlab.stats.

Nothing here resamples or estimates: the statistics come in (from
:func:`initlab.stats.compare_with_best`, :func:`initlab.stats.variance_split`,
:func:`initlab.stats.binomial_checks`) and leave as sentences.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab import stats

if TYPE_CHECKING:
    from initlab.outcomes import Outcomes


def _diverged_text(outcomes: Outcomes) -> str:
    n_div = int(np.sum(outcomes.diverged))
    if n_div:
        return (
            f"{n_div} of {len(outcomes)} restarts diverged (their loss became "
            "non-finite). They are counted in the 'diverged' column and left out of "
            "every other number, curve and figure; n counts the restarts kept."
        )
    return (
        "No restart diverged (a diverged restart would be counted in the "
        "'diverged' column and left out of every other number)."
    )


def _method_text(
    *, confidence: float, n_resamples: int, k: int, target: float | None
) -> str:
    wilson = (
        ", and Wilson score intervals for the success rate"
        if target is not None
        else ""
    )
    return (
        f"Intervals are {confidence:.0%} percentile-bootstrap intervals "
        f"({n_resamples} resamples, seeded) for the mean and the IQM (the mean of "
        f"the middle 50 % of restarts){wilson}. The expected best of k is exact "
        "for k draws with replacement from the observed restarts. Cells marked – "
        "cannot be estimated (fewer than 2 restarts for an interval, fewer than "
        f"{k} for the best of {k})."
    )


def _target_text(metric: str, target: float | None, higher: bool) -> str:
    if target is None:
        return ""
    return f"Success: final {metric} {'≥' if higher else '≤'} {target}."


def _comparison_lines(
    best: str | None, comparisons: Mapping[str, tuple[float, float, float]]
) -> list[str]:
    """Lines of :func:`initlab.stats.compare_with_best`'s result."""
    if best is None:
        return []
    lines = [
        f"P({best} beats {label}) = {p:.2f} [{lo:.2f}, {hi:.2f}]"
        for label, (p, lo, hi) in comparisons.items()
    ]
    return [
        f"Best by IQM: {best}. Probability that one of its restarts beats one "
        "of another initializer's (0.5 = no difference):",
        *lines,
    ]


def _variance_line(label: str, vc: Mapping[str, Any] | str) -> str:
    """One line of :func:`initlab.stats.variance_split`'s result."""
    if isinstance(vc, str):
        return f"{label}: {vc}"
    parts = ", ".join(
        f"{name} {s:.0%} [{lo:.0%}, {hi:.0%}]"
        for name, s, lo, hi in zip(
            vc["components"],
            vc["share"],
            vc["share_low"],
            vc["share_high"],
            strict=True,
        )
    )
    reps = "" if vc["confounded"] else f" x {vc['n_rep']} replicates"
    return f"{label} ({vc['n_init']} init x {vc['n_data']} data seeds{reps}): {parts}."


def _binomial_lines(outcomes: Outcomes) -> list[str]:
    """Lines of :func:`initlab.stats.binomial_checks`; none without test_correct."""
    if "test_correct" not in outcomes.per_example:
        return []
    lines = []
    for label, b in stats.binomial_checks(outcomes, "test_correct").items():
        if isinstance(b, str):
            lines.append(f"{label}: {b}")
            continue
        lines.append(
            f"{label}: observed std of test accuracy {b['observed_std']:.4g}, "
            f"binomial prediction {b['predicted_std']:.4g}, ratio {b['ratio']:.2f}"
        )
    return [
        "Test-accuracy spread across restarts vs independent per-example coins "
        "(Jordan 2024; ratio near 1 = mostly per-example noise):",
        *lines,
    ]


def _fmt_last(outcomes: Outcomes) -> str:
    return str(int(outcomes.steps[-1])) if len(outcomes.steps) else "–"


def _metadata_items(outcomes: Outcomes) -> list[tuple[str, str]]:
    items = [
        ("restarts", str(len(outcomes))),
        ("initializers", ", ".join(outcomes.labels)),
        ("evaluated steps", f"{len(outcomes.steps)} (last {_fmt_last(outcomes)})"),
    ]
    for key, value in outcomes.metadata.items():
        if isinstance(value, (str, int, float, bool)) or value is None:
            items.append((str(key), str(value)))
        else:
            items.append((str(key), json.dumps(value, default=str, sort_keys=True)))
    return items
