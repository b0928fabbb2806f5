"""The ensembles study: what averaging restarts buys, how they differ, how many."""

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
from initlab.experiments.how_many import power_lines, power_table, width_table
from initlab.experiments.options import _out_path
from initlab.experiments.restart_reports import Page, ci, save
from initlab.experiments.result import StudyResult, _run_settings, _settings_text
from initlab.experiments.study import Study

#: Restarts of the interval-width table.
WIDTH_NS = (8, 16, 32, 64, 128, 256, 512, 1024)


def ensembles(
    config: TrainConfig | None = None,
    *,
    ks: Sequence[int] | None = None,
    n_subsets: int | None = None,
    differences: Sequence[float] | None = None,
    power: float | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> StudyResult:
    """Ensembles of restarts, how much they disagree, and how many a comparison needs.

    Trains every initializer's restarts keeping their final parameters, then
    per initializer: the expected test accuracy, NLL and calibration error
    (ECE, 15 bins) of an ensemble of k random restarts (probabilities
    averaged; :func:`initlab.restarts.ensemble_curve`, intervals for k <=
    R/2), the pairwise disagreement, churn (one right, the other wrong) and
    error consistency (Cohen's kappa) of two restarts, how many restarts get
    each test example right against the binomial (error correlation rho),
    and from these restarts as a pilot: the restarts per initializer that
    resolve each of ``differences`` in the mean and the IQM of the test
    accuracy with ``power`` (Welch / Yuen tests at 5 %), and the interval
    widths to expect for 8 to 1024 restarts. Defaults: digits MLP
    64-128-128-10, glorot_uniform and he_normal, 64 restarts, 300 steps;
    ``small``: an MLP 64-32-10, 8 restarts, 30 steps.

    Args:
      config: a :class:`initlab.TrainConfig` (a classification task; its
        params and predictions are kept); None: the defaults above.
      ks: ensemble sizes (default 1, 2, 4, ..., R).
      n_subsets: ensembles scored per k (default 200; small 40).
      differences: differences of test accuracy to resolve (default 0.001
        and 0.005: 0.1 and 0.5 percentage points).
      power: the power of the sample-size table (default 0.8).
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.
      **overrides: TrainConfig fields on top.

    Returns:
      :class:`StudyResult`; ``table`` has one row per initializer;
      ``extra`` holds ``curves`` (every k), ``agreement`` (per label: table,
      summary), ``power`` (restarts needed) and ``widths``.

    Example:
      >>> result = initlab.experiments.run_study("ensembles", small=True,
      ...     num_restarts=4, steps=5, progress=False)
      >>> result.table[["initializer", "single", "ensemble", "disagreement"]]

    References:
      Lakshminarayanan et al. (2017); Milani Fard et al. (2016); Geirhos et
      al. (2020); Guo et al. (2017); Colas et al. (2018).
    """
    config = ENSEMBLES.run_config(config, small=small, **overrides)
    where = "ensembles"
    n_subsets = _checks.positive_int(
        n_subsets or (40 if small else 200), "n_subsets", where=where
    )
    differences = tuple(
        _checks.number(d, "each difference", positive=True, where=where)
        for d in (differences or (0.001, 0.005))
    )
    power = _checks.number(power or 0.8, "power", positive=True, where=where)
    run = resolve(config)
    if run.task.kind != "classification":
        raise ValueError(
            f"{where}: ensembles of predicted classes need a classification "
            f"task; {run.task.name!r} is a {run.task.kind} task."
        )
    out = _out_path(out_dir)
    own = dict(ks=ks, n_subsets=n_subsets, differences=differences, power=power)
    outcomes = train(
        config, out_dir=out, progress=progress, record=ENSEMBLES.record(**own)
    )
    seeds = stats.as_rng(config.seed).spawn(3 * len(outcomes.labels))
    task, rows, curves, agree, preds_of = run.task, [], [], {}, {}
    for i, label in enumerate(outcomes.labels):
        keep = np.flatnonzero((outcomes.initializer == label) & ~outcomes.diverged)
        if keep.size < 3:
            rows.append(dict(initializer=label, n=int(keep.size)))
            continue
        take = lambda t, keep=keep: jax.tree.map(lambda a: np.asarray(a)[keep], t)  # noqa: E731
        state = None if outcomes.final_state is None else take(outcomes.final_state)
        preds = restarts.predict(
            run.model,
            take(outcomes.final_params),
            task.x_test,
            task.y_test,
            model_state=state,
        )
        preds_of[label] = preds
        curve = restarts.ensemble_curve(
            preds, ks, n_subsets=n_subsets, rng=seeds[3 * i]
        )
        curves.append(curve.assign(initializer=label))
        agree[label] = restarts.agreement(preds.correct, rng=seeds[3 * i + 1])
        rows.append(_row(label, preds, curve, agree[label][1], seeds[3 * i + 2]))
    table = pd.DataFrame(rows)
    curve_table = pd.concat(curves, ignore_index=True) if curves else pd.DataFrame()
    metric = "test_accuracy"
    values = {
        lab: outcomes.values(metric, lab)
        for lab in outcomes.labels
        if outcomes.values(metric, lab).size >= 4
    }
    power_tab = power_table(values, differences, power)
    widths = width_table(values, WIDTH_NS)
    settings = _run_settings(outcomes)
    settings.update(
        ensemble="class probabilities averaged",
        ece_bins=restarts.N_BINS,
        n_subsets=n_subsets,
        power=power,
        test="Welch (mean), Yuen 25 % trimmed (IQM), two-sided 5 %",
    )
    text = [
        "initlab ensembles: ensembles of k restarts, disagreement, and how many "
        "restarts a comparison needs (test set; 95 % intervals)",
        _settings_text(settings),
        _shown(table).to_string(index=False),
        *power_lines(power_tab, values, power),
    ]
    if out is not None:
        _write(
            out,
            outcomes,
            table,
            curve_table,
            agree,
            preds_of,
            power_tab,
            widths,
            differences,
            settings,
            text,
        )
    return StudyResult(
        "ensembles",
        settings,
        table,
        "\n".join(text),
        outcomes,
        out,
        {
            "curves": curve_table,
            "agreement": agree,
            "power": power_tab,
            "widths": widths,
        },
    )


def _row(label, preds, curve, summary, gen) -> dict[str, Any]:
    """One initializer's numbers: single vs whole ensemble, diversity."""
    r = preds.num_restarts

    def at(k, metric):
        return curve[(curve.k == k) & (curve.metric == metric)].iloc[0]

    single, whole = at(1, "accuracy"), at(r, "accuracy")
    ece = restarts.expected_calibration_error(preds.probs, preds.labels)
    ece_low, ece_high = stats.bootstrap_ci(ece, np.mean, rng=gen, n_resamples=1000)
    dis = restarts.pair_mean(restarts.pairwise_disagreement(preds.predicted))
    churn = restarts.pair_mean(restarts.pairwise_churn(preds.correct))
    kappa = restarts.pair_mean(restarts.error_consistency(preds.correct))
    return dict(
        initializer=label,
        n=r,
        single=single.value,
        single_low=single.low,
        single_high=single.high,
        ensemble=whole.value,
        gain=whole.value - single.value,
        nll_single=at(1, "nll").value,
        nll_ensemble=at(r, "nll").value,
        ece_single=float(ece.mean()),
        ece_single_low=ece_low,
        ece_single_high=ece_high,
        ece_ensemble=at(r, "ece").value,
        disagreement=dis[0],
        disagreement_low=dis[1],
        disagreement_high=dis[2],
        churn=churn[0],
        churn_low=churn[1],
        churn_high=churn[2],
        kappa=kappa[0],
        kappa_low=kappa[1],
        kappa_high=kappa[2],
        rho=summary["rho"],
        rho_low=summary["rho_low"],
        rho_high=summary["rho_high"],
        never_right=summary["never_right"],
        never_right_binomial=summary["never_right_binomial"],
    )


def _shown(table: pd.DataFrame) -> pd.DataFrame:
    if "single" not in table:
        return table
    fmt = lambda col, pct=True, d=2: [  # noqa: E731
        ci(v, lo, hi, d, pct)
        for v, lo, hi in zip(
            table[col],
            table.get(f"{col}_low", table[col] * np.nan),
            table.get(f"{col}_high", table[col] * np.nan),
            strict=True,
        )
    ]
    return pd.DataFrame(
        {
            "initializer": table.initializer,
            "n": table.n,
            "one restart": fmt("single"),
            "ensemble of all": [ci(v, None, None, 2, True) for v in table.ensemble],
            "ECE one / all": [
                f"{a:.3f} / {b:.3f}"
                for a, b in zip(table.ece_single, table.ece_ensemble, strict=True)
            ],
            "disagreement": fmt("disagreement"),
            "churn": fmt("churn"),
            "error kappa": fmt("kappa", False),
            "rho": fmt("rho", False),
        }
    )


def _write(
    out: Path,
    outcomes,
    table,
    curve_table,
    agree,
    preds_of,
    needed,
    widths,
    differences,
    settings,
    text,
) -> None:
    from initlab import plots

    page = Page(
        "initlab ensembles: the restarts as a sample",
        "Ensembles of k restarts, how the restarts differ, and how many a "
        "comparison needs. 95 % intervals.",
    )
    page.findings += [line.strip() for line in text[3:]]
    table.to_csv(out / "ensembles.csv", index=False)
    curve_table.to_csv(out / "ensemble_curves.csv", index=False)
    needed.to_csv(out / "restarts_needed.csv", index=False)
    widths.to_csv(out / "interval_widths.csv", index=False)
    figures = []
    with plots.figure_style("screen"):
        if not curve_table.empty:
            fig, _ = plots.plot_ensemble_curves(curve_table)
            figures.append(
                (
                    save(fig, out, "ensemble_curves"),
                    "Expected metric of an ensemble of k random restarts "
                    "(band: 95 % interval, k <= R/2).",
                )
            )
        if agree:
            import matplotlib.pyplot as plt

            fig, axes = plt.subplots(
                1,
                len(agree),
                squeeze=False,
                layout="constrained",
                figsize=(plots.MEDIA["screen"]["width"], 3.2),
            )
            for a, (label, (tab, summ)) in zip(axes[0], agree.items(), strict=True):
                plots.plot_agreement(tab, summ, title=label, ax=a)
            figures.append(
                (
                    save(fig, out, "agreement"),
                    "Test examples by how many restarts get them right, "
                    "against the binomial of independent restarts.",
                )
            )
            fig, axes = plt.subplots(
                1,
                len(preds_of),
                squeeze=False,
                layout="constrained",
                figsize=(plots.MEDIA["screen"]["width"], 3.4),
            )
            for a, (label, p) in zip(axes[0], preds_of.items(), strict=True):
                rel = {
                    "one restart": restarts.reliability(p.probs, p.labels),
                    f"ensemble of {p.num_restarts}": restarts.reliability(
                        p.probs.mean(axis=0), p.labels
                    ),
                }
                plots.plot_reliability(rel, ax=a)
                a.set_title(label)
            figures.append(
                (
                    save(fig, out, "reliability"),
                    "Reliability: accuracy against confidence, one restart "
                    "(pooled over restarts) and the whole ensemble.",
                )
            )
        if not widths.empty:
            fig, _ = plots.plot_interval_widths(widths, difference=min(differences))
            figures.append(
                (
                    save(fig, out, "interval_widths"),
                    "Expected 95 % interval width of the test accuracy for "
                    "n restarts, from this run as the pilot.",
                )
            )
    page.section(
        "Single restarts and ensembles", table=_shown(table), figures=figures[:1]
    )
    page.section(
        "Do restarts make the same mistakes?",
        [
            "disagreement: predicted classes differ; churn: exactly one is right; "
            "error kappa: agreement of correctness beyond chance (0 independent, "
            "1 the same errors); rho: correlation of correctness over restarts "
            "(0: the binomial)."
        ],
        figures=figures[1:3],
    )
    page.section("How many restarts", text[3:], table=needed, figures=figures[3:])
    page.write(out, settings)


def _defaults(small: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    del given
    base = dict(task="digits", initializers=("glorot_uniform", "he_normal"))
    if small:
        return dict(
            base, model={"name": "mlp", "widths": [32]}, num_restarts=8, steps=30
        )
    return dict(base, num_restarts=64, steps=300)


def _finish(config: TrainConfig, own: Mapping[str, Any], small: bool) -> TrainConfig:
    del own, small
    return dataclasses.replace(config, keep_params=True, keep_predictions=True)


_KEEPS = "the study keeps every restart's parameters and predictions itself"
ENSEMBLES = Study(
    "ensembles",
    ensembles,
    _defaults,
    finish=_finish,
    fixed={"keep_params": _KEEPS, "keep_predictions": _KEEPS},
)
