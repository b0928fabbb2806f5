"""The public pure core: ``make_train`` and the per-restart training functions.

Everything here is a pure function of one restart (no restart axis): a user
can ``jax.jit``, ``jax.vmap``, shard or embed them in a loop of their own;
:func:`initlab.train` is this core, vmapped over restarts, chunked, sharded and
saved (it adds nothing numerical).
"""

from __future__ import annotations

import dataclasses
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from initlab.models import PureModel
from initlab.tasks import Task

Data = tuple[jax.Array, jax.Array, jax.Array, jax.Array]  # x/y train, x/y test

# Examples per block when evaluating a whole split (see ``TrainCore.outputs``).
EVAL_BLOCK = 256
# Defaults of the noise and augmentation keys when a caller gives only the
# data key (initlab.train always passes its own streams).
_NOISE_FROM_DATA, _AUGMENT_FROM_DATA = 0x6E6F, 0x6175


class TrainState(NamedTuple):
    """One restart's training state (under vmap every leaf has the restart axis).

    Attributes:
      params: the model's parameters.
      opt_state: the optax optimizer's state.
      data_key: the restart's data-order key.
      order: int32 (N,), the current epoch's permutation of the training set.
      diverged: bool, the loss or parameters became non-finite (then frozen).
      diverged_step: int32, the first step with a non-finite value, -1 if none.
      model_state: the model's non-parameter state (batch statistics; an
        empty dict for models without).
      noise_key: the restart's dropout-noise key (step t uses fold_in(key, t)).
      augment_key: the restart's augmentation key (likewise).
    """

    params: Any
    opt_state: Any
    data_key: jax.Array
    order: jax.Array
    diverged: jax.Array
    diverged_step: jax.Array
    model_state: Any = None
    noise_key: jax.Array | None = None
    augment_key: jax.Array | None = None


