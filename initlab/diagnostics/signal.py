"""Signal statistics per layer at init: one MLP, vmapped over keys, any PureModel."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from initlab._types import PRNGKey, PyTree
from initlab.diagnostics.mlp import Layer, _activation, mlp_init

LAYER_STATISTICS = ("mean", "variance", "second_moment", "grad_norm", "dead_fraction")
JACOBIAN_STATISTICS = (
    "jacobian_sv_max",
    "jacobian_sv_min",
    "jacobian_sv_mean",
    "jacobian_sv_std",
)


class SignalStats(NamedTuple):
    """Per-layer statistics at initialization.

    Shapes below are for one network; :func:`signal_propagation` adds a
    leading ``key`` axis to each.

    Attributes:
      mean: (L,) mean of the pre-activation entries (batch x units).
      variance: (L,) their variance.
      second_moment: (L,) ``q_l = mean(h_l^2)``.
      grad_norm: (L,) Frobenius norm of ``dLoss/dW_l``.
      dead_fraction: (L,) fraction of units whose activation derivative is 0 on
        every example (NaN for the output layer, which has no activation).
      jacobian_singular_values: (min(d_in, d_L),) singular values of
        ``d h_L / d x`` at the first example, descending.
    """

    mean: jax.Array
    variance: jax.Array
    second_moment: jax.Array
    grad_norm: jax.Array
    dead_fraction: jax.Array
    jacobian_singular_values: jax.Array


def _blocks(params: Sequence[Layer]) -> list[tuple[jax.Array, jax.Array]]:
    """Layers stacked into runs of equal shapes: [(W (T, in, out), b (T, out))].

    The first layer is its own block (it gets the raw input, no activation);
    every later run of equal-shaped layers becomes one block that a
    ``lax.scan`` walks, so a deep square MLP compiles like a shallow one.
    """
    blocks = [(params[0][0][None], params[0][1][None])]
    i = 1
    while i < len(params):
        j = i
        shape = (params[i][0].shape, params[i][1].shape)
        while (
            j + 1 < len(params)
            and (
                params[j + 1][0].shape,
                params[j + 1][1].shape,
            )
            == shape
        ):
            j += 1
        run = params[i : j + 1]
        blocks.append((jnp.stack([w for w, _ in run]), jnp.stack([b for _, b in run])))
        i = j + 1
    return blocks


def _block_forward(blocks, x: jax.Array, phi: Callable) -> list[jax.Array]:
    """Pre-activations per block, each (T, batch, out)."""
    w0, b0 = blocks[0]
    h = x @ w0[0] + b0[0][None, :]
    out = [h[None]]

    def step(h, wb):
        w, b = wb
        h = phi(h) @ w + b[None, :]
        return h, h

    for w, b in blocks[1:]:
        if w.shape[1] == w.shape[2]:
            h, hs = jax.lax.scan(step, h, (w, b))
        else:  # a non-square layer cannot repeat: T == 1
            h, hs = step(h, (w[0], b[0]))
            hs = hs[None]
        out.append(hs)
    return out


def _moments(hs: Sequence[jax.Array]) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Per-layer mean, variance, second moment of blocks (T, batch, ...)."""
    axes = lambda h: tuple(range(1, h.ndim))  # noqa: E731
    mean = jnp.concatenate([jnp.mean(h, axis=axes(h)) for h in hs])
    variance = jnp.concatenate([jnp.var(h, axis=axes(h)) for h in hs])
    second = jnp.concatenate([jnp.mean(h * h, axis=axes(h)) for h in hs])
    return mean, variance, second


def _dead(h: jax.Array, phi: Callable) -> jax.Array:
    """Per layer of a block (T, batch, ..., units): fraction of units with
    phi'(h) == 0 on every example."""
    slope = jax.jvp(phi, (h,), (jnp.ones_like(h),))[1]
    units = slope.reshape(h.shape[0], -1, h.shape[-1])
    return jnp.mean(jnp.all(units == 0, axis=1).astype(jnp.float32), axis=-1)


def _mse(out: jax.Array, targets: jax.Array | None) -> jax.Array:
    err = out if targets is None else out - targets
    return 0.5 * jnp.mean(jnp.sum(err.reshape(err.shape[0], -1) ** 2, axis=-1))


