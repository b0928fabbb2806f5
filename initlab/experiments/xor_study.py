"""The xor study: fraction of restarts stuck on XOR by the range of U(-a, a)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from initlab import _checks, stats
from initlab.engine import TrainConfig, train
from initlab.experiments.options import _out_path
from initlab.experiments.result import StudyResult, _run_settings, _settings_text
from initlab.experiments.study import Study
from initlab.initializers import random_uniform
from initlab.report import write_report

#: The classic ranges: U(-a, a) for weights and biases alike.
XOR_RANGES = (0.5, 1.0, 2.0, 4.0)


def xor(
    config: TrainConfig | None = None,
    *,
    ranges: Sequence[float] | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> StudyResult:
    """Fraction of XOR restarts stuck, by the range of the uniform init.

    The classic setting: a 2-2-1 sigmoid network, weights *and biases* from
    U(-a, a) (``bias_init="same"``), loss 1/2 sum of squared errors over the
    four points, full-batch gradient descent at learning rate 0.5 for 10 000
    epochs. A restart is stuck when some output is on the wrong side of 0.5 at
    the end (``train_solved`` = 0; on another task: training accuracy below
    1). Published figures: about 17 % stuck for a = 1 and 32 % for a = 2; zero
    biases or the sum without the 1/2 change them a lot, so the settings are
    printed with every number. Intervals are Wilson score intervals.
    Defaults: 1000 restarts per range in chunks of 1000, the task's 10 000
    steps; ``small``: ranges (1, 2), 32 restarts, 300 steps. Any other
    TrainConfig field (model, optimizer, task, ...) can be given.

    Args:
      config: a :class:`initlab.TrainConfig` to run (its initializers are the
        ranges'); None: the defaults above.
      ranges: the values a of U(-a, a) (default ``XOR_RANGES``; small: 1, 2).
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.
      **overrides: TrainConfig fields on top.

    Returns:
      :class:`StudyResult`; ``table`` has per range the restarts, diverged,
      stuck count and fraction with its 95 % Wilson interval.

    Example:
      >>> result = xor(ranges=(1.0, 2.0), num_restarts=64, steps=500,
      ...              progress=False)
      >>> result.table[["range", "stuck", "low", "high"]]

    References:
      Rumelhart, Hinton & Williams (1986); Kolen & Pollack, "Back propagation
      is sensitive to initial conditions", NIPS 1990.
    """
    config = XOR.run_config(config, small=small, ranges=ranges, **overrides)
    ranges = _ranges(ranges, small)
    inits = _initializers(ranges)
    out = _out_path(out_dir)
    outcomes = train(
        config, out_dir=out, progress=progress, record=XOR.record(ranges=ranges)
    )
    rows = []
    for a, label in zip(ranges, inits, strict=True):
        mask = outcomes.initializer == label
        solved = _solved(outcomes, label)
        n_stuck = int(np.sum(solved < 0.5))
        if solved.size:
            rate, low, high = stats.success_rate(1.0 - solved, 0.5)
        else:
            rate = low = high = float("nan")
        rows.append(dict(range=float(a), initializer=label, n=int(solved.size),
                         diverged=int(np.sum(outcomes.diverged[mask])),
                         n_stuck=n_stuck, stuck=rate, low=low, high=high))  # fmt: skip
    table = pd.DataFrame(rows)
    classic = config.task == "xor" and config.model is None
    biases = (
        "drawn like the weights"
        if config.bias_init == "same"
        else f"from {config.bias_init or 'the model (zeros)'}"
    )
    settings = {
        **(
            {"net": f"2-2-1 sigmoid, biases {biases}",
             "loss": "1/2 sum of squared errors (4 points)",
             "gradient": "full batch"}
            if classic else {}
        ),
        **_run_settings(outcomes),
        "stuck": "some output on the wrong side of 0.5 at the end",
    }  # fmt: skip
    if out is not None:
        metric = "train_solved" if "train_solved" in outcomes.final else (
            "train_accuracy"
        )  # fmt: skip
        write_report(outcomes, out, metric=metric, target=1.0, rng=config.seed,
                     n_resamples=200 if small else 2000,
                     title="initlab xor: restarts that solve XOR")  # fmt: skip
        table.to_csv(out / "xor_stuck.csv", index=False)
    shown = table.assign(
        stuck=[f"{r:.1%} [{lo:.1%}, {hi:.1%}]" for r, lo, hi in
               zip(table["stuck"], table["low"], table["high"], strict=True)]
    )[["initializer", "n", "diverged", "n_stuck", "stuck"]].rename(
        columns={"stuck": "stuck [95% Wilson CI]"}
    )  # fmt: skip
    text = "\n".join([
        "initlab xor: fraction of restarts stuck by init range (classic figures: "
        "~17% for U(-1, 1), ~32% for U(-2, 2) after 10k epochs)",
        _settings_text(settings),
        shown.to_string(index=False),
    ])  # fmt: skip
    return StudyResult("xor", settings, table, text, outcomes, out)


def _ranges(ranges: Sequence[float] | None, small: bool) -> tuple[float, ...]:
    if ranges is None:
        return (1.0, 2.0) if small else XOR_RANGES
    if isinstance(ranges, str | int | float) or not isinstance(ranges, Sequence):
        raise TypeError(f"xor: ranges must be a list of numbers a > 0; got {ranges!r}.")
    if not ranges:
        raise ValueError("xor: give at least one range a.")
    return tuple(
        _checks.number(a, "each range a", positive=True, where="xor") for a in ranges
    )


def _solved(outcomes, label: str) -> np.ndarray:
    """1.0 per restart that fits every training example (XOR: train_solved)."""
    if "train_solved" in outcomes.final:
        return outcomes.values("train_solved", label)
    return (outcomes.values("train_accuracy", label) == 1.0).astype(np.float64)


def _xor_defaults(small: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    del given
    base = dict(task="xor", bias_init="same")
    if small:
        return dict(base, num_restarts=32, steps=300)
    return dict(base, num_restarts=1000, chunk_size=1000)


def _initializers(ranges: Sequence[float]) -> dict[str, Any]:
    return {f"U(-{a:g}, {a:g})": random_uniform(-float(a), float(a)) for a in ranges}


def _finish(config: TrainConfig, own: Mapping[str, Any], small: bool) -> TrainConfig:
    inits = _initializers(_ranges(own.get("ranges"), small))
    return dataclasses.replace(config, initializers=inits)


XOR = Study("xor", xor, _xor_defaults, finish=_finish,
            fixed={"initializers": "it draws U(-a, a) for each of ranges; give "
                   "ranges=... instead"})  # fmt: skip
