"""Which initializers failed, and why: diverged, at chance, symmetry never broken.

A failed initializer is one whose restarts say nothing about how well it
trains: most of them diverged, or its interval sits at the task's chance level
(the score of a model that ignores its input). Figures show failed
initializers in their own panel, so that the axis of the working ones zooms to
their range, and the report's headline names them with the reason.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Literal

import numpy as np

from initlab._checks import number
from initlab.stats._checks import RNG, _check_confidence

if TYPE_CHECKING:
    import pandas as pd

    from initlab.outcomes import Outcomes

FailureKind = Literal["diverged", "symmetry", "one_class", "chance"]

#: Default half-width of the chance band, as a fraction of the distance from
#: chance to a perfect score (accuracy 1, loss 0): 0.05 is 0.045 accuracy on
#: 10 classes, so a constant predictor (accuracy = one class's share of the
#: test set, 0.09-0.11 on digits) falls inside it and a model at 0.2 does not.
CHANCE_TOLERANCE = 0.05

_SHORT = {
    "diverged": "diverged",
    "symmetry": "symmetry never broken",
    "one_class": "one class for every input",
    "chance": "at chance",
}


@dataclasses.dataclass(frozen=True)
class Failure:
    """Why an initializer failed.

    Attributes:
      kind: "diverged" (all, or more than half, of its restarts diverged),
        "symmetry" (at chance, and every restart started from the same network
        or ended with the same value: the initializer ignored its key, so the
        units of a layer started equal and stayed equal), "one_class" (every
        restart predicts a single class for every test input) or "chance"
        (its IQM interval sits at the chance level).
      reason: one sentence for a reader, e.g. "symmetry never broken: every
        restart started from the same network and ended at chance".
      n: restarts kept (not diverged).
      diverged: restarts that diverged.
      chance: the chance level used, or None.

    Example:
      >>> Failure("diverged", "all 8 restarts diverged", 0, 8, None).short
      'diverged'
    """

    kind: FailureKind
    reason: str
    n: int
    diverged: int
    chance: float | None = None

    @property
    def short(self) -> str:
        """A few words for a tick label: "diverged", "symmetry never broken", ..."""
        return _SHORT[self.kind]


def chance_level(
    outcomes: Outcomes, metric: str, *, chance: float | None = None
) -> float | None:
    """The score of a model that ignores its input, for ``metric``, if known.

    Looked up in this order: ``chance`` if given; ``metadata["chance"]``
    (a number, or a mapping metric -> number); ``1 / metadata["num_classes"]``
    for an accuracy metric. None when none applies (regression, or a run
    that did not record its number of classes).

    Args:
      outcomes: the run.
      metric: a final metric name.
      chance: an explicit level (returned as a float).

    Returns:
      The chance level, or None.

    Raises:
      TypeError: ``chance`` or the recorded value is not a number.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> chance_level(outcomes, "test_accuracy")  # metadata num_classes = 10
      0.1
    """
    if chance is not None:
        return number(chance, "chance", where="chance_level")
    meta = outcomes.metadata
    recorded = meta.get("chance")
    if isinstance(recorded, Mapping):
        recorded = recorded.get(metric)
    if recorded is not None:
        return number(recorded, "metadata['chance']", where="chance_level")
    classes = meta.get("num_classes")
    if "accuracy" in metric and isinstance(classes, int) and classes >= 2:
        return 1.0 / classes
    return None


def at_chance(
    low: float,
    high: float,
    chance: float,
    *,
    metric: str = "",
    higher_is_better: bool = True,
    tolerance: float = CHANCE_TOLERANCE,
) -> bool:
    """Whether an interval sits at (or on the wrong side of) the chance level.

    The interval's better end must lie within ``delta`` of ``chance``, where
    ``delta = tolerance * |perfect - chance|`` and ``perfect`` is 1 for an
    accuracy, 0 for a loss (``tolerance * |chance|`` for other metrics).

    Args:
      low, high: the interval (e.g. of the IQM).
      chance: the chance level.
      metric: the metric's name (decides ``perfect``).
      higher_is_better: direction of the metric.
      tolerance: see :data:`CHANCE_TOLERANCE`.

    Returns:
      True when the better end is no better than ``chance + delta``.

    Example:
      >>> at_chance(0.101, 0.103, 0.1, metric="test_accuracy")
      True
      >>> at_chance(0.18, 0.25, 0.1, metric="test_accuracy")
      False
    """
    tolerance = number(tolerance, "tolerance", where="at_chance", positive=True)
    if "accuracy" in metric:
        delta = tolerance * abs(1.0 - chance)
    elif "loss" in metric:
        delta = tolerance * abs(chance)
    else:
        delta = tolerance * (abs(chance) or 1.0)
    if higher_is_better:
        return bool(high <= chance + delta)
    return bool(low >= chance - delta)


def _one_class(correct: np.ndarray) -> bool:
    """Restarts whose correct sets are pairwise identical or disjoint.

    A model that predicts one class for every input is right on exactly that
    class's examples: two such restarts are right on the same examples (same
    class) or on none in common. Restarts that use their input overlap
    partly. Needs two distinct non-empty sets, each under half the examples
    (so a perfect model, right everywhere, is not taken for one).
    """
    c = np.asarray(correct).reshape(len(correct), -1).astype(np.int64)
    if c.shape[0] < 2 or c.shape[1] == 0:
        return False
    sizes = c.sum(1)
    if np.any(sizes == 0) or np.any(sizes > c.shape[1] / 2):
        return False
    inter = c @ c.T
    same = (inter == sizes[:, None]) & (inter == sizes[None, :])
    if not np.all(same | (inter == 0)):
        return False
    return len({row.tobytes() for row in c.astype(bool)}) >= 2


def _same_start(outcomes: Outcomes, mask: np.ndarray, metric: str) -> bool:
    """Every restart had the same metrics at step 0 although its init seed differed."""
    if len(outcomes.steps) == 0 or int(outcomes.steps[0]) != 0:
        return False
    if len(np.unique(outcomes.init_seed[mask])) < 2:
        return False
    names = [metric] if metric in outcomes.curves else list(outcomes.curves)
    if not names:
        return False
    for name in names:
        start = np.asarray(outcomes.curves[name], np.float64)[mask, 0]
        if not np.all(np.isfinite(start)) or np.ptp(start) != 0:
            return False
    return True


def _same_end(outcomes: Outcomes, mask: np.ndarray) -> bool:
    """Every restart ended identically: each final metric, and each example's result.

    Equal accuracies alone are not enough (two models that predict different
    single classes of a balanced test set score the same): every final
    metric must agree, and so must the per-example results when recorded.
    """
    if int(mask.sum()) < 2:
        return False
    for values in outcomes.final.values():
        v = np.asarray(values, np.float64)[mask]
        if not np.all(np.isfinite(v)) or np.ptp(v) != 0:
            return False
    for values in outcomes.per_example.values():
        v = np.asarray(values)[mask]
        if not np.all(v == v[:1]):
            return False
    return True


def failures(
    outcomes: Outcomes,
    metric: str,
    *,
    rng: RNG,
    chance: float | None = None,
    table: pd.DataFrame | None = None,
    tolerance: float = CHANCE_TOLERANCE,
    confidence: float = 0.95,
    n_resamples: int = 1000,
) -> dict[str, Failure]:
    """The initializers that failed, each with its reason; the rest worked.

    In order of the checks:

    - diverged: fewer than 2 restarts kept, or more than half diverged;
    - at chance: the IQM interval sits at the chance level
      (:func:`chance_level`, :func:`at_chance`), or every restart predicts a
      single class for every test input (from ``per_example["test_correct"]``,
      for ``test_*`` metrics: correct sets pairwise identical or disjoint;
      found even when the chance level is unknown);
    - of those at chance, "symmetry never broken" when every restart started
      from the same network (identical step-0 metrics for different init
      seeds: the initializer ignores its key, so equal units stay equal) or
      ended identically (every final metric and every per-example result).

    Args:
      outcomes: the run.
      metric: a final metric.
      rng: seed of the summary table's bootstrap when ``table`` is None.
      chance: the chance level; default :func:`chance_level`.
      table: a :func:`summary_table` of ``outcomes`` and ``metric`` (its
        iqm_low / iqm_high decide "at chance").
      tolerance: see :func:`at_chance`.
      confidence, n_resamples: of the table computed when ``table`` is None.

    Returns:
      ``{label: Failure}`` for the failed initializers, in label order.

    Raises:
      KeyError: unknown metric. ValueError: ``table`` lacks a column.

    Example:
      >>> outcomes = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                          steps=100, progress=False)
      >>> failures(outcomes, "test_accuracy", rng=0)["zeros"].short
      'symmetry never broken'

    References:
      Agarwal et al. (2021) (interval estimates over runs); Goodfellow, Bengio
      & Courville (2016), section 8.4 (symmetry breaking).
    """
    from initlab.stats.tables import summary_table

    if metric not in outcomes.final:
        raise KeyError(f"unknown metric {metric!r}; available: {outcomes.metrics}.")
    confidence = _check_confidence(confidence)
    if table is None:
        table = summary_table(
            outcomes, metric, rng=rng, confidence=confidence, n_resamples=n_resamples
        )
    missing = {"initializer", "n", "diverged", "iqm", "iqm_low", "iqm_high"} - set(
        table.columns
    )
    if missing:
        raise ValueError(
            f"table lacks column(s) {sorted(missing)}; pass what "
            "initlab.stats.summary_table returns (or table=None)."
        )
    level = chance_level(outcomes, metric, chance=chance)
    higher = outcomes.higher_is_better(metric)
    rows = {str(r["initializer"]): r for _, r in table.iterrows()}
    correct = outcomes.per_example.get("test_correct")
    out: dict[str, Failure] = {}
    for label in outcomes.labels:
        mask = outcomes.initializer == label
        total = int(mask.sum())
        n_div = int(np.sum(outcomes.diverged[mask]))
        kept = total - n_div
        if kept < 2 or n_div * 2 > total:
            reason = (
                f"all {total} restarts diverged"
                if kept == 0
                else f"{n_div} of {total} restarts diverged"
            )
            out[label] = Failure("diverged", reason, kept, n_div, level)
            continue
        row = rows.get(label)
        chance_hit = False
        if level is not None and row is not None:
            low, high = float(row["iqm_low"]), float(row["iqm_high"])
            if math.isfinite(low) and math.isfinite(high):
                chance_hit = at_chance(low, high, level, metric=metric,
                                       higher_is_better=higher,
                                       tolerance=tolerance)  # fmt: skip
        keep = mask & ~outcomes.diverged
        single = (
            correct is not None
            and metric.startswith("test_")
            and _one_class(np.asarray(correct)[keep])
        )
        if not (chance_hit or single):
            continue
        where = "at chance" if level is None else f"at chance ({level:.3g})"
        if _same_start(outcomes, keep, metric) or _same_end(outcomes, keep):
            same = (
                "every restart started from the same network"
                if _same_start(outcomes, keep, metric)
                else "every restart ended identically"
            )
            reason = f"symmetry never broken: {same} and ended {where}"
            kind: FailureKind = "symmetry"
        elif single:
            reason = f"every restart predicts one class for every input ({where})"
            kind = "one_class"
        else:
            reason = f"its IQM interval sits {where}"
            kind = "chance"
        out[label] = Failure(kind, reason, kept, n_div, level)
    return out
