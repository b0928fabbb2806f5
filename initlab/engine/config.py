"""TrainConfig: every training option, declared once, validated once, saved as-is."""

from __future__ import annotations

import dataclasses
import json
import os
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import optax

from initlab import _checks
from initlab.engine.keys import DESIGNS, GRID_DESIGNS, Design
from initlab.engine.schedule import SCHEDULES
from initlab.engine.specs import (
    axis_values,
    devices_spec,
    drop_none,
    frozen,
    is_description,
    labelled_initializers,
    model_spec,
    optimizer_spec,
    plain,
    resolve_initializers,
    task_spec,
)
from initlab.initializers import InitFn
from initlab.models import PureModel
from initlab.registry import get, to_config
from initlab.reinit import needs_kernel_fan_in
from initlab.tasks import Task

_INT32_LIMIT = 2**31 - 1


@dataclasses.dataclass(frozen=True)
class TrainConfig:
    """Every option of a training run: one object, validated once, saved as-is.

    Build it with keywords, override with :func:`dataclasses.replace`, save it
    with :meth:`to_dict` / :meth:`save` and read it back with
    :meth:`from_dict` / :meth:`load` (JSON or TOML). ``initlab.train(config)``,
    every study, the ``initlab run`` flags (generated from these fields, with
    the help text below) and the saved run all use it. Options left at None
    take the task's defaults when the run is built.

    Attributes:
      task: the task: a name ("digits", see ``initlab.TASKS``), a dict
        ``{"name": "digits", "test_size": 0.2}`` of a name and its options, a
        "package.module:factory" of your own code (a Task, or a function
        returning one), or a Task object (``initlab.make_task``).
      model: the model: None (the task's own), a name (``initlab.MODELS``:
        "mlp", "cnn1d", "gru", "lstm", "mnist1d_conv", "mnist1d_mlp",
        "mnist1d_gru"; sizes come from the task), a dict ``{"name": "mlp", "widths":
        [256, 256]}``, a "package.module:factory" of your own code (a
        PureModel, a function returning one, or an NNX module factory taking
        rngs/kernel_init/bias_init), or a PureModel.
      initializers: initializers to compare: a name or comma list
        ("zeros,he_normal"), a config dict, an initializer, a list of those,
        or a dict label -> initializer; held as a dict label -> entry (an
        initlab initializer by its config).
      bias_init: biases: None (the model's own: zeros for initlab's reference
        models, PyTorch's default for the MNIST-1D ones), "same" (drawn like
        the kernels, as in the classic XOR experiments), an initializer, or
        "torch_default_bias" (U(+-1/sqrt(fan_in)) from each bias's kernel).
      num_restarts: restarts per initializer.
      first_restart: index of the first restart (split a sweep across jobs:
        restart i has the same keys whoever trains it).
      steps: optimizer steps (default: the task's).
      batch_size: minibatch size (default: the task's; the training-set size
        means full batch).
      optimizer: an optax optimizer name ("sgd", "adam", see
        ``initlab.OPTIMIZERS``), a dict ``{"name": "sgd", "momentum": 0.9}``,
        or an optax GradientTransformation (default: the task's, "sgd").
      learning_rate: step size of a named optimizer (default: the task's);
        give it inside an optax object instead when you pass one. A list of
        step sizes is an axis: every (initializer, learning rate) pair trains
        num_restarts restarts, all in one compiled loop (the optimizer's
        hyper-parameters live in its per-restart state); restart i has the
        same keys at every learning rate. An optimizer dict's numeric
        arguments may be lists too ({"name": "sgd", "momentum": [0, 0.9]}).
      init_scale: a multiplier of every kernel the initializers draw (leaves
        named "kernel"), or a list of them: another axis, like learning_rate.
      design: which key streams (init, data order, dropout noise,
        augmentation) vary across restarts: "paired" (all), "fixed_data"
        (data order and augmentation fixed), "fixed_init", "fixed_noise",
        "fixed_augment" (that one fixed), "grid" (grid_data data orders, with
        their noise and augmentation, for each init), "grid_noise" /
        "grid_augment" (grid_data levels of that stream for each init, the
        rest fixed); see ``initlab.engine.keys.restart_streams``.
      grid_data: levels D of a grid design's second factor; num_restarts
        must be a multiple of D.
      seed: the run's root seed, in [0, 2**32).
      eval_every: steps between evaluations of the full train and test sets
        with the linear schedule (default: the task's, at most steps).
      eval_schedule: when to evaluate: "linear" (every eval_every steps),
        "geometric" (about 20 points spread evenly in log(step), at most half
        the training's cost in evaluations), or an increasing list of steps;
        default: "linear" when eval_every is given, else the task's (the
        built-in tasks: "geometric").
      target: a value of target_metric that counts as success (steps to
        target are recorded).
      target_metric: the metric of target (default "test_accuracy", or
        "test_loss" for regression).
      chunk_size: restarts per compiled call (bounds memory; default all).
      devices: devices to shard restarts over: None (all JAX sees), a count,
        or a list of jax devices.
      keep_params: also return every restart's initial and final parameters.
      keep_predictions: also record every restart's test predictions in
        ``Outcomes.per_example`` (classification: the predicted class, int16,
        and the probability of the true class, float32, per restart and test
        example; saved with the run).
      data_order: "shuffle" (a new permutation of the training set every epoch,
        from the restart's data key) or "sequential" (the stored order, the
        same every epoch, as the MNIST-1D reference trains; the data key is
        then unused); default the task's ("shuffle").
      compute_dtype: mixed precision: None (compute in float32) or "bfloat16"
        / "float16" for the forward and backward passes on a cast of the
        float32 master weights; changes the outcomes (off by default).

    Raises:
      ValueError / TypeError: at construction, for any bad value, naming the
        field, what was given and what is allowed.

    Example:
      >>> config = initlab.TrainConfig(task="xor", num_restarts=4, steps=50)
      >>> dataclasses.replace(config, seed=1).seed
      1
      >>> initlab.TrainConfig.from_dict(config.to_dict()) == config
      True
    """

    task: str | Mapping[str, Any] | Task = "digits"
    model: str | Mapping[str, Any] | PureModel | None = None
    initializers: Any = ("glorot_uniform",)
    bias_init: Any = None
    num_restarts: int = 16
    first_restart: int = 0
    steps: int | None = None
    batch_size: int | None = None
    optimizer: str | Mapping[str, Any] | optax.GradientTransformation | None = None
    learning_rate: float | Sequence[float] | None = None
    init_scale: float | Sequence[float] | None = None
    design: Design = "paired"
    grid_data: int | None = None
    seed: int = 0
    eval_every: int | None = None
    eval_schedule: str | Sequence[int] | None = None
    target: float | None = None
    target_metric: str | None = None
    chunk_size: int | None = None
    devices: int | Sequence[Any] | None = None
    keep_params: bool = False
    keep_predictions: bool = False
    data_order: str | None = None
    compute_dtype: str | None = None

    def __post_init__(self) -> None:
        for field, value in _validated(self).items():
            object.__setattr__(self, field, value)

    def __hash__(self) -> int:
        return hash(json.dumps(self.to_dict(), sort_keys=True, default=str))

    # ----- serialisation -------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Every field as JSON-safe values (lists for tuples).

        Objects that carry no config of their own (a Task, a PureModel, an
        optax transformation, a plain function as initializer, jax devices)
        are written as a ``"<...>"`` description: readable, but refused by
        :meth:`from_dict`, which cannot rebuild them.

        Example:
          >>> initlab.TrainConfig(task="xor").to_dict()["task"]
          'xor'
        """
        return {f.name: plain(getattr(self, f.name)) for f in dataclasses.fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], **overrides: Any) -> TrainConfig:
        """A config from :meth:`to_dict`'s output (or a JSON/TOML table).

        Args:
          data: field -> value; missing fields take their defaults.
          **overrides: fields to set on top (e.g. a Task object for a config
            written from one).

        Raises:
          ValueError: an unknown field (with the closest name) or a
            ``"<...>"`` description of an object that cannot be rebuilt.

        Example:
          >>> TrainConfig.from_dict({"task": "xor", "num_restarts": 8})
        """
        if not isinstance(data, Mapping):
            raise TypeError(
                f"TrainConfig.from_dict: expected a mapping of options; got "
                f"{type(data).__name__}."
            )
        names = [f.name for f in dataclasses.fields(cls)]
        values = {**data, **overrides}
        unknown = [k for k in values if k not in names]
        if unknown:
            raise ValueError(
                f"TrainConfig: unknown option {unknown[0]!r}."
                f"{_checks.closest(unknown[0], names)} Options: {', '.join(names)}."
            )
        for name, value in data.items():
            if name not in overrides and is_description(value):
                raise ValueError(
                    f"TrainConfig.from_dict: {name} was {value} in Python, which "
                    f"cannot be rebuilt from text; pass it again: "
                    f"TrainConfig.from_dict(data, {name}=...)."
                )
        return cls(**values)

    @classmethod
    def from_metadata(cls, metadata: Mapping[str, Any], **overrides: Any):
        """The config a run recorded in ``Outcomes.metadata`` (extra keys ignored).

        ``metadata["devices"]`` (the names of the devices used) becomes their
        count.

        Example:
          >>> out = initlab.train("xor", num_restarts=2, steps=10, progress=False)
          >>> TrainConfig.from_metadata(out.metadata).steps
          10
        """
        names = {f.name for f in dataclasses.fields(cls)}
        data = {k: v for k, v in metadata.items() if k in names}
        if isinstance(data.get("devices"), list):
            data["devices"] = len(data["devices"])
        return cls.from_dict(data, **overrides)

    def save(self, path: str | os.PathLike) -> Path:
        """Writes the config as JSON (``.json``) or TOML (``.toml``).

        TOML has no null: None values (which mean "the default") are left out,
        so :meth:`load` gives back an equal config.

        Example:
          >>> path = initlab.TrainConfig(task="xor").save("run.toml")
          >>> initlab.TrainConfig.load(path).task
          'xor'
        """
        path = Path(path)
        suffix = path.suffix.lower()
        if suffix not in (".json", ".toml"):
            raise ValueError(
                f"TrainConfig.save: {path} must end in .json or .toml; got "
                f"{suffix or 'no suffix'}."
            )
        data = self.to_dict()
        if suffix == ".json":
            text = json.dumps(data, indent=2) + "\n"
        else:
            import tomli_w

            text = tomli_w.dumps(drop_none(data))
        path.write_text(text)
        return path

    @classmethod
    def load(cls, path: str | os.PathLike, **overrides: Any) -> TrainConfig:
        """Reads a config that :meth:`save` (or a person) wrote, JSON or TOML.

        Raises:
          ValueError: unreadable file, bad syntax or unknown options.

        Example:
          >>> initlab.TrainConfig(task="xor", steps=100).save("xor.toml")
          >>> initlab.TrainConfig.load("xor.toml").steps
          100
        """
        path = Path(path)
        try:
            text = path.read_text()
        except OSError as err:
            raise ValueError(
                f"TrainConfig.load: cannot read {path}: {err.strerror}."
            ) from None
        try:
            if path.suffix.lower() == ".json":
                data = json.loads(text)
            else:
                data = tomllib.loads(text)
        except (json.JSONDecodeError, tomllib.TOMLDecodeError) as err:
            kind = "JSON" if path.suffix.lower() == ".json" else "TOML"
            raise ValueError(
                f"TrainConfig.load: {path} is not valid {kind}: "
                f"{str(err).splitlines()[0]}."
            ) from None
        return cls.from_dict(data, **overrides)


def _validated(config: TrainConfig) -> dict[str, Any]:
    """Every field checked and normalised (tuples for lists), or a teaching error."""
    where = "TrainConfig"
    c = config
    out: dict[str, Any] = {}
    out["task"] = task_spec(c.task)
    out["model"] = model_spec(c.model)
    # label -> entry, initlab initializers by their config (the same bits), so
    # a saved config reads back equal and with the same labels
    out["initializers"] = {
        label: frozen(to_config(entry)) if isinstance(entry, InitFn) else entry
        for label, entry in labelled_initializers(c.initializers).items()
    }
    resolve_initializers(out["initializers"])  # unknown names fail here
    if c.bias_init is not None and not (
        (isinstance(c.bias_init, str) and c.bias_init == "same")
        or needs_kernel_fan_in(c.bias_init)  # its fan-in comes from the kernel
    ):
        get(c.bias_init)
    out["bias_init"] = frozen(c.bias_init)
    out["num_restarts"] = _checks.positive_int(c.num_restarts, "num_restarts",
                                               where=where)  # fmt: skip
    out["first_restart"] = _checks.integer(
        c.first_restart, "first_restart", low=0, where=where
    )
    last = out["first_restart"] + out["num_restarts"]
    if last > _checks.UINT32_LIMIT:
        raise ValueError(
            f"{where}: restarts first_restart..first_restart+num_restarts-1 = "
            f"{out['first_restart']}..{last - 1} must stay below 2**32 (restart "
            "indices are folded into the keys as uint32; larger ones would "
            "repeat restart 0's keys)."
        )
    for name in ("steps", "batch_size", "eval_every", "grid_data", "chunk_size"):
        value = getattr(c, name)
        if value is not None:
            value = _checks.positive_int(value, name, where=where)
            # step counters are int32 inside the compiled loop
            _checks.integer(value, name, high=_INT32_LIMIT, where=where)
        out[name] = value
    out["optimizer"] = optimizer_spec(c.optimizer)
    out["learning_rate"] = axis_values(c.learning_rate, "learning_rate")
    out["init_scale"] = axis_values(c.init_scale, "init_scale")
    if c.learning_rate is not None:
        if isinstance(c.optimizer, optax.GradientTransformation):
            raise ValueError(
                f"{where}: learning_rate={c.learning_rate} beside an optax "
                "object would be ignored: the object has its own step size. Give "
                "optimizer=optax.sgd(lr) alone, or a name with learning_rate."
            )
    out["eval_schedule"] = _eval_schedule(c.eval_schedule, out["steps"])
    out["design"] = _checks.choice(c.design, DESIGNS, "design", where=where)
    if out["design"] in GRID_DESIGNS:
        if c.grid_data is None:
            raise ValueError(
                f"{where}: design={out['design']!r} needs grid_data, the number of "
                "levels D of its second factor (num_restarts = n_init x D)."
            )
        if out["num_restarts"] % out["grid_data"]:
            raise ValueError(
                f"{where}: grid design: num_restarts ({out['num_restarts']}) must "
                f"be a multiple of grid_data ({out['grid_data']}); n_init = "
                "num_restarts / grid_data."
            )
    elif c.grid_data is not None:
        raise ValueError(
            f"{where}: grid_data={c.grid_data} is only for the grid designs "
            f"({', '.join(GRID_DESIGNS)}); got design={c.design!r}."
        )
    out["seed"] = _checks.integer(c.seed, "seed", low=0, high=_checks.UINT32_LIMIT,
                                  where=where)  # fmt: skip
    if c.target is not None:
        out["target"] = _checks.number(c.target, "target", where=where)
    if c.target_metric is not None and not isinstance(c.target_metric, str):
        raise TypeError(
            f"{where}: target_metric must be a metric name such as "
            f"'test_accuracy'; got {c.target_metric!r}."
        )
    out["devices"] = devices_spec(c.devices)
    out["keep_params"] = _checks.boolean(c.keep_params, "keep_params", where=where)
    out["keep_predictions"] = _checks.boolean(c.keep_predictions, "keep_predictions",
                                              where=where)  # fmt: skip
    if c.data_order is not None:
        _checks.choice(c.data_order, ("shuffle", "sequential"), "data_order",
                       where=where)  # fmt: skip
    if c.compute_dtype is not None:
        _checks.choice(c.compute_dtype, ("bfloat16", "float16", "float32"),
                       "compute_dtype", where=where)  # fmt: skip
    return out


def _eval_schedule(schedule: Any, steps: int | None) -> Any:
    where = "TrainConfig"
    if schedule is None or isinstance(schedule, str):
        if schedule is not None:
            _checks.choice(schedule, SCHEDULES, "eval_schedule", where=where)
        return schedule
    if not isinstance(schedule, Sequence) or not schedule:
        raise TypeError(
            f"{where}: eval_schedule must be 'linear', 'geometric' or a non-empty "
            f"list of steps; got {schedule!r:.80}."
        )
    points = tuple(_checks.positive_int(s, "each eval_schedule step", where=where)
                   for s in schedule)  # fmt: skip
    if any(b <= a for a, b in zip(points, points[1:], strict=False)):
        raise ValueError(f"{where}: eval_schedule steps must increase; got {points}.")
    if steps is not None and points[-1] != steps:
        raise ValueError(
            f"{where}: the last eval_schedule step ({points[-1]}) must be steps "
            f"({steps}): every run evaluates at its end."
        )
    return points