@dataclasses.dataclass(frozen=True)
class TrainCore:
    """Pure per-restart functions of one task, model, optimizer and schedule.

    Made by :func:`make_train`. Every method is pure and works under ``jit``
    and ``vmap``; ``data`` arguments take :meth:`data` (pass it as an argument
    to keep large datasets out of the compiled program; None closes over the
    task's arrays).

    Attributes:
      task, model, optimizer: what trains.
      batch_size: minibatch size (the training-set size = full batch).
      steps: optimizer steps of :meth:`train`.
      eval_every: steps between evaluations in :meth:`train`.
      kernel_init, bias_init: initializers of :meth:`init` (None: the
        model's own).
      eval_block: examples per block when evaluating a whole split (the
        plan's choice: 256 on CPU, the whole split on accelerators).
      data_order: "shuffle" (a permutation per epoch from the data key) or
        "sequential" (the stored order every epoch).
      schedule: the steps after which :meth:`train` evaluates (increasing,
        the last = ``steps``); None: every ``eval_every`` steps.
      compute_dtype: None (compute in the parameters' dtype) or e.g.
        "bfloat16": the forward and backward passes run in that dtype on a
        cast of the float32 master parameters (mixed precision); losses,
        metrics and updates stay float32. It changes the outcomes.
    """

    task: Task
    model: PureModel
    optimizer: optax.GradientTransformation
    batch_size: int
    steps: int
    eval_every: int
    kernel_init: Any = None
    bias_init: Any = None
    eval_block: int = EVAL_BLOCK
    compute_dtype: str | None = None
    data_order: str = "shuffle"
    schedule: tuple[int, ...] | None = None

    # ----- sizes ---------------------------------------------------------------

    @property
    def n_train(self) -> int:
        return len(self.task.x_train)

    @property
    def full_batch(self) -> bool:
        return self.batch_size == self.n_train

    @property
    def shuffled(self) -> bool:
        """Whether minibatches follow a per-epoch permutation (else stored order)."""
        return not self.full_batch and self.data_order == "shuffle"

    @property
    def steps_per_epoch(self) -> int:
        return self.n_train // self.batch_size

    @property
    def eval_steps(self) -> np.ndarray:
        """(E,) int: the steps at which :meth:`train` evaluates (0 first)."""
        if self.schedule is not None:
            return np.asarray([0, *self.schedule], np.int64)
        ends = list(range(self.eval_every, self.steps, self.eval_every))
        return np.asarray([0, *ends, self.steps], np.int64)

    def data(self) -> Data:
        """The task's arrays as JAX arrays: ``(x_train, y_train, x_test, y_test)``."""
        t = self.task
        return tuple(jnp.asarray(a) for a in (t.x_train, t.y_train, t.x_test, t.y_test))

    def _data(self, data: Data | None) -> Data:
        return self.data() if data is None else data

    # ----- the restart's start ---------------------------------------------------

    def init_params(self, init_key: jax.Array) -> Any:
        """The model's parameters drawn with ``init_key`` (kernel_init/bias_init)."""
        return self.model.init(init_key, self.kernel_init, self.bias_init)

    def start(
        self, params: Any, data_key: jax.Array, noise_key: jax.Array | None = None,
        augment_key: jax.Array | None = None, model_state: Any = None,
    ) -> TrainState:  # fmt: skip
        """The state at step 0: optimizer state and the first epoch's order.

        ``noise_key`` / ``augment_key`` default to keys folded from
        ``data_key`` (pass :func:`initlab.engine.keys.stream_key`'s to get
        ``initlab.train``'s numbers for models with dropout or tasks with
        augmentation); ``model_state`` defaults to the model's initial state.
        """
        order = jnp.arange(self.n_train, dtype=jnp.int32)
        if self.shuffled:
            order = jax.random.permutation(jax.random.fold_in(data_key, 0), order)
        if noise_key is None:
            noise_key = jax.random.fold_in(data_key, _NOISE_FROM_DATA)
        if augment_key is None:
            augment_key = jax.random.fold_in(data_key, _AUGMENT_FROM_DATA)
        if model_state is None:
            model_state = self.model.start_state(jax.random.fold_in(data_key, 0))
        return TrainState(
            params=params,
            opt_state=self.optimizer.init(params),
            data_key=data_key,
            order=order,
            diverged=jnp.zeros((), bool),
            diverged_step=jnp.full((), -1, jnp.int32),
            model_state=model_state,
            noise_key=noise_key,
            augment_key=augment_key,
        )

    def init(self, init_key: jax.Array, data_key: jax.Array,
             noise_key: jax.Array | None = None,
             augment_key: jax.Array | None = None) -> TrainState:  # fmt: skip
        """``start(init_params(init_key), data_key, ...)``: the key streams.

        The model's initial non-parameter state is built with ``init_key``.
        """
        return self.start(self.init_params(init_key), data_key, noise_key,
                          augment_key, self.model.start_state(init_key))  # fmt: skip

    def with_hyperparams(self, state: TrainState, values: dict[str, Any]):
        """``state`` whose optimizer uses ``values`` (an optimizer built with
        ``optax.inject_hyperparams``: its hyper-parameters live in its state)."""
        hyper = state.opt_state.hyperparams
        unknown = sorted(set(values) - set(hyper))
        if unknown:
            raise ValueError(
                f"the optimizer has no hyper-parameter(s) {unknown}; it has "
                f"{sorted(hyper)}."
            )
        new = {
            **hyper,
            **{k: jnp.asarray(v, hyper[k].dtype) for k, v in values.items()},
        }
        return state._replace(opt_state=state.opt_state._replace(hyperparams=new))

    # ----- training ------------------------------------------------------------

    def _cast(self, params: Any, x: jax.Array) -> tuple[Any, jax.Array]:
        if self.compute_dtype is None:
            return params, x
        dtype = jnp.dtype(self.compute_dtype)
        cast = jax.tree.map(
            lambda p: p.astype(dtype) if jnp.issubdtype(p.dtype, jnp.floating) else p,
            params,
        )
        return cast, x.astype(dtype)

    def apply(self, params: Any, x: jax.Array, model_state: Any = None) -> jax.Array:
        """Evaluation-mode outputs, in ``compute_dtype`` when given (float32 out)."""
        params, x = self._cast(params, x)
        if model_state is None and not self.model.stateful:
            out = self.model.apply(params, x)
        else:
            if model_state is None:
                model_state = self.model.start_state(jax.random.key(0))
            out = self.model.forward_eval(params, model_state, x)
        return out if self.compute_dtype is None else out.astype(jnp.float32)

    def objective(self, params: Any, model_state: Any, x: jax.Array, y: jax.Array,
                  key: jax.Array) -> tuple[jax.Array, Any]:  # fmt: skip
        """Training-mode loss of a minibatch and the model's new state."""
        cast, x = self._cast(params, x)
        out, new_state = self.model.forward_train(cast, model_state, x, key)
        if self.compute_dtype is not None:
            out = out.astype(jnp.float32)
        return self.task.loss(out, y), new_state

    def loss(self, params: Any, x: jax.Array, y: jax.Array, model_state: Any = None,
             key: jax.Array | None = None) -> jax.Array:  # fmt: skip
        """Training-mode loss (the initial model state and key 0 by default)."""
        if model_state is None:
            model_state = self.model.start_state(jax.random.key(0))
        key = jax.random.key(0) if key is None else key
        return self.objective(params, model_state, x, y, key)[0]

    def step(self, state: TrainState, step: jax.Array, data: Data | None = None):
        """One optimizer step (``step`` counts from 0); a diverged restart is frozen."""
        x_all, y_all = self._data(data)[:2]
        if self.full_batch:
            order, x, y = state.order, x_all, y_all
        else:
            # `step` is not batched over restarts, so under vmap this stays a
            # real cond: a new permutation once per epoch, not every step.
            epoch, pos = jnp.divmod(step, self.steps_per_epoch)
            order = state.order
            if self.shuffled:
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
        if self.task.augment is not None:
            x = self.task.augment(jax.random.fold_in(state.augment_key, step), x)
        noise = jax.random.fold_in(state.noise_key, step)
        (loss, model_state), grads = jax.value_and_grad(self.objective, has_aux=True)(
            state.params, state.model_state, x, y, noise
        )
        updates, opt_state = self.optimizer.update(grads, state.opt_state, state.params)
        params = optax.apply_updates(state.params, updates)
        finite = jnp.isfinite(loss) & _all_finite(params) & _all_finite(model_state)
        ok = finite & ~state.diverged
        # A diverged restart is frozen: its params stop at the last finite ones.
        keep = lambda new, old: jax.tree.map(  # noqa: E731
            lambda n, o: jnp.where(ok, n, o), new, old
        )
        newly = ~finite & ~state.diverged
        return state._replace(
            params=keep(params, state.params),
            opt_state=keep(opt_state, state.opt_state),
            order=order,
            diverged=state.diverged | ~finite,
            diverged_step=jnp.where(newly, step + 1, state.diverged_step),
            model_state=keep(model_state, state.model_state),
        )

    def segment(self, state: TrainState, first_step: jax.Array,
                num_steps: int | jax.Array, data: Data | None = None):  # fmt: skip
        """``num_steps`` steps from ``first_step``, then an evaluation.

        ``num_steps`` may be traced (a ``lax.fori_loop`` with a dynamic trip
        count): one compiled program serves segments of every length.

        Returns:
          ``(state, metrics)``; metrics are NaN once the restart diverged.
        """
        data = self._data(data)

        def body(i, carry):
            return self.step(carry, first_step + i, data)

        state = jax.lax.fori_loop(jnp.int32(0), jnp.asarray(num_steps, jnp.int32),
                                  body, state)  # fmt: skip
        metrics = self.evaluate(state.params, data, state.model_state)
        # After divergence a restart has no valid metric: NaN, flagged, counted.
        metrics = {k: jnp.where(state.diverged, jnp.nan, v) for k, v in metrics.items()}
        return state, metrics

    def train(self, state: TrainState, data: Data | None = None):
        """Every step, evaluating at :attr:`eval_steps`.

        Returns:
          ``(state, metrics)`` with metric -> (E,) array, one value per entry
          of :attr:`eval_steps` (the first at step 0).
        """
        data = self._data(data)
        first = self.evaluate(state.params, data, state.model_state)
        ends = self.eval_steps
        starts = jnp.asarray(ends[:-1], jnp.int32)
        lengths = jnp.asarray(np.diff(ends), jnp.int32)

        def one(carry, segment):
            return self.segment(carry, segment[0], segment[1], data)

        state, rest = jax.lax.scan(one, state, (starts, lengths))
        metrics = {k: jnp.concatenate([first[k][None], rest[k]]) for k in first}
        return state, metrics

    # ----- evaluation ------------------------------------------------------------

    def outputs(self, params: Any, x: jax.Array, model_state: Any = None) -> jax.Array:
        """Evaluation-mode outputs over a whole split, ``eval_block`` at a time.

        Under vmap the hidden activations of a whole split are (restarts x
        examples x width): 0.66 GB per layer for 1024 restarts on digits. A
        ``lax.map`` over blocks of examples (not restarts, so sharding is
        untouched) keeps one block's worth alive; the outputs are the same.
        """
        n, size = x.shape[0], self.eval_block
        if n <= size:
            return self.apply(params, x, model_state)
        blocks = -(-n // size)
        pad = blocks * size - n
        if pad:  # repeat the last example; its outputs are dropped below
            x = jnp.concatenate([x, jnp.repeat(x[-1:], pad, axis=0)])
        # params ride in the carry, not in a closure: NNX modules that run
        # their own transforms (nnx.RNN's scan) refuse values from an outer trace.
        _, out = jax.lax.scan(
            lambda c, xb: (c, self.apply(c[0], xb, c[1])),
            (params, model_state),
            x.reshape(blocks, size, *x.shape[1:]),
        )
        return out.reshape(blocks * size, *out.shape[2:])[:n]

    def evaluate(self, params: Any, data: Data | None = None,
                 model_state: Any = None) -> dict[str, jax.Array]:  # fmt: skip
        """Every metric on the full train and test sets ("train_loss", ...),
        in evaluation mode (running averages, no dropout, no augmentation)."""
        x_train, y_train, x_test, y_test = self._data(data)
        out = {}
        for split, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
            outputs = self.outputs(params, x, model_state)
            for name, value in self.task.metrics(outputs, y).items():
                out[f"{split}_{name}"] = value
        return out

    def correct(self, params: Any, data: Data | None = None,
                model_state: Any = None) -> jax.Array:  # fmt: skip
        """(M,) bool: which test examples the restart gets right (classification)."""
        if self.task.correct is None:
            raise ValueError(
                f"task {self.task.name!r} is a {self.task.kind} task: it has no "
                "per-example correctness."
            )
        x_test, y_test = self._data(data)[2:]
        return self.task.correct(self.outputs(params, x_test, model_state), y_test)

    def predictions(self, params: Any, data: Data | None = None,
                    model_state: Any = None) -> dict[str, jax.Array]:  # fmt: skip
        """The restart's test-set predictions, compactly.

        Classification: "test_predicted" (M,) int16, the predicted class, and
        "test_p_true" (M,) float32, the probability given to the true class
        (softmax of the outputs; with one output unit, the output clipped to
        [0, 1] is the probability of class 1). Regression: "test_output"
        (M, out) float32.
        """
        x_test, y_test = self._data(data)[2:]
        out = self.outputs(params, x_test, model_state).astype(jnp.float32)
        if self.task.kind != "classification":
            return {"test_output": out}
        labels = jnp.asarray(y_test).reshape(out.shape[0])
        if out.shape[-1] == 1:
            p1 = jnp.clip(out[:, 0], 0.0, 1.0)
            predicted = (out[:, 0] > 0.5).astype(jnp.int16)
            p_true = jnp.where(labels == 1, p1, 1.0 - p1)
        else:
            probs = jax.nn.softmax(out, axis=-1)
            predicted = jnp.argmax(out, axis=-1).astype(jnp.int16)
            p_true = jnp.take_along_axis(probs, labels[:, None], axis=-1)[:, 0]
        return {"test_predicted": predicted, "test_p_true": p_true}


def _all_finite(tree) -> jax.Array:
    leaves = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)]
    return jnp.all(jnp.stack(leaves)) if leaves else jnp.ones((), bool)


