"""The xor study: fraction of restarts stuck on XOR by the range of U(-a, a)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd

from initlab import stats
from initlab.engine import train
from initlab.experiments.options import _check_common, _out_path
from initlab.experiments.result import StudyResult, _run_settings, _settings_text
from initlab.initializers import random_uniform
from initlab.report import write_report

#: The classic ranges: U(-a, a) for weights and biases alike.
XOR_RANGES = (0.5, 1.0, 2.0, 4.0)


def xor(
    *,
    ranges: Sequence[float] | None = None,
    num_restarts: int | None = None,
    steps: int | None = None,
    learning_rate: float | None = None,
    seed: int = 0,
    chunk_size: int | None = None,
    devices: int | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> StudyResult:
    """Fraction of XOR restarts stuck, by the range of the uniform init.

    The classic setting: a 2-2-1 sigmoid network, weights *and biases* from
    U(-a, a) (``bias_init="same"``), loss 1/2 sum of squared errors over the
    four points, full-batch gradient descent at learning rate 0.5 for 10 000
    epochs. A restart is stuck when some output is on the wrong side of 0.5 at
    the end (``train_solved`` = 0). Published figures: about 17 % stuck for
    a = 1 and 32 % for a = 2; zero biases or the sum without the 1/2 change
    them a lot, so the settings are printed with every number. Intervals are
    Wilson score intervals.

    Args:
      ranges: the values of a (default ``XOR_RANGES``; small: (1, 2)).
      num_restarts: restarts per range (default 1000; small: 32).
      steps: epochs (default 10 000; small: 300).
      learning_rate: default 0.5.
      seed: the run's root seed.
      chunk_size: restarts per compiled call (default 1000).
      devices: devices to shard restarts over (default all).
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.

    Returns:
      :class:`StudyResult`; ``table`` has per range the restarts, diverged,
      stuck count and fraction with its 95 % Wilson interval.

    Example:
      >>> result = xor(ranges=(1.0, 2.0), num_restarts=200)
      >>> result.table[["range", "stuck", "low", "high"]]

    References:
      Rumelhart, Hinton & Williams (1986); Kolen & Pollack, "Back propagation
      is sensitive to initial conditions", NIPS 1990.
    """
    ranges = tuple(XOR_RANGES if ranges is None and not small else ranges or (1, 2))
    for a in ranges:
        if isinstance(a, bool) or not isinstance(a, int | float) or not a > 0:
            raise ValueError(f"xor: each range a must be a number > 0; got {a!r}.")
    _check_common(dict(num_restarts=num_restarts, steps=steps, seed=seed,
                       learning_rate=learning_rate, chunk_size=chunk_size,
                       devices=devices))  # fmt: skip
    num_restarts = num_restarts or (32 if small else 1000)
    inits = {f"U(-{a:g}, {a:g})": random_uniform(-float(a), float(a)) for a in ranges}
    if chunk_size is None and not small:
        chunk_size = 1000
    out = _out_path(out_dir)
    outcomes = train(
        "xor", inits, num_restarts=num_restarts, steps=steps or (300 if small else
        None), learning_rate=learning_rate, seed=seed, bias_init="same",
        chunk_size=chunk_size, devices=devices, out_dir=out, progress=progress,
    )  # fmt: skip
    rows = []
    for a, label in zip(ranges, inits, strict=True):
        mask = outcomes.initializer == label
        solved = outcomes.values("train_solved", label)
        n_stuck = int(np.sum(solved < 0.5))
        if solved.size:
            rate, low, high = stats.success_rate(1.0 - solved, 0.5)
        else:
            rate = low = high = float("nan")
        rows.append(dict(range=float(a), initializer=label, n=int(solved.size),
                         diverged=int(np.sum(outcomes.diverged[mask])),
                         n_stuck=n_stuck, stuck=rate, low=low, high=high))  # fmt: skip
    table = pd.DataFrame(rows)
    settings = {
        "net": "2-2-1 sigmoid, biases drawn like the weights",
        "loss": "1/2 sum of squared errors (4 points)",
        "gradient": "full batch",
        **_run_settings(outcomes),
        "stuck": "some output on the wrong side of 0.5 at the end",
    }
    if out is not None:
        write_report(outcomes, out, metric="train_solved", target=1.0, rng=seed,
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
