"""The zoo study: many initializers on one task, the distribution of outcomes."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from initlab import stats
from initlab.engine import train
from initlab.experiments.options import (
    _check_common,
    _out_path,
    build_model,
    parse_initializers,
    resolve_initializers,
)
from initlab.experiments.result import (
    StudyResult,
    _run_settings,
    _settings_text,
    format_summary,
)
from initlab.outcomes import Outcomes
from initlab.registry import KERAS_NAMES
from initlab.report import write_report
from initlab.tasks import get_task

#: Steps of the full zoo: measured to finish in about two minutes on 2 CPU cores.
ZOO_STEPS = 300


def zoo(
    *,
    task: str = "digits",
    model: str | Mapping[str, Any] | None = None,
    initializers: Any = None,
    num_restarts: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    optimizer: str = "sgd",
    learning_rate: float | None = None,
    design: str = "paired",
    grid_data: int | None = None,
    seed: int = 0,
    target: float | None = None,
    chunk_size: int | None = None,
    devices: int | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> StudyResult:
    """Every initializer of Keras's list on one task: the distribution of outcomes.

    Defaults: the digits MLP 64-128-128-10 (ReLU), 128 restarts per
    initializer, ``ZOO_STEPS`` SGD steps at batch 128 and learning rate 0.1,
    paired design (restart i has the same init and data seeds for every
    initializer), all in one ``initlab.train`` call (one compilation). Writes
    the report folder when ``out_dir`` is given; chunks of 480 restarts are
    saved as they finish, so an interrupted run resumes.

    Args:
      task: a task name (default "digits").
      model: None (the task's model), a name or a config (see
        :func:`build_model`).
      initializers: names/configs (default ``initlab.KERAS_NAMES``).
      num_restarts: restarts per initializer (default 128; small: 8).
      steps: training steps (default ``ZOO_STEPS``; small: 20).
      batch_size, optimizer, learning_rate: training (default the task's
        batch size, "sgd", and the task's learning rate).
      design, grid_data: restart design (see ``initlab.train``).
      seed: the run's root seed.
      target: success threshold for the summary's success-rate column.
      chunk_size: restarts per compiled call (default 480; small: all).
      devices: devices to shard restarts over (default all).
      small: a smoke run (3 initializers, 8 restarts, 20 steps).
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.

    Returns:
      :class:`StudyResult` with the summary of the final test accuracy (or
      test loss for regression tasks).

    Example:
      >>> result = zoo(small=True)
      >>> result.table[["initializer", "mean"]]
    """
    if initializers is None:
        initializers = (
            ("zeros", "glorot_uniform", "he_normal") if small else KERAS_NAMES
        )
    inits = parse_initializers(list(initializers))
    options = dict(num_restarts=num_restarts, steps=steps, batch_size=batch_size,
                   optimizer=optimizer, learning_rate=learning_rate,
                   grid_data=grid_data, seed=seed, chunk_size=chunk_size,
                   devices=devices)  # fmt: skip
    _check_common(options)
    the_task = get_task(task)
    the_model = build_model(model, the_task)
    num_restarts = num_restarts or (8 if small else 128)
    steps = steps or (20 if small else ZOO_STEPS)
    if chunk_size is None and not small:
        chunk_size = 480
    out = _out_path(out_dir)
    outcomes = train(
        the_task, resolve_initializers(inits), model=the_model,
        num_restarts=num_restarts, steps=steps,
        batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate,
        design=design, grid_data=grid_data, seed=seed, target=target,
        chunk_size=chunk_size, devices=devices, out_dir=out, progress=progress,
    )  # fmt: skip
    return _report(
        "zoo", outcomes, out, target=target, seed=seed, small=small,
        title=f"initlab zoo: {len(inits)} initializers on {the_task.name}",
    )  # fmt: skip


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
