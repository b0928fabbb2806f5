"""Running the core over a stack of restarts: jit caches, restart blocks, chunks.

The numbers are the core's (:mod:`initlab.engine.core`); this module decides
only how the stack of restarts is laid out: vmapped whole, or walked in
cache-sized blocks with ``lax.map``, sharded over the mesh, chunk by chunk.
"""

from __future__ import annotations

import dataclasses
import functools
import time
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from initlab.engine.core import TrainCore
from initlab.engine.keys import STREAMS, stream_key
from initlab.models import PureModel
from initlab.outcomes import Outcomes


def _loop_identity(core: TrainCore) -> TrainCore:
    """The core without what the compiled step does not depend on.

    Initializers only enter the init phase, and the schedule only the number
    of segments: runs that differ in those share one compiled loop.
    """
    return dataclasses.replace(core, steps=1, eval_every=1, kernel_init=None,
                               bias_init=None, schedule=None)  # fmt: skip


def segments(core: TrainCore) -> list[tuple[int, int]]:
    """(first_step, length) of each segment; an evaluation ends each one."""
    ends = core.eval_steps
    return [(int(a), int(b - a)) for a, b in zip(ends[:-1], ends[1:], strict=True)]


def _segment_fn(core: TrainCore, groups: int = 1, block: int | None = None):
    """``(state, first_step, num_steps, data) -> (state, metrics)`` over a stack.

    ``first_step`` and ``num_steps`` are traced: one program for every segment.

    ``block=None`` vmaps the whole stack of restarts through every step. With a
    ``block``, the stack is cut into ``groups`` (one per device: the restart
    axis is sharded in contiguous slices) and each group is walked with
    ``lax.map`` ``block`` restarts at a time, each block running all its steps
    while its parameters and activations stay in cache. Same per-restart
    computation either way (float reassociation aside).
    """

    def one(state, first_step, num_steps, data):
        return core.segment(state, first_step, num_steps, data)

    if block is None:
        return jax.vmap(one, in_axes=(0, None, None, None))

    def blocked(state, first_step, num_steps, data):
        split = jax.tree.map(lambda x: x.reshape(groups, -1, *x.shape[1:]), state)

        def group(s):
            return jax.lax.map(
                lambda r: one(r, first_step, num_steps, data), s, batch_size=block
            )

        out = jax.vmap(group)(split)
        return jax.tree.map(lambda x: x.reshape(-1, *x.shape[2:]), out)

    return blocked


# Jitted functions are cached across calls of train(): the same task, model,
# optimizer and batch size reuse their compiled loop (notebooks, sweeps, tests).
@functools.lru_cache(maxsize=16)
def _jitted(core: TrainCore):
    start = jax.jit(jax.vmap(core.start))
    evaluate = jax.jit(jax.vmap(core.evaluate, in_axes=(0, None, 0)))
    correct = None
    if core.task.correct is not None:
        correct = jax.jit(jax.vmap(core.correct, in_axes=(0, None, 0)))
    return start, evaluate, correct


@functools.lru_cache(maxsize=16)
def _jitted_predictions(core: TrainCore):
    return jax.jit(jax.vmap(core.predictions, in_axes=(0, None, 0)))


@functools.lru_cache(maxsize=16)
def _jitted_hyper(core: TrainCore):
    return jax.jit(jax.vmap(core.with_hyperparams))


@jax.jit
def _scale_kernels(params, scales):
    """Every leaf named "kernel" times its row's scale (the restart axis first)."""
    from initlab.tree_paths import map_with_paths

    def scale(path, leaf):
        if path.rpartition("/")[2] != "kernel":
            return leaf
        return leaf * scales.reshape((-1,) + (1,) * (leaf.ndim - 1)).astype(leaf.dtype)

    return map_with_paths(scale, params)


@functools.lru_cache(maxsize=16)
def _jitted_model_state(model: PureModel):
    return jax.jit(jax.vmap(model.start_state))


@functools.lru_cache(maxsize=64)
def _jitted_segment(core: TrainCore, groups: int = 1, block=None):
    return jax.jit(_segment_fn(core, groups, block), donate_argnums=(0,))


@functools.lru_cache(maxsize=64)
def _jitted_init(model: PureModel, kernel_init, bias_init):
    return jax.jit(jax.vmap(lambda key: model.init(key, kernel_init, bias_init)))


