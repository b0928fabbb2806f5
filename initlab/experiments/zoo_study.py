"""The zoo study: many initializers on one task, the distribution of outcomes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from initlab import stats
from initlab.engine import TrainConfig, train
from initlab.experiments.options import _out_path
from initlab.experiments.result import (
    StudyResult,
    _run_settings,
    _settings_text,
    format_summary,
)
from initlab.experiments.study import Study
from initlab.outcomes import Outcomes
from initlab.registry import KERAS_NAMES
from initlab.report import write_report

#: Steps of the full zoo: measured to finish in about two minutes on 2 CPU cores.
ZOO_STEPS = 300


def zoo(
    config: TrainConfig | None = None,
    *,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> StudyResult:
    """Every initializer of Keras's list on one task: the distribution of outcomes.

    Defaults: the digits MLP 64-128-128-10 (ReLU), every name of
    ``initlab.KERAS_NAMES``, 128 restarts per initializer, ``ZOO_STEPS`` SGD
    steps at batch 128 and learning rate 0.1, paired design (restart i has the
    same init and data seeds for every initializer), all in one
    ``initlab.train`` call (one compilation), in chunks of 480 restarts saved
    as they finish (an interrupted run resumes). ``small``: 3 initializers
    (zeros, glorot_uniform, he_normal), 8 restarts, 20 steps.

    Args:
      config: a :class:`initlab.TrainConfig` to run as it is (any task, model,
        optimizer); None: the defaults above.
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.
      **overrides: TrainConfig fields on top (``task=``, ``model=``,
        ``num_restarts=``, ...).

    Returns:
      :class:`StudyResult` with the summary of the final test accuracy (or
      test loss for regression tasks).

    Example:
      >>> result = zoo(small=True, progress=False)
      >>> result.table[["initializer", "mean"]]
    """
    config = ZOO.run_config(config, small=small, **overrides)
    out = _out_path(out_dir)
    outcomes = train(config, out_dir=out, progress=progress, record=ZOO.record())
    return _report(
        "zoo", outcomes, out, target=config.target, seed=config.seed, small=small,
        title=f"initlab zoo: {len(outcomes.labels)} initializers on "
        f"{outcomes.metadata['task_name']}",
    )  # fmt: skip


def _zoo_defaults(small: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    del given
    if small:
        return dict(task="digits", initializers=("zeros", "glorot_uniform",
                    "he_normal"), num_restarts=8, steps=20)  # fmt: skip
    return dict(task="digits", initializers=KERAS_NAMES, num_restarts=128,
                steps=ZOO_STEPS, chunk_size=480)  # fmt: skip


def _report(
    study: str,
    outcomes: Outcomes,
    out: Path | None,
    *,
    target: float | None,
    seed: int,
    small: bool,
    title: str,
    metric: str | None = None,
) -> StudyResult:
    from initlab.report import default_metric

    metric = metric or default_metric(outcomes)
    n_resamples = 200 if small else 2000
    table = stats.summary_table(
        outcomes, metric, rng=seed, target=target, n_resamples=n_resamples
    )
    if out is not None:
        write_report(
            outcomes, out, metric=metric, target=target, rng=seed,
            n_resamples=n_resamples, title=title, table=table,
        )  # fmt: skip
    settings = _run_settings(outcomes)
    text = "\n".join([
        f"{title}: final {metric}",
        _settings_text(settings),
        format_summary(table),
    ])  # fmt: skip
    return StudyResult(study, settings, table, text, outcomes, out)


ZOO = Study("zoo", zoo, _zoo_defaults)
