"""The symmetry study: constant starts never break the symmetry between units."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from initlab import diagnostics, tree_paths
from initlab.engine import TrainConfig, train
from initlab.experiments.options import _out_path
from initlab.experiments.result import StudyResult, _fmt, _run_settings, _settings_text
from initlab.experiments.study import Study
from initlab.initializers import constant
from initlab.report import write_report


def _layers(params: Any) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(name, kernel, bias) per layer of a params tree with a leading restart axis."""
    return [
        (layer.path, np.asarray(layer.kernel),
         None if layer.bias is None else np.asarray(layer.bias))
        for layer in tree_paths.layers(params)
    ]  # fmt: skip


def count_distinct_units(params: Any, tol: float = 1e-6) -> dict[str, np.ndarray]:
    """Distinct units of every layer, per restart.

    Args:
      params: a params tree whose leaves have a leading restart axis (e.g.
        ``Outcomes.final_params`` of a run with ``keep_params=True``); layers
        are the parents of leaves named ``kernel`` (with ``bias`` if present).
      tol: as :func:`initlab.diagnostics.distinct_units`.

    Returns:
      layer path -> (R,) int array.

    Example:
      >>> outcomes = initlab.train("xor", "zeros", num_restarts=4, steps=50,
      ...                          keep_params=True, progress=False)
      >>> counts = count_distinct_units(outcomes.final_params)
      >>> counts["layers/0"].min()
    """
    import jax

    counts = {}
    for name, kernel, bias in _layers(params):
        if bias is None:
            fn = jax.vmap(lambda k: diagnostics.distinct_units(k, None, tol))
            counts[name] = np.asarray(fn(kernel))
        else:
            fn = jax.vmap(lambda k, b: diagnostics.distinct_units(k, b, tol))
            counts[name] = np.asarray(fn(kernel, bias))
    return counts


def symmetry(
    config: TrainConfig | None = None,
    *,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    **overrides: Any,
) -> StudyResult:
    """Zeros and constant starts never break the symmetry between hidden units.

    Units of a layer that start equal receive equal gradients and stay equal
    under gradient descent, so a network started from zeros or a constant
    trains like one with a single unit per hidden layer; a random start gives
    every unit its own features. Trains the model (the task's own by default;
    biases zero) from ``zeros``, ``constant(0.1)`` and ``glorot_uniform`` and
    counts the distinct units of every layer at the end
    (:func:`count_distinct_units`), beside the final accuracy. Defaults:
    digits, 16 restarts, 300 steps; ``small``: 4 restarts, 20 steps. Nothing
    is resumed (final params are not saved).

    Args:
      config: a :class:`initlab.TrainConfig` to run (any task and model);
        None: the defaults above.
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.
      **overrides: TrainConfig fields on top (``task=``, ``model=``,
        ``initializers=``, ...).

    Returns:
      :class:`StudyResult`; ``table`` has per initializer the min/median/max of
      distinct units of each layer and the mean final accuracy; ``extra
      ["distinct_units"]`` is layer -> (R,) counts.

    Example:
      >>> result = symmetry(task="xor", small=True, progress=False)
      >>> result.table.set_index("initializer")
    """
    config = SYMMETRY.run_config(config, small=small, **overrides)
    outcomes = train(config, progress=progress, record=SYMMETRY.record())
    counts = count_distinct_units(outcomes.final_params)
    initial = count_distinct_units(outcomes.initial_params)
    metric = "test_accuracy" if "test_accuracy" in outcomes.final else "test_loss"
    widths = {name: kernel.shape[-1] for name, kernel, _ in
              _layers(outcomes.final_params)}  # fmt: skip
    rows = []
    for label in outcomes.labels:
        mask = outcomes.initializer == label
        row: dict[str, Any] = {"initializer": label}
        for layer, c in counts.items():
            row[f"{layer} (of {widths[layer]})"] = (
                f"{int(np.min(c[mask]))}-{int(np.max(c[mask]))}"
                f" (init {int(np.min(initial[layer][mask]))})"
            )
        row[f"mean {metric}"] = _fmt(float(np.nanmean(outcomes.final[metric][mask])))
        rows.append(row)
    table = pd.DataFrame(rows)
    out = _out_path(out_dir)
    if out is not None:
        outcomes_to_save = dataclasses.replace(outcomes, initial_params=None,
                                               final_params=None)  # fmt: skip
        write_report(outcomes_to_save, out, rng=config.seed, title="initlab symmetry",
                     n_resamples=200 if small else 2000)  # fmt: skip
        table.to_csv(out / "distinct_units.csv", index=False)
    settings = _run_settings(outcomes)
    text = "\n".join([
        "initlab symmetry: distinct units per layer after training (min-max over "
        "restarts; equal units stay equal under gradient descent)",
        _settings_text(settings),
        table.to_string(index=False),
    ])  # fmt: skip
    extra = {"distinct_units": counts, "initial_units": initial}
    return StudyResult("symmetry", settings, table, text, outcomes, out, extra)


def _symmetry_defaults(small: bool, given: Mapping[str, Any]) -> dict[str, Any]:
    del given
    return dict(
        task="digits",
        initializers={"zeros": "zeros", "constant(0.1)": constant(0.1),
                      "glorot_uniform": "glorot_uniform"},
        num_restarts=4 if small else 16,
        steps=20 if small else 300,
    )  # fmt: skip


SYMMETRY = Study(
    "symmetry",
    symmetry,
    _symmetry_defaults,
    fixed={"keep_params": "it counts units in the final params"},
    finish=lambda config, own, small: dataclasses.replace(config, keep_params=True),
)
