"""The predict study: does anything measured at init predict a restart's outcome?"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np
import pandas as pd

from initlab import _checks, restarts, stats
from initlab.engine import TrainConfig, resolve, train
from initlab.experiments.options import _out_path
from initlab.experiments.restart_reports import Page, save, slug
from initlab.experiments.result import StudyResult, _run_settings, _settings_text
from initlab.experiments.study import Study

#: Outcomes the features are tested against (the loss negated: higher better).
OUTCOMES = ("test_accuracy", "test_loss")


def predict(
    config: TrainConfig | None = None,
    *,
    batch: int | None = None,
    ntk_examples: int | None = None,
    folds: int | None = None,
    n_permutations: int | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> StudyResult:
    """Does anything measured at init predict which restart ends best?

    Trains the restarts keeping their initial parameters; per restart, on the
    first ``batch`` training examples: the second moment of every layer's
    pre-activations, dead ReLUs, the input-output Jacobian's singular values
    (:mod:`initlab.diagnostics`), the loss and its gradient norm, the
    parameter norm, the trace and condition number of the empirical NTK on
    ``ntk_examples`` examples, and the train loss and test accuracy at step 0.
    Each feature's Spearman correlation with the final test accuracy and
    test loss within an initializer (bootstrap intervals, Holm-adjusted
    p-values over the features), then a held-out check: the best feature
    chosen on K - 1 folds of restarts, scored on the held-out fold, against
    the same procedure on shuffled outcomes. "Nothing predicts" is a finding,
    and the report says it plainly. Defaults: digits MLP 64-128-128-10,
    glorot_uniform, 128 restarts, 300 steps; ``small``: MLP 64-32-10, 12
    restarts, 30 steps.

    Args:
      config: a :class:`initlab.TrainConfig` (initial params are kept); None:
        the defaults above.
      batch: training examples the features are measured on (default 256).
      ntk_examples: examples of the NTK (default 8; its size is examples x
        outputs).
      folds: K of the held-out check (default 5; small 3).
      n_permutations: shuffles of its null (default 200; small 50).
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.
      **overrides: TrainConfig fields on top.

    Returns:
      :class:`StudyResult`; ``table`` has one row per initializer, outcome
      and feature; ``extra`` holds ``features`` (per initializer, one row per
      restart) and ``checks`` (the held-out checks).

    Example:
      >>> result = initlab.experiments.run_study("predict", small=True,
      ...     num_restarts=6, steps=5, progress=False)
      >>> result.extra["checks"]

    References:
      Jacot et al. (2018); Holm (1979).
    """
    config = PREDICT.run_config(config, small=small, **overrides)
    where = "predict"
    batch = _checks.positive_int(batch or 256, "batch", where=where)
    ntk_examples = _checks.positive_int(ntk_examples or 8, "ntk_examples", where=where)
    folds = _checks.integer(folds or (3 if small else 5), "folds", low=2, where=where)
    n_permutations = _checks.positive_int(
        n_permutations or (50 if small else 200), "n_permutations", where=where
    )
    if config.num_restarts < max(6, folds):
        raise ValueError(
            f"{where}: rank correlations need num_restarts >= {max(6, folds)}; got "
            f"{config.num_restarts}."
        )
    run = resolve(config)
    task = run.task
    out = _out_path(out_dir)
    own = dict(
        batch=batch,
        ntk_examples=ntk_examples,
        folds=folds,
        n_permutations=n_permutations,
    )
    outcomes = train(
        config, out_dir=out, progress=progress, record=PREDICT.record(**own)
    )
    x, y = task.x_train[:batch], task.y_train[:batch]
    activation = _activation(config, run.model)
    seeds = stats.as_rng(config.seed).spawn(2 * len(outcomes.labels) * len(OUTCOMES))
    rows, features, checks = [], {}, []
    for i, label in enumerate(outcomes.labels):
        keep = np.flatnonzero((outcomes.initializer == label) & ~outcomes.diverged)
        params = jax.tree.map(
            lambda a, k=keep: np.asarray(a)[k], outcomes.initial_params
        )
        feats = restarts.init_features(
            run.model,
            params,
            x,
            y,
            task.loss,
            ntk_examples=min(ntk_examples, len(x)),
            activation=activation,
        )
        for metric in ("train_loss", "test_accuracy"):
            if metric in outcomes.curves:
                feats[f"{metric}_at_step0"] = outcomes.curves[metric][keep, 0]
        features[label] = feats
        for j, metric in enumerate(m for m in OUTCOMES if m in outcomes.final):
            raw = outcomes.final[metric][keep]
            value = raw if outcomes.higher_is_better(metric) else -raw
            k = 2 * (i * len(OUTCOMES) + j)
            ranked = restarts.predictor_table(feats, raw, rng=seeds[k])
            rows.append(ranked.assign(initializer=label, outcome=metric))
            check = restarts.held_out_check(
                feats,
                value,
                rng=seeds[k + 1],
                folds=folds,
                n_permutations=n_permutations,
            )
            checks.append(dict(initializer=label, outcome=metric, **check))
    table = pd.concat(rows, ignore_index=True)
    table = table[
        [
            "initializer",
            "outcome",
            *[c for c in table if c not in ("initializer", "outcome")],
        ]
    ]
    check_table = pd.DataFrame(checks)
    settings = _run_settings(outcomes)
    settings.update(
        batch=batch,
        ntk_examples=ntk_examples,
        folds=folds,
        n_permutations=n_permutations,
        activation=activation or "?",
    )
    text = [
        "initlab predict: do diagnostics at init predict a restart's outcome? "
        "(Spearman rho, 95 % bootstrap CI; Holm-adjusted p over features; the "
        "held-out check scores the loss negated)",
        _settings_text(settings),
        _shown(table).to_string(index=False),
        *_verdicts(check_table, table),
    ]
    if out is not None:
        _write(out, table, check_table, features, outcomes, settings, text)
    return StudyResult(
        "predict",
        settings,
        table,
        "\n".join(text),
        outcomes,
        out,
        {"features": features, "checks": check_table},
    )


def _activation(config: TrainConfig, model: Any) -> str | None:
    """The hidden activation of initlab's MLP (for dead-unit fractions)."""
    spec = config.model
    if isinstance(spec, Mapping) and spec.get("name") == "mlp":
        act = spec.get("activation", "relu")
        return act if isinstance(act, str) else None
    if spec is None and str(getattr(model, "name", "")).startswith("mlp-"):
        return "relu"
    return None


