"""Writing a report: the folder, its Parquet results, figures, config and pages.

``write_report(outcomes, "out/")`` writes::

    out/results.parquet      every restart (Outcomes.save)
    out/config.toml          the run's TrainConfig, when it can be rebuilt
    out/figures/*.png, .svg  interval estimates, probability of improvement,
                             distributions, ECDF, curves, profiles, best of k,
                             variance split (grid designs), per-layer statistics
    out/report.md            findings, tables, figures, settings and provenance
    out/report.html          the same, one self-contained page (images embedded)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from initlab import stats
from initlab._checks import choice
from initlab.report.figures import _write_figures
from initlab.report.hyper import hyper_section
from initlab.report.pages import _html, _markdown
from initlab.report.sections import (
    _binomial_lines,
    _comparison_lines,
    _diverged_text,
    _findings,
    _method_text,
    _provenance,
    _target_text,
    _variance_line,
)
from initlab.report.tables import column_decimals, display_table

if TYPE_CHECKING:
    import pandas as pd

    from initlab.outcomes import Outcomes


def default_metric(outcomes: Outcomes) -> str:
    """The metric a report leads with: test_accuracy, else test_loss, else the first.

    Args:
      outcomes: the run.

    Returns:
      A name in ``outcomes.metrics``.

    Raises:
      ValueError: the outcomes hold no final metric.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> default_metric(outcomes)
      'test_accuracy'
    """
    for name in ("test_accuracy", "test_loss"):
        if name in outcomes.final:
            return name
    if not outcomes.final:
        raise ValueError("the outcomes hold no final metric to report.")
    return next(iter(outcomes.final))


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
    chance: float | None = None,
    command: str | None = None,
    vector: str | None = "svg",
) -> Path:
    """Writes results, figures and a Markdown + HTML report into ``out_dir``.

    The report opens with its findings: the best initializer by IQM with its
    interval, the ones it cannot be told apart from with these restarts
    (overlapping intervals, with the probability of improvement), the range
    of the rest, the failed ones and why (diverged; at the chance level;
    "symmetry never broken": every restart started from the same network, see
    :func:`initlab.stats.failures`), and the diverged restarts. Then the
    tables, with digits chosen from the interval widths
    (:func:`initlab.report.decimals`), the figures (failed initializers drawn
    apart so the working ones' axes zoom to their range), and the settings and
    provenance: the configuration, how to reproduce it, versions, devices and
    plan, seeds, wall time, the run fingerprint and every other recorded key.

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

    A run with hyper-parameter coordinates (``Outcomes.coords``: a list of
    learning rates, init scales or optimizer arguments) is reported per cell:
    every table and figure groups by :meth:`Outcomes.by`'s labels
    ("he_normal lr=0.1"; a precomputed ``table`` or ``components`` of other
    labels is recomputed), and a "Hyper-parameters" section comes first: the
    statistic against the learning rate (or the first coordinate) with its
    bands, a heatmap over two coordinates when there are two or more, and the
    best value per initializer with how often it wins over paired resamples
    of the restarts (:func:`initlab.stats.best_value`).

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
      components: precomputed :func:`initlab.stats.variance_split` (so a
        caller prints the same intervals as the report); default computed here
        from ``rng``.
      table: precomputed ``stats.summary_table(outcomes, metric, target=target,
        k=k, confidence=confidence)``; default computed here from ``rng``.
      chance: the task's chance level of ``metric`` (e.g. 1 / classes for an
        accuracy); default :func:`initlab.stats.chance_level` (recorded in the
        metadata). Failed initializers are found without it too, when every
        restart predicts one class for every input.
      command: the command that reproduces the run; default
        ``metadata["command"]``, else ``initlab run <study> --config config.toml``
        when the config could be written.
      vector: a vector copy of every figure beside its PNG: "svg" (default),
        "pdf", or None.

    Returns:
      The folder ``out_dir`` as a Path.

    Raises:
      ValueError: no restarts, unknown ``vector`` format; KeyError: unknown
        metric; TypeError: ``out_dir`` not a path, ``title`` or ``command``
        not a str. Bad ``k``, ``confidence`` or
        ``n_resamples`` raise from the initlab.stats function that uses them.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
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
    if not isinstance(out_dir, (str, os.PathLike)):
        raise TypeError(
            "out_dir must be a str or os.PathLike folder, got "
            f"{type(out_dir).__name__}."
        )
    if not isinstance(title, str):
        raise TypeError(f"title must be a str, got {type(title).__name__}.")
    if command is not None and not isinstance(command, str):
        raise TypeError(
            f"command must be a str (a shell command line), got "
            f"{type(command).__name__}."
        )
    if vector is not None:
        vector = choice(vector, ("svg", "pdf"), "vector", where="write_report")
    out = Path(out_dir)
    fig_dir = out / "figures"
    fig_dir.mkdir(parents=True, exist_ok=True)
    outcomes.save(out / "results.parquet")
    # One child stream per part: table, best-of-k figure, variance split,
    # comparisons, improvement matrix, hyper-parameters; each part's numbers
    # depend on rng only (the first five are those of a run without coords).
    seeds = stats.as_rng(rng).spawn(6)
    run = outcomes  # as trained: the hyper-parameter section reads its coords
    if outcomes.coords and "labels_by" not in outcomes.metadata:
        outcomes = outcomes.by()  # one label per (initializer, setting)
        if table is not None and set(table["initializer"]) != set(outcomes.labels):
            table = None
        if components is not None and not set(components) <= set(outcomes.labels):
            components = None
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
    failures = stats.failures(outcomes, metric, rng=0, chance=chance, table=table)
    level = stats.chance_level(outcomes, metric, chance=chance)
    order = _best_first(table, higher)
    ranked = [lab for lab in order if lab not in failures] + [
        lab for lab in order if lab in failures
    ]  # working best first, then the failed ones
    position = {lab: i for i, lab in enumerate(ranked)}
    rank = [position[str(lab)] for lab in table["initializer"]]
    by_rank = table.iloc[sorted(range(len(rank)), key=rank.__getitem__)]
    shown = display_table(
        by_rank.reset_index(drop=True),
        confidence=confidence,
        digits="auto",
        median_interval=True,
    )
    if components is None:
        components = stats.variance_split(
            outcomes,
            metric,
            rng=seeds[2],
            confidence=confidence,
            n_resamples=min(n_resamples, 1000),
        )
    best, comparisons = stats.compare_with_best(
        outcomes,
        metric,
        rng=seeds[3],
        table=table,
        confidence=confidence,
        n_resamples=n_resamples,
    )
    matrix = _matrix(outcomes, metric, table, order, failures, best, comparisons,
                     rng=seeds[4], confidence=confidence,
                     n_resamples=min(n_resamples, 1000))  # fmt: skip
    figures = _write_figures(
        outcomes,
        metric,
        fig_dir,
        any_values=bool(table["n"].sum()),
        rng=seeds[1],
        confidence=confidence,
        n_resamples=min(n_resamples, 1000),
        components=components,
        layer_stats=layer_stats,
        table=table,
        failures=failures,
        order=order,
        matrix=matrix,
        chance=level,
        vector=vector,
    )
    hyper, hyper_figures = hyper_section(
        run, metric, fig_dir, rng=seeds[5], confidence=confidence,
        n_resamples=n_resamples, vector=vector, table=table,
    )  # fmt: skip
    figures = hyper_figures + figures
    reproduce = _write_config(run, out, command)
    direction = "higher" if higher else "lower"
    settings = ""
    if run.coords:
        n_init = len(set(stats.base_labels(run).tolist()))
        settings = (f" ({n_init} initializer(s) x the settings of "
                    f"{', '.join(run.coords)})")  # fmt: skip
    sections = {
        "title": title,
        "lead": f"Final {metric} ({direction} is better) over "
        f"{len(outcomes)} restarts of {len(outcomes.labels)} "
        f"{'cell(s)' if run.coords else 'initializer(s)'}{settings}.",
        "hyper": hyper,
        "diverged": _diverged_text(outcomes),
        "method": _method_text(
            confidence=confidence, n_resamples=n_resamples, k=k, target=target
        ),
        "target": _target_text(metric, target, higher),
        "comparisons": _comparison_lines(
            best, {lab: comparisons[lab] for lab in ranked if lab in comparisons}
        ),
        "failed": list(failures),
        "variance": [_variance_line(lab, vc) for lab, vc in components.items()],
        "binomial": _binomial_lines(outcomes),
        "findings": _findings(
            outcomes,
            metric,
            table=table,
            failures=failures,
            order=order,
            best=best,
            comparisons=comparisons,
            confidence=confidence,
            places=column_decimals(table["iqm_low"], table["iqm_high"]),
        ),  # fmt: skip
        "matrix": matrix,
        "provenance": _provenance(
            outcomes,
            reproduce=reproduce,
            rng=rng,
            n_resamples=n_resamples,
            confidence=confidence,
        ),  # fmt: skip
    }
    (out / "report.md").write_text(_markdown(sections, shown, figures))
    (out / "report.html").write_text(_html(sections, shown, figures, out))
    return out


