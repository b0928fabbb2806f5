"""Restarts: keys, one jitted vmapped ``lax.scan`` SGD loop, chunks, sharding, resume.

The flow (see DESIGN.md): keys -> (init phase) parameters for every
(initializer, restart), stacked on one leading axis -> (train phase) one
compiled, vmapped loop over the whole stack -> :class:`~initlab.Outcomes`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import json
import math
import os
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from initlab.models import PureModel
from initlab.outcomes import Outcomes
from initlab.registry import get, to_config
from initlab.tasks import Task, get_task

Design = Literal["paired", "fixed_data", "fixed_init", "grid"]
DESIGNS = ("paired", "fixed_data", "fixed_init", "grid")

# Stream indices folded into the run's root key (never change: they fix seeds).
_INIT_STREAM, _DATA_STREAM = 0, 1


# ----- keys ---------------------------------------------------------------------


def restart_seeds(
    design: Design, restarts: np.ndarray, grid_data: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The (init_seed, data_seed) indices of each restart under a design.

    ``paired``: (i, i); ``fixed_data``: (i, 0); ``fixed_init``: (0, i); ``grid``
    with D data orders: (i // D, i % D). Restart i's seeds depend on i alone,
    never on how many restarts run or how they are chunked.

    Args:
      design: one of "paired", "fixed_data", "fixed_init", "grid".
      restarts: restart indices (ints >= 0).
      grid_data: D, the number of data orders of the grid design.

    Returns:
      ``(init_seed, data_seed)`` int64 arrays shaped like ``restarts``.

    Example:
      >>> restart_seeds("grid", np.arange(4), grid_data=2)
      (array([0, 0, 1, 1]), array([0, 1, 0, 1]))
    """
    restarts = np.asarray(restarts, np.int64)
    if design == "paired":
        return restarts, restarts
    if design == "fixed_data":
        return restarts, np.zeros_like(restarts)
    if design == "fixed_init":
        return np.zeros_like(restarts), restarts
    if design == "grid":
        return restarts // grid_data, restarts % grid_data
    raise ValueError(f"unknown design {design!r}; allowed: {', '.join(DESIGNS)}.")


def stream_keys(seed: int, init_seeds, data_seeds) -> tuple[jax.Array, jax.Array]:
    """Typed init and data keys: ``fold_in(fold_in(key(seed), stream), index)``."""
    root = jax.random.key(seed)
    init_root = jax.random.fold_in(root, _INIT_STREAM)
    data_root = jax.random.fold_in(root, _DATA_STREAM)
    fold = jax.vmap(jax.random.fold_in, in_axes=(None, 0))
    return (
        fold(init_root, jnp.asarray(init_seeds, jnp.uint32)),
        fold(data_root, jnp.asarray(data_seeds, jnp.uint32)),
    )


# ----- devices --------------------------------------------------------------------


def use_cpu_devices(n: int | None = None) -> int:
    """Opt in to one XLA CPU device per core; call before JAX runs anything.

    XLA:CPU runs a batched matmul on one core; splitting the restart axis over
    one device per core was measured ~1.7x faster on 2 cores. The CLI and the
    benchmark do this by default; notebooks call it in their first cell.

    Args:
      n: number of CPU devices (default: ``os.cpu_count()``).

    Returns:
      The number of CPU devices JAX will use.

    Raises:
      RuntimeError: JAX's backend is already initialized with another count.

    Example:
      >>> import initlab; initlab.use_cpu_devices()   # first cell of a notebook
    """
    n = n or os.cpu_count() or 1
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise ValueError(f"use_cpu_devices: n must be a positive int; got {n!r}.")
    try:
        jax.config.update("jax_num_cpu_devices", n)
    except RuntimeError as err:
        have = jax.local_device_count()
        if have == n or jax.default_backend() != "cpu":
            return have
        raise RuntimeError(
            f"use_cpu_devices: JAX already started with {have} device(s); call "
            "initlab.use_cpu_devices() before anything runs JAX (first cell), or "
            f"set XLA_FLAGS=--xla_force_host_platform_device_count={n}."
        ) from err
    return n


def _mesh(devices: int | Sequence[Any] | None):
    """A 1-D Auto-axes mesh over the restart axis (Explicit axes break indexing)."""
    # Local devices: under jax.distributed each process trains its own slice of
    # restarts (first_restart, num_restarts); see the README on clusters.
    available = jax.local_devices()
    if devices is None:
        chosen = available
    elif isinstance(devices, int) and not isinstance(devices, bool):
        if not 1 <= devices <= len(available):
            raise ValueError(
                f"devices={devices}: JAX sees {len(available)} device(s); ask for "
                f"1 to {len(available)} (on CPU see initlab.use_cpu_devices)."
            )
        chosen = available[:devices]
    else:
        chosen = list(devices)
        if not chosen:
            raise ValueError("devices: an empty list; give None, a count or devices.")
    return jax.sharding.Mesh(
        np.asarray(chosen), ("restarts",), axis_types=(jax.sharding.AxisType.Auto,)
    )


