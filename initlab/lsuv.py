"""Layer-sequential unit-variance (LSUV) initialization: data-dependent init.

Mishkin & Matas (2016): start from orthonormal weights, then, layer by layer
from the input, run a batch through the network and divide the layer's kernel
by the standard deviation of its output (pre-activation) until that variance is
within ``tol`` of the target (at most ``max_iter`` times).

Every interface works on initlab's one MLP (:class:`initlab.models.MLP`, its
params tree ``layers/<i>/kernel|bias``) or on a model that sows its hidden
pre-activations like it; all are pure and reproducible from the key (vmap them
over keys):

* :func:`lsuv` draws ``initlab.models.mlp`` of given widths and rescales it;
* :func:`lsuv_rescale` rescales an MLP params tree you already have;
* :func:`lsuv_model` works on any :class:`initlab.models.PureModel` whose
  ``intermediates`` sow each hidden pre-activation: hidden layer ``l`` is
  matched with the ``l``-th leaf named ``kernel`` (tree order) and the output
  with the last one.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from initlab import _checks, models, tree_paths
from initlab._types import PRNGKey, PyTree
from initlab.initializers import orthogonal, zeros

Layer = tuple[jax.Array, jax.Array]


class LSUVResult(NamedTuple):
    """What LSUV returns (a pytree: vmap-friendly).

    Attributes:
      params: the rescaled parameters (same structure as the input).
      variances: (L,) each layer's output variance on the batch when its turn
        ended (later layers do not change it).
      iterations: (L,) int32, how many times each layer was rescaled.
    """

    params: PyTree
    variances: jax.Array
    iterations: jax.Array


def _check(target_variance, tol, max_iter, where):
    return (
        _checks.number(target_variance, "target_variance", where=where, positive=True),
        _checks.number(tol, "tol", where=where, positive=True),
        _checks.positive_int(max_iter, "max_iter", where=where),
    )


def _fit(scale_fn, variance_fn, state, target, tol, max_iter):
    """Rescales until |variance - target| < tol, max_iter times at most."""

    def cond(carry):
        _, v, i = carry
        # A zero variance (a dead layer) cannot be rescaled to the target.
        return (jnp.abs(v - target) >= tol) & (i < max_iter) & (v > 0)

    def body(carry):
        s, v, i = carry
        s = scale_fn(s, jnp.sqrt(target / v))
        return s, variance_fn(s), i + 1

    init = (state, variance_fn(state), jnp.asarray(0, jnp.int32))
    return jax.lax.while_loop(cond, body, init)


def _rescale(
    model: Any,
    params: PyTree,
    x: jax.Array,
    target: float,
    tol: float,
    max_iter: int,
    where: str,
) -> LSUVResult:
    """LSUV's loop over the kernels of ``params``, one pre-activation each."""
    paths = [layer.kernel_path for layer in tree_paths.layers(params)]

    def preacts(p):
        out, values = model.intermediates(p, x)
        return [*values.get("preactivations", ()), out]

    num = len(jax.eval_shape(preacts, params))
    if num != len(paths):
        raise ValueError(
            f"{where}: the model has {len(paths)} leaves named 'kernel' but sows "
            f"{num - 1} pre-activations (+ the output); LSUV needs one kernel per "
            "pre-activation, in order."
        )
    variances, iterations = [], []
    for layer, path in enumerate(paths):

        def with_kernel(kernel, params=params, path=path):
            return tree_paths.map_with_paths(
                lambda q, leaf: kernel if q == path else leaf, params
            )

        def variance(kernel, layer=layer, with_kernel=with_kernel):
            return jnp.var(preacts(with_kernel(kernel))[layer])

        # The loop carries only this layer's kernel: the others are constants
        # of the loop (the earlier ones are final, the later ones unused).
        kernel = dict(tree_paths.leaves_with_paths(params))[path]
        kernel, v, n = _fit(
            lambda w, s: w * s.astype(w.dtype), variance, kernel, target, tol, max_iter
        )
        params = with_kernel(kernel)
        variances.append(v)
        iterations.append(n)
    return LSUVResult(params, jnp.stack(variances), jnp.stack(iterations))


