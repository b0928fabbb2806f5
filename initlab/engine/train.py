"""``train``: the core over every (initializer, restart), chunked, sharded, saved."""

from __future__ import annotations

import contextlib
import dataclasses
import math
import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jax
import numpy as np
import optax

from initlab.engine.build import resolve
from initlab.engine.config import TrainConfig
from initlab.engine.devices import _mesh
from initlab.engine.execute import ChunkRunner
from initlab.engine.keys import restart_streams
from initlab.engine.plan import DeviceSpec, core_of, plan_run
from initlab.engine.store import (
    chunk_path,
    chunk_record,
    fingerprint,
    load_chunk,
    load_params,
    prepare_out_dir,
    save_params,
    writer_lock,
)
from initlab.outcomes import Outcomes, higher_is_better


def train(
    config: Any = None,
    initializers: Any = None,
    /,
    *,
    out_dir: str | os.PathLike | None = None,
    progress: bool = True,
    record: Mapping[str, Any] | None = None,
    **options: Any,
) -> Outcomes:
    """Trains ``num_restarts`` restarts per initializer in one compiled loop.

    Call it with a :class:`TrainConfig` (``train(config)``, keyword options
    override its fields), or in the keyword form ``train(task, initializers,
    num_restarts=..., steps=..., ...)`` with the config's fields as keywords.

    For every initializer and restart i, parameters are drawn with the init key
    ``fold_in(fold_in(key(seed), 0), init_seed_i)``; minibatches follow the data
    key ``fold_in(fold_in(key(seed), 1), data_seed_i)`` (a new permutation each
    epoch; none when ``batch_size`` is the training-set size). The seeds come
    from ``design`` (see :func:`restart_seeds`); restart i gets the same keys for
    every initializer (paired comparisons) and whatever ``num_restarts``,
    ``chunk_size`` or device count. The whole stack of (initializer x restart)
    parameters trains in one jitted ``vmap`` of :func:`make_train`'s core, with
    the optax optimizer inside the vmap (per-restart state). A restart whose
    loss or parameters become non-finite is frozen, flagged ``diverged`` and its
    metrics are NaN from then on; the others are unaffected.

    Args:
      config: a :class:`TrainConfig`, or (keyword form) the task: a Task, a
        task name or spec (see ``TrainConfig.task``).
      initializers: (keyword form) what to compare (see
        ``TrainConfig.initializers``; default "glorot_uniform").
      out_dir: a folder: each finished chunk is written atomically and a rerun
        with the same config skips finished chunks (resume).
      progress: show a tqdm bar over chunks and scan segments.
      record: extra entries for ``Outcomes.metadata`` (e.g. the study that
        ran it); they do not change the run's identity.
      **options: fields of :class:`TrainConfig` (``num_restarts``, ``steps``,
        ``batch_size``, ``optimizer``, ``learning_rate``, ``design``,
        ``grid_data``, ``seed``, ``first_restart``, ``eval_every``, ``target``,
        ``target_metric``, ``bias_init``, ``chunk_size``, ``devices``,
        ``keep_params``, ``model``).

    Returns:
      :class:`~initlab.Outcomes` with rows ordered initializer-major; its
      metadata holds the resolved config (every default filled in).

    Raises:
      ValueError / TypeError: bad arguments, raised before anything compiles.

    Example:
      >>> out = initlab.train("digits", ["glorot_uniform", "he_normal"],
      ...                     num_restarts=8, steps=50, progress=False)
      >>> out.finals().groupby("initializer").test_accuracy.mean().round(2)
      initializer
      glorot_uniform    ...
      >>> config = initlab.TrainConfig(task="xor", num_restarts=4, steps=100)
      >>> out = initlab.train(config, progress=False)
    """
    t_start = time.perf_counter()
    config = _as_config(config, initializers, options)
    run = resolve(config)
    c = run.config
    mesh = _mesh(c.devices)
    n_dev = mesh.devices.size
    the_plan = plan_run(run, DeviceSpec.detect(list(mesh.devices.flat)),
                        chunk_given=config.chunk_size is not None)  # fmt: skip
    c = dataclasses.replace(c, devices=n_dev, chunk_size=the_plan.chunk_size)
    run = dataclasses.replace(run, config=c)
    padded_chunk = math.ceil(c.chunk_size / n_dev) * n_dev
    # -- the rows: initializer-major, then each combination of the axes, then
    # restart indices first_restart + 0..N-1 (the same keys in every cell)
    labels, restarts, coords = _rows_of(run)
    total = len(labels)
    seeds = restart_streams(c.design, restarts, c.grid_data)

    out_path = Path(out_dir) if out_dir is not None else None
    core = core_of(run, the_plan.eval_block)
    replicated = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec())
    sharded = jax.sharding.NamedSharding(mesh, jax.sharding.PartitionSpec("restarts"))
    data = jax.device_put(core.data(), replicated)
    runner = ChunkRunner(core, run.initializers, run.bias_inits, padded_chunk,
                         the_plan.restart_block, c.keep_predictions)  # fmt: skip
    fp = fingerprint(run)
    if out_path is not None:
        prepare_out_dir(out_path, run, fp)

    n_chunks = math.ceil(total / c.chunk_size)
    parts: list[Outcomes] = []
    bar = _progress(progress, n_chunks * len(runner.segments))
    lock = writer_lock(out_path) if out_path is not None else contextlib.nullcontext()
    with lock:
        try:
            for i in range(n_chunks):
                rows = np.arange(i * c.chunk_size, min((i + 1) * c.chunk_size, total))
                path = chunk_path(out_path, i) if out_path else None
                if path is not None and path.exists():
                    expected = _rows(labels, restarts, seeds, rows)
                    part = load_chunk(path, fp, i, expected)
                    if c.keep_params:
                        initial, final, state = load_params(path, run.model, fp,
                                                            len(rows))  # fmt: skip
                        part = dataclasses.replace(
                            part,
                            initial_params=initial,
                            final_params=final,
                            final_state=state,
                        )
                    parts.append(part)
                    bar.update(len(runner.segments))
                    continue
                part = runner.run(
                    rows, labels, restarts, seeds, c.seed, data, sharded,
                    c.keep_params, bar, coords,
                )  # fmt: skip
                part = dataclasses.replace(part, metadata=chunk_record(fp, i, rows))
                if path is not None:
                    if c.keep_params:
                        save_params(path, part, fp)
                    part.save(path)  # written last: it marks the chunk finished
                parts.append(part)
        finally:
            bar.close()

    result = Outcomes.concatenate(parts)
    steps_to_target = result.steps_to_target
    if c.target is not None:
        curve = result.curves[c.target_metric]
        better = higher_is_better(c.target_metric)
        hit = curve >= c.target if better else curve <= c.target
        first = np.where(hit.any(axis=1), hit.argmax(axis=1), -1)
        steps_to_target = np.where(first >= 0, result.steps[first], -1)
    metadata = {
        **c.to_dict(),
        "task_name": run.task.name,
        "num_classes": run.task.num_classes,
        "model_name": run.model.name,
        "fingerprint": fp,
        "higher_is_better": {k: higher_is_better(k) for k in result.final},
        "versions": _versions(),
        "devices": [str(x) for x in mesh.devices.flat],
        "plan": the_plan.to_dict(),
        "wall_time_s": time.perf_counter() - t_start,
        # compile + the first segment of the first chunk trained here (0 if
        # every chunk was resumed from disk)
        "first_segment_s": runner.first_segment_s,
    }
    if record:
        clash = sorted(set(record) & set(metadata))
        if clash:
            raise ValueError(f"train: record cannot replace metadata {clash}.")
        metadata.update(record)
    result = dataclasses.replace(
        result, steps_to_target=steps_to_target, metadata=metadata
    )
    if out_path is not None:
        with writer_lock(out_path):
            result.save(out_path / "results.parquet")
    return result