# ----- the training loop ---------------------------------------------------------


class TrainState(NamedTuple):
    """Per-restart training state; every leaf has the restart axis first."""

    params: Any
    opt_state: Any
    data_key: jax.Array
    order: jax.Array  # the current epoch's permutation of the training set
    diverged: jax.Array  # bool
    diverged_step: jax.Array  # int32, -1 while finite


@dataclasses.dataclass(frozen=True)
class _Loop:
    """The pure per-restart functions that get vmapped and jitted."""

    apply: Callable
    task: Task
    optimizer: optax.GradientTransformation
    batch_size: int

    @property
    def n_train(self) -> int:
        return len(self.task.x_train)

    @property
    def full_batch(self) -> bool:
        return self.batch_size == self.n_train

    @property
    def steps_per_epoch(self) -> int:
        return self.n_train // self.batch_size

    def loss(self, params, x, y):
        return self.task.loss(self.apply(params, x), y)

    def start(self, params, data_key) -> TrainState:
        order = jnp.arange(self.n_train, dtype=jnp.int32)
        if not self.full_batch:
            order = jax.random.permutation(jax.random.fold_in(data_key, 0), order)
        return TrainState(
            params=params,
            opt_state=self.optimizer.init(params),
            data_key=data_key,
            order=order,
            diverged=jnp.zeros((), bool),
            diverged_step=jnp.full((), -1, jnp.int32),
        )

    def step(self, state: TrainState, step: jax.Array, x_all, y_all) -> TrainState:
        if self.full_batch:
            order, x, y = state.order, x_all, y_all
        else:
            # `step` is not batched over restarts, so under vmap this stays a
            # real cond: a new permutation once per epoch, not every step.
            epoch, pos = jnp.divmod(step, self.steps_per_epoch)
            order = jax.lax.cond(
                (pos == 0) & (step > 0),
                lambda: jax.random.permutation(
                    jax.random.fold_in(state.data_key, epoch), self.n_train
                ).astype(jnp.int32),
                lambda: state.order,
            )
            idx = jax.lax.dynamic_slice_in_dim(order, pos * self.batch_size,
                                               self.batch_size)  # fmt: skip
            x, y = x_all[idx], y_all[idx]
        loss, grads = jax.value_and_grad(self.loss)(state.params, x, y)
        updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        finite = jnp.isfinite(loss) & _all_finite(params)
        ok = finite & ~state.diverged
        # A diverged restart is frozen: its params stop at the last finite ones.
        keep = lambda new, old: jax.tree.map(  # noqa: E731
            lambda n, o: jnp.where(ok, n, o), new, old
        )
        newly = ~finite & ~state.diverged
        return TrainState(
            params=keep(params, state.params),
            opt_state=keep(opt_state, state.opt_state),
            data_key=state.data_key,
            order=order,
            diverged=state.diverged | ~finite,
            diverged_step=jnp.where(newly, step + 1, state.diverged_step),
        )

    @functools.lru_cache(maxsize=16)  # noqa: B019 - loops are few and cached anyway
    def step_bytes(self, tree, leaves: tuple) -> int:
        """Bytes of one restart's step intermediates (gradient + update).

        Traced on batches of 1 and 2 (not the real batch, so the training step
        itself is still traced once) and extrapolated linearly to the batch.
        """
        from jax.extend.core import jaxprs_in_params

        params = tree.unflatten([jax.ShapeDtypeStruct(s, d) for s, d in leaves])

        def at(b: int) -> int:
            xs, ys = self.task.x_train, self.task.y_train
            x = jax.ShapeDtypeStruct((b, *xs.shape[1:]), xs.dtype)
            y = jax.ShapeDtypeStruct((b, *ys.shape[1:]), ys.dtype)
            jaxpr = jax.make_jaxpr(jax.value_and_grad(self.loss))(params, x, y)
            total, todo = 0, [jaxpr.jaxpr]
            while todo:
                for eqn in todo.pop().eqns:
                    for var in eqn.outvars:
                        aval = var.aval
                        if hasattr(aval, "shape") and hasattr(aval, "dtype"):
                            total += math.prod(aval.shape) * aval.dtype.itemsize
                    todo.extend(
                        getattr(j, "jaxpr", j) for j in jaxprs_in_params(eqn.params)
                    )
            return total

        one, two = at(1), at(2)
        param_bytes = sum(math.prod(s) * np.dtype(d).itemsize for s, d in leaves)
        # grads, updates and new params, each the size of the params
        return one + (self.batch_size - 1) * (two - one) + 3 * param_bytes

    def outputs(self, params, x) -> jax.Array:
        """``apply`` over a whole split, ``_EVAL_BLOCK`` examples at a time.

        Under vmap the hidden activations of a whole split are (restarts x
        examples x width): 0.66 GB per layer for 1024 restarts on digits. A
        ``lax.map`` over blocks of examples (not restarts, so sharding is
        untouched) keeps one block's worth alive; the outputs are the same.
        """
        n = x.shape[0]
        if n <= _EVAL_BLOCK:
            return self.apply(params, x)
        blocks = -(-n // _EVAL_BLOCK)
        pad = blocks * _EVAL_BLOCK - n
        if pad:  # repeat the last example; its outputs are dropped below
            x = jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)])
        # params ride in the carry, not in a closure: NNX modules that run
        # their own transforms (nnx.RNN's scan) refuse values from an outer trace.
        _, out = jax.lax.scan(
            lambda p, xb: (p, self.apply(p, xb)),
            params,
            x.reshape(blocks, _EVAL_BLOCK, *x.shape[1:]),
        )
        return out.reshape(blocks * _EVAL_BLOCK, *out.shape[2:])[:n]

    def evaluate(self, params, arrays) -> dict[str, jax.Array]:
        x_train, y_train, x_test, y_test = arrays
        out = {}
        for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
            for name, value in self.task.metrics(self.outputs(params, x), y).items():
                out[f"{split}_{name}"] = value
        return out

    def correct(self, params, x_test, y_test) -> jax.Array:
        return self.task.correct(self.outputs(params, x_test), y_test)


