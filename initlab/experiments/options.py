"""Study options: initializers, models and run controls, checked before compiling."""

from __future__ import annotations

import inspect
import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from initlab.engine import OPTIMIZERS, make_optimizer
from initlab.models import MODELS, PureModel
from initlab.registry import get
from initlab.tasks import Task

Options = Mapping[str, Any]


def build_model(spec: str | Mapping[str, Any] | None, task: Task) -> PureModel | None:
    """A model from a name or config, sized from the task's data.

    The sizes a model needs from the data (input features, length, channels,
    number of outputs) are filled in from ``task``; the number of outputs is the
    task's default model's. Defaults: ``mlp`` widths (128, 128); ``cnn1d``
    channels (32, 32); ``gru``/``lstm`` hidden 64. Any of them can be given.

    Args:
      spec: None or "default" (the task's own model), a name in
        ``initlab.MODELS``, or ``{"name": ..., **arguments}``.
      task: the task the model will train on.

    Returns:
      A :class:`~initlab.models.PureModel`, or None for the task's default.

    Raises:
      ValueError: an unknown model name or argument.

    Example:
      >>> model = build_model({"name": "mlp", "widths": [256, 256]},
      ...                     get_task("digits"))
      >>> model.name
      'mlp-64-256-256-10'
    """
    if spec is None or spec == "default":
        return None
    if isinstance(spec, str):
        name, kwargs = spec, {}
    elif isinstance(spec, Mapping) and "name" in spec:
        name = str(spec["name"])
        kwargs = {k: v for k, v in spec.items() if k != "name"}
    else:
        raise ValueError(
            f"model must be a name ({', '.join(MODELS)}) or a config "
            f'{{"name": ..., ...}}; got {spec!r}.'
        )
    if name not in MODELS:
        raise ValueError(
            f"unknown model {name!r}; valid: {', '.join(MODELS)} (or 'default', the "
            "task's own model)."
        )
    factory = MODELS[name]
    allowed = list(inspect.signature(factory).parameters)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(
            f"model {name!r}: unknown argument(s) {unknown}; allowed: {allowed}."
        )
    x = task.x_train
    n_out = _num_outputs(task)
    sequence = x.shape[-1] if x.ndim == 3 else 1
    filled = {
        "mlp": dict(widths=(128, 128), in_features=math.prod(x.shape[1:]),
                    out_features=n_out),
        "cnn1d": dict(in_length=x.shape[1], in_channels=sequence, channels=(32, 32),
                      num_classes=n_out),
        "gru": dict(in_features=sequence, hidden=64, num_classes=n_out),
        "lstm": dict(in_features=sequence, hidden=64, num_classes=n_out),
    }.get(name, {})  # fmt: skip
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return factory(**{**filled, **kwargs})


def _num_outputs(task: Task) -> int:
    import jax

    model = task.default_model()
    params = jax.eval_shape(lambda: model.init(jax.random.key(0)))
    x = jax.ShapeDtypeStruct((1, *task.x_train.shape[1:]), task.x_train.dtype)
    return int(jax.eval_shape(model.apply, params, x).shape[-1])


def parse_initializers(
    items: str | Mapping[str, Any] | Sequence[str | Mapping[str, Any]],
) -> list[str | dict[str, Any]]:
    """Initializer names or configs from strings: comma lists, JSON, or dicts.

    Each item is a name (``"he_normal"``), a comma-separated list of names
    (``"zeros,he_normal"``), a JSON config (``'{"name": "random_uniform",
    "minval": -1, "maxval": 1}'``) or a config dict. Every entry is checked
    with :func:`initlab.get` so an unknown name fails here, before training.

    Args:
      items: one item or a sequence of them.

    Returns:
      Names and config dicts, in order.

    Raises:
      ValueError: unknown names or arguments, bad JSON, or an empty list.

    Example:
      >>> parse_initializers(["zeros,he_normal", '{"name": "constant", "value": 0.1}'])
      ['zeros', 'he_normal', {'name': 'constant', 'value': 0.1}]
    """
    import json

    if isinstance(items, str | Mapping):
        items = [items]
    out: list[str | dict[str, Any]] = []
    for item in items:
        if isinstance(item, Mapping):
            out.append(dict(item))
        elif isinstance(item, str) and item.strip().startswith("{"):
            try:
                config = json.loads(item)
            except json.JSONDecodeError as err:
                raise ValueError(
                    f"initializer config {item!r} is not valid JSON ({err.msg}); "
                    'write e.g. \'{"name": "random_uniform", "minval": -1}\'.'
                ) from None
            if not isinstance(config, dict):
                raise ValueError(f"initializer config {item!r} is not a JSON object.")
            out.append(config)
        elif isinstance(item, str):
            out.extend(name.strip() for name in item.split(",") if name.strip())
        else:
            raise ValueError(
                f"initializer must be a name or a config; got {item!r:.60}."
            )
    if not out:
        raise ValueError("give at least one initializer.")
    for entry in out:
        get(entry)  # raises ValueError naming the valid choices
    return out


def resolve_initializers(entries: Sequence[Any]) -> dict[str, Any]:
    """Labels (as ``initlab.train`` makes them) -> initializers.

    Args:
      entries: names, configs or initializers.

    Returns:
      A dict for ``initlab.train(initializers=...)``.

    Example:
      >>> list(resolve_initializers(["orthogonal", {"name": "constant",
      ...                                           "value": 0.1}]))
      ['orthogonal', 'constant(value=0.1)']
    """
    from initlab.engine import _label

    return {_label(entry): get(entry) for entry in entries}


def _check_common(options: Options) -> None:
    """Validates the cheap things before anything compiles."""
    if options.get("optimizer") is not None:
        if options["optimizer"] not in OPTIMIZERS:
            make_optimizer(options["optimizer"], 1.0)  # raises with the valid names
    for name in ("num_restarts", "steps", "batch_size", "chunk_size", "grid_data",
                 "devices", "width", "num_keys"):  # fmt: skip
        value = options.get(name)
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"{name} must be a positive int; got {value!r}.")
    seed = options.get("seed")
    if seed is not None and (
        isinstance(seed, bool) or not isinstance(seed, int) or seed < 0
    ):
        raise ValueError(f"seed must be an int >= 0; got {seed!r}.")
    lr = options.get("learning_rate")
    if lr is not None and (
        isinstance(lr, bool) or not isinstance(lr, int | float) or not lr > 0
    ):
        raise ValueError(f"learning_rate must be a number > 0; got {lr!r}.")


def _out_path(out_dir: str | os.PathLike | None) -> Path | None:
    return None if out_dir is None else Path(out_dir)
