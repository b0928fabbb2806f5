"""Objects from the user's own code: ``"package.module:attribute"`` specs.

A task or model spec may name an object in the user's code: a Task or
PureModel itself, a function that makes one (called with the spec's
arguments, and ``task=`` when it takes one), or an NNX module factory taking
``rngs`` (wrapped with :func:`initlab.models.from_nnx`). Import errors and
wrong kinds of objects are explained in one line.
"""

from __future__ import annotations

import functools
import importlib
import inspect
from collections.abc import Callable, Mapping
from typing import Any

from initlab.models import PureModel, from_nnx
from initlab.tasks import Task


def user_model(path: str, kwargs: dict[str, Any], task: Task) -> PureModel:
    target = import_object(path, "model")
    if isinstance(target, PureModel):
        if kwargs:
            raise ValueError(
                f"model {path!r} is a PureModel: it takes no arguments; got "
                f"{sorted(kwargs)}."
            )
        return target
    if not callable(target):
        raise TypeError(
            f"model {path!r} is a {type(target).__name__}; expected a PureModel or "
            "a function/class that makes one."
        )
    params = _parameters(target)
    if "rngs" in params:  # an NNX module factory: from_nnx wraps it
        factory = functools.partial(target, **kwargs)
        return from_nnx(factory, name=path.rpartition(":")[2])
    made = call_user_code(path, kwargs, "model", task=task)
    if not isinstance(made, PureModel):
        raise TypeError(
            f"model {path!r} gave a {type(made).__name__}; expected a PureModel "
            "(initlab.models.from_nnx / from_pure make one)."
        )
    return made


def _parameters(fn: Callable) -> Mapping[str, inspect.Parameter]:
    try:
        return inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return {}


def import_object(path: str, what: str) -> Any:
    module_name, _, attr = path.partition(":")
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise ValueError(
            f"{what} {path!r}: cannot import {module_name!r} ({err}); is it on "
            "PYTHONPATH (or installed)?"
        ) from None
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ValueError(f"{what} {path!r}: {module_name!r} has no {attr!r}.")
        obj = getattr(obj, part)
    return obj


def call_user_code(path: str, kwargs: Mapping[str, Any], what: str, **extra) -> Any:
    target = import_object(path, what)
    if not callable(target) or isinstance(target, Task | PureModel):
        if kwargs:
            raise ValueError(
                f"{what} {path!r} is not callable: it takes no arguments; got "
                f"{sorted(kwargs)}."
            )
        return target
    params = _parameters(target)
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    extra = {k: v for k, v in extra.items() if k in params or takes_any}
    try:
        return target(**kwargs, **extra)
    except TypeError as err:
        raise ValueError(f"{what} {path!r}: calling it failed: {err}.") from None
