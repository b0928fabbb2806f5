"""What each option of a TrainConfig accepts: specs checked, normalised, described.

A spec is what a user writes for a task, model, optimizer or initializers: a
name, a dict of a name and its arguments, a "package.module:attribute" of
their own code, or the object itself. Specs are checked here without building
anything (cheap: no data is loaded, nothing compiles); objects without a
config of their own are described by :func:`describe` (name and shapes, never
arrays).
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import optax

from initlab import _checks
from initlab.models import MODELS, PureModel
from initlab.registry import get
from initlab.tasks import TASKS, Task

# "package.module:attribute" names an object in the user's own code.
_CODE_PATH = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")

# Optax optimizers that take the learning rate first and update with
# (grads, state, params): the ones a named optimizer can be. Not offered:
# polyak_sgd (its update needs the loss value) and noisy_sgd (its noise key
# lives in the state, so every restart would get the same noise).
OPTIMIZERS = (
    "adabelief", "adadelta", "adafactor", "adagrad", "adam", "adamax", "adamaxw",
    "adamw", "adan", "amsgrad", "fromage", "lamb", "lars", "lion", "nadam",
    "nadamw", "novograd", "radam", "rmsprop", "sgd", "sign_sgd", "sm3", "yogi",
)  # fmt: skip


def _code_path(text: str, what: str) -> str:
    if not _CODE_PATH.match(text):
        raise ValueError(
            f"TrainConfig: {what} {text!r} is neither a built-in name nor a "
            "'package.module:attribute' of your own code."
        )
    return text


def task_spec(task: Any) -> Any:
    if isinstance(task, Task):
        return task
    if isinstance(task, str):
        if ":" in task:
            return _code_path(task, "task")
        if task not in TASKS:
            raise ValueError(
                f"TrainConfig: unknown task {task!r}.{_checks.closest(task, TASKS)} "
                f"Built-in tasks: {', '.join(TASKS)}; or a Task from "
                "initlab.make_task, or 'package.module:factory' of your own code."
            )
        return task
    if isinstance(task, Mapping):
        if not isinstance(task.get("name"), str):
            raise ValueError(
                "TrainConfig: a task dict needs a 'name' (a built-in task or "
                "'package.module:factory') and the task's options, e.g. "
                f'{{"name": "digits", "test_size": 0.2}}; got keys {sorted(task)}.'
            )
        name = task_spec(task["name"])
        if ":" not in name:
            allowed = list(inspect.signature(TASKS[name]).parameters)
            unknown = sorted(set(task) - {"name"} - set(allowed))
            if unknown:
                raise ValueError(
                    f"TrainConfig: task {name!r} has no option(s) {unknown}; its "
                    f"options: {', '.join(allowed) or 'none'}."
                )
        return frozen(task)
    raise TypeError(
        "TrainConfig: task must be a task name, a dict {'name': ..., options}, "
        f"'package.module:factory', or a Task; got {type(task).__name__}."
    )


def model_spec(model: Any) -> Any:
    if model is None or isinstance(model, PureModel):
        return model
    if isinstance(model, str):
        if model == "default":
            return None
        if ":" in model:
            return _code_path(model, "model")
        if model not in MODELS:
            raise ValueError(
                f"TrainConfig: unknown model {model!r}."
                f"{_checks.closest(model, MODELS)} Built-in models: "
                f"{', '.join(MODELS)} (or None/'default', the task's own; or "
                "'package.module:factory' of your own code)."
            )
        return model
    if isinstance(model, Mapping):
        name = model.get("name")
        if not isinstance(name, str):
            raise ValueError(
                "TrainConfig: a model dict needs a 'name' and the model's "
                f'arguments, e.g. {{"name": "mlp", "widths": [256, 256]}}; got '
                f"keys {sorted(model)}."
            )
        model_spec(name)
        if name in MODELS:
            allowed = list(inspect.signature(MODELS[name]).parameters)
            unknown = sorted(set(model) - {"name"} - set(allowed))
            if unknown:
                raise ValueError(
                    f"TrainConfig: model {name!r}: unknown argument(s) {unknown}; "
                    f"allowed: {allowed}."
                )
        return frozen(model)
    raise TypeError(
        "TrainConfig: model must be None, a model name, a dict {'name': ..., "
        "arguments}, 'package.module:factory', or a PureModel (see "
        f"initlab.models.from_nnx); got {type(model).__name__}."
    )


def axis_values(value: Any, what: str) -> Any:
    """A positive finite number, or a non-empty list of them (an axis, a tuple).

    Example:
      >>> axis_values([0.1, 0.3], "learning_rate")
      (0.1, 0.3)
    """
    if value is None:
        return None
    if isinstance(value, Sequence) and not isinstance(value, str):
        if not value:
            raise ValueError(f"TrainConfig: {what} is an empty list; give values.")
        values = tuple(_checks.number(v, f"each {what}", positive=True,
                                      where="TrainConfig") for v in value)  # fmt: skip
        if len(set(values)) != len(values):
            raise ValueError(f"TrainConfig: {what} lists a value twice: {values}.")
        return values
    return _checks.number(value, what, positive=True, where="TrainConfig")


def optimizer_spec(optimizer: Any) -> Any:
    if optimizer is None or isinstance(optimizer, optax.GradientTransformation):
        return optimizer
    if callable(optimizer):  # factory(learning_rate, **hyper) -> transformation
        try:
            made = optimizer(0.1)
        except TypeError as err:
            made = err
        if not isinstance(made, optax.GradientTransformation):
            raise TypeError(
                "TrainConfig: an optimizer function must be a factory "
                "factory(learning_rate, ...) -> optax GradientTransformation (e.g. "
                "optax.adam); factory(0.1) gave "
                f"{type(made).__name__}. Or pass the transformation itself."
            )
        return optimizer
    if isinstance(optimizer, str):
        if optimizer not in OPTIMIZERS:
            raise ValueError(
                f"TrainConfig: unknown optimizer {optimizer!r}."
                f"{_checks.closest(optimizer, OPTIMIZERS)} Valid: "
                f"{', '.join(OPTIMIZERS)}; or an optax GradientTransformation."
            )
        return optimizer
    if isinstance(optimizer, Mapping):
        name = optimizer.get("name")
        if not isinstance(name, str):
            raise ValueError(
                "TrainConfig: an optimizer dict needs a 'name' and its arguments, "
                f'e.g. {{"name": "sgd", "momentum": 0.9}}; got keys '
                f"{sorted(optimizer)}."
            )
        optimizer_spec(name)
        params = inspect.signature(getattr(optax, name)).parameters
        allowed = [p for p in params if p != "learning_rate"]
        unknown = sorted(set(optimizer) - {"name"} - set(allowed))
        if "learning_rate" in optimizer:
            raise ValueError(
                "TrainConfig: give the learning rate as learning_rate=..., not "
                "inside the optimizer dict."
            )
        if unknown:
            raise ValueError(
                f"TrainConfig: optimizer {name!r}: unknown argument(s) {unknown}; "
                f"allowed: {allowed}."
            )
        for key, value in optimizer.items():
            if isinstance(value, list | tuple):  # an axis of that hyper-parameter
                if not value or not all(
                    isinstance(v, int | float) and not isinstance(v, bool)
                    for v in value
                ):
                    raise ValueError(
                        f"TrainConfig: optimizer {name!r}: {key} as an axis needs a "
                        f"non-empty list of numbers; got {value!r:.60}."
                    )
        return frozen(optimizer)
    raise TypeError(
        "TrainConfig: optimizer must be an optax GradientTransformation (e.g. "
        "optax.sgd(0.1)), an optax name such as 'sgd', a dict {'name': ..., "
        "arguments}, or a factory(learning_rate, ...) -> transformation; got "
        f"{type(optimizer).__name__}."
    )


def devices_spec(devices: Any) -> Any:
    if devices is None:
        return None
    if isinstance(devices, int | bool) or not isinstance(devices, Sequence):
        return _checks.positive_int(devices, "devices", where="TrainConfig")
    if isinstance(devices, str) or not devices:
        raise ValueError(
            "TrainConfig: devices must be None (all), a count, or a non-empty list "
            f"of jax devices; got {devices!r}."
        )
    return tuple(devices)


def normalise_initializers(initializers: Any) -> Any:
    """The initializers spec as a tuple of entries or a dict label -> entry.

    Comma lists of names are split; a single name, config dict or initializer
    becomes a one-entry tuple.

    Example:
      >>> normalise_initializers("zeros, he_normal")
      ('zeros', 'he_normal')
    """
    if isinstance(initializers, str):
        items = tuple(n.strip() for n in initializers.split(",") if n.strip())
        if not items:
            raise ValueError("initializers: give at least one initializer name.")
        return items
    if isinstance(initializers, Mapping):
        if {"name", "class_name"} & set(initializers):  # one config dict
            return (frozen(initializers),)
        if not initializers:
            raise ValueError("initializers: give at least one initializer.")
        return {str(k): frozen(v) for k, v in initializers.items()}
    if callable(initializers):
        return (initializers,)
    if isinstance(initializers, Sequence):
        items: list[Any] = []
        for x in initializers:
            items.extend(normalise_initializers(x) if isinstance(x, str) else [x])
        if not items:
            raise ValueError("initializers: give at least one initializer.")
        return tuple(frozen(x) for x in items)
    raise TypeError(
        "initializers must be a name, a config dict, an initializer, a list of "
        f"those, or a dict label -> initializer; got {type(initializers).__name__}."
    )


def initializer_label(x: Any) -> str:
    """The label a run gives an initializer: its name, with non-default arguments.

    Example:
      >>> initializer_label({"name": "constant", "value": 0.1})
      'constant(value=0.1)'
    """
    if isinstance(x, str):
        return x
    if isinstance(x, Mapping):
        name = x.get("name") or x.get("class_name") or "init"
        rest = {k: v for k, v in x.items() if k not in ("name", "class_name")}
        if not rest:
            return str(name)
        return f"{name}({', '.join(f'{k}={v}' for k, v in rest.items())})"
    return getattr(x, "name", None) or getattr(x, "__name__", None) or repr(x)


def labelled_initializers(initializers: Any) -> dict[str, Any]:
    """label -> entry (name, config or initializer) of an initializers spec.

    Raises:
      ValueError: no initializer, or one label twice.
      TypeError: an entry that is not a name, config or callable.

    Example:
      >>> labelled_initializers(["zeros", {"name": "constant", "value": 0.1}])
      {'zeros': 'zeros', 'constant(value=0.1)': {'name': 'constant', 'value': 0.1}}
    """
    spec = normalise_initializers(initializers)
    if isinstance(spec, Mapping):
        items = list(spec.items())
    else:
        items = [(initializer_label(x), x) for x in spec]
    out: dict[str, Any] = {}
    for label, entry in items:
        if not (callable(entry) or isinstance(entry, str | Mapping)):
            raise TypeError(
                f"initializer {label!r} must be a name, a config dict or an "
                f"initializer; got {type(entry).__name__} {entry!r:.60}."
            )
        if label in out:
            raise ValueError(
                f"initializer label {label!r} appears twice; give a dict "
                "{label: initializer} to tell them apart."
            )
        out[label] = entry
    return out


def resolve_initializers(initializers: Any) -> dict[str, Callable]:
    """label -> initializer function, from any initializers spec.

    Raises:
      ValueError: unknown names (with the closest), no initializer, or one
        label twice.
      TypeError: an entry that is not a name, config or callable.

    Example:
      >>> list(resolve_initializers(["orthogonal", {"name": "constant",
      ...                                           "value": 0.1}]))
      ['orthogonal', 'constant(value=0.1)']
    """
    return {
        label: get(thawed(entry))
        for label, entry in labelled_initializers(initializers).items()
    }


# ----- plain values ------------------------------------------------------------------


def frozen(value: Any) -> Any:
    """Lists as tuples, dicts copied (recursively): a config holds its own values."""
    if isinstance(value, list | tuple):
        return tuple(frozen(v) for v in value)
    if isinstance(value, Mapping):
        return {k: frozen(v) for k, v in value.items()}
    return value


def thawed(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [thawed(v) for v in value]
    if isinstance(value, Mapping):
        return {k: thawed(v) for k, v in value.items()}
    return value


def describe(value: Any) -> str:
    """A one-line ``"<...>"`` description of an object with no config (no arrays).

    Example:
      >>> describe(initlab.get_task("xor"))[:36]
      "<Task 'xor': classification, 2 class"
    """
    if isinstance(value, Task):
        classes = f", {value.num_classes} classes" if value.num_classes else ""
        return (
            f"<Task {value.name!r}: {value.kind}{classes}, x_train "
            f"{tuple(value.x_train.shape)} {value.x_train.dtype}, x_test "
            f"{tuple(value.x_test.shape)} {value.x_test.dtype}>"
        )
    if isinstance(value, PureModel):
        return f"<PureModel {value.name!r}>"
    if isinstance(value, optax.GradientTransformation):
        return "<optax GradientTransformation>"
    name = getattr(value, "name", None) or getattr(value, "__name__", None)
    kind = type(value).__name__
    return f"<{kind} {name}>" if name else f"<{kind}>"


def plain(value: Any) -> Any:
    from initlab.initializers import InitFn
    from initlab.registry import to_config

    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, InitFn):
        return to_config(value)
    if isinstance(value, tuple | list):
        return [plain(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): plain(v) for k, v in value.items()}
    if hasattr(value, "platform") and hasattr(value, "id"):  # a jax Device
        return f"<device {value}>"
    return describe(value)


def is_description(value: Any) -> bool:
    if isinstance(value, str):
        return value.startswith("<") and value.endswith(">")
    if isinstance(value, list):
        return any(is_description(v) for v in value)
    if isinstance(value, Mapping):
        return any(is_description(v) for v in value.values())
    return False


def drop_none(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_none(v) for v in value]
    return value
