"""``train``: restarts of a task under initializers, one compiled loop, Outcomes."""

from __future__ import annotations

import dataclasses
import math
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

from initlab.engine.devices import _mesh
from initlab.engine.inputs import (
    _check_shapes,
    _describe,
    _int_at_least,
    _positive_int,
    _resolve_initializers,
    make_optimizer,
)
from initlab.engine.keys import DESIGNS, Design, restart_seeds
from initlab.engine.loop import _Compiled, _concat_trees, _Loop, _segments
from initlab.engine.store import RunConfig, _load_params, _prepare_out_dir, _save_params
from initlab.models import PureModel
from initlab.outcomes import Outcomes, higher_is_better
from initlab.registry import get
from initlab.tasks import Task, get_task


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
    seed = _int_at_least(seed, 0, "seed")
    first_restart = _int_at_least(first_restart, 0, "first_restart")
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
    metrics = _check_shapes(task, model)
    if target is not None and target_metric not in metrics:
        raise ValueError(
            f"target_metric {target_metric!r} is not recorded; available: "
            f"{', '.join(metrics)}."
        )

    config = RunConfig(
        task=task.name,
        model=model.name,
        initializers={k: _describe(v) for k, v in inits.items()},
        bias_init=None if bias_init is None else _describe(bias_init),
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
        curve = result.curves[target_metric]
        hit = curve >= target if higher_is_better(target_metric) else curve <= target
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        result.steps_to_target = np.where(first >= 0, result.steps[first], -1)
    result.metadata = {
        **dataclasses.asdict(config),
        "fingerprint": config.fingerprint(),
        "higher_is_better": {k: higher_is_better(k) for k in result.final},
        "versions": _versions(),
        "devices": [str(x) for x in mesh.devices.flat],
        "wall_time_s": time.perf_counter() - t_start,
        # compile + the first segment of the first chunk trained here (0 if
        # every chunk was resumed from disk)
        "first_segment_s": compiled.first_segment_s,
    }
    if out_path is not None:
        result.save(out_path / "results.parquet")
    return result


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
