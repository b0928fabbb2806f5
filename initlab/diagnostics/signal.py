"""Signal statistics per layer at init, of the one MLP or of any PureModel."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from initlab import _checks, models, registry, tree_paths
from initlab._types import PRNGKey, PyTree
from initlab.diagnostics.mlp import _as_params, _is_layer_list, _widths

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


def _stacks(arrays: Sequence[jax.Array]) -> list[jax.Array]:
    """Consecutive arrays of one shape stacked: [(T, ...), ...] in order.

    A deep square MLP's 64 pre-activations become one (64, batch, width)
    array, so each statistic is one reduction, not 64 (compile time).
    """
    runs: list[list[jax.Array]] = []
    for a in arrays:
        if runs and runs[-1][0].shape == a.shape and runs[-1][0].dtype == a.dtype:
            runs[-1].append(a)
        else:
            runs.append([a])
    return [jnp.stack(run) for run in runs]


def _per_layer(fn: Callable, arrays: Sequence[jax.Array]) -> jax.Array:
    """``fn(stack) -> (T,)`` over :func:`_stacks`, concatenated: (len(arrays),)."""
    return jnp.concatenate([fn(s) for s in _stacks(arrays)])


def _axes(s: jax.Array) -> tuple[int, ...]:
    return tuple(range(1, s.ndim))


def _dead(stack: jax.Array, phi: Callable) -> jax.Array:
    """Per layer of a stack (T, batch, ..., units): fraction of units with
    phi'(h) == 0 on every example."""
    slope = jax.jvp(phi, (stack,), (jnp.ones_like(stack),))[1]
    units = slope.reshape(stack.shape[0], -1, stack.shape[-1])
    return jnp.mean(jnp.all(units == 0, axis=1).astype(stack.dtype), axis=-1)


def _mse(out: jax.Array, targets: jax.Array | None) -> jax.Array:
    err = out if targets is None else out - targets
    return 0.5 * jnp.mean(jnp.sum(err.reshape(err.shape[0], -1) ** 2, axis=-1))


def _stats(
    model: models.PureModel,
    params: PyTree,
    x: jax.Array,
    phi: Callable | None,
    targets: jax.Array | None,
    gradients: bool,
    jacobian: bool,
    where: str,
) -> SignalStats:
    """:class:`SignalStats` of one network of ``model`` (pure, jittable).

    Layers: the sown ``"preactivations"`` (hidden) and then the output. A
    model whose forward sows nothing is an error unless it has a single
    kernel (a linear MLP: one layer, the output).
    """

    def forward(p):
        out, values = model.intermediates(p, x)
        return _mse(out, targets), (out, values)

    # gradients / jacobian are Python bools (static under jit): skip the work.
    # The gradient's forward pass is the one that gives the statistics.
    if gradients:
        grads, (out, values) = jax.grad(forward, has_aux=True)(params)
    else:
        grads, (out, values) = None, forward(params)[1]
    hidden = list(values.get("preactivations", ()))
    kernels = [layer.kernel_path for layer in tree_paths.layers(params)]
    if not hidden and len(kernels) != 1:
        raise ValueError(
            f"{where}: the model sowed no 'preactivations'; got {sorted(values)}. "
            "Sow each hidden pre-activation (as initlab.models.MLP does)."
        )
    hs = [*hidden, out]
    mean = _per_layer(lambda s: jnp.mean(s, axis=_axes(s)), hs)
    variance = _per_layer(lambda s: jnp.var(s, axis=_axes(s)), hs)
    second = _per_layer(lambda s: jnp.mean(s * s, axis=_axes(s)), hs)
    nan = jnp.full((1,), jnp.nan, mean.dtype)
    if phi is None or not hidden:
        dead = jnp.full((len(hs),), jnp.nan, mean.dtype)
    else:  # the output layer has no activation
        dead = jnp.concatenate([_per_layer(lambda s: _dead(s, phi), hidden), nan])
    if grads is not None:
        by_path = dict(tree_paths.leaves_with_paths(grads))
        grad_norm = _per_layer(
            lambda s: jnp.sqrt(jnp.sum(s * s, axis=_axes(s))),
            [by_path[path] for path in kernels],
        )
    else:
        grad_norm = jnp.full((len(kernels),), jnp.nan, mean.dtype)
    if jacobian:
        jac = jax.jacfwd(lambda x0: model.apply(params, x0[None])[0])(x[0])
        svs = jnp.linalg.svd(jac.reshape(jac.shape[0], -1), compute_uv=False)
    else:
        svs = jnp.zeros((0,), mean.dtype)
    return SignalStats(mean, variance, second, grad_norm, dead, svs)


