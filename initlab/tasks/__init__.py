"""Offline datasets bundled with their loss, metrics, model and training defaults.

A :class:`Task` holds numpy arrays (float32 inputs; int32 labels or float32
targets) and pure JAX functions of ``(outputs, targets)``. Nothing here
downloads: ``digits`` ships with scikit-learn, ``mnist1d`` is regenerated
locally, the rest are synthetic with fixed seeds.
"""

from initlab.tasks import augment
from initlab.tasks.datasets import (
    TASKS,
    _mnist1d_arrays,
    digits,
    get_task,
    mnist1d,
    spirals,
    teacher,
    xor,
)
from initlab.tasks.losses import LOSSES, LossFn, correct, cross_entropy, half_sse, mse
from initlab.tasks.task import Kind, Task, make_task

__all__ = [
    "Kind", "LOSSES", "augment", "LossFn", "TASKS", "Task", "correct", "cross_entropy",
    "digits", "get_task", "half_sse", "make_task", "mnist1d", "mse", "spirals",
    "teacher", "xor",
    # private, shared with tests (its cache is cleared there)
    "_mnist1d_arrays",
]  # fmt: skip
