"""The coordinate check: does each layer's activation scale stay put as width grows?

Yang et al. (2022)'s test of a parametrization, as in the mup package: train
networks of several widths for a few steps on one fixed batch, and after each
step record the average size of the coordinates of every layer's
(pre-)activations. Under µP the curves of size against width are flat at
every step; under SP with Adam they grow with width after the first update
(the update of a width-n layer moves its output by ~n times the step).

Here every width's restarts train in one compiled, vmapped loop (the engine's
pure core, :func:`initlab.make_train`, one compile per width), restart i with
the engine's keys for restart i at every width.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from initlab import _checks
from initlab.engine import build_task, make_train
from initlab.engine.build import num_outputs
from initlab.engine.keys import stream_key
from initlab.models import PureModel
from initlab.parametrization.rules import Parametrization, ParametrizedModel

Statistic = Literal["l1", "rms"]
STATISTICS: tuple[str, ...] = ("l1", "rms")


def _size(x: jax.Array, statistic: str) -> jax.Array:
    """mean |x| ("l1", mup's default) or sqrt(mean x^2) ("rms") over every entry."""
    x = x.astype(jnp.float32)
    if statistic == "l1":
        return jnp.mean(jnp.abs(x))
    return jnp.sqrt(jnp.mean(jnp.square(x)))


def coord_check(
    models: Parametrization | Callable[[int], ParametrizedModel | PureModel],
    widths: Sequence[int],
    task: Any = "digits",
    *,
    optimizer: str = "adam",
    learning_rate: float | None = None,
    steps: int = 3,
    num_restarts: int = 4,
    batch_size: int = 32,
    hidden_layers: int = 2,
    kernel_init: Any = "he_normal",
    statistic: Statistic = "l1",
    seed: int = 0,
):
    """Per-layer activation size after t = 0..steps updates, for each width.

    For every width: the model is built, ``num_restarts`` restarts are drawn
    (the init keys ``initlab.train`` gives restarts 0..R-1 under ``seed``) and
    trained for ``steps`` full-batch steps on the first ``batch_size``
    training examples (one fixed batch, as mup's ``fix_data``), vmapped over
    the restarts in one compiled loop. Before the first step (t = 0) and after
    each step, the batch's hidden pre-activations (each layer's ``x W + b``,
    as the model sows them) and its outputs are measured by ``statistic`` over
    every entry (batch x units).

    Args:
      models: a :class:`Parametrization` (an MLP of ``hidden_layers`` layers
        of the width, sized from the task, with its optimizer) or a function
        ``width -> ParametrizedModel`` (its optimizer) or ``-> PureModel``
        (trained with ``optax.<optimizer>`` itself, e.g. to check your own
        model).
      widths: the widths, e.g. (256, 1024, 4096).
      task: the task whose first training examples form the batch (a Task,
        name or spec; default "digits").
      optimizer: "sgd" or "adam" (default "adam").
      learning_rate: default 0.1 for SGD and 1e-3 for Adam (mup's).
      steps: updates T (records t = 0..T). Default 3.
      num_restarts: restarts per width. Default 4.
      batch_size: examples in the fixed batch. Default 32.
      hidden_layers: depth of the MLP when ``models`` is a Parametrization.
      kernel_init: the engine's kernel initializer (the parametrization
        rescales it); default "he_normal".
      statistic: "l1" (mean |x|, mup's) or "rms".
      seed: the run seed of the init keys.

    Returns:
      A tidy ``pandas.DataFrame``: width, layer ("layer 1", ..., "output"),
      t, restart, value; ``frame.attrs`` holds the settings.

    Raises:
      ValueError / TypeError: bad widths, sizes, optimizer or statistic, a
        batch larger than the training set, a model that sows no
        pre-activations.

    Example:
      >>> frame = coord_check(Parametrization("mup", 16), (16, 64), steps=2,
      ...                     num_restarts=2)
      >>> coord_ratios(frame, 16, 64)  # ~1 for every layer and step

    References:
      Yang et al. (2022), "Tensor Programs V", Sec. D.1 (coordinate check);
      the mup package's ``mup/coord_check.py``.
    """
    import pandas as pd

    where = "coord_check"
    if isinstance(widths, int) or not isinstance(widths, Sequence) or not widths:
        raise TypeError(
            f"{where}: widths must be a non-empty sequence of ints, e.g. (256, "
            f"1024); got {widths!r}."
        )
    widths = [_checks.positive_int(w, "each width", where=where) for w in widths]
    if len(set(widths)) != len(widths):
        raise ValueError(f"{where}: widths {widths} repeat a width.")
    column = _checks.choice(optimizer, ("sgd", "adam"), "optimizer", where=where)
    lr = learning_rate if learning_rate is not None else (
        0.1 if column == "sgd" else 1e-3)  # fmt: skip
    lr = _checks.number(lr, "learning_rate", where=where, positive=True)
    steps = _checks.positive_int(steps, "steps", where=where)
    num_restarts = _checks.positive_int(num_restarts, "num_restarts", where=where)
    batch_size = _checks.positive_int(batch_size, "batch_size", where=where)
    hidden_layers = _checks.positive_int(hidden_layers, "hidden_layers", where=where)
    statistic = _checks.choice(statistic, STATISTICS, "statistic", where=where)
    seed = _checks.integer(seed, "seed", low=0, high=_checks.UINT32_LIMIT,
                           where=where)  # fmt: skip
    source = build_task(task)
    if batch_size > len(source.x_train):
        raise ValueError(
            f"{where}: batch_size {batch_size} is larger than {source.name!r}'s "
            f"{len(source.x_train)} training examples."
        )
    x = np.asarray(source.x_train[:batch_size])
    y = np.asarray(source.y_train[:batch_size])
    # The task itself (its loss and metrics) on one batch: full-batch steps
    # then train on exactly that batch every step.
    batch = dataclasses.replace(source, name=f"{source.name}[:{batch_size}]",
                                x_train=x, y_train=y, x_test=x, y_test=y)  # fmt: skip
    if isinstance(models, Parametrization):
        pz = models
        n_in, n_out = int(np.prod(x.shape[1:])), num_outputs(source)
        models = lambda w: pz.mlp((w,) * hidden_layers, n_in, n_out)  # noqa: E731
    elif not callable(models):
        raise TypeError(
            f"{where}: models must be a Parametrization or a function width -> "
            f"ParametrizedModel / PureModel; got {type(models).__name__}."
        )
    init_keys = stream_key(seed, "init", np.arange(num_restarts))
    data_keys = stream_key(seed, "data", np.arange(num_restarts))
    frames = []
    for width in widths:
        made = models(width)
        if isinstance(made, ParametrizedModel):
            model, opt = made.model, made.optimizer(column)(lr)
        elif isinstance(made, PureModel):
            import optax

            model, opt = made, getattr(optax, column)(lr)
        else:
            raise TypeError(
                f"{where}: models({width}) gave a {type(made).__name__}, not a "
                "ParametrizedModel or PureModel."
            )
        if model.intermediates is None:
            raise ValueError(
                f"{where}: model {model.name!r} sows no pre-activations "
                "(PureModel.intermediates is None); use initlab's MLP / CNN1D or "
                "from_nnx over a module that sows 'preactivations'."
            )
        core = make_train(batch, model, opt, batch_size=batch_size, steps=steps,
                          eval_every=steps, kernel_init=kernel_init)  # fmt: skip
        values = np.asarray(_run(core, statistic)(init_keys, data_keys))  # (R, T+1, L)
        n_layers = values.shape[-1]
        names = [f"layer {i + 1}" for i in range(n_layers - 1)] + ["output"]
        r, t, layer = np.meshgrid(np.arange(num_restarts), np.arange(steps + 1),
                                  np.arange(n_layers), indexing="ij")  # fmt: skip
        frames.append(pd.DataFrame({
            "width": width, "layer": np.asarray(names)[layer.ravel()],
            "t": t.ravel(), "restart": r.ravel(), "value": values.ravel(),
        }))  # fmt: skip
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs.update(dict(
        statistic=statistic, optimizer=column, learning_rate=lr, steps=steps,
        num_restarts=num_restarts, batch_size=batch_size, task=source.name,
        kernel_init=str(kernel_init), seed=seed, model=model.name,
    ))  # fmt: skip
    return frame


def _run(core, statistic: str):
    """``(init_keys, data_keys) -> (R, T+1, L)`` sizes, jitted and vmapped."""
    data = core.data()
    x = data[0]

    def sizes(params):
        out, sown = core.model.intermediates(params, x)
        hidden = list(sown.get("preactivations", ()))
        if not hidden:
            raise ValueError(
                f"coord_check: model {core.model.name!r} sowed no 'preactivations'."
            )
        return jnp.stack([_size(h, statistic) for h in [*hidden, out]])

    def one(init_key, data_key):
        state = core.init(init_key, data_key)

        def body(state, t):
            return core.step(state, t, data), sizes(state.params)

        state, before = jax.lax.scan(body, state, jnp.arange(core.steps))
        return jnp.concatenate([before, sizes(state.params)[None]])

    return jax.jit(jax.vmap(one))


def coord_ratios(frame, small: int, large: int):
    """Per layer and step: mean over restarts at ``large`` / at ``small``.

    Args:
      frame: :func:`coord_check`'s table.
      small, large: two of its widths.

    Returns:
      ``pandas.DataFrame`` with columns layer, t, small, large, ratio (NaN
      where both sizes are 0, e.g. a zero-initialized output at t = 0).

    Raises:
      ValueError: a width that is not in the table.

    Example:
      >>> frame = coord_check(Parametrization("mup", 16), (16, 64), steps=1,
      ...                     num_restarts=2)
      >>> coord_ratios(frame, 16, 64).ratio.between(1 / 1.2, 1.2).all()
    """
    widths = sorted(set(frame["width"].tolist()))
    for w in (small, large):
        if w not in widths:
            raise ValueError(f"coord_ratios: width {w} is not in the table {widths}.")
    mean = frame.groupby(["width", "layer", "t"], sort=False)["value"].mean()
    a = mean.loc[small].rename("small")
    b = mean.loc[large].rename("large")
    out = a.to_frame().join(b).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["ratio"] = np.where((out["small"] == 0) & (out["large"] == 0), np.nan,
                                out["large"] / out["small"])  # fmt: skip
    return out
