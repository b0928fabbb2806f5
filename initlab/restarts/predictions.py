"""Every restart's predictions on the test set: compact, or full probabilities.

:class:`RestartPredictions` holds what the ensemble, diversity and
calibration functions read: the predicted class and the probability of the
true class per restart and example (what ``TrainConfig(keep_predictions=
True)`` saves with a run), and optionally every class's probability (what
calibration needs: the confidence of a wrong prediction is not the
probability of the true class). Build it from a run
(:func:`from_outcomes`) or from parameters and a model (:func:`predict`).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab import _checks

if TYPE_CHECKING:
    from initlab.models import PureModel
    from initlab.outcomes import Outcomes


@dataclasses.dataclass(frozen=True)
class RestartPredictions:
    """Test-set predictions of R restarts on M examples.

    Attributes:
      labels: (M,) int, the true classes.
      predicted: (R, M) int, each restart's predicted class.
      p_true: (R, M) float, the probability each restart gives the true class.
      probs: (R, M, C) float, every class's probability, or None (compact
        storage: enough for vote ensembles, NLL, disagreement; not for
        calibration or probability-averaging ensembles).
      num_classes: C.

    Raises:
      ValueError: shapes that do not agree, or probabilities outside [0, 1].

    Example:
      >>> preds = RestartPredictions(labels=np.array([0, 1]),
      ...     predicted=np.array([[0, 1], [0, 0]]),
      ...     p_true=np.array([[0.9, 0.8], [0.7, 0.4]]), num_classes=2)
      >>> preds.correct.mean(axis=1)
      array([1. , 0.5])
    """

    labels: np.ndarray
    predicted: np.ndarray
    p_true: np.ndarray
    num_classes: int
    probs: np.ndarray | None = None

    def __post_init__(self) -> None:
        where = "RestartPredictions"
        labels = np.asarray(self.labels)
        predicted = np.asarray(self.predicted)
        p_true = np.asarray(self.p_true, np.float64)
        c = _checks.integer(self.num_classes, "num_classes", low=2, where=where)
        if (
            labels.ndim != 1
            or predicted.ndim != 2
            or predicted.shape[1:] != labels.shape
        ):
            raise ValueError(
                f"{where}: labels must be (M,) and predicted (R, M); got "
                f"{labels.shape} and {predicted.shape}."
            )
        if p_true.shape != predicted.shape:
            raise ValueError(
                f"{where}: p_true must be (R, M) = {predicted.shape}; got "
                f"{p_true.shape}."
            )
        if predicted.shape[0] < 1 or labels.size < 1:
            raise ValueError(f"{where}: need at least one restart and one example.")
        for name, arr in (("labels", labels), ("predicted", predicted)):
            if (
                not np.issubdtype(arr.dtype, np.integer)
                or arr.min() < 0
                or (arr.max() >= c)
            ):
                raise ValueError(
                    f"{where}: {name} must be integer classes in 0..{c - 1}."
                )
        if not np.all(np.isfinite(p_true)) or p_true.min() < 0 or p_true.max() > 1:
            raise ValueError(
                f"{where}: p_true must be probabilities in [0, 1] (no NaN: leave "
                "diverged restarts out)."
            )
        probs = None
        if self.probs is not None:
            probs = np.asarray(self.probs, np.float64)
            if probs.shape != (*predicted.shape, c):
                raise ValueError(
                    f"{where}: probs must be (R, M, C) = {(*predicted.shape, c)}; "
                    f"got {probs.shape}."
                )
            if not np.all(np.isfinite(probs)):
                raise ValueError(f"{where}: probs has non-finite values.")
        object.__setattr__(self, "labels", labels.astype(np.int64))
        object.__setattr__(self, "predicted", predicted.astype(np.int64))
        object.__setattr__(self, "p_true", p_true)
        object.__setattr__(self, "num_classes", c)
        object.__setattr__(self, "probs", probs)

    @property
    def num_restarts(self) -> int:
        return int(self.predicted.shape[0])

    @property
    def num_examples(self) -> int:
        return int(self.labels.size)

    @property
    def correct(self) -> np.ndarray:
        """(R, M) bool: which examples each restart gets right."""
        return self.predicted == self.labels[None, :]

    def select(self, rows: Any) -> RestartPredictions:
        """The predictions of some restarts (indices or a boolean mask)."""
        rows = np.asarray(rows)
        return RestartPredictions(
            self.labels,
            self.predicted[rows],
            self.p_true[rows],
            self.num_classes,
            None if self.probs is None else self.probs[rows],
        )


def from_outcomes(
    outcomes: Outcomes,
    initializer: str | None = None,
    *,
    probs: np.ndarray | None = None,
    labels: Any = None,
) -> RestartPredictions:
    """The predictions a run kept (``TrainConfig(keep_predictions=True)``).

    Diverged restarts are left out (their predictions are meaningless), as
    :meth:`initlab.Outcomes.values` leaves them out.

    Args:
      outcomes: a classification run with ``per_example["test_predicted"]``
        and ``["test_p_true"]``.
      initializer: one label (None: every restart).
      probs: optional (R_run, M, C) probabilities of every row of the run (as
        :func:`predict` computes them from ``outcomes.final_params``); the
        same rows are kept.
      labels: (M,) the test labels; default: the test set of the task the
        run recorded (a built-in task, or a task given by its config).

    Returns:
      :class:`RestartPredictions`.

    Raises:
      ValueError: a run without kept predictions (the message says how to
        keep them) or not a classification run.
      KeyError: an unknown initializer.

    Example:
      >>> out = initlab.train("digits", model=initlab.models.mlp((8,), 64, 10),
      ...     num_restarts=4, steps=10, keep_predictions=True, progress=False)
      >>> from_outcomes(out).predicted.shape
      (4, 540)
    """
    missing = {"test_predicted", "test_p_true"} - set(outcomes.per_example)
    if missing:
        raise ValueError(
            "from_outcomes: the run kept no per-example predictions (missing "
            f"{sorted(missing)}); train it with keep_predictions=True "
            "(TrainConfig field), on a classification task."
        )
    rows = ~np.asarray(outcomes.diverged)
    if initializer is not None:
        if initializer not in outcomes.labels:
            raise KeyError(
                f"unknown initializer {initializer!r}; available: {outcomes.labels}."
            )
        rows &= outcomes.initializer == initializer
    if not rows.any():
        raise ValueError(
            "from_outcomes: no restart left (every restart of "
            f"{initializer or 'the run'} diverged)."
        )
    meta = outcomes.metadata
    num_classes = meta.get("num_classes")
    if probs is not None:
        probs = np.asarray(probs)
        if probs.shape[0] != len(outcomes):
            raise ValueError(
                f"from_outcomes: probs has {probs.shape[0]} rows, the run "
                f"{len(outcomes)}."
            )
        num_classes = probs.shape[-1]
        probs = probs[rows]
    labels = _labels(outcomes) if labels is None else np.asarray(labels).reshape(-1)
    return RestartPredictions(
        labels=labels,
        predicted=outcomes.per_example["test_predicted"][rows],
        p_true=outcomes.per_example["test_p_true"][rows],
        num_classes=int(num_classes or max(2, int(labels.max()) + 1)),
        probs=probs,
    )


def _labels(outcomes: Outcomes) -> np.ndarray:
    """The test labels: from the task the run recorded (built-in tasks)."""
    from initlab.engine import build_task

    spec = outcomes.metadata.get("task")
    try:
        task = build_task(spec)
    except (ValueError, TypeError):
        raise ValueError(
            f"from_outcomes: cannot rebuild the run's task from {spec!r:.60}; "
            "pass labels=task.y_test."
        ) from None
    return np.asarray(task.y_test).reshape(-1)


def predict(
    model: PureModel,
    params: Any,
    x: Any,
    y: Any,
    *,
    model_state: Any = None,
    block: int = 64,
) -> RestartPredictions:
    """Full predictions of a stack of parameters (restart axis first).

    Evaluation-mode outputs of every restart on ``x`` (softmax of the logits;
    with one output unit, the output clipped to [0, 1] is the probability of
    class 1, as the engine reads it), ``block`` restarts at a time.

    Args:
      model: the run's :class:`initlab.models.PureModel`.
      params: a pytree with leading axis R (``Outcomes.final_params``).
      x: (M, ...) inputs; y: (M,) int labels.
      model_state: optional non-parameter state with axis R
        (``Outcomes.final_state``).
      block: restarts per compiled call (bounds memory).

    Returns:
      :class:`RestartPredictions` with ``probs``.

    Raises:
      ValueError: params without a restart axis or labels of another length.

    Example:
      >>> model, task = initlab.models.mlp((8,), 64, 10), initlab.get_task("digits")
      >>> params = jax.vmap(model.init)(jax.random.split(jax.random.key(0), 4))
      >>> preds = predict(model, params, task.x_test, task.y_test)
      >>> preds.probs.shape
      (4, 540, 10)
    """
    import jax
    import jax.numpy as jnp

    block = _checks.positive_int(block, "block", where="predict")
    leaves = jax.tree.leaves(params)
    if not leaves or np.ndim(leaves[0]) < 1:
        raise ValueError("predict: params need the restart axis first.")
    r = int(np.shape(leaves[0])[0])
    labels = np.asarray(y).reshape(-1)
    x = jnp.asarray(x)
    if labels.shape[0] != x.shape[0]:
        raise ValueError(f"predict: {x.shape[0]} inputs but {labels.shape[0]} labels.")

    def probabilities(p, s):
        out = model.apply(p, x) if s is None else model.forward_eval(p, s, x)
        out = out.astype(jnp.float32)
        if out.shape[-1] == 1:
            p1 = jnp.clip(out[:, 0], 0.0, 1.0)
            return jnp.stack([1.0 - p1, p1], axis=-1)
        return jax.nn.softmax(out, axis=-1)

    fn = jax.jit(
        jax.vmap(probabilities, in_axes=(0, None if model_state is None else 0))
    )
    parts = []
    for start in range(0, r, block):
        take = lambda t, s=start: jax.tree.map(lambda a: a[s : s + block], t)  # noqa: E731
        state = None if model_state is None else take(model_state)
        parts.append(np.asarray(fn(take(params), state)))
    probs = np.concatenate(parts).astype(np.float64)
    predicted = np.argmax(probs, axis=-1)
    p_true = np.take_along_axis(probs, labels[None, :, None], axis=-1)[..., 0]
    return RestartPredictions(
        labels, predicted, np.clip(p_true, 0.0, 1.0), probs.shape[-1], probs
    )