# Examples per block when evaluating a whole split (see ``_Loop.outputs``).
_EVAL_BLOCK = 256


def _all_finite(tree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.ones((), bool)


def _segment_fn(loop: _Loop, num_steps: int, groups: int = 1,
                block: int | None = None):  # fmt: skip
    """``(state, first_step, arrays) -> (state, metrics)``: steps, then evaluate.

    ``block=None`` vmaps the whole stack of restarts through every step. With a
    ``block``, the stack is cut into ``groups`` (one per device: the restart
    axis is sharded in contiguous slices) and each group is walked with
    ``lax.map`` ``block`` restarts at a time, each block running all its steps
    while its parameters and activations stay in cache. Same per-restart
    computation either way (float reassociation aside).
    """

    def one(state, first_step, arrays):
        x_train, y_train = arrays[0], arrays[1]

        def body(carry, step):
            return loop.step(carry, step, x_train, y_train), None

        steps = first_step + jnp.arange(num_steps, dtype=jnp.int32)
        state, _ = jax.lax.scan(body, state, steps)
        metrics = loop.evaluate(state.params, arrays)
        # After divergence a restart has no valid metric: NaN, flagged, counted.
        metrics = {k: jnp.where(state.diverged, jnp.nan, v) for k, v in metrics.items()}
        return state, metrics

    if block is None:
        return jax.vmap(one, in_axes=(0, None, None))

    def blocked(state, first_step, arrays):
        split = jax.tree.map(lambda x: x.reshape(groups, -1, *x.shape[1:]), state)

        def group(s):
            return jax.lax.map(
                lambda r: one(r, first_step, arrays), s, batch_size=block
            )

        out = jax.vmap(group)(split)
        return jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), out)

    return blocked


# Bytes of one restart's step intermediates that a block of restarts may hold:
# measured on a 2-core EPYC, M (digits MLP, ~2 MB per restart-step) ran 1.5x
# faster one or two restarts at a time than all 128 per device at once, and XOR
# (~1 KB) ran the same with any block of >= 256 restarts.
_BLOCK_BYTES = 4 * 2**20


# ----- inputs ---------------------------------------------------------------------