def lsuv_rescale(
    params: PyTree,
    x: jax.Array,
    activation: str | Callable = "relu",
    *,
    target_variance: float = 1.0,
    tol: float = 0.1,
    max_iter: int = 10,
) -> LSUVResult:
    """LSUV's rescaling loop on an MLP you have (the orthonormal start is yours).

    The network is :func:`initlab.models.mlp_from_params` of ``params``. For
    ``l = 1..L``: ``h_l = phi(h_{l-1}) W_l + b_l`` (``h_0 = x``, no
    activation on the input); while ``|Var(h_l) - target| >= tol`` and fewer
    than ``max_iter`` steps: ``W_l <- W_l * sqrt(target / Var(h_l))``. The
    variance is over all batch x unit entries, as in the paper; the output
    layer is rescaled too. With zero biases one step gives the target exactly
    (``Var`` scales with ``W^2``); biases make it iterative.

    Args:
      params: one MLP's params tree (``layers/<i>/kernel|bias``, kernel (in,
        out), bias (out,)), e.g. ``initlab.models.mlp(...).init(key)``. A list
        of ``(kernel, bias)`` layers is accepted, deprecated (and returned as
        such).
      x: a data batch (batch, in_features).
      activation: a name from ``initlab.models.ACTIVATIONS`` or a callable.
      target_variance: the variance to reach (default 1.0).
      tol: stop when within ``tol`` (default 0.1, the paper's ``Tol_var``).
      max_iter: at most this many rescalings per layer (default 10, ``T_max``).

    Returns:
      :class:`LSUVResult` whose ``params`` has the structure of ``params``.

    Raises:
      ValueError: non-positive target or tol, max_iter < 1, or ``params``
        that is not one MLP's tree.
      TypeError: a non-number target or tol, a non-int max_iter.

    Example:
      >>> key = jax.random.key(0)
      >>> x_batch = jax.random.normal(jax.random.key(1), (256, 32))
      >>> params = initlab.models.mlp((64, 64), 32, 10).init(key, initlab.orthogonal())
      >>> result = lsuv_rescale(params, x_batch, "relu", tol=1e-3)

    References:
      Mishkin & Matas, "All you need is a good init", ICLR 2016.
    """
    where = "lsuv_rescale"
    target, tol, max_iter = _check(target_variance, tol, max_iter, where)
    as_list = isinstance(params, list | tuple)
    if as_list:
        warnings.warn(
            f"{where}: a list of (kernel, bias) layers is deprecated (initlab has "
            "one MLP, initlab.models.MLP); pass its params tree, e.g. from "
            "initlab.models.mlp(widths, in_features, out_features).init(key, ...).",
            DeprecationWarning,
            stacklevel=2,
        )
        params = {
            "layers": {i: {"kernel": w, "bias": b} for i, (w, b) in enumerate(params)}
        }
    model = models.mlp_from_params(params, activation)
    result = _rescale(model, params, x, target, tol, max_iter, where)
    if as_list:
        layers = tree_paths.layers(result.params)
        return result._replace(params=[(lay.kernel, lay.bias) for lay in layers])
    return result


