"""Layer-sequential unit-variance (LSUV) initialization: data-dependent init.

Mishkin & Matas (2016): start from orthonormal weights, then, layer by layer
from the input, run a batch through the network and divide the layer's kernel
by the standard deviation of its output (pre-activation) until that variance is
within ``tol`` of the target (at most ``max_iter`` times).

Two interfaces, both pure and reproducible from the key (vmap them over keys):

* :func:`lsuv` draws a plain MLP (a list of ``(kernel, bias)`` layers, as
  :func:`initlab.diagnostics.mlp_init`) and rescales it;
  :func:`lsuv_rescale` rescales layers you already have;
* :func:`lsuv_model` works on a :class:`initlab.models.PureModel` whose
  ``intermediates`` sow each hidden pre-activation (e.g. ``models.mlp``):
  hidden layer ``l`` is matched with the ``l``-th leaf named ``kernel`` (tree
  order) and the output with the last one.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from initlab._types import PRNGKey, PyTree
from initlab.diagnostics import _activation, _kernel_paths, mlp_init
from initlab.initializers import orthogonal, zeros
from initlab.initializers._core import positive

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


def _check(target_variance, tol, max_iter, name):
    target = positive(target_variance, "target_variance", name)
    tol = positive(tol, "tol", name)
    if isinstance(max_iter, bool) or not isinstance(max_iter, int) or max_iter < 1:
        raise ValueError(f"{name}: max_iter must be an int >= 1; got {max_iter!r}.")
    return target, tol, max_iter


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


def lsuv_rescale(
    params: Sequence[Layer],
    x: jax.Array,
    activation: str | Callable = "relu",
    *,
    target_variance: float = 1.0,
    tol: float = 0.1,
    max_iter: int = 10,
) -> LSUVResult:
    """LSUV's rescaling loop on given MLP layers (the orthonormal start is yours).

    For ``l = 1..L``: ``h_l = phi(h_{l-1}) W_l + b_l`` (``h_0 = x``, no
    activation on the input); while ``|Var(h_l) - target| >= tol`` and fewer
    than ``max_iter`` steps: ``W_l <- W_l * sqrt(target / Var(h_l))``. The
    variance is over all batch x unit entries, as in the paper; the output
    layer is rescaled too. With zero biases one step gives the target exactly
    (``Var`` scales with ``W^2``); biases make it iterative.

    Args:
      params: ``[(W, b), ...]``, kernel (in, out), bias (out,).
      x: a data batch (batch, in_features).
      activation: a name from ``initlab.diagnostics.ACTIVATIONS`` or callable.
      target_variance: the variance to reach (default 1.0).
      tol: stop when within ``tol`` (default 0.1, the paper's ``Tol_var``).
      max_iter: at most this many rescalings per layer (default 10, ``T_max``).

    Returns:
      :class:`LSUVResult` with ``params`` a list of ``(W, b)`` tuples.

    Raises:
      ValueError: non-positive target or tol, max_iter < 1.

    Example:
      >>> result = lsuv_rescale(layers, x_batch, "relu", tol=1e-3)

    References:
      Mishkin & Matas, "All you need is a good init", ICLR 2016.
    """
    target, tol, max_iter = _check(target_variance, tol, max_iter, "lsuv_rescale")
    _, phi = _activation(activation)
    out, variances, iterations = [], [], []
    inp = x
    for i, (w, b) in enumerate(params):
        inp_l = phi(inp) if i else inp
        w, v, n = _fit(
            lambda w, s: w * s.astype(w.dtype),
            lambda w, inp_l=inp_l, b=b: jnp.var(inp_l @ w + b[None, :]),
            w,
            target,
            tol,
            max_iter,
        )
        out.append((w, b))
        variances.append(v)
        iterations.append(n)
        inp = inp_l @ w + b[None, :]
    return LSUVResult(out, jnp.stack(variances), jnp.stack(iterations))


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
    """LSUV for a plain MLP: orthonormal draw from ``key``, then rescaling on ``x``.

    The draw is :func:`initlab.diagnostics.mlp_init` (layer ``l``'s kernel
    from ``fold_in(key, 2 l)``) with ``orthogonal()`` kernels and zero biases
    by default; the rescaling is :func:`lsuv_rescale`. Same key and batch,
    same bits; ``jax.vmap(lambda k: lsuv(k, widths, x))(keys)`` gives many
    restarts.

    Args:
      key: a typed PRNG key.
      widths: ``(in_features, hidden..., out_features)``.
      x: a data batch (batch, in_features).
      activation: as :func:`lsuv_rescale`.
      kernel_init: the start (default ``orthogonal()``, as in the paper).
      bias_init: default zeros.
      target_variance, tol, max_iter: as :func:`lsuv_rescale`.

    Returns:
      :class:`LSUVResult`; ``params`` is ``[(W, b), ...]``.

    Raises:
      ValueError: as :func:`lsuv_rescale` and :func:`mlp_init`.

    Example:
      >>> res = lsuv(jax.random.key(0), (784, 256, 256, 10), x_batch, "relu")
      >>> res.variances   # each within tol of 1

    References:
      Mishkin & Matas, "All you need is a good init", ICLR 2016; Saxe,
      McClelland & Ganguli, ICLR 2014 (the orthonormal start).
    """
    _check(target_variance, tol, max_iter, "lsuv")
    kernel_init = orthogonal() if kernel_init is None else kernel_init
    bias_init = zeros() if bias_init is None else bias_init
    params = mlp_init(key, widths, kernel_init, bias_init, x.dtype)
    return lsuv_rescale(
        params,
        x,
        activation,
        target_variance=target_variance,
        tol=tol,
        max_iter=max_iter,
    )


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
        pre-activations do not pair up.

    Example:
      >>> model = initlab.models.mlp((256, 256), 784, 10, "relu")
      >>> res = lsuv_model(model, jax.random.key(0), x_batch)
      >>> logits = model.apply(res.params, x_batch)

    References:
      Mishkin & Matas, "All you need is a good init", ICLR 2016.
    """
    name = "lsuv_model"
    target, tol, max_iter = _check(target_variance, tol, max_iter, name)
    if getattr(model, "intermediates", None) is None:
        raise ValueError(
            f"{name}: {getattr(model, 'name', model)!r} has no intermediates "
            "function; use a model that sows 'preactivations' (initlab.models.MLP "
            "via models.mlp or models.from_nnx), or lsuv() for a plain MLP."
        )
    kernel_init = orthogonal() if kernel_init is None else kernel_init
    bias_init = zeros() if bias_init is None else bias_init
    params = model.init(key, kernel_init, bias_init)
    paths = _kernel_paths(params)

    def preacts(p):
        out, values = model.intermediates(p, x)
        return [*values.get("preactivations", ()), out]

    num = len(jax.eval_shape(preacts, params))
    if num != len(paths):
        raise ValueError(
            f"{name}: the model has {len(paths)} leaves named 'kernel' but sows "
            f"{num - 1} pre-activations (+ the output); LSUV needs one kernel per "
            "pre-activation, in order."
        )
    variances, iterations = [], []
    for layer, path in enumerate(paths):

        def scale(p, s, path=path):
            return jax.tree_util.tree_map_with_path(
                lambda q, leaf: leaf * s.astype(leaf.dtype) if q == path else leaf, p
            )

        def variance(p, layer=layer):
            return jnp.var(preacts(p)[layer])

        params, v, n = _fit(scale, variance, params, target, tol, max_iter)
        variances.append(v)
        iterations.append(n)
    return LSUVResult(params, jnp.stack(variances), jnp.stack(iterations))