def _positive_int(value, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{what} must be a positive int; got {value!r}.")
    return int(value)


def _label(x: Any) -> str:
    if isinstance(x, str):
        return x
    if isinstance(x, Mapping):
        name = x.get("name") or x.get("class_name") or "init"
        rest = {k: v for k, v in x.items() if k not in ("name", "class_name")}
        return (
            name
            if not rest
            else f"{name}({', '.join(f'{k}={v}' for k, v in rest.items())})"
        )
    return getattr(x, "name", None) or getattr(x, "__name__", None) or repr(x)


def _resolve_initializers(initializers) -> dict[str, Callable]:
    """label -> initializer, from a name, config, callable, list or dict."""
    if isinstance(initializers, str | Mapping) and not (
        isinstance(initializers, Mapping)
        and not ("name" in initializers or "class_name" in initializers)
    ):
        initializers = [initializers]
    if isinstance(initializers, Mapping):
        items = list(initializers.items())
    elif callable(initializers):
        items = [(_label(initializers), initializers)]
    else:
        try:
            items = [(_label(x), x) for x in initializers]
        except TypeError:
            raise TypeError(
                "initializers must be a name, a config dict, an initializer, a list "
                f"of those, or a dict label -> initializer; got {initializers!r:.80}."
            ) from None
    if not items:
        raise ValueError("initializers: give at least one initializer.")
    out = {}
    for label, x in items:
        init = get(x)
        if not callable(init):
            raise TypeError(f"initializer {label!r} is not callable: {init!r:.60}.")
        if str(label) in out:
            raise ValueError(
                f"initializer label {label!r} appears twice; give a dict "
                "{label: initializer} to tell them apart."
            )
        out[str(label)] = init
    return out


def make_optimizer(
    name: str | optax.GradientTransformation, learning_rate: float, **kwargs
) -> optax.GradientTransformation:
    """An optax optimizer by name (``"sgd"``, ``"adam"``, ...) or passed through.

    Args:
      name: any optax optimizer function name taking ``learning_rate`` first, or
        an optax ``GradientTransformation`` (returned as is).
      learning_rate: positive step size.
      **kwargs: extra arguments for the optax factory (e.g. ``momentum=0.9``).

    Raises:
      ValueError: an unknown name or a non-positive learning rate.
      TypeError: neither a name nor an optax transformation.

    Example:
      >>> opt = make_optimizer("sgd", 0.1, momentum=0.9)
    """
    if isinstance(name, optax.GradientTransformation):
        return name
    if not isinstance(name, str):
        raise TypeError(
            "optimizer must be an optax GradientTransformation (e.g. optax.sgd(0.1)) "
            f"or an optax name such as 'sgd'; got {type(name).__name__}."
        )
    if isinstance(learning_rate, bool) or not (
        isinstance(learning_rate, int | float) and learning_rate > 0
    ):
        raise ValueError(f"learning_rate must be > 0; got {learning_rate!r}.")
    factory = getattr(optax, name, None)
    valid = sorted(OPTIMIZERS)
    if name not in OPTIMIZERS or factory is None:
        import difflib

        close = difflib.get_close_matches(name, valid, n=3)
        hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
        raise ValueError(
            f"unknown optimizer {name!r}.{hint} Valid: {', '.join(valid)}."
        )
    return _named_optimizer(name, float(learning_rate), tuple(sorted(kwargs.items())))


@functools.lru_cache(maxsize=32)
def _named_optimizer(name: str, learning_rate: float, kwargs: tuple):
    # One object per (name, lr, kwargs), so repeated runs reuse the compiled loop.
    return getattr(optax, name)(learning_rate, **dict(kwargs))


OPTIMIZERS = (
    "sgd", "adam", "adamw", "adagrad", "adadelta", "adamax", "adabelief", "lamb",
    "lars", "lion", "nadam", "nadamw", "noisy_sgd", "novograd", "radam", "rmsprop",
    "sm3", "yogi", "fromage", "lamb", "sign_sgd", "adan", "amsgrad", "polyak_sgd",
)  # fmt: skip


@dataclasses.dataclass(frozen=True)
class RunConfig:
    """Everything that fixes a run's numbers (its fingerprint makes resume safe)."""

    task: str
    model: str
    initializers: dict[str, Any]
    bias_init: Any
    num_restarts: int
    first_restart: int
    steps: int
    batch_size: int
    optimizer: str
    learning_rate: float | None
    design: str
    grid_data: int | None
    seed: int
    eval_every: int
    target: float | None
    target_metric: str | None
    chunk_size: int  # chunk files cover fixed rows: resume needs the same size

    def fingerprint(self) -> str:
        blob = json.dumps(dataclasses.asdict(self), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]


def _describe(init) -> Any:
    try:
        return to_config(init)
    except TypeError:
        return repr(init)


# ----- the public entry point ------------------------------------------------------


def train(
    task: Task | str,
    initializers: Any = "glorot_uniform",
    *,
    model: PureModel | None = None,
    num_restarts: int = 16,
    steps: int | None = None,
    batch_size: int | None = None,
    optimizer: str | optax.GradientTransformation | None = None,
    learning_rate: float | None = None,
    design: Design = "paired",
    grid_data: int | None = None,
    seed: int = 0,
    first_restart: int = 0,
    eval_every: int | None = None,
    target: float | None = None,
    target_metric: str | None = None,
    bias_init: Any = None,
    chunk_size: int | None = None,
    devices: int | Sequence[Any] | None = None,
    keep_params: bool = False,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
) -> Outcomes:
    """Trains ``num_restarts`` restarts per initializer in one compiled loop.

    For every initializer and restart i, parameters are drawn with the init key
    ``fold_in(fold_in(key(seed), 0), init_seed_i)``; minibatches follow the data
    key ``fold_in(fold_in(key(seed), 1), data_seed_i)`` (a new permutation each
    epoch; none when ``batch_size`` is the training-set size). The seeds come
    from ``design`` (see :func:`restart_seeds`); restart i gets the same keys for
    every initializer (paired comparisons) and whatever ``num_restarts``,
    ``chunk_size`` or device count. The whole stack of (initializer x restart)
    parameters trains in one jitted ``vmap`` of a ``lax.scan`` SGD loop with the
    optax optimizer inside the vmap (per-restart state). A restart whose loss or
    parameters become non-finite is frozen, flagged ``diverged`` and its metrics
    are NaN from then on; the others are unaffected.

    Args:
      task: a :class:`~initlab.tasks.Task` or a task name ("xor", "digits", ...).
      initializers: a name, config, initializer, list of them, or a dict
        label -> initializer (default "glorot_uniform").
      model: a :class:`~initlab.models.PureModel` (default: the task's model).
      num_restarts: restarts per initializer (default 16).
      steps: SGD steps (default: the task's).
      batch_size: minibatch size (default: the task's; the data size = full batch).
      optimizer: an optax transformation or name (default "sgd" at the task's
        learning rate).
      learning_rate: for a named optimizer (default: the task's).
      design: "paired" (default), "fixed_data", "fixed_init" or "grid".
      grid_data: number of data orders D for the grid design; ``num_restarts``
        must be a multiple of D (n_init = num_restarts / D).
      seed: the run's root seed.
      first_restart: index of the first restart (split a sweep across jobs).
      eval_every: steps between evaluations of the full train and test sets
        (default: the task's, capped at ``steps``).
      target: a value of ``target_metric`` that counts as success.
      target_metric: default "test_accuracy" (classification) or "test_loss".
      bias_init: None (the model's default, zeros), an initializer, or "same"
        (biases drawn like the kernels, as in the classic XOR experiments).
      chunk_size: restarts per compiled call (bounds memory; default all).
      devices: None (all JAX devices), a count, or a list; the restart axis is
        sharded over them.
      keep_params: also return initial and final params (restart axis first).
      out_dir: a folder: each finished chunk is written atomically and a rerun
        with the same arguments skips finished chunks (resume).
      progress: show a tqdm bar over chunks and scan segments.

    Returns:
      :class:`~initlab.Outcomes` with rows ordered initializer-major.

    Raises:
      ValueError / TypeError: bad arguments, raised before anything compiles.

    Example:
      >>> out = initlab.train("digits", ["glorot_uniform", "he_normal"],
      ...                     num_restarts=256, steps=500)
      >>> out.finals().groupby("initializer").test_accuracy.describe()
    """
    t_start = time.perf_counter()
    # -- validate everything before compiling anything
    if isinstance(task, str):
        task = get_task(task)
    if not isinstance(task, Task):
        raise TypeError(
            f"task must be a Task or a task name; got {type(task).__name__}."
        )
    model = task.default_model() if model is None else model
    if not isinstance(model, PureModel):
        raise TypeError(
            "model must be an initlab PureModel (see initlab.models.from_nnx / "
            f"from_pure); got {type(model).__name__}."
        )
    d = task.defaults
    num_restarts = _positive_int(num_restarts, "num_restarts")
    steps = _positive_int(d["steps"] if steps is None else steps, "steps")
    n_train = len(task.x_train)
    batch_size = _positive_int(
        min(d["batch_size"], n_train) if batch_size is None else batch_size,
        "batch_size",
    )
    if batch_size > n_train:
        raise ValueError(
            f"batch_size={batch_size} is larger than the training set ({n_train} "
            f"examples); use at most {n_train} (= full batch)."
        )
    eval_every = (
        min(steps, d.get("eval_every", 100)) if eval_every is None else eval_every
    )
    eval_every = _positive_int(eval_every, "eval_every")
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; allowed: {', '.join(DESIGNS)}.")
    if design == "grid":
        grid_data = _positive_int(grid_data, "grid_data (data orders of the grid)")
        if num_restarts % grid_data:
            raise ValueError(
                f"grid design: num_restarts ({num_restarts}) must be a multiple of "
                f"grid_data ({grid_data}); n_init = num_restarts / grid_data."
            )
    elif grid_data is not None:
        raise ValueError("grid_data is only for design='grid'.")
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be an int >= 0; got {seed!r}.")
    if (
        isinstance(first_restart, bool)
        or not isinstance(first_restart, int)
        or (first_restart < 0)
    ):
        raise ValueError(f"first_restart must be an int >= 0; got {first_restart!r}.")
    inits = _resolve_initializers(initializers)
    if isinstance(bias_init, str) and bias_init == "same":
        bias_inits = dict(inits)
    else:
        bias_inits = dict.fromkeys(inits, None if bias_init is None else get(bias_init))
    opt_name = optimizer if isinstance(optimizer, str) else None
    if optimizer is None or isinstance(optimizer, str):
        lr = d["learning_rate"] if learning_rate is None else learning_rate
        optimizer = make_optimizer(optimizer or d.get("optimizer", "sgd"), lr)
        opt_name = opt_name or d.get("optimizer", "sgd")
    elif not isinstance(optimizer, optax.GradientTransformation):
        raise TypeError(
            "optimizer must be an optax GradientTransformation (e.g. optax.sgd(0.1)) "
            f"or an optax name; got {type(optimizer).__name__}."
        )
    else:
        lr = learning_rate
    higher = {"loss": False}
    if target_metric is None:
        target_metric = (
            "test_accuracy" if task.kind == "classification" else "test_loss"
        )
    if target is not None and not isinstance(target, int | float):
        raise TypeError(f"target must be a number; got {target!r}.")
    mesh = _mesh(devices)
    n_dev = mesh.devices.size
    total = len(inits) * num_restarts
    chunk = total if chunk_size is None else _positive_int(chunk_size, "chunk_size")
    chunk = min(chunk, total)
    padded_chunk = math.ceil(chunk / n_dev) * n_dev
    _check_shapes(task, model)

    config = RunConfig(
        task=task.name,
        model=model.name,
        initializers={k: _describe(v) for k, v in inits.items()},
        bias_init=(
            "same"
            if bias_init == "same"
            else _describe(bias_init)
            if bias_init
            else None
        ),
        num_restarts=num_restarts,
        first_restart=first_restart,
        steps=steps,
        batch_size=batch_size,
        optimizer=opt_name or repr(optimizer),
        learning_rate=lr,
        design=design,
        grid_data=grid_data,
        seed=seed,
        eval_every=eval_every,
        target=target,
        target_metric=target_metric,
        chunk_size=chunk,
    )

    # -- the rows: initializer-major, restart indices first_restart + 0..N-1
    labels = np.repeat(np.asarray(list(inits), dtype=object), num_restarts).astype(str)
    restarts = np.tile(
        np.arange(first_restart, first_restart + num_restarts), len(inits)
    )
    init_seeds, data_seeds = restart_seeds(design, restarts, grid_data)

    out_path = Path(out_dir) if out_dir is not None else None
    if out_path is not None:
        _prepare_out_dir(out_path, config)

    loop = _Loop(model.apply, task, optimizer, batch_size)
    segments = _segments(steps, eval_every)
    arrays = tuple(
        jnp.asarray(a) for a in (task.x_train, task.y_train, task.x_test, task.y_test)
    )
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    sharded = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("restarts"))
    arrays = jax.device_put(arrays, replicated)
    compiled = _Compiled(loop, model, inits, bias_inits, segments, padded_chunk)

    n_chunks = math.ceil(total / chunk)
    parts: list[Outcomes] = []
    bar = _progress(progress, n_chunks * len(segments))
    try:
        for c in range(n_chunks):
            rows = np.arange(c * chunk, min((c + 1) * chunk, total))
            path = out_path / "chunks" / f"chunk-{c:05d}.parquet" if out_path else None
            if path is not None and path.exists():
                part = Outcomes.load(path)
                if keep_params:
                    _load_params(path, part, model)
                parts.append(part)
                bar.update(len(segments))
                continue
            part = compiled.run(
                rows, labels, restarts, init_seeds, data_seeds, seed, arrays,
                sharded, keep_params, bar,
            )  # fmt: skip
            if path is not None:
                if keep_params:
                    _save_params(path, part)
                part.save(path)  # written last: it marks the chunk finished
            parts.append(part)
    finally:
        bar.close()

    result = Outcomes.concatenate(parts)
    if keep_params:
        result.initial_params = _concat_trees([p.initial_params for p in parts])
        result.final_params = _concat_trees([p.final_params for p in parts])
    if target is not None:
        curve = result.curves.get(target_metric)
        if curve is None:
            raise ValueError(
                f"target_metric {target_metric!r} is not recorded; available: "
                f"{sorted(result.curves)}."
            )
        better = "loss" not in target_metric
        hit = curve >= target if better else curve <= target
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        result.steps_to_target = np.where(first >= 0, result.steps[first], -1)
    result.metadata = {
        **dataclasses.asdict(config),
        "fingerprint": config.fingerprint(),
        "higher_is_better": {k: not any(w in k for w in higher) for k in result.final},
        "versions": _versions(),
        "devices": [str(x) for x in mesh.devices.flat],
        "chunk_size": chunk,
        "wall_time_s": time.perf_counter() - t_start,
        "compile_time_s": compiled.compile_time,
    }
    if out_path is not None:
        result.save(out_path / "results.parquet")
    return result