def signal_stats(
    params: PyTree,
    x: jax.Array,
    activation: str | Callable = "relu",
    targets: jax.Array | None = None,
    gradients: bool = True,
    jacobian: bool = True,
) -> SignalStats:
    """Signal-propagation statistics of one MLP on one batch (pure, jittable).

    The MLP is the one of :mod:`initlab.models`: ``params`` is its tree
    (``layers/<i>/kernel|bias``, e.g. from ``initlab.models.mlp(...).init``)
    and the network is :func:`initlab.models.mlp_from_params` of it, so
    layer ``l``'s pre-activation is ``h_l = phi(h_{l-1}) W_l + b_l``
    (``h_0 = x``) and the last one is the output. The loss for the gradient
    norms is ``mean_b 0.5 ||f(x_b) - y_b||^2`` with ``y = targets`` (zeros
    when None). The Jacobian is of the output with respect to the first
    example ``x[0]``.

    Args:
      params: one MLP's params tree (no restart axis; vmap the call for
        many). A list of ``(kernel, bias)`` layers is accepted, deprecated.
      x: inputs (batch, in_features).
      activation: a name from ``ACTIVATIONS`` or an elementwise callable.
      targets: (batch, out_features) or None.
      gradients: compute ``grad_norm`` (default True; NaN otherwise).
      jacobian: compute the Jacobian's singular values (default True; an
        empty array otherwise). Each costs about one more forward pass.

    Returns:
      :class:`SignalStats` for the ``L`` layers of the MLP.

    Raises:
      ValueError: ``params`` is not one MLP's tree, or ``x`` has the wrong
        width; an unknown activation.
      TypeError: ``gradients`` or ``jacobian`` not a bool.

    Example:
      >>> key = jax.random.key(0)
      >>> x = jax.random.normal(jax.random.key(1), (512, 256))
      >>> model = initlab.models.mlp((256,) * 8, 256, 256)
      >>> s = signal_stats(model.init(key, initlab.he_normal()), x, "relu")
      >>> s.second_moment   # ~ constant over the 9 layers for ReLU + He
    """
    gradients = _checks.boolean(gradients, "gradients", where="signal_stats")
    jacobian = _checks.boolean(jacobian, "jacobian", where="signal_stats")
    if _is_layer_list(params):
        warnings.warn(
            "signal_stats: a list of (kernel, bias) layers is deprecated (initlab "
            "has one MLP, initlab.models.MLP); pass its params tree, e.g. from "
            "initlab.models.mlp(widths, in_features, out_features).init(key, ...).",
            DeprecationWarning,
            stacklevel=2,
        )
        params = _as_params(params)
    model = models.mlp_from_params(params, activation)
    phi = models.get_activation(activation)
    return _stats(model, params, x, phi, targets, gradients, jacobian, "signal_stats")


def _keys(keys: PRNGKey | int, num_keys: int | None, where: str) -> jax.Array:
    """A batch of keys (K,) from a batch, one key or an int seed."""
    if num_keys is not None:
        num_keys = _checks.positive_int(num_keys, "num_keys", where=where)
    if isinstance(keys, int | np.integer) and not isinstance(keys, bool):
        keys = jax.random.key(_checks.integer(keys, "the seed", low=0, where=where))
    typed = isinstance(keys, jax.Array) and jax.dtypes.issubdtype(
        keys.dtype, jax.dtypes.prng_key
    )
    if not typed:
        raise TypeError(
            f"{where}: keys must be a typed key (jax.random.key), a batch of them or "
            f"an int seed; got {type(keys).__name__} {keys!r:.60}."
        )
    if keys.ndim == 0:
        n = 8 if num_keys is None else num_keys
        # fold_in, not split: key i does not depend on how many keys there are.
        return jax.vmap(lambda i: jax.random.fold_in(keys, i))(jnp.arange(n))
    if keys.ndim != 1:
        raise ValueError(f"{where}: keys must be one key or (K,); got {keys.shape}.")
    return keys


