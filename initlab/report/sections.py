"""The report's words: each section's text from numbers computed in initlab.stats.

Nothing here resamples or estimates: the statistics come in (from
:func:`initlab.stats.summary_table`, :func:`initlab.stats.failures`,
:func:`initlab.stats.compare_with_best`, :func:`initlab.stats.variance_split`,
:func:`initlab.stats.binomial_checks`) and leave as sentences: the findings
at the top (:func:`_findings`), the sections under the table, and the
settings and provenance at the end (:func:`_provenance`).
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
        f"({n_resamples} resamples, seeded) for the mean, the IQM (the mean of "
        f"the middle 50 % of restarts) and the median{wilson}; each column shows "
        "the decimals its interval widths support. The expected best of k is exact "
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
            f"{label}: observed std of test accuracy {b['observed_std']:.2g}, "
            f"binomial prediction {b['predicted_std']:.2g}, ratio {b['ratio']:.2f}"
        )
    return [
        "Test-accuracy spread across restarts vs independent per-example coins "
        "(Jordan 2024; ratio near 1 = mostly per-example noise):",
        *lines,
    ]


def _num(value: float, places: int | None) -> str:
    if value is None or not np.isfinite(value):
        return "–"
    return f"{value:.4g}" if places is None else f"{value:.{places}f}"


def _interval(row: Any, name: str, places: int | None) -> str:
    est, low, high = (float(row[c]) for c in (name, f"{name}_low", f"{name}_high"))
    if not (np.isfinite(low) and np.isfinite(high)):
        return _num(est, places)
    return f"{_num(est, places)} [{_num(low, places)}, {_num(high, places)}]"


def _findings(
    outcomes: Outcomes,
    metric: str,
    *,
    table: Any,
    failures: Mapping[str, stats.Failure],
    order: list[str],
    best: str | None,
    comparisons: Mapping[str, tuple[float, float, float]],
    confidence: float,
    places: int | None,
) -> list[tuple[str, str]]:
    """The headline: (lead words in bold, the rest) per line.

    Best by IQM with its interval; the initializers it cannot be told apart
    from with these restarts (overlapping IQM intervals) and its probability of
    beating each; the range of the other working ones; the failed ones with
    their reason; the diverged restarts.
    """
    rows = {str(r["initializer"]): r for _, r in table.iterrows()}
    higher = outcomes.higher_is_better(metric)
    pct = f"{confidence:.0%}"
    lines: list[tuple[str, str]] = []
    working = [lab for lab in order if lab not in failures and lab in rows]
    if best is None or best in failures:
        best = working[0] if working and int(rows[working[0]]["n"]) >= 2 else None
    if best is None:
        lines.append(("No comparison", "fewer than 2 initializers kept 2 restarts."))
    else:
        b = rows[best]
        lines.append((
            f"Best by IQM: {best}",
            f"{metric} {_interval(b, 'iqm', places)} ({pct} interval, "
            f"{int(b['n'])} restarts; {'higher' if higher else 'lower'} is "
            "better).",
        ))  # fmt: skip
        b_low, b_high = float(b["iqm_low"]), float(b["iqm_high"])

        def beats(label: str) -> str:
            if label not in comparisons:
                return ""
            p, lo, hi = comparisons[label]
            return f"P({best} beats {label}) = {p:.2f} [{lo:.2f}, {hi:.2f}]"

        others = [lab for lab in working if lab != best and int(rows[lab]["n"]) >= 2]
        tied = [
            lab for lab in others
            if float(rows[lab]["iqm_high"]) >= b_low
            and float(rows[lab]["iqm_low"]) <= b_high
        ]  # fmt: skip
        if tied:
            parts = "; ".join(
                f"{lab} {_interval(rows[lab], 'iqm', places)}"
                + (f", {beats(lab)}" if beats(lab) else "")
                for lab in tied
            )
            lines.append((
                f"Not separable from {best} with {int(b['n'])} restarts",
                f"IQM intervals that overlap {best}'s: {parts}.",
            ))  # fmt: skip
        elif others:
            lines.append((
                "No tie",
                f"every other working initializer's IQM interval lies "
                f"{'below' if higher else 'above'} {best}'s.",
            ))  # fmt: skip
        rest = [lab for lab in others if lab not in tied]
        if rest:
            near, far = rest[0], rest[-1]
            ends = [near] if near == far else [near, far]
            parts = "; ".join(
                f"{'closest ' if lab == near and len(ends) > 1 else ''}"
                f"{'furthest ' if lab == far and len(ends) > 1 else ''}{lab} "
                f"{_interval(rows[lab], 'iqm', places)}"
                + (f", {beats(lab)}" if beats(lab) else "")
                for lab in ends
            )
            lines.append((
                f"Behind {best}",
                f"{len(rest)} working initializer(s) with IQM intervals "
                f"{'below' if higher else 'above'} its own: {parts}.",
            ))  # fmt: skip
    if failures:
        by_reason: dict[str, list[str]] = {}
        for label in order:
            if label in failures:
                by_reason.setdefault(failures[label].reason, []).append(label)

        def values(labels: list[str]) -> str:
            iqm = [float(rows[lab]["iqm"]) for lab in labels if lab in rows]
            iqm = [v for v in iqm if np.isfinite(v)]
            if not iqm:
                return ""
            low, high = _num(min(iqm), places), _num(max(iqm), places)
            return f" (IQM {low})" if low == high else f" (IQM {low} to {high})"

        text = "; ".join(
            f"{', '.join(labels)}: {reason}{values(labels)}"
            for reason, labels in by_reason.items()
        )
        lines.append((
            f"Failed: {len(failures)} of {len(outcomes.labels)}",
            f"{text}. They are drawn apart in the figures.",
        ))  # fmt: skip
    else:
        lines.append(("Failed: none", "no initializer diverged or sat at chance."))
    n_div = int(np.sum(outcomes.diverged))
    if n_div:
        counts = [
            f"{lab} {int(np.sum(outcomes.diverged[outcomes.initializer == lab]))}"
            for lab in outcomes.labels
            if np.any(outcomes.diverged[outcomes.initializer == lab])
        ]
        lines.append((
            f"Diverged: {n_div} of {len(outcomes)} restarts",
            f"({', '.join(counts)}); left out of every number.",
        ))  # fmt: skip
    else:
        lines.append(("Diverged: none", f"all {len(outcomes)} restarts stayed finite."))
    return lines


def _fmt_last(outcomes: Outcomes) -> str:
    return str(int(outcomes.steps[-1])) if len(outcomes.steps) else "–"


_RUN_KEYS = ("task_name", "model_name", "fingerprint", "devices", "plan",
             "wall_time_s", "first_segment_s", "versions", "higher_is_better",
             "command")  # fmt: skip


def _config_fields() -> tuple[str, ...]:
    import dataclasses

    from initlab.engine import TrainConfig

    return tuple(f.name for f in dataclasses.fields(TrainConfig))


def _text(value: Any) -> str:
    if isinstance(value, (str, int, float, bool)) or value is None:
        return str(value)
    return json.dumps(value, default=str, sort_keys=True)


def _seconds(value: Any) -> str:
    try:
        return f"{float(value):.1f} s"
    except (TypeError, ValueError):
        return _text(value)


Item = tuple[str, Any]  # (name, text) or (name, [Item, ...]) for a nested mapping


def _nested(value: Any) -> Any:
    if isinstance(value, Mapping):
        return [(str(k), _nested(v)) for k, v in value.items()]
    return _text(value)


def _provenance(
    outcomes: Outcomes,
    *,
    reproduce: tuple[str | None, str],
    rng: Any,
    n_resamples: int,
    confidence: float,
) -> list[tuple[str, list[Item]]]:
    """Settings and provenance: (heading, items) groups, last in the report.

    Reproduce (the command, or why there is none); Configuration (every
    TrainConfig field the run recorded); Run (restarts, evaluations,
    fingerprint, devices, plan, wall time, versions, seeds); Report (its own
    bootstrap settings); Other recorded values (keys this report does not
    know, rendered as they are).
    """
    meta = dict(outcomes.metadata)
    command, note = reproduce
    groups: list[tuple[str, list[Item]]] = []
    groups.append(
        ("Reproduce", ([("command", command)] if command else []) + [("note", note)])
    )
    fields = _config_fields()
    config = [(k, _text(meta[k])) for k in fields if k in meta and k != "devices"]
    if "devices" in meta and not isinstance(meta["devices"], list):
        config.append(("devices", _text(meta["devices"])))
    if config:
        groups.append(("Configuration", config))
    run: list[Item] = [
        ("restarts", str(len(outcomes))),
        ("initializers", ", ".join(outcomes.labels)),
        ("evaluated steps", f"{len(outcomes.steps)} (last {_fmt_last(outcomes)})"),
    ]
    for key, name in (("task_name", "task"), ("model_name", "model"),
                      ("fingerprint", "run fingerprint")):  # fmt: skip
        if key in meta:
            run.append((name, _text(meta[key])))
    if isinstance(meta.get("devices"), list):
        run.append(("devices", ", ".join(map(str, meta["devices"]))))
    if "plan" in meta:
        run.append(("plan", _nested(meta["plan"])))
    if "wall_time_s" in meta:
        run.append(("wall time", _seconds(meta["wall_time_s"])))
    if "first_segment_s" in meta:
        run.append(("first segment (includes compiling)",
                    _seconds(meta["first_segment_s"])))  # fmt: skip
    if "seed" in meta:
        run.append((
            "seeds",
            f"root seed {meta['seed']}; restart i's init and data-order keys are "
            f"folded from it (design {meta.get('design', '?')}), whatever the "
            "chunking or devices",
        ))  # fmt: skip
    if "versions" in meta:
        run.append(("versions", _nested(meta["versions"])))
    if "higher_is_better" in meta:
        run.append(("higher is better", _nested(meta["higher_is_better"])))
    groups.append(("Run", run))
    seed = rng if isinstance(rng, (int, np.integer)) else "a np.random.Generator"
    groups.append((
        "Report",
        [("bootstrap", f"{n_resamples} resamples, {confidence:.0%} percentile "
                       f"intervals, rng={seed}")],
    ))  # fmt: skip
    known = set(fields) | set(_RUN_KEYS)
    other = [(str(k), _nested(v)) for k, v in meta.items() if k not in known]
    if other:
        groups.append(("Other recorded values", other))
    return groups


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
