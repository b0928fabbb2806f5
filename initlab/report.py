"""A written report of a run: Parquet results, PNG figures, Markdown and HTML.

``write_report(outcomes, "out/")`` writes::

    out/results.parquet      every restart (Outcomes.save)
    out/figures/*.png        distributions, ECDF, profiles, best of k, curves,
                             variance split (grid designs), per-layer statistics
    out/report.md            summary table, comparisons, metadata, figures
    out/report.html          the same, one self-contained page (images linked)
"""

from __future__ import annotations

import html
import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab import plots, stats
from initlab.stats.grids import seed_grid, variance_split  # noqa: F401 (re-exported)

if TYPE_CHECKING:
    import pandas as pd

    from initlab.outcomes import Outcomes

_DPI = 100


def default_metric(outcomes: Outcomes) -> str:
    """The metric a report leads with: test_accuracy, else test_loss, else the first.

    Raises:
      ValueError: the outcomes hold no final metric.
    """
    for name in ("test_accuracy", "test_loss"):
        if name in outcomes.final:
            return name
    if not outcomes.final:
        raise ValueError("the outcomes hold no final metric to report.")
    return next(iter(outcomes.final))


def _fmt(value: Any, digits: int | None = None) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.4g}" if digits is None else f"{float(value):.{digits}f}"


def display_table(
    table: pd.DataFrame, *, confidence: float = 0.95, digits: int | None = None
) -> pd.DataFrame:
    """The printable form of :func:`initlab.stats.summary_table`: value [interval].

    Args:
      table: the DataFrame from ``stats.summary_table``.
      confidence: the coverage its intervals were computed with (for headers).
      digits: decimals of every number; None: 4 significant digits.

    Returns:
      One row of strings per initializer: n, diverged, mean [CI], IQM [CI],
      median, std, success rate [CI] (when the table has it) and the expected
      best of k.

    Example:
      >>> print(display_table(stats.summary_table(out, "test_accuracy", rng=0)))
    """
    import pandas as pd

    def fmt(value: Any) -> str:
        return _fmt(value, digits)

    def with_ci(r: Any, name: str, low: str, high: str) -> str:
        if not np.isfinite(r[low]):
            return fmt(r[name])
        return f"{fmt(r[name])} [{fmt(r[low])}, {fmt(r[high])}]"

    pct = f"{confidence:.0%} CI"
    best = [c for c in table.columns if c.startswith("best_of_")]
    rows = []
    for _, r in table.iterrows():
        row = {
            "initializer": r["initializer"],
            "n": _fmt(r["n"]),
            "diverged": _fmt(r["diverged"]),
            f"mean [{pct}]": with_ci(r, "mean", "mean_low", "mean_high"),
            f"IQM [{pct}]": with_ci(r, "iqm", "iqm_low", "iqm_high"),
            "median": fmt(r["median"]),
            "std": fmt(r["std"]),
        }
        if "success_rate" in table:
            row[f"success rate [{pct}]"] = with_ci(
                r, "success_rate", "success_low", "success_high"
            )
        for column in best:
            row[f"expected best of {column.removeprefix('best_of_')}"] = fmt(r[column])
        rows.append(row)
    return pd.DataFrame(rows)


def _md_table(frame: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in frame.columns) + "|")
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", str(name)).strip("_") or "x"


def _save(fig: Any, path: Path) -> None:
    import matplotlib.pyplot as plt

    try:
        fig.savefig(path, dpi=_DPI)
    finally:
        plt.close(fig)


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


def _fmt_last(outcomes: Outcomes) -> str:
    return str(int(outcomes.steps[-1])) if len(outcomes.steps) else "–"