def _per_shape(init: Any) -> Callable | None:
    """``init`` compiled once per (shape, dtype): the same bits, drawn by a
    cached executable, so a deep MLP's layers of one shape share one compile."""
    if init is None:
        return None
    compiled = jax.jit(registry.get(init), static_argnums=(1, 2))

    def draw(key, shape, dtype=jnp.float32):
        return compiled(key, tuple(shape), dtype)

    return draw


def _draw(
    model: models.PureModel,
    keys: jax.Array,
    kernel_init: Any,
    bias_init: Any,
) -> PyTree:
    """``model.init`` for every key, stacked on a leading key axis (K, ...).

    An eager ``vmap`` over the keys whose initializers are jitted per shape:
    a jitted ``vmap(model.init)`` would compile every layer's draw (XLA:CPU
    took ~4 s for 65 He-normal layers of 128 x 128), this compiles one per
    layer shape and then only dispatches. ``vmap`` and ``jit`` do not change
    the draws: same keys, same bits as ``model.init(key, ...)``.
    """
    kernel_init, bias_init = _per_shape(kernel_init), _per_shape(bias_init)
    return jax.vmap(lambda k: model.init(k, kernel_init, bias_init))(keys)


@functools.lru_cache(maxsize=64)
def _mlp_stats(
    sizes: tuple[int, ...],
    activation: str | Callable,
    dtype: Any,
    gradients: bool,
    jacobian: bool,
) -> tuple[models.PureModel, Callable]:
    """The MLP of ``sizes`` and its jitted ``stats(params (K, ...), x, targets)``.

    One object per arguments, so every initializer of a sweep with the same
    sizes and activation shares one compilation.
    """
    model = models.mlp(sizes[1:-1], sizes[0], sizes[-1], activation,
                       param_dtype=dtype)  # fmt: skip
    phi = models.get_activation(activation)

    def one(params, x, targets):
        return _stats(model, params, x, phi, targets, gradients, jacobian,
                      "signal_propagation")  # fmt: skip

    return model, jax.jit(jax.vmap(one, in_axes=(0, None, None)))


def signal_propagation(
    keys: PRNGKey | int,
    widths: Sequence[int],
    kernel_init: Callable,
    bias_init: Callable | None = None,
    activation: str | Callable = "relu",
    x: jax.Array | None = None,
    targets: jax.Array | None = None,
    num_keys: int | None = None,
    batch_size: int = 256,
    gradients: bool = True,
    jacobian: bool = True,
) -> SignalStats:
    """:func:`signal_stats` of MLPs drawn with many keys (one compile).

    The networks are ``initlab.models.mlp(widths[1:-1], widths[0],
    widths[-1], activation)``, one ``init(key, kernel_init, bias_init)`` per
    key (jitted and vmapped over the keys); the statistics are then one
    jitted ``vmap`` whose compilation is shared by every initializer with the
    same widths and activation.

    Args:
      keys: a batch of keys (K,), one key (then ``num_keys`` keys are folded
        from it, default 8) or an int seed.
      widths: ``(in_features, hidden..., out_features)``.
      kernel_init, bias_init: initializers of every kernel and bias (bias
        default zeros).
      activation: a name from ``ACTIVATIONS`` or a callable (it keys the
        compile cache: pass the same object to share a compilation).
      x: inputs (batch, in_features); default ``batch_size`` standard normal
        rows drawn from ``jax.random.key(0)`` (the same for every network).
        The parameters are drawn in its dtype.
      targets: as :func:`signal_stats`; default zeros.
      num_keys: how many keys to fold from a single key.
      batch_size: rows of the default ``x``.
      gradients, jacobian: as :func:`signal_stats`.

    Returns:
      :class:`SignalStats` with a leading key axis (K, ...).

    Raises:
      ValueError: fewer than two widths, an unknown activation, or ``x`` of
        the wrong width.
      TypeError: keys that are not typed keys or a seed.

    Example:
      >>> s = signal_propagation(0, (256,) * 33, initlab.lecun_normal(),
      ...                        activation="tanh", num_keys=16)
      >>> s.second_moment.mean(0)   # ~ 1 / (2 l) deep in the net
    """
    where = "signal_propagation"
    widths = _widths(widths, where)
    models.get_activation(activation)
    gradients = _checks.boolean(gradients, "gradients", where=where)
    jacobian = _checks.boolean(jacobian, "jacobian", where=where)
    keys = _keys(keys, num_keys, where)
    if x is None:
        batch_size = _checks.positive_int(batch_size, "batch_size", where=where)
        x = jax.random.normal(jax.random.key(0), (batch_size, widths[0]))
    x = jnp.asarray(x)
    if x.ndim != 2 or x.shape[1] != widths[0]:
        raise ValueError(f"{where}: x must be (batch, {widths[0]}); got {x.shape}.")
    model, stats = _mlp_stats(widths, activation, x.dtype, gradients, jacobian)
    return stats(_draw(model, keys, kernel_init, bias_init), x, targets)