def _check_shapes(task: Task, model: PureModel) -> None:
    """Catches a model/data mismatch with abstract evaluation (nothing compiles)."""
    try:
        params = jax.eval_shape(model.init, jax.random.key(0))
        x = jax.ShapeDtypeStruct((2, *task.x_train.shape[1:]), task.x_train.dtype)
        out = jax.eval_shape(model.apply, params, x)
        y = jax.ShapeDtypeStruct((2, *task.y_train.shape[1:]), task.y_train.dtype)
        jax.eval_shape(task.loss, out, y)
    except Exception as err:  # noqa: BLE001 - re-raised with the context a user needs
        raise ValueError(
            f"model {model.name!r} does not fit task {task.name!r}: inputs have shape "
            f"{task.x_train.shape[1:]} per example ({task.kind}"
            f"{f', {task.num_classes} classes' if task.num_classes else ''}). "
            f"JAX said: {type(err).__name__}: {str(err).splitlines()[0][:300]}"
        ) from err


def _segments(steps: int, eval_every: int) -> list[tuple[int, int]]:
    """(first_step, length) of each scan segment; an evaluation ends each one."""
    out = [(s, min(eval_every, steps - s)) for s in range(0, steps, eval_every)]
    return out


# Jitted functions are cached across calls of train(): the same task, model,
# optimizer and batch size reuse their compiled loop (notebooks, sweeps, tests).
@functools.lru_cache(maxsize=16)
def _jitted(loop: _Loop):
    start = jax.jit(jax.vmap(loop.start))
    evaluate = jax.jit(jax.vmap(loop.evaluate, in_axes=(0, None)))
    correct = None
    if loop.task.correct is not None:
        correct = jax.jit(jax.vmap(loop.correct, in_axes=(0, None, None)))
    return start, evaluate, correct