def write_report(
    outcomes: Outcomes,
    out_dir: str | os.PathLike,
    *,
    metric: str | None = None,
    target: float | None = None,
    rng: stats.RNG = 0,
    k: int = 5,
    confidence: float = 0.95,
    n_resamples: int = 2000,
    layer_stats: pd.DataFrame | None = None,
    title: str = "initlab report",
    components: Mapping[str, dict[str, Any] | str] | None = None,
    table: pd.DataFrame | None = None,
) -> Path:
    """Writes results, figures and a Markdown + HTML report into ``out_dir``.

    The summary table has one row per initializer: restarts kept (n), diverged
    restarts, mean and IQM with percentile-bootstrap intervals, median, std,
    success rate with a Wilson interval (if ``target``), and the expected best
    of ``k`` restarts (:func:`initlab.stats.summary_table`). Diverged restarts
    are counted and left out of every statistic and figure; the report says
    so. The best initializer by IQM is compared with each other one by the
    probability of improvement. A variance split (init vs data order) is added
    for every initializer whose restarts form a full (init seed x data seed)
    grid; a binomial check (Jordan 2024) when ``per_example["test_correct"]``
    is present; per-layer figures when ``layer_stats`` is given.

    Args:
      outcomes: the run's Outcomes.
      out_dir: folder to write into (created; existing files are replaced).
      metric: final metric to lead with; default :func:`default_metric`.
      target: success threshold on ``metric`` (in its better direction).
      rng: seed of every bootstrap in the report.
      k: restarts for the best-of-k column. Default 5.
      confidence: interval coverage. Default 0.95.
      n_resamples: bootstrap resamples. Default 2000.
      layer_stats: optional DataFrame (initializer, layer, statistic, value).
      title: heading of the report.
      components: precomputed :func:`variance_split` (so a caller prints the
        same intervals as the report); default computed here from ``rng``.
      table: precomputed ``stats.summary_table(outcomes, metric, target=target,
        k=k, confidence=confidence)``; default computed here from ``rng``.

    Returns:
      The folder ``out_dir`` as a Path.

    Raises:
      ValueError: no restarts; KeyError: unknown metric.

    Example:
      >>> folder = write_report(outcomes, "runs/mlp", target=0.9)
      >>> (folder / "report.html").exists()
      True

    References:
      Agarwal et al. (2021); Wilson (1927); Jordan (2024); Summers & Dinneen
      (2021).
    """
    if len(outcomes) == 0:
        raise ValueError("no restarts to report.")
    metric = default_metric(outcomes) if metric is None else metric
    if metric not in outcomes.final:
        raise KeyError(f"unknown metric {metric!r}; available: {outcomes.metrics}.")
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    outcomes.save(out / "results.parquet")
    seeds = stats.as_rng(rng).spawn(5)
    higher = outcomes.higher_is_better(metric)
    if table is None:
        table = stats.summary_table(
            outcomes,
            metric,
            rng=seeds[0],
            target=target,
            k=k,
            confidence=confidence,
            n_resamples=n_resamples,
        )
    shown = display_table(table, confidence=confidence)

    figures: list[tuple[str, str]] = []  # (relative path, caption)
    everyone = list(outcomes.labels)
    if layer_stats is not None and "initializer" in layer_stats:
        everyone += layer_stats["initializer"].astype(str).tolist()
    palette = plots.colors(everyone)  # one colour per initializer in every figure

    def add(fig_ax: tuple[Any, Any], name: str, caption: str) -> None:
        path = fig_dir / f"{_slug(name)}.png"
        _save(fig_ax[0], path)
        figures.append((f"figures/{path.name}", caption))

    any_values = bool(table["n"].sum())
    if any_values:
        add(
            plots.plot_distributions(outcomes, metric, palette=palette),
            "distributions",
            f"Final {metric} of every restart, per initializer.",
        )
        add(
            plots.plot_ecdf(outcomes, metric, palette=palette),
            "ecdf",
            f"Empirical CDF of the final {metric}.",
        )
        add(
            plots.plot_profiles(
                outcomes, metric, confidence=confidence, palette=palette
            ),
            "profiles",
            "Performance profiles: fraction of restarts better than each "
            "threshold (pointwise Wilson bands).",
        )
        add(
            plots.plot_best_of_k(
                outcomes,
                metric,
                palette=palette,
                rng=seeds[1],
                confidence=confidence,
                n_resamples=min(n_resamples, 1000),
            ),
            "best_of_k",
            "Expected best of k restarts (draws with replacement from the observed "
            "restarts), with bootstrap bands.",
        )
    for curve in outcomes.curves:
        if np.any(~outcomes.diverged):
            add(
                plots.plot_curves(outcomes, curve, palette=palette),
                f"curves_{curve}",
                f"{curve} during training: median over restarts and the "
                "inter-quartile band.",
            )

    # Variance split for full (init seed x data seed) grids.
    variance_lines: list[str] = []
    if components is None:
        components = variance_split(
            outcomes,
            metric,
            rng=seeds[2],
            confidence=confidence,
            n_resamples=min(n_resamples, 1000),
        )
    for label, vc in components.items():
        if isinstance(vc, str):
            variance_lines.append(f"{label}: {vc}")
            continue
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
        variance_lines.append(
            f"{label} ({vc['n_init']} init x {vc['n_data']} data seeds{reps}): {parts}."
        )
        add(
            plots.plot_variance_components(vc, title=f"{label}: sources of variance"),
            f"variance_{label}",
            f"{label}: share of the variance of {metric} from "
            "the init seed, the data-order seed, and the rest.",
        )

    if layer_stats is not None and len(layer_stats):
        for statistic in dict.fromkeys(layer_stats["statistic"].tolist()):
            add(
                plots.plot_layer_stats(layer_stats, statistic, palette=palette),
                f"layer_{statistic}",
                f"{statistic} per layer.",
            )

    comparison_lines = _comparisons(
        outcomes, table, metric, higher, seeds[3], confidence, n_resamples
    )
    binomial_lines = _binomial(outcomes)

    n_div = int(np.sum(outcomes.diverged))
    diverged_text = (
        f"{n_div} of {len(outcomes)} restarts diverged (their loss became "
        "non-finite). They are counted in the 'diverged' column and left out of "
        "every other number, curve and figure; n counts the restarts kept."
        if n_div
        else "No restart diverged (a diverged restart would be counted in the "
        "'diverged' column and left out of every other number)."
    )
    wilson = (
        ", and Wilson score intervals for the success rate"
        if target is not None
        else ""
    )
    method_text = (
        f"Intervals are {confidence:.0%} percentile-bootstrap intervals "
        f"({n_resamples} resamples, seeded) for the mean and the IQM (the mean of "
        f"the middle 50 % of restarts){wilson}. The expected best of k is exact "
        "for k draws with replacement from the observed restarts. Cells marked – "
        "cannot be estimated (fewer than 2 restarts for an interval, fewer than "
        f"{k} for the best of {k})."
    )
    direction = "higher" if higher else "lower"
    target_text = (
        f"Success: final {metric} {'≥' if higher else '≤'} {target}."
        if target is not None
        else ""
    )
    sections = {
        "title": title,
        "lead": f"Final {metric} ({direction} is better) over "
        f"{len(outcomes)} restarts of {len(outcomes.labels)} initializer(s).",
        "diverged": diverged_text,
        "method": method_text,
        "target": target_text,
        "comparisons": comparison_lines,
        "variance": variance_lines,
        "binomial": binomial_lines,
        "metadata": _metadata_items(outcomes),
    }
    (out / "report.md").write_text(_markdown(sections, shown, figures))
    (out / "report.html").write_text(_html(sections, shown, figures))
    return out