def signal_stats(
    params: Sequence[Layer],
    x: jax.Array,
    activation: str | Callable = "relu",
    targets: jax.Array | None = None,
    gradients: bool = True,
    jacobian: bool = True,
) -> SignalStats:
    """Signal-propagation statistics of one MLP on one batch (pure, jittable).

    The loss for the gradient norms is ``mean_b 0.5 ||f(x_b) - y_b||^2`` with
    ``y = targets`` (zeros when None). The Jacobian is of the last layer's
    pre-activation (the output) with respect to the first example ``x[0]``.
    Runs of equal-shaped layers are walked by ``lax.scan``, so compile time
    hardly grows with depth.

    Args:
      params: ``[(W, b), ...]`` (see :func:`mlp_init`).
      x: inputs (batch, in_features).
      activation: a name from ``ACTIVATIONS`` or an elementwise callable.
      targets: (batch, out_features) or None.
      gradients: compute ``grad_norm`` (default True; NaN otherwise).
      jacobian: compute the Jacobian's singular values (default True; an
        empty array otherwise). Each costs about one more forward pass.

    Returns:
      :class:`SignalStats` for ``L = len(params)`` layers.

    Example:
      >>> s = signal_stats(mlp_init(key, (256,) * 9, initlab.he_normal()), x)
      >>> s.second_moment   # ~ constant over the 8 layers for ReLU + He
    """
    _, phi = _activation(activation)
    blocks = _blocks([tuple(layer) for layer in params])
    hs = _block_forward(blocks, x, phi)
    mean, variance, second = _moments(hs)
    dead = jnp.concatenate([_dead(h, phi) for h in hs])
    dead = dead.at[-1].set(jnp.nan)  # the output layer has no activation

    # gradients / jacobian are Python bools (static under jit): skip the work.
    if gradients:

        def loss(kernels):
            bl = [(w, b) for w, (_, b) in zip(kernels, blocks, strict=True)]
            return _mse(_block_forward(bl, x, phi)[-1][-1], targets)

        grads = jax.grad(loss)([w for w, _ in blocks])
        grad_norm = jnp.concatenate(
            [jnp.sqrt(jnp.sum(g * g, axis=(1, 2))) for g in grads]
        )
    else:
        grad_norm = jnp.full(mean.shape, jnp.nan, mean.dtype)
    if jacobian:
        jac = jax.jacfwd(lambda x0: _block_forward(blocks, x0[None], phi)[-1][-1, 0])(
            x[0]
        )
        svs = jnp.linalg.svd(jac, compute_uv=False)
    else:
        svs = jnp.zeros((0,), mean.dtype)
    return SignalStats(mean, variance, second, grad_norm, dead, svs)


@functools.partial(jax.jit, static_argnames=("activation", "gradients", "jacobian"))
def _batched_stats(params, x, targets, activation, gradients, jacobian):
    return jax.vmap(
        lambda p: signal_stats(p, x, activation, targets, gradients, jacobian)
    )(params)


def _keys(keys: PRNGKey | int, num_keys: int | None) -> jax.Array:
    if isinstance(keys, int):
        keys = jax.random.key(keys)
    if keys.ndim == 0:
        n = 8 if num_keys is None else num_keys
        # fold_in, not split: key i does not depend on how many keys there are.
        return jax.vmap(lambda i: jax.random.fold_in(keys, i))(jnp.arange(n))
    return keys


def signal_propagation(
    keys: PRNGKey | int,
    widths: Sequence[int],
    kernel_init: Callable,
    bias_init: Callable | None = None,
    activation: str = "relu",
    x: jax.Array | None = None,
    targets: jax.Array | None = None,
    num_keys: int | None = None,
    batch_size: int = 256,
    gradients: bool = True,
    jacobian: bool = True,
) -> SignalStats:
    """:func:`signal_stats` of MLPs drawn with many keys (one compile).

    Parameters for every key are drawn first (``vmap(mlp_init)``, eagerly:
    its ops compile once per shape, not once per layer); the statistics are
    then computed by one jitted ``vmap`` whose compilation is shared by every
    initializer with the same widths and activation.

    Args:
      keys: a batch of keys (K,), one key (then ``num_keys`` keys are folded
        from it, default 8) or an int seed.
      widths: ``(in_features, hidden..., out_features)``.
      kernel_init, bias_init: as :func:`mlp_init` (bias default zeros).
      activation: a name from ``ACTIVATIONS`` (static for the compile cache).
      x: inputs (batch, in_features); default ``batch_size`` standard normal
        rows drawn from ``jax.random.key(0)`` (the same for every network).
      targets: as :func:`signal_stats`; default zeros.
      num_keys: how many keys to fold from a single key.
      batch_size: rows of the default ``x``.
      gradients, jacobian: as :func:`signal_stats`.

    Returns:
      :class:`SignalStats` with a leading key axis (K, ...).

    Raises:
      ValueError: an unknown activation, or ``x`` of the wrong width.

    Example:
      >>> s = signal_propagation(0, (256,) * 33, initlab.lecun_normal(),
      ...                        activation="tanh", num_keys=16)
      >>> s.second_moment.mean(0)   # ~ 1 / (2 l) deep in the net
    """
    name, _ = _activation(activation)
    if not isinstance(activation, str):
        raise TypeError(
            "signal_propagation: activation must be a name (it keys the compile "
            f"cache); got {activation!r:.60}. Call signal_stats for a callable."
        )
    keys = _keys(keys, num_keys)
    widths = tuple(widths)
    if x is None:
        x = jax.random.normal(jax.random.key(0), (batch_size, widths[0]))
    if x.ndim != 2 or x.shape[1] != widths[0]:
        raise ValueError(
            f"signal_propagation: x must be (batch, {widths[0]}); got {x.shape}."
        )
    params = jax.vmap(lambda k: mlp_init(k, widths, kernel_init, bias_init, x.dtype))(
        keys
    )
    return _batched_stats(params, x, targets, name, gradients, jacobian)