def make_train(
    task: Task | str,
    model: PureModel | None = None,
    optimizer: optax.GradientTransformation | str | None = None,
    *,
    learning_rate: float | None = None,
    batch_size: int | None = None,
    steps: int | None = None,
    eval_every: int | None = None,
    kernel_init: Any = None,
    bias_init: Any = None,
    compute_dtype: str | None = None,
    data_order: str | None = None,
) -> TrainCore:
    """The pure training functions of one restart, to jit/vmap/shard yourself.

    In the spirit of PureJaxRL's ``make_train``: ``core.init(init_key,
    data_key)`` draws the parameters (init key) and the first epoch's order
    (data key); ``core.train(state)`` runs every step with evaluations every
    ``eval_every`` steps and returns ``(state, metrics)``, metric -> (E,)
    values at ``core.eval_steps``. :func:`initlab.train` is this core vmapped
    over restarts with the keys of :func:`initlab.stream_keys`, so both give
    the same numbers (to float rounding: XLA may reorder sums in a batch).

    Args:
      task: a Task or a built-in task name.
      model: a PureModel (default: the task's own).
      optimizer: an optax transformation or name (default: the task's, "sgd").
      learning_rate: for a named optimizer (default: the task's).
      batch_size, steps, eval_every: default the task's (eval_every at most
        steps).
      kernel_init, bias_init: initializers (names, configs or functions) for
        ``init`` (None: the model's own).
      compute_dtype: mixed precision (see :class:`TrainCore`); default None.
      data_order: "shuffle" or "sequential" (default: the task's, "shuffle").

    Returns:
      :class:`TrainCore`.

    Raises:
      ValueError / TypeError: as :class:`initlab.TrainConfig`.

    Example:
      >>> task = initlab.get_task("xor")
      >>> core = initlab.make_train(task, steps=500, eval_every=100,
      ...                           kernel_init="glorot_uniform")
      >>> init_keys, data_keys = initlab.stream_keys(0, range(8), range(8))
      >>> state = jax.vmap(core.init)(init_keys, data_keys)
      >>> state, metrics = jax.jit(jax.vmap(core.train))(state)
      >>> out = initlab.train(task, "glorot_uniform", num_restarts=8, steps=500,
      ...                     eval_every=100, progress=False)
      >>> bool(np.allclose(metrics["train_loss"], out.curves["train_loss"],
      ...                  rtol=1e-5, atol=1e-6))
      True
    """
    from initlab.engine.build import resolve
    from initlab.engine.config import TrainConfig

    config = TrainConfig(
        task=task, model=model, optimizer=optimizer, learning_rate=learning_rate,
        batch_size=batch_size, steps=steps, eval_every=eval_every,
        initializers=kernel_init if kernel_init is not None else "glorot_uniform",
        bias_init=bias_init, compute_dtype=compute_dtype, data_order=data_order,
    )  # fmt: skip
    run = resolve(config)
    label = next(iter(run.initializers))
    c = run.config
    return TrainCore(
        task=run.task, model=run.model, optimizer=run.optimizer,
        batch_size=c.batch_size, steps=c.steps, eval_every=c.eval_every,
        kernel_init=run.initializers[label] if kernel_init is not None else None,
        bias_init=run.bias_inits[label], compute_dtype=c.compute_dtype,
        data_order=c.data_order,
    )  # fmt: skip