def _comparisons(outcomes, table, metric, higher, seed, confidence, n_resamples):
    kept = table[table["n"] >= 2]
    if len(kept) < 2:
        return []
    best = kept.sort_values("iqm", ascending=not higher).iloc[0]["initializer"]
    x = outcomes.values(metric, best)
    lines = []
    others = [lab for lab in kept["initializer"] if lab != best]
    for label, child in zip(others, seed.spawn(len(others)), strict=True):
        p, lo, hi = stats.probability_of_improvement(
            x,
            outcomes.values(metric, label),
            rng=child,
            higher_is_better=higher,
            confidence=confidence,
            n_resamples=n_resamples,
        )
        lines.append(f"P({best} beats {label}) = {p:.2f} [{lo:.2f}, {hi:.2f}]")
    return [
        f"Best by IQM: {best}. Probability that one of its restarts beats one "
        "of another initializer's (0.5 = no difference):",
        *lines,
    ]


def _binomial(outcomes):
    correct = outcomes.per_example.get("test_correct")
    if correct is None:
        return []
    lines = []
    for label in outcomes.labels:
        keep = (outcomes.initializer == label) & ~outcomes.diverged
        try:
            b = stats.binomial_check(np.asarray(correct)[keep])
        except ValueError as err:
            lines.append(f"{label}: no binomial check ({err})")
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