class ChunkRunner:
    """Trains chunks of (initializer, restart) rows with the run's compiled loop."""

    def __init__(self, core: TrainCore, inits, bias_inits, padded_chunk: int,
                 restart_block: int | None = None,
                 keep_predictions: bool = False):  # fmt: skip
        self.core = _loop_identity(core)
        self.model = core.model
        self.inits = inits
        self.bias_inits = bias_inits
        self.segments = segments(core)
        self.padded_chunk = padded_chunk
        self.restart_block = restart_block  # the plan's (None: whole stack)
        self.keep_predictions = keep_predictions
        self.first_segment_s = 0.0  # compile + first segment, first chunk only
        self._start, self._evaluate, self._correct = _jitted(self.core)

    def _init_fn(self, label):
        return _jitted_init(self.model, self.inits[label], self.bias_inits[label])

    def run(self, rows, labels, restarts, seeds, seed, data, sharded, keep_params,
            bar, coords=None) -> Outcomes:  # fmt: skip
        """Trains the chunk ``rows`` of (initializer, restart) rows.

        ``seeds`` maps every stream ("init", "data", "noise", "augment") to the
        seed of each row (see :func:`initlab.engine.keys.restart_streams`);
        ``coords`` the hyper-parameter axes to each row's value ("init_scale"
        scales the drawn kernels, the others go into the optimizer's state).
        """
        coords = coords or {}
        n = len(rows)
        pad = self.padded_chunk - n
        take = np.concatenate([rows, np.full(pad, rows[-1])])  # pad with a repeat
        keys = {s: stream_key(seed, s, seeds[s][take]) for s in STREAMS}
        init_keys = keys["init"]
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
        if "init_scale" in coords:
            params = _scale_kernels(params, jnp.asarray(coords["init_scale"][take]))
        initial = jax.device_get(params) if keep_params else None
        model_state = _jitted_model_state(self.model)(init_keys)
        # Train phase: the restart axis sharded over the mesh.
        params, model_state = jax.device_put((params, model_state), sharded)
        stream = {
            s: jax.device_put(keys[s], sharded) for s in ("data", "noise", "augment")
        }
        t0 = time.perf_counter()
        # Leaves of the start state that do not depend on the inputs (diverged,
        # diverged_step) come back replicated; pin the whole state to the
        # restart sharding, or the second segment call recompiles the loop.
        state = jax.device_put(
            self._start(params, stream["data"], stream["noise"], stream["augment"],
                        model_state),
            sharded,
        )  # fmt: skip
        hyper = {k: jnp.asarray(v[take], jnp.float32) for k, v in coords.items()
                 if k != "init_scale"}  # fmt: skip
        if hyper:  # each row's optimizer hyper-parameters, in its optax state
            state = jax.device_put(_jitted_hyper(self.core)(state, hyper), sharded)
        # The evaluation at step 0: no restart has diverged yet, so no NaN mask.
        evals = [jax.device_get(self._evaluate(state.params, data, state.model_state))]
        steps = [0]
        first_call = self.first_segment_s == 0.0
        groups = sharded.mesh.devices.size
        block = self.restart_block
        fn = _jitted_segment(self.core, groups, block)
        for first, length in self.segments:
            state, metrics = fn(state, jnp.int32(first), jnp.int32(length), data)
            if first_call:
                jax.block_until_ready(metrics)
                self.first_segment_s = time.perf_counter() - t0
                first_call = False
            evals.append(jax.device_get(metrics))
            steps.append(first + length)
            bar.update(1)
        state = jax.block_until_ready(state)
        curves = {
            k: np.stack([np.asarray(e[k])[:n] for e in evals], axis=1).astype(
                np.float64
            )
            for k in evals[-1]
        }
        per_example = {}
        if self._correct is not None:
            correct = self._correct(state.params, data, state.model_state)
            per_example["test_correct"] = np.asarray(correct)[:n]
        if self.keep_predictions:
            predicted = _jitted_predictions(self.core)(state.params, data,
                                                       state.model_state)  # fmt: skip
            per_example.update({k: np.asarray(v)[:n] for k, v in predicted.items()})
        has_state = bool(jax.tree.leaves(state.model_state))
        return Outcomes(
            initializer=labels[rows],
            restart=restarts[rows],
            init_seed=seeds["init"][rows],
            data_seed=seeds["data"][rows],
            noise_seed=seeds["noise"][rows],
            augment_seed=seeds["augment"][rows],
            coords={k: np.asarray(v)[rows] for k, v in coords.items()},
            steps=np.asarray(steps, np.int64),
            curves=curves,
            final={k: v[:, -1] for k, v in curves.items()},
            diverged=np.asarray(state.diverged)[:n],
            diverged_step=np.asarray(state.diverged_step, np.int64)[:n],
            steps_to_target=np.full(n, -1, np.int64),
            per_example=per_example,
            initial_params=_take(initial, n) if keep_params else None,
            final_params=_take(jax.device_get(state.params), n)
            if keep_params
            else None,
            final_state=_take(jax.device_get(state.model_state), n)
            if keep_params and has_state
            else None,
        )


def _take(tree, n):
    return jax.tree.map(lambda x: np.asarray(x)[:n], tree)


def concat_trees(trees: list[Any]) -> Any:
    """Pytrees with a leading restart axis joined along it."""
    return jax.tree.map(lambda *xs: np.concatenate(xs), *trees)