def model_signal_propagation(
    model: Any,
    keys: PRNGKey | int,
    x: jax.Array,
    kernel_init: Callable | None = None,
    bias_init: Callable | None = None,
    activation: str | Callable | None = None,
    targets: jax.Array | None = None,
    num_keys: int | None = None,
    gradients: bool = True,
    jacobian: bool = True,
) -> SignalStats:
    """:class:`SignalStats` of a :class:`initlab.models.PureModel`, vmapped.

    Uses ``model.init(key, kernel_init, bias_init)`` and
    ``model.intermediates(params, x)`` (the sown ``"preactivations"``, one per
    hidden layer) followed by the output, so the layers are the hidden ones
    plus the output. Gradient norms are of the leaves named ``kernel``, in tree
    order (for :class:`initlab.models.MLP`, one per layer, matching the
    pre-activations). The Jacobian is of the output at ``x[0]``. For the MLP
    this is :func:`signal_propagation` on the model's own parameters.

    Args:
      model: a ``PureModel`` with ``intermediates`` (e.g. ``models.mlp``).
      keys: as :func:`signal_propagation`.
      x: inputs (batch, ...).
      kernel_init, bias_init: passed to ``model.init`` (None: the model's).
      activation: the hidden activation, only for ``dead_fraction`` (NaN when
        None: a PureModel does not say which it uses).
      targets: as :func:`signal_stats`.
      num_keys: as :func:`signal_propagation`.
      gradients, jacobian: as :func:`signal_stats` (default True).

    Returns:
      :class:`SignalStats` with a leading key axis; ``grad_norm`` has one
      entry per kernel leaf.

    Raises:
      ValueError: a model without ``intermediates`` or that sows no
        "preactivations".

    Example:
      >>> x = jax.random.normal(jax.random.key(1), (512, 256))
      >>> from initlab import models
      >>> s = model_signal_propagation(models.mlp((256,) * 8, 256, 10), 0, x,
      ...                              initlab.he_normal(), activation="relu")
    """
    where = "model_signal_propagation"
    if getattr(model, "intermediates", None) is None:
        raise ValueError(
            f"{where}: {getattr(model, 'name', model)!r} has no intermediates "
            "function; build it with initlab.models.from_nnx from a module that "
            "sows 'preactivations' (e.g. models.MLP)."
        )
    gradients = _checks.boolean(gradients, "gradients", where=where)
    jacobian = _checks.boolean(jacobian, "jacobian", where=where)
    phi = None if activation is None else models.get_activation(activation)
    keys = _keys(keys, num_keys, where)
    x = jnp.asarray(x)

    def one(params):
        return _stats(model, params, x, phi, targets, gradients, jacobian, where)

    return jax.jit(jax.vmap(one))(_draw(model, keys, kernel_init, bias_init))