def _best_first(table: pd.DataFrame, higher: bool) -> list[str]:
    """Initializer labels by IQM, best first; those without one last."""
    iqm = table["iqm"].to_numpy(float)
    key = [(0, -v if higher else v) if v == v else (1, 0.0) for v in iqm]
    ranked = sorted(range(len(key)), key=lambda i: key[i])
    return [str(table["initializer"].iloc[i]) for i in ranked]


def _matrix(
    outcomes: Outcomes,
    metric: str,
    table: pd.DataFrame,
    order: list[str],
    failures: Mapping[str, Any],
    best: str | None,
    comparisons: Mapping[str, tuple[float, float, float]],
    **kwargs: Any,
) -> dict[str, Any] | None:
    """Probability of improvement between the working initializers, best first.

    The best's row and column are replaced by :func:`initlab.stats.
    compare_with_best`'s numbers, so the matrix, the findings and the
    comparison lines agree to the last digit.
    """
    n = dict(zip(table["initializer"].astype(str), table["n"], strict=True))
    labels = [lab for lab in order if lab not in failures and n.get(lab, 0) >= 2]
    if len(labels) < 2:
        return None
    m = stats.improvement_matrix(outcomes, metric, labels=labels, **kwargs)
    if best in labels:
        i = labels.index(best)
        for label, (p, low, high) in comparisons.items():
            if label in labels:
                j = labels.index(label)
                m["p"][i, j], m["low"][i, j], m["high"][i, j] = p, low, high
                m["p"][j, i], m["low"][j, i], m["high"][j, i] = 1 - p, 1 - high, 1 - low
    return m


