"""When a run evaluates: linear every k steps, or geometric where curves move.

A learning curve moves most early: evaluating every 100 of 300 steps gives
four points, three of them on the plateau. The geometric schedule spreads
about :data:`GEOMETRIC_POINTS` evaluations evenly in log(step), so early
steps get most of them, and bounds their cost: an evaluation passes the whole
training and test sets forward, about ``(n_train + n_test) / (3 batch_size)``
training steps' worth of work (a forward pass is about a third of a forward
and backward pass), and the schedule spends at most :data:`EVAL_BUDGET` of
the training steps' work on evaluations (never fewer than
:data:`MIN_POINTS`).
"""

from __future__ import annotations

import math

import numpy as np

GEOMETRIC_POINTS = 20
EVAL_BUDGET = 0.5
MIN_POINTS = 8
SCHEDULES = ("linear", "geometric")


def linear_schedule(steps: int, eval_every: int) -> tuple[int, ...]:
    """Every ``eval_every`` steps, and at the end.

    Example:
      >>> linear_schedule(250, 100)
      (100, 200, 250)
    """
    return (*range(eval_every, steps, eval_every), steps)


def geometric_schedule(steps: int, points: int = GEOMETRIC_POINTS) -> tuple[int, ...]:
    """About ``points`` steps evenly spaced in log(step) from 1 to ``steps``.

    Rounded to whole steps, duplicates removed (so short runs get fewer), the
    last one ``steps``.

    Example:
      >>> geometric_schedule(300, 8)
      (1, 2, 5, 12, 26, 59, 133, 300)
    """
    if steps <= points:
        return tuple(range(1, steps + 1))
    grid = np.unique(np.round(np.geomspace(1, steps, points)).astype(np.int64))
    return tuple(int(s) for s in grid[:-1]) + (steps,)


def affordable_points(steps: int, n_examples: int, batch_size: int) -> int:
    """Evaluations the budget allows: at most EVAL_BUDGET of training's work.

    Example:
      >>> affordable_points(300, 1797, 128)   # the digits zoo
      20
    """
    per_eval = n_examples / (3 * batch_size)
    fit = math.floor(EVAL_BUDGET * steps / max(per_eval, 1e-9))
    return max(MIN_POINTS, min(GEOMETRIC_POINTS, fit))