def _rows_of(run) -> tuple[np.ndarray, np.ndarray, dict[str, np.ndarray]]:
    """(labels, restart indices, coordinates) of every row of a run."""
    c = run.config
    combos = run.combos
    per = len(combos) * c.num_restarts
    labels = np.repeat(np.asarray(list(run.initializers), dtype=object),
                       per).astype(str)  # fmt: skip
    restarts = np.tile(np.arange(c.first_restart, c.first_restart + c.num_restarts),
                       len(run.initializers) * len(combos))  # fmt: skip
    coords = {
        name: np.tile(np.repeat([combo[name] for combo in combos], c.num_restarts),
                      len(run.initializers)).astype(np.float64)
        for name in run.axes
    }  # fmt: skip
    return labels, restarts, coords


def _rows(labels, restarts, seeds, rows) -> Outcomes:
    """An Outcomes that holds only the coordinates of ``rows`` (to verify a chunk)."""
    n = len(rows)
    return Outcomes(
        initializer=labels[rows], restart=restarts[rows],
        init_seed=seeds["init"][rows], data_seed=seeds["data"][rows],
        noise_seed=seeds["noise"][rows], augment_seed=seeds["augment"][rows],
        steps=np.zeros(0, np.int64), curves={},
        final={}, diverged=np.zeros(n, bool), diverged_step=np.full(n, -1),
        steps_to_target=np.full(n, -1),
    )  # fmt: skip


def _as_config(config: Any, initializers: Any, options: dict[str, Any]):
    """The keyword form and the config form, as one TrainConfig."""
    if isinstance(config, TrainConfig):
        if initializers is not None:
            options = {**options, "initializers": initializers}
        return dataclasses.replace(config, **options) if options else config
    if config is not None:
        if "task" in options:
            raise TypeError(
                "train: the task is given twice (positionally and as task=)."
            )
        options = {**options, "task": config}
    if initializers is not None:
        if "initializers" in options:
            raise TypeError("train: initializers are given twice.")
        options = {**options, "initializers": initializers}
    names = {f.name for f in dataclasses.fields(TrainConfig)}
    unknown = sorted(set(options) - names)
    if unknown:
        from initlab import _checks

        raise TypeError(
            f"train: unknown option {unknown[0]!r}.{_checks.closest(unknown[0], names)}"
            f" Options: out_dir, progress, {', '.join(sorted(names))}."
        )
    return TrainConfig(**options)


def _versions() -> dict[str, str]:
    from importlib import metadata

    import flax

    try:
        version = metadata.version("initlab")
    except metadata.PackageNotFoundError:
        version = "0+unknown"
    return {
        "initlab": version,
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