def _write_config(
    outcomes: Outcomes, out: Path, command: str | None
) -> tuple[str | None, str]:
    """Writes config.toml when the metadata rebuilds a TrainConfig.

    Returns ``(command, note)``: the command that reproduces the run (None
    when there is none) and a sentence about it.
    """
    import dataclasses

    from initlab.engine import TrainConfig

    path = out / "config.toml"
    meta = outcomes.metadata
    command = command or meta.get("command")
    fields = [f.name for f in dataclasses.fields(TrainConfig)]
    missing = [name for name in fields if name not in meta]
    if missing:
        path.unlink(missing_ok=True)
        note = (
            f"The run's metadata does not record a full TrainConfig (no "
            f"{', '.join(missing[:3])}{', ...' if len(missing) > 3 else ''}), so no "
            "config.toml was written."
        )
        return command, note
    study = meta.get("study")
    try:
        data = TrainConfig.from_metadata(meta).to_dict()
    except (ValueError, TypeError) as err:
        path.unlink(missing_ok=True)
        note = (
            "No config.toml: the configuration holds Python objects that text "
            f"cannot rebuild ({str(err).splitlines()[0]})"
        )
        return command, note
    # A study sets some fields itself from its own options (xor: the
    # initializers from its ranges): the file holds the options, not the fields.
    for name in meta.get("study_fixed", ()):
        data.pop(name, None)
    data.update(meta.get("study_options", {}))
    import tomli_w

    from initlab.engine.specs import drop_none

    path.write_text(tomli_w.dumps(drop_none(data)))
    if command is None:
        command = f"initlab run {study or 'zoo'} --config {path.name}"
        return command, (
            f"{path.name} (beside this report) holds every option of the run; "
            "from this folder, the command above trains it again."
        )
    return command, f"{path.name} (beside this report) holds every option of the run."