@functools.lru_cache(maxsize=64)
def _jitted_segment(loop: _Loop, length: int, groups: int = 1, block=None):
    return jax.jit(_segment_fn(loop, length, groups, block), donate_argnums=(0,))


@functools.lru_cache(maxsize=64)
def _jitted_init(model: PureModel, kernel_init, bias_init):
    return jax.jit(jax.vmap(lambda key: model.init(key, kernel_init, bias_init)))


class _Compiled:
    """The jitted init and train functions of one run."""

    def __init__(self, loop, model, inits, bias_inits, segments, padded_chunk):
        self.loop = loop
        self.model = model
        self.inits = inits
        self.bias_inits = bias_inits
        self.segments = segments
        self.padded_chunk = padded_chunk
        self.compile_time = 0.0
        self._start, self._evaluate, self._correct = _jitted(loop)

    def _init_fn(self, label):
        return _jitted_init(self.model, self.inits[label], self.bias_inits[label])

    def _segment_fn(self, length, groups=1, block=None):
        return _jitted_segment(self.loop, length, groups, block)

    def _restart_block(self, state, per_group: int) -> int | None:
        """Restarts per block for :func:`_segment_fn` (None: the whole stack)."""
        leaves, tree = jax.tree.flatten(state.params)
        shapes = tuple((x.shape[1:], np.dtype(x.dtype)) for x in leaves)
        block = max(1, _BLOCK_BYTES // max(self.loop.step_bytes(tree, shapes), 1))
        return None if block >= per_group else int(block)

    def run(self, rows, labels, restarts, init_seeds, data_seeds, seed, arrays,
            sharded, keep_params, bar) -> Outcomes:  # fmt: skip
        n = len(rows)
        pad = self.padded_chunk - n
        take = np.concatenate([rows, np.full(pad, rows[-1])])  # pad with a repeat
        init_keys, data_keys = stream_keys(seed, init_seeds[take], data_seeds[take])
        # Init phase on one device, per initializer, over the full padded chunk
        # (one compile each); rows of other initializers are then dropped.
        params = None
        chunk_labels = labels[take]
        for label in dict.fromkeys(chunk_labels.tolist()):
            mask = jnp.asarray(chunk_labels == label)
            drawn = self._init_fn(label)(init_keys)
            params = drawn if params is None else jax.tree.map(
                lambda new, old, mask=mask: jnp.where(
                    mask.reshape((-1,) + (1,) * (new.ndim - 1)), new, old
                ),
                drawn, params,
            )  # fmt: skip
        initial = jax.device_get(params) if keep_params else None
        # Train phase: the restart axis sharded over the mesh.
        params = jax.device_put(params, sharded)
        data_keys = jax.device_put(data_keys, sharded)
        t0 = time.perf_counter()
        # Leaves of the start state that do not depend on the inputs (diverged,
        # diverged_step) come back replicated; pin the whole state to the
        # restart sharding, or the second segment call recompiles the loop.
        state = jax.device_put(self._start(params, data_keys), sharded)
        evals = [jax.device_get(self._evaluate(state.params, arrays))]
        steps = [0]
        first_call = True
        groups = sharded.mesh.devices.size
        block = self._restart_block(state, self.padded_chunk // groups)
        for first, length in self.segments:
            fn = self._segment_fn(length, groups, block)
            state, metrics = fn(state, jnp.int32(first), arrays)
            if first_call:
                jax.block_until_ready(metrics)
                self.compile_time += time.perf_counter() - t0
                first_call = False
            evals.append(jax.device_get(metrics))
            steps.append(first + length)
            bar.update(1)
        state = jax.block_until_ready(state)
        diverged = np.asarray(state.diverged)[:n]
        curves = {
            k: np.stack([np.asarray(e[k])[:n] for e in evals], axis=1).astype(
                np.float64
            )
            for k in evals[-1]
        }
        # The init evaluation has no NaN mask; a restart can't diverge before step 1.
        per_example = {}
        if self._correct is not None:
            correct = np.asarray(self._correct(state.params, arrays[2], arrays[3]))[:n]
            per_example["test_correct"] = correct
        return Outcomes(
            initializer=labels[rows],
            restart=restarts[rows],
            init_seed=init_seeds[rows],
            data_seed=data_seeds[rows],
            steps=np.asarray(steps, np.int64),
            curves=curves,
            final={k: v[:, -1] for k, v in curves.items()},
            diverged=diverged,
            diverged_step=np.asarray(state.diverged_step, np.int64)[:n],
            steps_to_target=np.full(n, -1, np.int64),
            per_example=per_example,
            initial_params=_take(initial, n) if keep_params else None,
            final_params=_take(jax.device_get(state.params), n)
            if keep_params
            else None,
        )


def _params_path(chunk_path: Path) -> Path:
    return chunk_path.with_name(chunk_path.stem + ".params.npz")


def _save_params(chunk_path: Path, part: Outcomes) -> None:
    """Initial and final params of a chunk beside it, so keep_params can resume."""
    arrays = {}
    for which in ("initial", "final"):
        for i, leaf in enumerate(jax.tree.leaves(getattr(part, f"{which}_params"))):
            arrays[f"{which}_{i}"] = np.asarray(leaf)
    target = _params_path(chunk_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(target.name + ".tmp")
    with open(tmp, "wb") as f:
        np.savez(f, **arrays)
    os.replace(tmp, target)


def _load_params(chunk_path: Path, part: Outcomes, model: PureModel) -> None:
    target = _params_path(chunk_path)
    if not target.exists():
        raise ValueError(
            f"keep_params=True, but {chunk_path.name} was written without params; "
            "rerun without keep_params or into a fresh out_dir."
        )
    treedef = jax.tree.structure(jax.eval_shape(model.init, jax.random.key(0)))
    with np.load(target) as data:
        for which in ("initial", "final"):
            leaves = [data[f"{which}_{i}"] for i in range(treedef.num_leaves)]
            setattr(part, f"{which}_params", jax.tree.unflatten(treedef, leaves))


def _take(tree, n):
    return jax.tree.map(lambda x: np.asarray(x)[:n], tree)


def _concat_trees(trees):
    return jax.tree.map(lambda *xs: np.concatenate(xs), *trees)


def _versions() -> dict[str, str]:
    import flax

    from initlab import __version__

    return {
        "initlab": __version__,
        "jax": jax.__version__,
        "optax": optax.__version__,
        "flax": flax.__version__,
        "numpy": np.__version__,
        "backend": jax.default_backend(),
    }


def _prepare_out_dir(path: Path, config: RunConfig) -> None:
    """Creates ``path`` or checks that it holds chunks of this very run."""
    path.mkdir(parents=True, exist_ok=True)
    marker = path / "run.json"
    record = {"fingerprint": config.fingerprint(), "config": dataclasses.asdict(config)}
    if marker.exists():
        old = json.loads(marker.read_text())
        if old.get("fingerprint") != record["fingerprint"]:
            raise ValueError(
                f"{path} holds chunks of a different run (fingerprint "
                f"{old.get('fingerprint')} vs {record['fingerprint']}); resume needs "
                "the same arguments. Use another out_dir or delete that one."
            )
        return
    tmp = marker.with_suffix(".tmp")
    tmp.write_text(json.dumps(record, indent=2, default=str))
    os.replace(tmp, marker)


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def _progress(enabled: bool, total: int):
    if not enabled:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="initlab", unit="segment", leave=False)