def lsuv(
    key: PRNGKey,
    widths: Sequence[int],
    x: jax.Array,
    activation: str | Callable = "relu",
    *,
    kernel_init: Callable | None = None,
    bias_init: Callable | None = None,
    target_variance: float = 1.0,
    tol: float = 0.1,
    max_iter: int = 10,
) -> LSUVResult:
    """LSUV for initlab's MLP: orthonormal draw from ``key``, then rescaling on ``x``.

    The network is ``initlab.models.mlp(widths[1:-1], widths[0], widths[-1],
    activation)``, drawn with ``init(key, kernel_init, bias_init)``
    (``orthogonal()`` kernels and zero biases by default, in ``x``'s dtype);
    the rescaling is :func:`lsuv_rescale`. Same key and batch, same bits;
    ``jax.vmap(lambda k: lsuv(k, widths, x))(keys)`` gives many restarts.

    Args:
      key: a typed PRNG key.
      widths: ``(in_features, hidden..., out_features)``.
      x: a data batch (batch, in_features).
      activation: as :func:`lsuv_rescale`.
      kernel_init: the start (default ``orthogonal()``, as in the paper).
      bias_init: default zeros.
      target_variance, tol, max_iter: as :func:`lsuv_rescale`.

    Returns:
      :class:`LSUVResult`; ``params`` is the MLP's params tree
      (``layers/<i>/kernel|bias``; pass it to that model's ``apply``).

    Raises:
      ValueError, TypeError: as :func:`lsuv_rescale`; fewer than two widths
        or a non-positive width.

    Example:
      >>> x_batch = jax.random.normal(jax.random.key(1), (256, 784))
      >>> res = lsuv(jax.random.key(0), (784, 256, 256, 10), x_batch, "relu")
      >>> res.variances   # each within tol of 1
      >>> model = initlab.models.mlp((256, 256), 784, 10, "relu")
      >>> logits = model.apply(res.params, x_batch)

    References:
      Mishkin & Matas, "All you need is a good init", ICLR 2016; Saxe,
      McClelland & Ganguli, ICLR 2014 (the orthonormal start).
    """
    where = "lsuv"
    target, tol, max_iter = _check(target_variance, tol, max_iter, where)
    if isinstance(widths, int | str) or not isinstance(widths, Sequence):
        raise TypeError(
            f"{where}: widths must be a sequence (in_features, hidden..., "
            f"out_features) such as (784, 256, 10); got {widths!r:.60}."
        )
    widths = tuple(_checks.positive_int(w, "every width", where=where) for w in widths)
    if len(widths) < 2:
        raise ValueError(
            f"{where}: widths must have >= 2 entries (in_features, hidden..., "
            f"out_features); got {widths!r}."
        )
    model = models.mlp(widths[1:-1], widths[0], widths[-1], activation,
                       param_dtype=x.dtype)  # fmt: skip
    kernel_init = orthogonal() if kernel_init is None else kernel_init
    bias_init = zeros() if bias_init is None else bias_init
    params = model.init(key, kernel_init, bias_init)
    return _rescale(model, params, x, target, tol, max_iter, where)


def lsuv_model(
    model: Any,
    key: PRNGKey,
    x: jax.Array,
    *,
    kernel_init: Callable | None = None,
    bias_init: Callable | None = None,
    target_variance: float = 1.0,
    tol: float = 0.1,
    max_iter: int = 10,
) -> LSUVResult:
    """LSUV for a :class:`initlab.models.PureModel` that sows pre-activations.

    ``params = model.init(key, kernel_init, bias_init)`` (orthogonal kernels
    and zero biases by default); the pre-activations are the model's sown
    ``"preactivations"`` (one per hidden layer, from ``model.intermediates``)
    followed by its output. Layer ``l`` is the ``l``-th leaf named ``kernel``
    in tree order; the model must have exactly one more kernel than sown
    pre-activations (true of :class:`initlab.models.MLP`). A model with an
    ``output_activation`` has its output rescaled after that activation.

    Args:
      model: a ``PureModel`` with ``intermediates`` (e.g. ``models.mlp``).
      key: a typed PRNG key.
      x: a data batch the model accepts.
      kernel_init: the start (default ``orthogonal()``).
      bias_init: default zeros.
      target_variance, tol, max_iter: as :func:`lsuv_rescale`.

    Returns:
      :class:`LSUVResult` whose ``params`` has the structure of
      ``model.init``'s (pass it to ``model.apply``).

    Raises:
      ValueError: a model without ``intermediates``, or whose kernels and
        pre-activations do not pair up; as :func:`lsuv_rescale`.

    Example:
      >>> x_batch = jax.random.normal(jax.random.key(1), (256, 784))
      >>> model = initlab.models.mlp((256, 256), 784, 10, "relu")
      >>> res = lsuv_model(model, jax.random.key(0), x_batch)
      >>> logits = model.apply(res.params, x_batch)

    References:
      Mishkin & Matas, "All you need is a good init", ICLR 2016.
    """
    where = "lsuv_model"
    target, tol, max_iter = _check(target_variance, tol, max_iter, where)
    if getattr(model, "intermediates", None) is None:
        raise ValueError(
            f"{where}: {getattr(model, 'name', model)!r} has no intermediates "
            "function; use a model that sows 'preactivations' (initlab.models.MLP "
            "via models.mlp or models.from_nnx), or lsuv() for a plain MLP."
        )
    kernel_init = orthogonal() if kernel_init is None else kernel_init
    bias_init = zeros() if bias_init is None else bias_init
    params = model.init(key, kernel_init, bias_init)
    return _rescale(model, params, x, target, tol, max_iter, where)
