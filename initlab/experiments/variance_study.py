"""The variance study: init x data-order seeds, the share of variance from each."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from initlab.engine import train
from initlab.experiments.options import (
    _check_common,
    _out_path,
    build_model,
    parse_initializers,
    resolve_initializers,
)
from initlab.experiments.result import StudyResult, _fmt, _run_settings, _settings_text
from initlab.report import default_metric, seed_grid, variance_split, write_report
from initlab.tasks import get_task


def variance(
    *,
    task: str = "digits",
    model: str | Mapping[str, Any] | None = None,
    initializers: Any = None,
    num_restarts: int | None = None,
    grid_data: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    optimizer: str = "sgd",
    learning_rate: float | None = None,
    seed: int = 0,
    chunk_size: int | None = None,
    devices: int | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> StudyResult:
    """How much of the spread of outcomes comes from the init vs the data order.

    A grid design: n_init = num_restarts / grid_data init seeds crossed with
    grid_data data-order seeds (restart i: init seed i // D, data seed i % D).
    :func:`initlab.stats.variance_components` splits the variance of the final
    test metric into init, data order and their interaction (+ residual), with
    pigeonhole-bootstrap intervals.

    Args:
      task, model: as :func:`zoo` (default digits and its MLP).
      initializers: names/configs (default glorot_uniform, he_normal).
      num_restarts: restarts per initializer (default 256 = 16 x 16; small 16).
      grid_data: data orders D (default 16; small: 4).
      steps: training steps (default 300; small: 20).
      batch_size, optimizer, learning_rate: training.
      seed: the run's root seed (also seeds the bootstrap).
      chunk_size: restarts per compiled call (default 256).
      devices: devices to shard restarts over (default all).
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.

    Returns:
      :class:`StudyResult`; ``table`` has one row per initializer and
      component with the variance, its share and the share's interval;
      ``extra["components"]`` the raw dicts.

    Example:
      >>> result = variance(num_restarts=64, grid_data=8)
      >>> result.table

    References:
      Summers & Dinneen (2021); Owen (2007).
    """
    inits = parse_initializers(list(initializers or ("glorot_uniform", "he_normal")))
    _check_common(dict(num_restarts=num_restarts, grid_data=grid_data, steps=steps,
                       batch_size=batch_size, optimizer=optimizer, seed=seed,
                       learning_rate=learning_rate, chunk_size=chunk_size,
                       devices=devices))  # fmt: skip
    grid_data = grid_data or (4 if small else 16)
    num_restarts = num_restarts or grid_data * (4 if small else 16)
    if chunk_size is None and not small:
        chunk_size = 256
    the_task = get_task(task)
    out = _out_path(out_dir)
    outcomes = train(
        the_task, resolve_initializers(inits), model=build_model(model, the_task),
        num_restarts=num_restarts, steps=steps or (20 if small else 300),
        batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate,
        design="grid", grid_data=grid_data, seed=seed, chunk_size=chunk_size,
        devices=devices, out_dir=out, progress=progress,
    )  # fmt: skip
    metric = default_metric(outcomes)
    # One split, printed here and written in the report (same numbers).
    split = variance_split(outcomes, metric, rng=seed,
                           n_resamples=200 if small else 1000)  # fmt: skip
    rows, components = [], {}
    for label in outcomes.labels:
        vc = split.get(label)
        if vc is None:
            try:
                seed_grid(outcomes, label, metric)
            except ValueError as err:
                vc = str(err)
        if isinstance(vc, str):
            rows.append(dict(initializer=label, component=f"not split: {vc}"))
            continue
        components[label] = vc
        for i, name in enumerate(vc["components"]):
            rows.append(dict(
                initializer=label, component=name, variance=vc["variance"][i],
                share=vc["share"][i], share_low=vc["share_low"][i],
                share_high=vc["share_high"][i],
            ))  # fmt: skip
    table = pd.DataFrame(rows)
    if out is not None:
        write_report(outcomes, out, metric=metric, rng=seed,
                     n_resamples=200 if small else 2000,
                     title="initlab variance: init vs data order",
                     components=split)  # fmt: skip
        table.to_csv(out / "variance_components.csv", index=False)
    settings = _run_settings(outcomes)
    settings["grid"] = f"{num_restarts // grid_data} init x {grid_data} data seeds"
    shown = table.copy()
    if "share" in shown:
        shown["share [95% CI]"] = [
            f"{s:.0%} [{lo:.0%}, {hi:.0%}]" if np.isfinite(s) else "–"
            for s, lo, hi in zip(shown["share"], shown["share_low"],
                                 shown["share_high"], strict=True)
        ]  # fmt: skip
        shown["std"] = [_fmt(math.sqrt(v), 4) if np.isfinite(v) else "–"
                        for v in shown["variance"]]  # fmt: skip
        shown = shown[["initializer", "component", "std", "share [95% CI]"]]
    text = "\n".join([
        f"initlab variance: share of the variance of the final {metric} from the "
        "init seed vs the data-order seed",
        _settings_text(settings),
        shown.to_string(index=False),
    ])  # fmt: skip
    return StudyResult("variance", settings, table, text, outcomes, out,
                       {"components": components})  # fmt: skip
