"""From a TrainConfig to the objects of a run: task, model, optimizer, initializers.

Everything here runs before anything compiles: specs are built into objects,
the defaults the config left open are filled from the task, and the model is
checked against the data with abstract evaluation. Errors describe a Task by
its name and shapes, never by its arrays.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import itertools
import math
from collections.abc import Callable, Mapping
from typing import Any

import jax
import optax

from initlab import _checks
from initlab.engine.config import TrainConfig
from initlab.engine.optimizers import build_optimizer_axes
from initlab.engine.schedule import (
    affordable_points,
    geometric_schedule,
    linear_schedule,
)
from initlab.engine.specs import (
    describe,
    labelled_initializers,
    resolve_initializers,
    thawed,
)
from initlab.engine.user_code import call_user_code, user_model
from initlab.models import MODELS, PureModel
from initlab.registry import get
from initlab.reinit import needs_kernel_fan_in
from initlab.tasks import TASKS, Task, get_task


@dataclasses.dataclass(frozen=True, eq=False)
class Run:
    """A TrainConfig built into objects, every default filled in.

    Attributes:
      config: the config with every None default replaced by the value used
        (steps, batch_size, optimizer, learning_rate, eval_every,
        target_metric, chunk_size, devices).
      task, model, optimizer: the built objects.
      initializers: label -> initializer (kernels).
      bias_inits: label -> initializer of the biases (None: the model's own).
      metrics: names of the metrics the run records ("train_loss", ...).
      axes: hyper-parameter axes, name -> values ("learning_rate", an
        optimizer argument, "init_scale"): every (initializer, combination)
        trains ``num_restarts`` restarts in the same compiled loop.
    """

    config: TrainConfig
    task: Task
    model: PureModel
    optimizer: optax.GradientTransformation
    initializers: dict[str, Callable]
    bias_inits: dict[str, Callable | None]
    metrics: tuple[str, ...]
    axes: dict[str, tuple[float, ...]] = dataclasses.field(default_factory=dict)

    @property
    def combos(self) -> list[dict[str, float]]:
        """Every combination of the axes' values, the first axis slowest."""
        if not self.axes:
            return [{}]
        names = list(self.axes)
        grid = itertools.product(*(self.axes[n] for n in names))
        return [dict(zip(names, values, strict=True)) for values in grid]


def resolve(config: TrainConfig) -> Run:
    """Builds ``config``'s task, model, optimizer and initializers; fills defaults.

    Task-dependent checks happen here (batch size against the training set,
    the model against the data's shapes, the target metric), all before
    anything compiles.

    Args:
      config: a :class:`TrainConfig`.

    Returns:
      :class:`Run`.

    Raises:
      ValueError / TypeError: a spec that cannot be built or does not fit.

    Example:
      >>> run = resolve(initlab.TrainConfig(task="xor"))
      >>> run.config.steps, run.model.name
      (10000, 'mlp-2-2-1')
    """
    if not isinstance(config, TrainConfig):
        raise TypeError(
            f"resolve: expected a TrainConfig; got {type(config).__name__}."
        )
    task = build_task(config.task)
    model = task.default_model() if config.model is None else build_model(
        config.model, task
    )  # fmt: skip
    d = task.defaults
    steps = config.steps or d["steps"]
    n_train = len(task.x_train)
    batch_size = config.batch_size or min(d["batch_size"], n_train)
    if batch_size > n_train:
        raise ValueError(
            f"batch_size={batch_size} is larger than the training set of "
            f"{describe(task)} ({n_train} examples); use at most {n_train} (= full "
            "batch)."
        )
    eval_every = config.eval_every or min(steps, d.get("eval_every", 100))
    schedule = _schedule(config, d, steps, eval_every, batch_size, task)
    axes: dict[str, tuple[float, ...]] = {}
    if isinstance(config.optimizer, optax.GradientTransformation):
        optimizer, opt_spec, lr = config.optimizer, config.optimizer, None
    else:
        opt_spec = config.optimizer or d.get("optimizer", "sgd")
        lr = config.learning_rate or d["learning_rate"]
        optimizer, axes = build_optimizer_axes(opt_spec, lr)
    if isinstance(config.init_scale, tuple) or config.init_scale is not None:
        scales = config.init_scale
        axes["init_scale"] = scales if isinstance(scales, tuple) else (scales,)
    inits = resolve_initializers(config.initializers)
    if isinstance(config.bias_init, str) and config.bias_init == "same":
        bias_inits: dict[str, Callable | None] = dict(inits)
    elif needs_kernel_fan_in(thawed(config.bias_init)):
        # PyTorch's default bias reads its kernel's fan-in: drawn by path rule
        model = _biases_by_rule(model, "torch_default_bias")
        bias_inits = dict.fromkeys(inits, None)
    else:
        bias = None if config.bias_init is None else get(thawed(config.bias_init))
        bias_inits = dict.fromkeys(inits, bias)
    metrics = tuple(check_fits(task, model))
    target_metric = config.target_metric or (
        "test_accuracy" if task.kind == "classification" else "test_loss"
    )
    if config.target is not None and target_metric not in metrics:
        raise ValueError(
            f"target_metric {target_metric!r} is not recorded; available: "
            f"{', '.join(metrics)}."
        )
    data_order = config.data_order or d.get("data_order", "shuffle")
    combos = math.prod(len(v) for v in axes.values())
    total = len(inits) * combos * config.num_restarts
    chunk = min(config.chunk_size or total, total)
    filled = dataclasses.replace(
        config, initializers=labelled_initializers(config.initializers),
        steps=steps, batch_size=batch_size, optimizer=opt_spec,
        learning_rate=lr, eval_every=eval_every, target_metric=target_metric,
        chunk_size=chunk, data_order=data_order, eval_schedule=schedule,
    )  # fmt: skip
    return Run(filled, task, model, optimizer, inits, bias_inits, metrics, axes)


def _schedule(config, defaults, steps, eval_every, batch_size, task) -> tuple:
    """The evaluation steps (after step 0) of a run, explicit."""
    kind = config.eval_schedule
    if kind is None:
        kind = "linear" if config.eval_every else defaults.get("eval_schedule",
                                                               "linear")  # fmt: skip
    if not isinstance(kind, str):
        if kind[-1] != steps:
            raise ValueError(
                f"eval_schedule ends at step {kind[-1]}, but the run has {steps} "
                "steps; end it at the last step."
            )
        return tuple(kind)
    if kind == "linear":
        return linear_schedule(steps, eval_every)
    n = len(task.x_train) + len(task.x_test)
    return geometric_schedule(steps, affordable_points(steps, n, batch_size))


def _biases_by_rule(model: PureModel, bias_init: Any) -> PureModel:
    """``model`` whose init redraws every ``bias`` leaf with :func:`reinit`."""
    from initlab.reinit import reinit

    def init(key, kernel_init=None, bias_init_=None):
        params = model.init(key, kernel_init, None)
        return reinit(params, {r"(^|/)bias$": bias_init}, jax.random.fold_in(key, 2))

    return dataclasses.replace(model, init=init)


# ----- tasks ------------------------------------------------------------------------


def build_task(spec: Any) -> Task:
    """A Task from a name, ``{"name": ..., **options}``, a code path or a Task.

    Built-in tasks are cached by (name, options), so repeated runs of the same
    task reuse their compiled loops.

    Example:
      >>> build_task({"name": "digits", "test_size": 0.2}).x_test.shape
      (360, 64)
    """
    if isinstance(spec, Task):
        return spec
    if isinstance(spec, str):
        name, options = spec, {}
    elif isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        name = spec["name"]
        options = {k: v for k, v in spec.items() if k != "name"}
    else:
        raise TypeError(
            "task must be a task name, a dict {'name': ..., options}, "
            f"'package.module:factory', or a Task; got {type(spec).__name__}."
        )
    if ":" in name:
        made = call_user_code(name, options, "task")
        if not isinstance(made, Task):
            raise TypeError(
                f"task {name!r} gave a {type(made).__name__}, not a Task; make one "
                "with initlab.make_task(...)."
            )
        return made
    if name not in TASKS:
        get_task(name)  # raises naming the valid tasks
    options = thawed(options)
    try:
        key = (name, tuple(sorted((k, _hashable(v)) for k, v in options.items())))
        return _builtin_task(key)
    except TypeError:  # unhashable option values: build without the cache
        return get_task(name, **options)


def _hashable(value: Any) -> Any:
    if isinstance(value, list):
        return tuple(map(_hashable, value))
    hash(value)
    return value


@functools.lru_cache(maxsize=8)
def _builtin_task(key: tuple) -> Task:
    name, options = key
    return get_task(name, **dict(options))


# ----- models -----------------------------------------------------------------------


def build_model(spec: Any, task: Task) -> PureModel:
    """A model from a name, a config dict, a code path or a PureModel.

    Sizes a built-in model needs from the data (input features, length,
    channels, number of outputs) are filled in from ``task``; the number of
    outputs is the task's default model's. Defaults: ``mlp`` widths (128,
    128); ``cnn1d`` channels (32, 32); ``gru``/``lstm`` hidden 64. Any of
    them can be given. A "package.module:factory" names your own code: a
    PureModel, a function returning one (called with the dict's arguments, and
    ``task=`` when it takes one), or an NNX module factory taking ``rngs``
    (wrapped with :func:`initlab.models.from_nnx`).

    Args:
      spec: a name in ``initlab.MODELS``, ``{"name": ..., **arguments}``, a
        code path, or a PureModel ("default"/None: the task's own).
      task: the task the model will train on.

    Returns:
      A :class:`~initlab.models.PureModel`.

    Raises:
      ValueError: an unknown model name or argument, or user code that
        cannot be imported.
      TypeError: user code that gives something that is not a model.

    Example:
      >>> build_model({"name": "mlp", "widths": [256, 256]},
      ...             initlab.get_task("digits")).name
      'mlp-64-256-256-10'
    """
    if spec is None or (isinstance(spec, str) and spec == "default"):
        return task.default_model()
    if isinstance(spec, PureModel):
        return spec
    if isinstance(spec, str):
        name, kwargs = spec, {}
    elif isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        name = spec["name"]
        kwargs = {k: v for k, v in spec.items() if k != "name"}
    else:
        raise ValueError(
            f"model must be a name ({', '.join(MODELS)}), a config "
            f'{{"name": ..., ...}}, "package.module:factory" or a PureModel; got '
            f"{spec!r:.80}."
        )
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in
              thawed(kwargs).items()}  # fmt: skip
    if ":" in name:
        return user_model(name, kwargs, task)
    if name not in MODELS:
        raise ValueError(
            f"unknown model {name!r}.{_checks.closest(name, MODELS)} Valid: "
            f"{', '.join(MODELS)} (or 'default', the task's own model)."
        )
    factory = MODELS[name]
    allowed = list(inspect.signature(factory).parameters)
    unknown = sorted(set(kwargs) - set(allowed))
    if unknown:
        raise ValueError(
            f"model {name!r}: unknown argument(s) {unknown}; allowed: {allowed}."
        )
    x = task.x_train
    n_out = num_outputs(task)
    sequence = x.shape[-1] if x.ndim == 3 else 1
    filled = {
        "mlp": dict(widths=(128, 128), in_features=math.prod(x.shape[1:]),
                    out_features=n_out),
        "cnn1d": dict(in_length=x.shape[1], in_channels=sequence, channels=(32, 32),
                      num_classes=n_out),
        "gru": dict(in_features=sequence, hidden=64, num_classes=n_out),
        "lstm": dict(in_features=sequence, hidden=64, num_classes=n_out),
        "mnist1d_conv": dict(in_length=x.shape[1], in_channels=sequence,
                             num_classes=n_out),
        "mnist1d_mlp": dict(in_features=math.prod(x.shape[1:]), num_classes=n_out),
        "mnist1d_gru": dict(in_length=x.shape[1], in_features=sequence,
                            num_classes=n_out),
    }.get(name, {})  # fmt: skip
    return factory(**{**filled, **kwargs})


