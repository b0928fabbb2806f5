"""Study options written as text (the CLI, config files) and the legacy helpers."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from initlab import engine
from initlab.models import PureModel
from initlab.registry import get
from initlab.tasks import Task

Options = Mapping[str, Any]


def build_model(spec: str | Mapping[str, Any] | None, task: Task) -> PureModel | None:
    """A model from a name or config, sized from the task (None: the task's own).

    :func:`initlab.engine.build_model`, except that None and "default" give
    None (the task's default model) rather than that model.

    Example:
      >>> build_model({"name": "mlp", "widths": [256, 256]},
      ...             initlab.get_task("digits")).name
      'mlp-64-256-256-10'
    """
    if spec is None or (isinstance(spec, str) and spec == "default"):
        return None
    return engine.build_model(spec, task)


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
    return engine.resolve_initializers(list(entries))


def _out_path(out_dir: str | os.PathLike | None) -> Path | None:
    return None if out_dir is None else Path(out_dir)
