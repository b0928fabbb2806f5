"""The training loop: per-restart SGD steps, vmapped, scanned, jitted and cached."""

from __future__ import annotations

import dataclasses
import functools
import math
import time
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from initlab.engine.keys import stream_keys
from initlab.models import PureModel
from initlab.outcomes import Outcomes
from initlab.tasks import Task


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
        self.first_segment_s = 0.0  # compile + first segment, first chunk only
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
        # The evaluation at step 0: no restart has diverged yet, so no NaN mask.
        evals = [jax.device_get(self._evaluate(state.params, arrays))]
        steps = [0]
        first_call = self.first_segment_s == 0.0
        groups = sharded.mesh.devices.size
        block = self._restart_block(state, self.padded_chunk // groups)
        for first, length in self.segments:
            fn = self._segment_fn(length, groups, block)
            state, metrics = fn(state, jnp.int32(first), arrays)
            if first_call:
                jax.block_until_ready(metrics)
                self.first_segment_s = time.perf_counter() - t0
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


def _take(tree, n):
    return jax.tree.map(lambda x: np.asarray(x)[:n], tree)


def _concat_trees(trees):
    return jax.tree.map(lambda *xs: np.concatenate(xs), *trees)