def num_outputs(task: Task) -> int:
    """Output units of the task's default model (abstract evaluation, no compute).

    Example:
      >>> num_outputs(initlab.get_task("xor"))
      1
    """
    model = task.default_model()
    params = jax.eval_shape(lambda: model.init(jax.random.key(0)))
    x = jax.ShapeDtypeStruct((1, *task.x_train.shape[1:]), task.x_train.dtype)
    return int(jax.eval_shape(model.apply, params, x).shape[-1])


# ----- model x task -----------------------------------------------------------------


def check_fits(task: Task, model: PureModel) -> list[str]:
    """Catches a model/data mismatch with abstract evaluation (nothing compiles).

    The model is traced as the engine runs it: parameters, its state, a
    training-mode step with a key, an evaluation-mode pass.

    Returns:
      The names of the metrics a run records ("train_loss", "test_accuracy"...).

    Raises:
      ValueError: the model does not accept the task's inputs, its outputs do
        not fit the loss, or it fails for another reason (said, with a hint for
        state and RNG errors); the message gives shapes, never arrays.

    Example:
      >>> check_fits(initlab.get_task("xor"), initlab.models.mlp((2,), 2, 1))
      ['train_loss', 'train_accuracy', 'train_solved', 'test_loss', ...]
    """
    key = jax.random.key(0)
    try:
        params = jax.eval_shape(model.init, key)
        state = jax.eval_shape(model.start_state, key)
        x = jax.ShapeDtypeStruct((2, *task.x_train.shape[1:]), task.x_train.dtype)
        y = jax.ShapeDtypeStruct((2, *task.y_train.shape[1:]), task.y_train.dtype)
        out, _ = jax.eval_shape(model.forward_train, params, state, x, key)
        jax.eval_shape(model.forward_eval, params, state, x)
        jax.eval_shape(task.loss, out, y)
        names = list(jax.eval_shape(task.metrics, out, y))
    except Exception as err:  # noqa: BLE001 - re-raised with the context a user needs
        said = f"{type(err).__name__}: {str(err).splitlines()[0][:300]}"
        classes = f", {task.num_classes} classes" if task.num_classes else ""
        shape = task.x_train.shape[1:]
        data = f"inputs of shape {shape} per example ({task.kind}{classes})"
        if "mutate" in str(err) or "TraceContext" in type(err).__name__:
            raise ValueError(
                f"model {model.name!r} changes state it does not return while "
                f"training on task {task.name!r}: {said}. Make batch statistics "
                "and RNG streams part of the model's state: build it with "
                "initlab.models.from_nnx (NNX) or from_linen (linen), or give "
                "from_pure models no hidden state."
            ) from err
        shape_error = isinstance(err, TypeError | ValueError) and (
            "shape" in str(err).lower() or "broadcast" in str(err).lower()
            or "dimension" in str(err).lower()
        )  # fmt: skip
        if shape_error:
            raise ValueError(
                f"model {model.name!r} does not fit task {task.name!r} ({data}). "
                f"JAX said: {said}"
            ) from err
        raise ValueError(
            f"model {model.name!r} failed when called on task {task.name!r}'s "
            f"{data}: {said}"
        ) from err
    return [f"{split}_{name}" for split in ("train", "test") for name in names]
