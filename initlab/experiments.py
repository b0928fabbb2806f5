"""Ready-made studies: the command line's ``initlab run STUDY`` and notebooks.

Each study is a function taking keyword options and returning a
:class:`StudyResult` (its table, the printed text, the Outcomes when it trained,
and the folder it wrote). :data:`STUDIES` maps names to them; every study has a
``small`` mode (a handful of restarts and steps) for tests and smoke runs.

* ``zoo`` (default): every initializer of Keras's list on the digits MLP.
* ``symmetry``: zeros and constant starts never break the symmetry between
  hidden units; a random start does.
* ``xor``: fraction of restarts stuck on XOR by the range of U(-a, a).
* ``variance``: a grid of init seeds x data-order seeds; the share of the
  variance of the outcome from each.
* ``depth``: signal propagation at initialization across depth.

Example:
  >>> from initlab import experiments
  >>> result = experiments.run_study("zoo", small=True, out_dir="runs/zoo")
  >>> print(result.text)
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from initlab import diagnostics, stats
from initlab.engine import OPTIMIZERS, make_optimizer, train
from initlab.initializers import constant, random_uniform
from initlab.models import MODELS, PureModel
from initlab.outcomes import Outcomes
from initlab.registry import KERAS_NAMES, get
from initlab.report import write_report
from initlab.tasks import Task, get_task

Options = Mapping[str, Any]


@dataclasses.dataclass
class StudyResult:
    """What a study produced.

    Attributes:
      study: the study's name.
      settings: every setting the numbers depend on (printed with them).
      table: the study's summary, one row per initializer (or per cell).
      text: the printable summary: settings, table, and a one-line reading.
      outcomes: the trained restarts (None for studies that do not train).
      out_dir: the folder written (report.md, report.html, figures, Parquet),
        or None when nothing was written.
      extra: study-specific values (e.g. variance components, distinct units).
    """

    study: str
    settings: dict[str, Any]
    table: pd.DataFrame
    text: str
    outcomes: Outcomes | None = None
    out_dir: Path | None = None
    extra: dict[str, Any] = dataclasses.field(default_factory=dict)


# ----- helpers shared by the studies ---------------------------------------------


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


def _fmt(value: float, digits: int = 3) -> str:
    return "–" if value is None or not np.isfinite(value) else f"{value:.{digits}f}"


def format_summary(table: pd.DataFrame) -> str:
    """A plain-text rendering of :func:`initlab.stats.summary_table`.

    Args:
      table: the DataFrame from ``stats.summary_table``.

    Returns:
      One line per initializer: n, diverged, mean [CI], IQM [CI], median, std,
      success rate [CI] (when present) and the expected best of k.

    Example:
      >>> print(format_summary(stats.summary_table(outcomes, "test_accuracy",
      ...                                          rng=0)))
    """
    best = [c for c in table.columns if c.startswith("best_of_")]
    rows = []
    for _, r in table.iterrows():
        row = {
            "initializer": r["initializer"],
            "n": int(r["n"]),
            "diverged": int(r["diverged"]),
            "mean [95% CI]": f"{_fmt(r['mean'])} [{_fmt(r['mean_low'])}, "
            f"{_fmt(r['mean_high'])}]",
            "IQM [95% CI]": f"{_fmt(r['iqm'])} [{_fmt(r['iqm_low'])}, "
            f"{_fmt(r['iqm_high'])}]",
            "median": _fmt(r["median"]),
            "std": _fmt(r["std"]),
        }
        if "success_rate" in table:
            row["success [95% CI]"] = (
                f"{_fmt(r['success_rate'], 2)} [{_fmt(r['success_low'], 2)}, "
                f"{_fmt(r['success_high'], 2)}]"
            )
        for column in best:
            row[column.replace("_", " ")] = _fmt(r[column])
        rows.append(row)
    return pd.DataFrame(rows).to_string(index=False)


def _settings_text(settings: Mapping[str, Any]) -> str:
    return "settings: " + ", ".join(f"{k}={v}" for k, v in settings.items())


def _run_settings(outcomes: Outcomes) -> dict[str, Any]:
    """The settings a trained run recorded, for printing beside its numbers."""
    meta = outcomes.metadata
    keys = ("task", "model", "num_restarts", "steps", "batch_size", "optimizer",
            "learning_rate", "design", "grid_data", "seed", "bias_init")  # fmt: skip
    settings = {k: meta.get(k) for k in keys if meta.get(k) is not None}
    settings["devices"] = len(meta.get("devices", [])) or None
    settings["wall_time_s"] = round(float(meta.get("wall_time_s", float("nan"))), 1)
    return settings


def _out_path(out_dir: str | os.PathLike | None) -> Path | None:
    return None if out_dir is None else Path(out_dir)


# ----- zoo ------------------------------------------------------------------------

#: Steps of the full zoo: measured to finish in about two minutes on 2 CPU cores.
ZOO_STEPS = 300


def zoo(
    *,
    task: str = "digits",
    model: str | Mapping[str, Any] | None = None,
    initializers: Any = None,
    num_restarts: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    optimizer: str = "sgd",
    learning_rate: float | None = None,
    design: str = "paired",
    grid_data: int | None = None,
    seed: int = 0,
    target: float | None = None,
    chunk_size: int | None = None,
    devices: int | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> StudyResult:
    """Every initializer of Keras's list on one task: the distribution of outcomes.

    Defaults: the digits MLP 64-128-128-10 (ReLU), 128 restarts per
    initializer, ``ZOO_STEPS`` SGD steps at batch 128 and learning rate 0.1,
    paired design (restart i has the same init and data seeds for every
    initializer), all in one ``initlab.train`` call (one compilation). Writes
    the report folder when ``out_dir`` is given; chunks of 480 restarts are
    saved as they finish, so an interrupted run resumes.

    Args:
      task: a task name (default "digits").
      model: None (the task's model), a name or a config (see
        :func:`build_model`).
      initializers: names/configs (default ``initlab.KERAS_NAMES``).
      num_restarts: restarts per initializer (default 128; small: 8).
      steps: training steps (default ``ZOO_STEPS``; small: 20).
      batch_size, optimizer, learning_rate: training (default the task's
        batch size, "sgd", and the task's learning rate).
      design, grid_data: restart design (see ``initlab.train``).
      seed: the run's root seed.
      target: success threshold for the summary's success-rate column.
      chunk_size: restarts per compiled call (default 480; small: all).
      devices: devices to shard restarts over (default all).
      small: a smoke run (3 initializers, 8 restarts, 20 steps).
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.

    Returns:
      :class:`StudyResult` with the summary of the final test accuracy (or
      test loss for regression tasks).

    Example:
      >>> result = zoo(small=True)
      >>> result.table[["initializer", "mean"]]
    """
    if initializers is None:
        initializers = (
            ("zeros", "glorot_uniform", "he_normal") if small else KERAS_NAMES
        )
    inits = parse_initializers(list(initializers))
    options = dict(num_restarts=num_restarts, steps=steps, batch_size=batch_size,
                   optimizer=optimizer, learning_rate=learning_rate,
                   grid_data=grid_data, seed=seed, chunk_size=chunk_size,
                   devices=devices)  # fmt: skip
    _check_common(options)
    the_task = get_task(task)
    the_model = build_model(model, the_task)
    num_restarts = num_restarts or (8 if small else 128)
    steps = steps or (20 if small else ZOO_STEPS)
    if chunk_size is None and not small:
        chunk_size = 480
    out = _out_path(out_dir)
    outcomes = train(
        the_task, resolve_initializers(inits), model=the_model,
        num_restarts=num_restarts, steps=steps,
        batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate,
        design=design, grid_data=grid_data, seed=seed, target=target,
        chunk_size=chunk_size, devices=devices, out_dir=out, progress=progress,
    )  # fmt: skip
    return _report(
        "zoo", outcomes, out, target=target, seed=seed, small=small,
        title=f"initlab zoo: {len(inits)} initializers on {the_task.name}",
    )  # fmt: skip


def _report(
    study: str,
    outcomes: Outcomes,
    out: Path | None,
    *,
    target: float | None,
    seed: int,
    small: bool,
    title: str,
    metric: str | None = None,
) -> StudyResult:
    from initlab.report import default_metric

    metric = metric or default_metric(outcomes)
    n_resamples = 200 if small else 2000
    table = stats.summary_table(
        outcomes, metric, rng=seed, target=target, n_resamples=n_resamples
    )
    if out is not None:
        write_report(
            outcomes, out, metric=metric, target=target, rng=seed,
            n_resamples=n_resamples, title=title,
        )  # fmt: skip
    settings = _run_settings(outcomes)
    text = "\n".join([
        f"{title}: final {metric}",
        _settings_text(settings),
        format_summary(table),
    ])  # fmt: skip
    return StudyResult(study, settings, table, text, outcomes, out)


# ----- symmetry -----------------------------------------------------------------


def _layers(params: Any) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
    """(name, kernel, bias) per layer of a params tree with a leading restart axis."""
    import jax

    groups: dict[str, dict[str, np.ndarray]] = {}
    for path, leaf in jax.tree_util.tree_flatten_with_path(params)[0]:
        keys = [str(getattr(k, "key", getattr(k, "idx", getattr(k, "name", k))))
                for k in path]  # fmt: skip
        keys = [k for k in keys if k != "value"]
        if keys and keys[-1] in ("kernel", "bias"):
            groups.setdefault("/".join(keys[:-1]), {})[keys[-1]] = np.asarray(leaf)
    return [(name, g["kernel"], g.get("bias")) for name, g in groups.items()
            if "kernel" in g]  # fmt: skip


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
    *,
    task: str = "digits",
    initializers: Any = None,
    num_restarts: int | None = None,
    steps: int | None = None,
    learning_rate: float | None = None,
    seed: int = 0,
    devices: int | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> StudyResult:
    """Zeros and constant starts never break the symmetry between hidden units.

    Units of a layer that start equal receive equal gradients and stay equal
    under gradient descent, so a network started from zeros or a constant
    trains like one with a single unit per hidden layer; a random start gives
    every unit its own features. Trains the task's model (biases zero) from
    ``zeros``, ``constant(0.1)`` and ``glorot_uniform`` and counts the distinct
    units of every layer at the end (:func:`count_distinct_units`), beside the
    final accuracy. Nothing is resumed (final params are not saved).

    Args:
      task: a task name (default "digits").
      initializers: names/configs (default zeros, constant 0.1, glorot_uniform).
      num_restarts: restarts per initializer (default 16; small: 4).
      steps: training steps (default 300; small: 20).
      learning_rate: default the task's.
      seed: the run's root seed.
      devices: devices to shard restarts over (default all).
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.

    Returns:
      :class:`StudyResult`; ``table`` has per initializer the min/median/max of
      distinct units of each layer and the mean final accuracy; ``extra
      ["distinct_units"]`` is layer -> (R,) counts.

    Example:
      >>> result = symmetry(small=True)
      >>> result.table.set_index("initializer")
    """
    if initializers is None:
        initializers = {"zeros": "zeros", "constant(0.1)": constant(0.1),
                        "glorot_uniform": "glorot_uniform"}  # fmt: skip
    else:
        initializers = resolve_initializers(parse_initializers(list(initializers)))
    _check_common(dict(num_restarts=num_restarts, steps=steps, seed=seed,
                       learning_rate=learning_rate, devices=devices))  # fmt: skip
    outcomes = train(
        task, initializers, num_restarts=num_restarts or (4 if small else 16),
        steps=steps or (20 if small else 300), learning_rate=learning_rate,
        seed=seed, devices=devices, keep_params=True, progress=progress,
    )  # fmt: skip
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
        write_report(outcomes_to_save, out, rng=seed, title="initlab symmetry",
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


# ----- xor ----------------------------------------------------------------------

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


# ----- variance -----------------------------------------------------------------


def seed_grid(outcomes: Outcomes, label: str, metric: str) -> np.ndarray:
    """The (n_init, n_data) grid of a metric over a grid-design run.

    Args:
      outcomes: a run with ``design="grid"``.
      label: an initializer label.
      metric: a final metric.

    Returns:
      ``grid[i, j]`` = the metric of the restart with the i-th init seed and
      the j-th data seed (seeds in increasing order).

    Raises:
      ValueError: the restarts do not fill a grid (one per cell), or some
        diverged (their value is not defined).

    Example:
      >>> grid = seed_grid(outcomes, "glorot_uniform", "test_accuracy")
    """
    mask = outcomes.initializer == label
    if np.any(outcomes.diverged[mask]):
        raise ValueError(
            f"{label}: {int(np.sum(outcomes.diverged[mask]))} restart(s) diverged; "
            "the variance split needs every cell of the grid."
        )
    init, data = outcomes.init_seed[mask], outcomes.data_seed[mask]
    ui, ii = np.unique(init, return_inverse=True)
    uj, jj = np.unique(data, return_inverse=True)
    if ui.size * uj.size != mask.sum() or len(set(zip(ii, jj, strict=True))) != len(ii):
        raise ValueError(
            f"{label}: restarts do not form an (init seed x data seed) grid with one "
            "restart per cell; train with design='grid'."
        )
    grid = np.full((ui.size, uj.size), np.nan)
    grid[ii, jj] = np.asarray(outcomes.final[metric])[mask]
    return grid


def variance(
    *,
    task: str = "digits",
    model: str | Mapping[str, Any] | None = None,
    initializers: Any = None,
    num_restarts: int | None = None,
    grid_data: int | None = None,
    steps: int | None = None,
    batch_size: int | None = None,
    optimizer: str = "sgd",
    learning_rate: float | None = None,
    seed: int = 0,
    chunk_size: int | None = None,
    devices: int | None = None,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> StudyResult:
    """How much of the spread of outcomes comes from the init vs the data order.

    A grid design: n_init = num_restarts / grid_data init seeds crossed with
    grid_data data-order seeds (restart i: init seed i // D, data seed i % D).
    :func:`initlab.stats.variance_components` splits the variance of the final
    test metric into init, data order and their interaction (+ residual), with
    pigeonhole-bootstrap intervals.

    Args:
      task, model: as :func:`zoo` (default digits and its MLP).
      initializers: names/configs (default glorot_uniform, he_normal).
      num_restarts: restarts per initializer (default 256 = 16 x 16; small 16).
      grid_data: data orders D (default 16; small: 4).
      steps: training steps (default 300; small: 20).
      batch_size, optimizer, learning_rate: training.
      seed: the run's root seed (also seeds the bootstrap).
      chunk_size: restarts per compiled call (default 256).
      devices: devices to shard restarts over (default all).
      small: a smoke run.
      out_dir: folder for the report; None writes nothing.
      progress: show the engine's progress bar.

    Returns:
      :class:`StudyResult`; ``table`` has one row per initializer and
      component with the variance, its share and the share's interval;
      ``extra["components"]`` the raw dicts.

    Example:
      >>> result = variance(num_restarts=64, grid_data=8)
      >>> result.table

    References:
      Summers & Dinneen (2021); Owen (2007).
    """
    inits = parse_initializers(list(initializers or ("glorot_uniform", "he_normal")))
    _check_common(dict(num_restarts=num_restarts, grid_data=grid_data, steps=steps,
                       batch_size=batch_size, optimizer=optimizer, seed=seed,
                       learning_rate=learning_rate, chunk_size=chunk_size,
                       devices=devices))  # fmt: skip
    grid_data = grid_data or (4 if small else 16)
    num_restarts = num_restarts or grid_data * (4 if small else 16)
    if chunk_size is None and not small:
        chunk_size = 256
    the_task = get_task(task)
    out = _out_path(out_dir)
    outcomes = train(
        the_task, resolve_initializers(inits), model=build_model(model, the_task),
        num_restarts=num_restarts, steps=steps or (20 if small else 300),
        batch_size=batch_size, optimizer=optimizer, learning_rate=learning_rate,
        design="grid", grid_data=grid_data, seed=seed, chunk_size=chunk_size,
        devices=devices, out_dir=out, progress=progress,
    )  # fmt: skip
    from initlab.report import default_metric

    metric = default_metric(outcomes)
    rows, components = [], {}
    rngs = np.random.default_rng(seed).spawn(len(outcomes.labels))
    for label, rng in zip(outcomes.labels, rngs, strict=True):
        try:
            vc = stats.variance_components(
                seed_grid(outcomes, label, metric), rng=rng,
                n_resamples=200 if small else 1000,
            )  # fmt: skip
        except ValueError as err:
            rows.append(dict(initializer=label, component=f"not split: {err}"))
            continue
        components[label] = vc
        for i, name in enumerate(vc["components"]):
            rows.append(dict(
                initializer=label, component=name, variance=vc["variance"][i],
                share=vc["share"][i], share_low=vc["share_low"][i],
                share_high=vc["share_high"][i],
            ))  # fmt: skip
    table = pd.DataFrame(rows)
    if out is not None:
        write_report(outcomes, out, metric=metric, rng=seed,
                     n_resamples=200 if small else 2000,
                     title="initlab variance: init vs data order")  # fmt: skip
        table.to_csv(out / "variance_components.csv", index=False)
    settings = _run_settings(outcomes)
    settings["grid"] = f"{num_restarts // grid_data} init x {grid_data} data seeds"
    shown = table.copy()
    if "share" in shown:
        shown["share [95% CI]"] = [
            f"{s:.0%} [{lo:.0%}, {hi:.0%}]" if np.isfinite(s) else "–"
            for s, lo, hi in zip(shown["share"], shown["share_low"],
                                 shown["share_high"], strict=True)
        ]  # fmt: skip
        shown["std"] = [_fmt(math.sqrt(v), 4) if np.isfinite(v) else "–"
                        for v in shown["variance"]]  # fmt: skip
        shown = shown[["initializer", "component", "std", "share [95% CI]"]]
    text = "\n".join([
        f"initlab variance: share of the variance of the final {metric} from the "
        "init seed vs the data-order seed",
        _settings_text(settings),
        shown.to_string(index=False),
    ])  # fmt: skip
    return StudyResult("variance", settings, table, text, outcomes, out,
                       {"components": components})  # fmt: skip


# ----- depth --------------------------------------------------------------------


def depth(
    *,
    initializers: Any = None,
    activations: Sequence[str] | None = None,
    depths: Sequence[int] | None = None,
    width: int | None = None,
    num_keys: int | None = None,
    seed: int = 0,
    small: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> StudyResult:
    """Signal propagation at initialization across depth.

    :func:`initlab.diagnostics.depth_sweep` over initializers x activations x
    depths of square MLPs (biases zero): the second moment ``q_L`` of the last
    hidden pre-activation relative to the first layer's ``q_1`` (1 = the
    signal keeps its scale; -> 0 vanishes; large explodes) and the spread of
    the input-output Jacobian's singular values (dynamical isometry: small).
    Medians over ``num_keys`` networks.

    Args:
      initializers: names/configs (default lecun_normal, glorot_normal,
        he_normal, orthogonal).
      activations: default ("relu", "tanh").
      depths: numbers of hidden layers (default 2, 4, 8, 16, 32; small 2, 4).
      width: hidden width (default 128; small 16).
      num_keys: networks per cell (default 8; small 2).
      seed: inputs and keys.
      small: a smoke run.
      out_dir: folder for ``depth_sweep.parquet``, figures and report.md.
      progress: unused (kept so every study takes the same run controls).

    Returns:
      :class:`StudyResult`; ``table`` has one row per initializer, activation
      and depth; ``extra["sweep"]`` the full tidy table.

    Example:
      >>> result = depth(depths=(4, 16, 64), activations=("tanh",))

    References:
      Poole et al. (2016); Schoenholz et al. (2017); Pennington et al. (2017).
    """
    del progress
    labels = parse_initializers(list(initializers or (
        "lecun_normal", "glorot_normal", "he_normal", "orthogonal")))  # fmt: skip
    _check_common(dict(width=width, num_keys=num_keys, seed=seed))
    depths = tuple(depths or ((2, 4) if small else (2, 4, 8, 16, 32)))
    activations = tuple(activations or ("relu", "tanh"))
    width = width or (16 if small else 128)
    num_keys = num_keys or (2 if small else 8)
    inits = resolve_initializers(labels)
    sweep = diagnostics.depth_sweep(
        inits, activations, depths, width=width, batch_size=width,
        num_keys=num_keys, seed=seed,
    )  # fmt: skip
    med = (
        sweep.groupby(["initializer", "activation", "depth", "layer", "statistic"],
                      sort=False)["value"].median().reset_index()
    )  # fmt: skip
    rows = []
    for (label, act, d), cell in med.groupby(["initializer", "activation", "depth"],
                                             sort=False):  # fmt: skip
        q = cell[cell.statistic == "second_moment"].set_index("layer")["value"]
        sv = cell[cell.statistic.str.startswith("jacobian_sv")].set_index(
            "statistic")["value"]  # fmt: skip
        rows.append(dict(
            initializer=label, activation=act, depth=int(d),
            q_last_over_q_first=float(q.loc[d] / q.loc[1]),
            jacobian_sv_mean=float(sv.get("jacobian_sv_mean", np.nan)),
            jacobian_sv_std=float(sv.get("jacobian_sv_std", np.nan)),
        ))  # fmt: skip
    table = pd.DataFrame(rows)
    settings = dict(initializers=", ".join(inits), activations=", ".join(activations),
                    depths=", ".join(map(str, depths)), width=width,
                    num_keys=num_keys, seed=seed, biases="zeros")  # fmt: skip
    out = _out_path(out_dir)
    if out is not None:
        _write_depth_report(out, sweep, table, settings, activations, max(depths))
    wide = table.pivot_table(index=["initializer", "activation"], columns="depth",
                             values="q_last_over_q_first", sort=False)  # fmt: skip
    wide.columns = [f"D={c}" for c in wide.columns]
    text = "\n".join([
        "initlab depth: q_D / q_1, second moment of the last hidden pre-activation "
        "over the first's at init (1 = preserved; median over networks)",
        _settings_text(settings),
        wide.map(lambda v: f"{v:.3g}").to_string(),
    ])  # fmt: skip
    return StudyResult("depth", settings, table, text, None, out, {"sweep": sweep})


def _write_depth_report(out: Path, sweep: pd.DataFrame, table: pd.DataFrame,
                        settings: Mapping[str, Any], activations: Sequence[str],
                        deepest: int) -> None:  # fmt: skip
    from initlab import plots

    figures = out / "figures"
    figures.mkdir(parents=True, exist_ok=True)
    sweep.to_parquet(out / "depth_sweep.parquet", index=False)
    table.to_csv(out / "depth_summary.csv", index=False)
    lines = ["# initlab depth: signal propagation at init", "",
             _settings_text(settings), "", table.to_markdown(index=False)
             if _has_tabulate() else table.to_string(index=False), ""]  # fmt: skip
    deep = sweep[sweep.depth == deepest]
    for act in activations:
        cell = deep[deep.activation == act]
        layer_stats = (
            cell.groupby(["initializer", "layer", "statistic"], sort=False)["value"]
            .median().reset_index()
        )  # fmt: skip
        fig, _ = plots.plot_layer_stats(layer_stats, "second_moment", logy=True)
        name = f"second_moment_{act}.png"
        fig.suptitle(f"{act}, depth {deepest}: second moment per layer (median)")
        fig.savefig(figures / name, dpi=100, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)
        lines += [f"![{act}](figures/{name})", ""]
    (out / "report.md").write_text("\n".join(lines))


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
    except ImportError:
        return False
    return True


# ----- the registry of studies ------------------------------------------------------

STUDIES: dict[str, Callable[..., StudyResult]] = {
    "zoo": zoo,
    "symmetry": symmetry,
    "xor": xor,
    "variance": variance,
    "depth": depth,
}


def study_options(name: str) -> list[str]:
    """The keyword options a study takes.

    Example:
      >>> "ranges" in study_options("xor")
      True
    """
    return list(inspect.signature(_study(name)).parameters)


def _study(name: str) -> Callable[..., StudyResult]:
    if name not in STUDIES:
        raise ValueError(f"unknown study {name!r}; valid: {', '.join(STUDIES)}.")
    return STUDIES[name]


def check_options(name: str, **options: Any) -> None:
    """Validates a study's options without running anything (no JAX computation).

    Checks the study name, that it takes every option, and the cheap values:
    initializer names/configs, task name, model name, optimizer, design and
    the positive integers. The study itself checks the rest.

    Args:
      name: a key of :data:`STUDIES`.
      **options: the options :func:`run_study` would get.

    Raises:
      ValueError: the first problem found, in one line naming the valid choices.

    Example:
      >>> check_options("zoo", initializers=["he_normal"], num_restarts=8)
    """
    from initlab.engine import DESIGNS
    from initlab.tasks import TASKS

    allowed = study_options(name)
    unknown = sorted(set(options) - set(allowed))
    if unknown:
        raise ValueError(
            f"study {name!r} takes no option(s) {', '.join(unknown)}; it takes: "
            f"{', '.join(allowed)}."
        )
    if options.get("initializers") is not None:
        parse_initializers(options["initializers"])
    task = options.get("task")
    if task is not None and task not in TASKS:
        get_task(task)  # raises naming the valid tasks
    model = options.get("model")
    if isinstance(model, Mapping):
        model = model.get("name")
    if model is not None and model != "default" and model not in MODELS:
        raise ValueError(
            f"unknown model {model!r}; valid: {', '.join(MODELS)} (or 'default')."
        )
    design = options.get("design")
    if design is not None and design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; valid: {', '.join(DESIGNS)}.")
    _check_common(options)


def run_study(name: str = "zoo", **options: Any) -> StudyResult:
    """Runs a study by name; options it does not take are an error.

    Args:
      name: a key of :data:`STUDIES` (default "zoo").
      **options: the study's keyword options (see each study).

    Returns:
      The study's :class:`StudyResult`.

    Raises:
      ValueError: an unknown study, an option the study does not take, or a
        bad value.

    Example:
      >>> run_study("xor", small=True).text
    """
    study = _study(name)
    check_options(name, **options)
    return study(**options)
