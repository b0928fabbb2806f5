"""The landscape study: barriers between restarts, aligned, and from a checkpoint."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from initlab import _checks, restarts, stats
from initlab.engine import TrainConfig, resolve, train
from initlab.engine.keys import stream_key
from initlab.experiments.options import _out_path
from initlab.experiments.restart_reports import Page, ci, save, slug
from initlab.experiments.result import StudyResult, _run_settings, _settings_text
from initlab.experiments.study import Study

#: Barriers reported: metric -> whether higher is better (accuracy: error barrier).
METRICS = {"test_accuracy": True, "test_loss": False, "train_loss": False}


def landscape(
    config: TrainConfig | None = None,
    *,
    num_points: int | None = None,
    spawn_steps: Sequence[int] | None = None,
    align: bool | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> StudyResult:
    """Barriers on the line between restarts: as trained, aligned, and spawned.

    Trains every initializer's restarts keeping their final parameters and
    pairs them disjointly (restarts 0-1, 2-3, ...: independent pairs). For
    each pair, the test error, test loss and train loss along the straight
    line between the two (``num_points`` evenly spaced alphas) and the
    barrier, the largest rise above the chord between the ends (Entezari et
    al. 2022): as trained, and after aligning restart b's hidden units to
    a's by weight matching (Ainsworth et al. 2023; plain MLPs only). Then
    linear mode connectivity (Frankle et al. 2020): each pair's first
    restart is trained to each of ``spawn_steps``, copied, and both copies
    trained to the end on different minibatch orders; the barrier between
    the copies. Mean barriers per condition with 95 % bootstrap intervals
    over pairs. Defaults: digits MLP 64-128-128-10, glorot_uniform and
    he_normal, 16 restarts (8 pairs) each, 300 steps, spawn steps 0, 3, 15,
    60, 150 (0, 1 %, 5 %, 20 %, 50 % of training); ``small``: MLP 64-32-10,
    glorot_uniform, 4 restarts, 30 steps, spawn steps 0 and 10.

    Args:
      config: a :class:`initlab.TrainConfig` (params are kept); None: the
        defaults above.
      num_points: alphas along each line, ends included (default 11; small 5).
      spawn_steps: steps at which children branch (default: 0, 1, 5, 20, 50 %
        of the steps); an empty list skips this part.
      align: align hidden units (default True; needs a plain MLP).
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.
      **overrides: TrainConfig fields on top.

    Returns:
      :class:`StudyResult`; ``table`` has one row per initializer, condition
      and metric (mean barrier and interval); ``extra["curves"]`` holds the
      alphas and every pair's curves.

    Raises:
      ValueError: fewer than 2 restarts, a model weight matching does not
        support (with align), spawn steps outside [0, steps).

    Example:
      >>> result = initlab.experiments.run_study("landscape", small=True,
      ...     num_restarts=2, steps=20, progress=False)
      >>> result.table[["initializer", "condition", "metric", "mean"]]

    References:
      Frankle et al. (2020); Entezari et al. (2022); Ainsworth et al. (2023).
    """
    config = LANDSCAPE.run_config(config, small=small, **overrides)
    where = "landscape"
    num_points = _checks.integer(
        num_points or (5 if small else 11), "num_points", low=2, where=where
    )
    align = True if align is None else _checks.boolean(align, "align", where=where)
    run = resolve(config)
    steps = run.config.steps
    if spawn_steps is None:
        spawn_steps = (0, 10) if small else _default_spawns(steps)
    spawn_steps = tuple(
        _checks.integer(k, "each spawn step", low=0, high=steps, where=where)
        for k in spawn_steps
    )
    if config.num_restarts < 2:
        raise ValueError(f"{where}: pairs of restarts need num_restarts >= 2.")
    if align:
        probe = run.model.init(jax.random.key(0))
        restarts.check_permutable(run.model, probe, run.task.x_test[:8])
    out = _out_path(out_dir)
    own = dict(num_points=num_points, spawn_steps=spawn_steps, align=align)
    outcomes = train(
        config, out_dir=out, progress=progress, record=LANDSCAPE.record(**own)
    )
    rows, curves, alphas = [], {}, None
    gens = stats.as_rng(config.seed).spawn(len(outcomes.labels))
    for label, gen in zip(outcomes.labels, gens, strict=True):
        found, alphas = _conditions(
            outcomes, config, label, num_points, align, spawn_steps
        )
        curves[label] = found
        barriers = {
            (cond, metric): restarts.barrier(c[metric], higher_is_better=higher)
            for cond, c in found.items()
            for metric, higher in METRICS.items()
        }
        summary = restarts.barrier_summary(
            {f"{c}|{m}": v for (c, m), v in barriers.items()}, rng=gen
        )
        for (cond, metric), (_, s) in zip(barriers, summary.iterrows(), strict=True):
            rows.append(
                dict(
                    initializer=label,
                    condition=cond,
                    metric=metric,
                    **s.drop("condition").to_dict(),
                )
            )
    table = pd.DataFrame(rows)
    settings = _run_settings(outcomes)
    settings.update(
        pairs="disjoint (restarts 0-1, 2-3, ...)",
        num_points=num_points,
        align="weight matching" if align else "no",
        spawn_steps=", ".join(map(str, spawn_steps)) or "none",
        barrier="max over alpha of f(alpha) - chord (error for accuracy)",
    )
    text = [
        "initlab landscape: barriers on the straight line between restarts "
        "(mean over pairs, 95 % bootstrap intervals)",
        _settings_text(settings),
        _shown(table).to_string(index=False),
    ]
    if out is not None:
        _write(out, table, curves, alphas, settings, text)
    return StudyResult(
        "landscape",
        settings,
        table,
        "\n".join(text),
        outcomes,
        out,
        {"curves": curves, "alphas": alphas},
    )


def _default_spawns(steps: int) -> tuple[int, ...]:
    return tuple(sorted({0, *(int(steps * f) for f in (0.01, 0.05, 0.2, 0.5))}))


def _conditions(outcomes, config, label, num_points, align, spawn_steps):
    """condition -> metric -> (P, A) curves, for one initializer."""
    rows = np.flatnonzero((outcomes.initializer == label) & ~outcomes.diverged)
    if rows.size < 2:
        raise ValueError(
            f"landscape: {label!r} has {rows.size} restart(s) that did not diverge; "
            "pairs need at least 2."
        )
    first, second = rows[0 : rows.size - 1 : 2], rows[1::2]

    def take(idx):
        return jax.tree.map(lambda a: np.asarray(a)[idx], outcomes.final_params)

    core = restarts.train_core(config, label)
    evaluate = restarts.evaluator(core)
    a, b = take(first), take(second)
    alphas, raw = restarts.interpolation_curves(evaluate, a, b, num_points=num_points)
    found = {"two restarts": raw}
    if align:
        one = lambda t, i: jax.tree.map(lambda x: x[i], t)  # noqa: E731
        aligned = [
            restarts.weight_matching(one(a, i), one(b, i))[1] for i in range(len(first))
        ]
        stacked = jax.tree.map(lambda *x: np.stack(x), *aligned)
        found["aligned"] = restarts.interpolation_curves(
            evaluate, a, stacked, num_points=num_points
        )[1]
    if spawn_steps:
        seed = config.seed
        init_keys = stream_key(seed, "init", outcomes.init_seed[first])
        data_keys = stream_key(seed, "data", outcomes.data_seed[first])
        children = restarts.spawn(core, init_keys, data_keys, spawn_steps)
        for k, child in children.items():
            found[f"spawned at {k}"] = restarts.interpolation_curves(
                evaluate, child["a"], child["b"], num_points=num_points
            )[1]
    return found, alphas


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    wide = table.assign(
        barrier=[
            ci(v, lo, hi, 4)
            for v, lo, hi in zip(
                table["mean"], table["low"], table["high"], strict=True
            )
        ]
    )
    shown = wide.pivot_table(
        index=["initializer", "condition"],
        columns="metric",
        values="barrier",
        aggfunc="first",
        sort=False,
    )
    shown.columns = [
        f"{m} barrier" if m != "test_accuracy" else "test error barrier"
        for m in shown.columns
    ]
    return shown.reset_index()


def _write(out: Path, table, curves, alphas, settings, text) -> None:
    from initlab import plots

    table.to_csv(out / "barriers.csv", index=False)
    page = Page(
        "initlab landscape: between restarts",
        "Loss and error along the straight line between two restarts, as "
        "trained, with their hidden units aligned, and between copies of one "
        "run branched at a step k. Barrier: the largest rise above the chord.",
    )
    for label in curves:
        part = table[(table.initializer == label) & (table.metric == "test_accuracy")]
        for _, r in part.iterrows():
            page.findings.append(
                f"{label}, {r.condition}: test-error barrier "
                f"{ci(r['mean'], r.low, r.high, 2, pct=True)} (n = {int(r.n)} pairs)"
            )
    figures = []
    with plots.figure_style("screen"):
        import matplotlib.pyplot as plt

        for label, found in curves.items():
            fig, axes = plt.subplots(
                1,
                2,
                layout="constrained",
                figsize=(plots.MEDIA["screen"]["width"], 3.3),
            )
            error = {c: 1 - v["test_accuracy"] for c, v in found.items()}
            plots.plot_interpolation(alphas, error, metric="test error", ax=axes[0])
            plots.plot_interpolation(
                alphas,
                {c: v["train_loss"] for c, v in found.items()},
                metric="train loss",
                ax=axes[1],
            )
            fig.suptitle(f"{label}: along the line between two restarts")
            name = f"interpolation_{slug(label)}"
            figures.append(
                (
                    save(fig, out, name),
                    f"{label}: median and IQR over pairs along the line.",
                )
            )
        error = table[table.metric == "test_accuracy"]
        several = error.initializer.nunique() > 1
        error = error.assign(
            label=[
                f"{c} ({i})" if several else c
                for c, i in zip(error.condition, error.initializer, strict=True)
            ]
        )
        fig, _ = plots.plot_estimates(
            error,
            label="label",
            sort=False,
            xlabel="test-error barrier (mean, 95 % CI)",
        )
        figures.append(
            (
                save(fig, out, "barriers"),
                "Mean test-error barrier per condition, 95 % bootstrap "
                "intervals over pairs.",
            )
        )
    page.section(
        "Barriers",
        ["Mean over pairs, 95 % bootstrap interval."],
        table=_shown(table),
        figures=figures,
    )
    page.write(out, settings)


def _defaults(small: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    del given
    if small:
        return dict(
            task="digits",
            initializers=("glorot_uniform",),
            model={"name": "mlp", "widths": [32]},
            num_restarts=4,
            steps=30,
        )
    return dict(
        task="digits",
        initializers=("glorot_uniform", "he_normal"),
        num_restarts=16,
        steps=300,
    )


def _finish(config: TrainConfig, own: Mapping[str, Any], small: bool) -> TrainConfig:
    del own, small
    return dataclasses.replace(config, keep_params=True)


LANDSCAPE = Study(
    "landscape",
    landscape,
    _defaults,
    finish=_finish,
    fixed={"keep_params": "the study keeps every restart's parameters itself"},
)