def _shown(table: pd.DataFrame, top: int = 3) -> pd.DataFrame:
    best = table.groupby(["initializer", "outcome"], sort=False).head(top)
    return best.assign(
        rho=[
            f"{r:+.2f} [{lo:+.2f}, {hi:+.2f}]"
            for r, lo, hi in zip(best.rho, best.low, best.high, strict=True)
        ],
        p_holm=[f"{p:.2g}" for p in best.p_holm],
    )[["initializer", "outcome", "feature", "rho", "p_holm"]]


def _verdicts(checks: pd.DataFrame, table: pd.DataFrame) -> list[str]:
    lines = []
    for _, c in checks.iterrows():
        top = max(c.chosen, key=c.chosen.get)
        any_holm = bool(
            (
                table[
                    (table.initializer == c.initializer) & (table.outcome == c.outcome)
                ].p_holm
                < 0.05
            ).any()
        )
        verdict = (
            "predicts"
            if c.p < 0.05
            else "does NOT predict (no better than shuffled outcomes)"
        )
        lines.append(
            f"{c.initializer}, {c.outcome}: the best feature chosen on other "
            f"restarts (mostly {top}) {verdict} held-out restarts: rho "
            f"{c.rho:+.2f} (shuffled: [{c.null_low:+.2f}, {c.null_high:+.2f}], "
            f"p = {c.p:.2g}); keeping the best quarter of starts by it changes "
            f"the outcome by {c.gain:+.4f} (p = {c.gain_p:.2g}); "
            f"{'some' if any_holm else 'no'} feature significant after Holm."
        )
    return lines


def _write(out: Path, table, checks, features, outcomes, settings, text) -> None:
    from initlab import plots

    table.to_csv(out / "predictors.csv", index=False)
    checks.drop(columns="chosen").to_csv(out / "held_out.csv", index=False)
    for label, feats in features.items():
        feats.to_csv(out / f"features_{slug(label)}.csv", index=False)
    page = Page(
        "initlab predict: does the start predict the outcome?",
        "Diagnostics of each restart's initial parameters against its final "
        "test metrics, within an initializer.",
    )
    page.findings += text[3:]
    figures = []
    with plots.figure_style("screen"):
        for (label, metric), part in table.groupby(
            ["initializer", "outcome"], sort=False
        ):
            fig, ax = plots.plot_estimates(
                part, label="feature", value="rho", xlabel="Spearman rho (95 % CI)"
            )
            ax.set_title(f"{label}: features at init vs final {metric}")
            figures.append(
                (
                    save(fig, out, f"rho_{slug(label)}_{metric}"),
                    f"{label}: rank correlation of each feature with the "
                    f"final {metric}.",
                )
            )
        import matplotlib.pyplot as plt

        for label, feats in features.items():
            part = table[
                (table.initializer == label) & (table.outcome == "test_accuracy")
            ]
            if part.empty:
                continue
            name = part.feature.iloc[0]
            keep = (outcomes.initializer == label) & ~outcomes.diverged
            fig, ax = plt.subplots(
                figsize=(plots.MEDIA["screen"]["width"] * 0.6, 3.2),
                layout="constrained",
            )
            ax.plot(
                feats[name],
                outcomes.final["test_accuracy"][keep],
                "o",
                ms=3,
                alpha=0.6,
                color=plots.colors([label])[label],
            )
            ax.set(
                xlabel=f"{name} at init",
                ylabel="final test accuracy",
                title=f"{label}: the strongest feature",
            )
            figures.append(
                (
                    save(fig, out, f"scatter_{slug(label)}"),
                    f"{label}: final test accuracy against {name}.",
                )
            )
    page.section("Rank correlations", table=table.round(4), figures=figures)
    page.section(
        "Held-out check", text[3:], table=checks.drop(columns="chosen").round(4)
    )
    page.write(out, settings)


def _defaults(small: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    del given
    if small:
        return dict(
            task="digits",
            initializers=("glorot_uniform",),
            model={"name": "mlp", "widths": [32]},
            num_restarts=12,
            steps=30,
        )
    return dict(
        task="digits", initializers=("glorot_uniform",), num_restarts=128, steps=300
    )


def _finish(config: TrainConfig, own: Mapping[str, Any], small: bool) -> TrainConfig:
    del own, small
    return dataclasses.replace(config, keep_params=True)


PREDICT = Study(
    "predict",
    predict,
    _defaults,
    finish=_finish,
    fixed={"keep_params": "the study keeps every restart's parameters itself"},
)