def _kernel_paths(params: PyTree) -> list[tuple[Any, ...]]:
    """Key paths of the leaves named "kernel", in tree order."""
    paths = []
    for path, _ in jax.tree_util.tree_flatten_with_path(params)[0]:
        names = [getattr(k, "key", getattr(k, "name", None)) for k in path]
        if "kernel" in names:
            paths.append(path)
    return paths


def model_signal_propagation(
    model: Any,
    keys: PRNGKey | int,
    x: jax.Array,
    kernel_init: Callable | None = None,
    bias_init: Callable | None = None,
    activation: str | Callable | None = None,
    targets: jax.Array | None = None,
    num_keys: int | None = None,
) -> SignalStats:
    """:class:`SignalStats` of a :class:`initlab.models.PureModel`, vmapped.

    Uses ``model.init(key, kernel_init, bias_init)`` and
    ``model.intermediates(params, x)`` (the sown ``"preactivations"``, one per
    hidden layer) followed by the output, so the layers are the hidden ones
    plus the output. Gradient norms are of the leaves named ``kernel``, in tree
    order (for :class:`initlab.models.MLP`, one per layer, matching the
    pre-activations). The Jacobian is of the output at ``x[0]``.

    Args:
      model: a ``PureModel`` with ``intermediates`` (e.g. ``models.mlp``).
      keys: as :func:`signal_propagation`.
      x: inputs (batch, ...).
      kernel_init, bias_init: passed to ``model.init`` (None: the model's).
      activation: the hidden activation, only for ``dead_fraction`` (NaN when
        None: a PureModel does not say which it uses).
      targets: as :func:`signal_stats`.
      num_keys: as :func:`signal_propagation`.

    Returns:
      :class:`SignalStats` with a leading key axis; ``grad_norm`` has one
      entry per kernel leaf.

    Raises:
      ValueError: a model without ``intermediates`` or that sows no
        "preactivations".

    Example:
      >>> s = model_signal_propagation(models.mlp((256,) * 8, 256, 10), 0, x,
      ...                              initlab.he_normal(), activation="relu")
    """
    if getattr(model, "intermediates", None) is None:
        raise ValueError(
            f"model_signal_propagation: {getattr(model, 'name', model)!r} has no "
            "intermediates function; build it with initlab.models.from_nnx from a "
            "module that sows 'preactivations' (e.g. models.MLP)."
        )
    phi = None if activation is None else _activation(activation)[1]
    keys = _keys(keys, num_keys)

    def one(key):
        params = model.init(key, kernel_init, bias_init)
        out, values = model.intermediates(params, x)
        hidden = list(values.get("preactivations", ()))
        if not hidden:
            raise ValueError(
                "model_signal_propagation: the model sowed no 'preactivations'; "
                f"got {sorted(values)}."
            )
        hs = [h[None] for h in (*hidden, out)]
        mean, variance, second = _moments(hs)
        nan = jnp.full((1,), jnp.nan)
        dead = [nan if phi is None else _dead(h, phi) for h in hs[:-1]]
        dead = jnp.concatenate([*dead, nan])
        paths = _kernel_paths(params)

        def loss(p):
            return _mse(model.apply(p, x), targets)

        grads = jax.grad(loss)(params)
        flat = dict(jax.tree_util.tree_flatten_with_path(grads)[0])
        grad_norm = jnp.stack([jnp.sqrt(jnp.sum(flat[p] ** 2)) for p in paths])
        jac = jax.jacfwd(lambda x0: model.apply(params, x0[None])[0])(x[0])
        jac = jac.reshape(jac.shape[0], -1)
        svs = jnp.linalg.svd(jac, compute_uv=False)
        return SignalStats(mean, variance, second, grad_norm, dead, svs)

    return jax.jit(jax.vmap(one))(keys)
