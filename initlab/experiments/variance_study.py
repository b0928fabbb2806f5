"""The variance study: init x data-order seeds, the share of variance from each."""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from initlab.engine import TrainConfig, train
from initlab.experiments.options import _out_path
from initlab.experiments.result import StudyResult, _fmt, _run_settings, _settings_text
from initlab.experiments.study import Study
from initlab.report import default_metric, write_report
from initlab.stats import seed_grid, variance_split


def variance(
    config: TrainConfig | None = None,
    *,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> StudyResult:
    """How much of the spread of outcomes comes from the init vs the data order.

    A grid design: n_init = num_restarts / grid_data init seeds crossed with
    grid_data data-order seeds (restart i: init seed i // D, data seed i % D).
    :func:`initlab.stats.variance_components` splits the variance of the final
    test metric into init, data order and their interaction (+ residual), with
    pigeonhole-bootstrap intervals. Defaults: digits, glorot_uniform and
    he_normal, 16 x 16 = 256 restarts, 300 steps, chunks of 256; ``small``:
    4 x 4 restarts, 20 steps.

    Args:
      config: a :class:`initlab.TrainConfig` to run (its design becomes the
        grid; give grid_data); None: the defaults above.
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.
      **overrides: TrainConfig fields on top (``grid_data=``,
        ``num_restarts=``, ``task=``, ...); num_restarts defaults to 16 (small:
        4) init seeds per data order.

    Returns:
      :class:`StudyResult`; ``table`` has one row per initializer and
      component with the variance, its share and the share's interval;
      ``extra["components"]`` the raw dicts.

    Example:
      >>> result = variance(task="xor", num_restarts=16, grid_data=4, steps=200,
      ...                   progress=False)
      >>> result.table

    References:
      Summers & Dinneen (2021); Owen (2007).
    """
    config = VARIANCE.run_config(config, small=small, **overrides)
    grid_data = config.grid_data
    num_restarts = config.num_restarts
    seed = config.seed
    out = _out_path(out_dir)
    outcomes = train(config, out_dir=out, progress=progress, record=VARIANCE.record())
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


def _variance_defaults(small: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    # n_init defaults to 16 (small: 4) init seeds for each data order
    base = dict(task="digits", initializers=("glorot_uniform", "he_normal"),
                steps=20 if small else 300)  # fmt: skip
    if not small:
        base["chunk_size"] = 256
    if given.get("design", "grid") != "grid":
        return base  # refused by _finish, which says why
    grid_data = given.get("grid_data") or (4 if small else 16)
    return dict(base, design="grid", grid_data=grid_data,
                num_restarts=grid_data * (4 if small else 16))  # fmt: skip


_NEEDS_GRID = (
    "the variance study crosses init seeds with data orders: it needs "
    "design='grid' (with grid_data, the number of data orders); got design={!r}."
)


def _finish(config: TrainConfig, own: Mapping[str, Any], small: bool) -> TrainConfig:
    if config.design != "grid":
        raise ValueError(_NEEDS_GRID.format(config.design))
    return config


VARIANCE = Study("variance", variance, _variance_defaults, finish=_finish)