def _markdown(sec: dict, shown: Any, figures: list[tuple[str, str]]) -> str:
    md = [f"# {sec['title']}", "", sec["lead"], "", "## Summary", ""]
    md += [_md_table(shown), ""]
    md += [sec["diverged"], "", sec["method"], ""]
    if sec["target"]:
        md += [sec["target"], ""]
    for heading, key in (
        ("Comparisons", "comparisons"),
        ("Init vs data order", "variance"),
        ("Binomial check", "binomial"),
    ):
        if sec[key]:
            head, *rest = sec[key] if key != "variance" else ["", *sec[key]]
            md += [f"## {heading}", ""] + ([head, ""] if head else [])
            md += [f"- {line}" for line in rest] + [""]
    if figures:
        md += ["## Figures", ""]
        for rel, caption in figures:
            md += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
    md += ["## Run", ""]
    md += [f"- **{key}**: `{value}`" for key, value in sec["metadata"]] + [""]
    return "\n".join(md)


def _html(sec: dict, shown: Any, figures: list[tuple[str, str]]) -> str:
    e = html.escape
    body = [
        f"<h1>{e(sec['title'])}</h1>",
        f"<p>{e(sec['lead'])}</p>",
        "<h2>Summary</h2>",
        shown.to_html(index=False, escape=True, border=0, classes="summary"),
        f"<p>{e(sec['diverged'])}</p>",
        f"<p>{e(sec['method'])}</p>",
    ]
    if sec["target"]:
        body.append(f"<p>{e(sec['target'])}</p>")
    for heading, key in (
        ("Comparisons", "comparisons"),
        ("Init vs data order", "variance"),
        ("Binomial check", "binomial"),
    ):
        if sec[key]:
            head, *rest = sec[key] if key != "variance" else ["", *sec[key]]
            body.append(f"<h2>{e(heading)}</h2>")
            if head:
                body.append(f"<p>{e(head)}</p>")
            body.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in rest) + "</ul>")
    if figures:
        body.append("<h2>Figures</h2>")
        for rel, caption in figures:
            body.append(
                f'<figure><img src="{e(rel)}" alt="{e(caption)}">'
                f"<figcaption>{e(caption)}</figcaption></figure>"
            )
    body.append("<h2>Run</h2><dl>")
    body += [f"<dt>{e(k)}</dt><dd><code>{e(v)}</code></dd>" for k, v in sec["metadata"]]
    body.append("</dl>")
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table.summary{border-collapse:collapse}"
        "table.summary td,table.summary th{padding:.2em .6em;"
        "border-bottom:1px solid #ddd;text-align:right}"
        "img{max-width:100%}figcaption{font-style:italic;color:#444}"
        "dd code{word-break:break-all}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(sec['title'])}</title><style>{style}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
