"""A shared early checkpoint: train k steps, then branch on different data orders.

Frankle et al. (2020) train a network for k steps, copy it, and train the
copies to the end with different minibatch orders: past some k the copies
end linearly connected (a barrier of about 0 between them), before it they
need not. :func:`spawn` does that for many parents at once with initlab's
pure core (:class:`initlab.TrainCore`), so the parents are exactly the
run's restarts up to step k (same keys, same numbers to float rounding).
:func:`train_core` builds the core of a :class:`initlab.TrainConfig`.

References:
  Frankle, Dziugaite, Roy & Carbin (2020), "Linear mode connectivity and the
  lottery ticket hypothesis", ICML.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from initlab import _checks
from initlab.engine import TrainConfig, TrainCore, resolve

# Folded into a parent's data key to make its children's keys.
_SPAWN = 0x5350


def train_core(config: TrainConfig, label: str | None = None) -> TrainCore:
    """The per-restart core of a config's run, for one of its initializers.

    The same task, model, optimizer, batch size, steps, data order and
    initializers that ``initlab.train(config)`` trains (the core it vmaps).

    Args:
      config: the run's :class:`initlab.TrainConfig`.
      label: an initializer label of the config (default: the first).

    Returns:
      :class:`initlab.TrainCore`.

    Raises:
      ValueError: an unknown label, or a config with hyper-parameter axes
        (lists of learning rates or init scales: one core per value).

    Example:
      >>> core = train_core(initlab.TrainConfig(task="digits", steps=30))
    """
    run = resolve(config)
    if run.axes:
        raise ValueError(
            f"train_core: the config has hyper-parameter axes {sorted(run.axes)}; "
            "give one value of each (dataclasses.replace(config, "
            "learning_rate=0.1))."
        )
    label = next(iter(run.initializers)) if label is None else label
    if label not in run.initializers:
        raise ValueError(
            f"train_core: unknown initializer {label!r}; the config has "
            f"{list(run.initializers)}."
        )
    c = run.config
    return TrainCore(
        task=run.task,
        model=run.model,
        optimizer=run.optimizer,
        batch_size=c.batch_size,
        steps=c.steps,
        eval_every=c.eval_every,
        kernel_init=run.initializers[label],
        bias_init=run.bias_inits[label],
        compute_dtype=c.compute_dtype,
        data_order=c.data_order,
    )


def _branch(core: TrainCore, state: Any, child: jax.Array, step: jax.Array) -> Any:
    """A copy of ``state`` that from ``step`` on sees its own minibatch order."""
    key = jax.random.fold_in(jax.random.fold_in(state.data_key, _SPAWN), child)
    order = state.order
    if core.shuffled:
        epoch = step // core.steps_per_epoch
        order = jax.random.permutation(
            jax.random.fold_in(key, epoch), core.n_train
        ).astype(jnp.int32)
    return state._replace(
        data_key=key,
        order=order,
        noise_key=jax.random.fold_in(key, 1),
        augment_key=jax.random.fold_in(key, 2),
    )


def spawn(
    core: TrainCore,
    init_keys: jax.Array,
    data_keys: jax.Array,
    spawn_steps: Sequence[int],
) -> dict[int, dict[str, Any]]:
    """Parents trained to each spawn step, then two children each to the end.

    Parent p starts from ``init_keys[p]`` and trains on ``data_keys[p]``'s
    order (as the run's restart does); at step k two copies branch, each with
    a minibatch order of its own from step k on (a permutation from a key
    folded from the parent's data key), and train to ``core.steps``. k = 0
    is two restarts of the same init with different data orders.

    Args:
      core: the run's core (:func:`train_core`); its data order must be
        shuffled minibatches (otherwise the children would be identical).
      init_keys, data_keys: (P,) keys of the parents
        (:func:`initlab.stream_keys`).
      spawn_steps: steps k at which to branch, each in [0, core.steps).

    Returns:
      k -> ``{"a": params, "b": params, "metrics_a": ..., "metrics_b": ...}``:
      the two children's final parameters (pair axis first, (P, ...)) and
      final metrics (metric -> (P,)).

    Raises:
      ValueError: full-batch or sequential training (no randomness to branch
        on), or spawn steps outside [0, steps).

    Example:
      >>> core = initlab.make_train("digits", initlab.models.mlp((8,), 64, 10),
      ...                           steps=20)
      >>> init_keys, data_keys = initlab.stream_keys(0, range(2), range(2))
      >>> children = spawn(core, init_keys, data_keys, (0, 10))
      >>> children[10]["metrics_a"]["test_accuracy"].shape
      (2,)

    References:
      Frankle et al. (2020).
    """
    if not core.shuffled:
        raise ValueError(
            "spawn: the children differ only by their minibatch order, and this "
            f"run has none to vary (batch_size={core.batch_size} of "
            f"{core.n_train} examples, data_order={core.data_order!r}); train "
            "with minibatches and data_order='shuffle'."
        )
    steps = sorted(
        {
            _checks.integer(k, "each spawn step", low=0, high=core.steps, where="spawn")
            for k in spawn_steps
        }
    )
    if not steps:
        raise ValueError("spawn: give at least one spawn step.")
    data = core.data()
    segment = jax.jit(jax.vmap(core.segment, in_axes=(0, None, None, None)))
    branch = jax.jit(
        jax.vmap(lambda s, c, k: _branch(core, s, c, k), in_axes=(0, None, None))
    )
    parents = jax.vmap(core.init)(init_keys, data_keys)
    done, out = 0, {}
    for k in steps:
        if k > done:
            parents, _ = segment(parents, jnp.int32(done), jnp.int32(k - done), data)
            done = k
        children = [branch(parents, jnp.uint32(c), jnp.int32(k)) for c in (0, 1)]
        both = jax.tree.map(lambda a, b: jnp.concatenate([a, b]), *children)
        both, metrics = segment(both, jnp.int32(k), jnp.int32(core.steps - k), data)
        p = len(init_keys)
        params = jax.device_get(both.params)
        metrics = {m: np.asarray(v) for m, v in jax.device_get(metrics).items()}
        first = lambda x, p=p: np.asarray(x)[:p]  # noqa: E731
        second = lambda x, p=p: np.asarray(x)[p:]  # noqa: E731
        out[k] = {
            "a": jax.tree.map(first, params),
            "b": jax.tree.map(second, params),
            "metrics_a": {m: v[:p] for m, v in metrics.items()},
            "metrics_b": {m: v[p:] for m, v in metrics.items()},
        }
    return out
