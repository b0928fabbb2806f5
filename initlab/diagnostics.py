"""Signal propagation and symmetry at (and after) initialization.

Two kinds of model:

* a plain MLP as a list of ``(kernel, bias)`` layers, ``kernel`` (in, out):
  :func:`mlp_init`, :func:`mlp_apply`, :func:`signal_stats` (one set of
  params), :func:`signal_propagation` (vmapped over keys) and
  :func:`depth_sweep` (initializers x activations x depths, a tidy table);
* any :class:`initlab.models.PureModel` that sows its hidden pre-activations
  (``model.intermediates``): :func:`model_signal_propagation`.

Statistics per layer ``l`` (``h_l = x_{l-1} W_l + b_l``, the pre-activation,
over all batch x unit entries): ``mean``, ``variance``, ``second_moment``
(``q_l = mean(h_l^2)``, mean-field theory's length), ``grad_norm`` (Frobenius
norm of ``dLoss/dW_l`` for ``Loss = mean_b 0.5 ||f(x_b) - y_b||^2``) and
``dead_fraction`` (fraction of units whose activation derivative is zero on
every example of the batch: dead ReLUs). Per network: the singular values of
the input-output Jacobian ``d h_L / d x`` at the first example (dynamical
isometry: all near 1). Symmetry: :func:`distinct_units`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd

from initlab._types import PRNGKey, PyTree
from initlab.initializers import zeros

Layer = tuple[jax.Array, jax.Array]

ACTIVATIONS: dict[str, Callable[[jax.Array], jax.Array]] = {
    "relu": jax.nn.relu,
    "tanh": jnp.tanh,
    "erf": jax.scipy.special.erf,
    "linear": lambda x: x,
    "sigmoid": jax.nn.sigmoid,
    "gelu": jax.nn.gelu,
    "selu": jax.nn.selu,
    "silu": jax.nn.silu,
    "leaky_relu": jax.nn.leaky_relu,
}

LAYER_STATISTICS = ("mean", "variance", "second_moment", "grad_norm", "dead_fraction")
JACOBIAN_STATISTICS = (
    "jacobian_sv_max",
    "jacobian_sv_min",
    "jacobian_sv_mean",
    "jacobian_sv_std",
)
COLUMNS = ("initializer", "activation", "depth", "layer", "statistic", "value", "key")


def _activation(activation: str | Callable) -> tuple[str, Callable]:
    if isinstance(activation, str):
        if activation not in ACTIVATIONS:
            raise ValueError(
                f"unknown activation {activation!r}; valid names: "
                f"{', '.join(ACTIVATIONS)}, or pass a callable."
            )
        return activation, ACTIVATIONS[activation]
    if callable(activation):
        return getattr(activation, "__name__", "custom"), activation
    raise TypeError(
        f"activation must be a name such as 'relu' or a callable; got "
        f"{type(activation).__name__} {activation!r:.60}."
    )


# --------------------------------------------------------------------------- #
# A plain MLP: a list of (kernel, bias) layers.
# --------------------------------------------------------------------------- #


def mlp_init(
    key: PRNGKey,
    widths: Sequence[int],
    kernel_init: Callable,
    bias_init: Callable | None = None,
    dtype: Any = jnp.float32,
) -> list[Layer]:
    """Draws an MLP's ``(kernel, bias)`` layers; kernel (in, out), bias (out,).

    Layer ``l`` (0-based) draws its kernel with ``fold_in(key, 2 l)`` and its
    bias with ``fold_in(key, 2 l + 1)``, so a layer's draw does not depend on
    the depth of the network.

    Args:
      key: a typed PRNG key.
      widths: ``(in_features, hidden..., out_features)``, at least two entries.
      kernel_init: ``init(key, shape, dtype)`` for every kernel.
      bias_init: for every bias (default zeros).
      dtype: parameter dtype (default float32).

    Returns:
      ``[(W_1, b_1), ..., (W_L, b_L)]``.

    Raises:
      ValueError: fewer than two widths or a non-positive width.

    Example:
      >>> params = mlp_init(jax.random.key(0), (784, 256, 10), initlab.he_normal())
    """
    widths = tuple(widths)
    if len(widths) < 2 or any(
        isinstance(w, bool) or not isinstance(w, int | np.integer) or w < 1
        for w in widths
    ):
        raise ValueError(
            f"mlp_init: widths must be >= 2 positive ints (in, hidden..., out); "
            f"got {widths!r}."
        )
    bias_init = zeros() if bias_init is None else bias_init
    layers = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:], strict=True)):
        w = kernel_init(jax.random.fold_in(key, 2 * i), (n_in, n_out), dtype)
        b = bias_init(jax.random.fold_in(key, 2 * i + 1), (n_out,), dtype)
        layers.append((w, b))
    return layers


def mlp_preactivations(
    params: Sequence[Layer], x: jax.Array, activation: str | Callable = "relu"
) -> list[jax.Array]:
    """Every layer's pre-activation ``h_l = phi(h_{l-1}) W_l + b_l`` (h_0 = x).

    The activation is applied between layers, not after the last one, so the
    last entry is the network's output.

    Args:
      params: ``[(W, b), ...]`` as from :func:`mlp_init`.
      x: inputs (batch, in_features).
      activation: a name from ``ACTIVATIONS`` or an elementwise callable.

    Returns:
      ``[h_1, ..., h_L]``, each (batch, width_l).

    Example:
      >>> hs = mlp_preactivations(params, x, "tanh")
    """
    _, phi = _activation(activation)
    hs = []
    h = x
    for i, (w, b) in enumerate(params):
        h = (phi(h) if i else h) @ w + b[None, :]
        hs.append(h)
    return hs


def mlp_apply(
    params: Sequence[Layer], x: jax.Array, activation: str | Callable = "relu"
) -> jax.Array:
    """The MLP's output: the last pre-activation (no activation after it).

    Example:
      >>> y = mlp_apply(params, x, "relu")   # (batch, out_features)
    """
    return mlp_preactivations(params, x, activation)[-1]


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

    def loss(kernels):
        bl = [(w, b) for w, (_, b) in zip(kernels, blocks, strict=True)]
        return _mse(_block_forward(bl, x, phi)[-1][-1], targets)

    grads = jax.grad(loss)([w for w, _ in blocks])
    grad_norm = jnp.concatenate([jnp.sqrt(jnp.sum(g * g, axis=(1, 2))) for g in grads])
    jac = jax.jacfwd(lambda x0: _block_forward(blocks, x0[None], phi)[-1][-1, 0])(x[0])
    svs = jnp.linalg.svd(jac, compute_uv=False)
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


def stats_frame(
    stats: SignalStats,
    initializer: str,
    activation: str,
    depth: int,
    first_layer: int = 1,
) -> pd.DataFrame:
    """A tidy table of :class:`SignalStats` with a leading key axis.

    Columns ``(initializer, activation, depth, layer, statistic, value, key)``;
    one row per key, layer and statistic of ``LAYER_STATISTICS`` (layers
    numbered from ``first_layer``), plus the Jacobian's spectrum summaries
    ``JACOBIAN_STATISTICS`` (max, min, mean, std of the singular values) at
    the last layer. NaN rows (the output layer's dead fraction) are dropped.

    Args:
      stats: from :func:`signal_propagation` (leading axis K).
      initializer, activation: labels.
      depth: label (the network's depth as the caller counts it).
      first_layer: number of the first layer (default 1).

    Returns:
      a pandas DataFrame.

    Example:
      >>> df = stats_frame(s, "he_normal", "relu", 32)
      >>> df[df.statistic == "second_moment"].groupby("layer").value.mean()
    """
    per_layer = {s: np.asarray(getattr(stats, s)) for s in LAYER_STATISTICS}
    num_keys, num_layers = per_layer["mean"].shape
    key_ix, layer_ix = np.meshgrid(
        np.arange(num_keys), np.arange(num_layers), indexing="ij"
    )
    frames = []
    for statistic, values in per_layer.items():
        frames.append(
            pd.DataFrame(
                {
                    "layer": layer_ix.ravel() + first_layer,
                    "statistic": statistic,
                    "value": values.ravel().astype(np.float64),
                    "key": key_ix.ravel(),
                }
            )
        )
    svs = np.asarray(stats.jacobian_singular_values, np.float64)
    summaries = {}
    if svs.shape[-1]:
        summaries = {
            "jacobian_sv_max": svs.max(axis=1),
            "jacobian_sv_min": svs.min(axis=1),
            "jacobian_sv_mean": svs.mean(axis=1),
            "jacobian_sv_std": svs.std(axis=1),
        }
    for statistic, values in summaries.items():
        frames.append(
            pd.DataFrame(
                {
                    "layer": num_layers - 1 + first_layer,
                    "statistic": statistic,
                    "value": values,
                    "key": np.arange(num_keys),
                }
            )
        )
    df = pd.concat(frames, ignore_index=True)
    # Not computed (NaN): the output layer's dead fraction, skipped gradients.
    not_computed = np.isnan(df["value"]) & df["statistic"].isin(
        ["dead_fraction", "grad_norm"]
    )
    df = df[~not_computed]
    df.insert(0, "initializer", initializer)
    df.insert(1, "activation", activation)
    df.insert(2, "depth", int(depth))
    return df[list(COLUMNS)].reset_index(drop=True)


def depth_sweep(
    initializers: Mapping[str, Callable | tuple[Callable, Callable]],
    activations: Sequence[str] = ("relu", "tanh"),
    depths: Sequence[int] = (2, 4, 8, 16, 32, 64),
    width: int = 256,
    batch_size: int = 256,
    num_keys: int = 8,
    seed: int = 0,
    out_features: int | None = None,
) -> pd.DataFrame:
    """Signal propagation of deep square MLPs over initializers x activations x
    depths, as one tidy table.

    Network of depth ``D``: ``D`` hidden layers of ``width`` units (input also
    ``width``), then a linear readout of ``out_features`` (default ``width``,
    so the input-output Jacobian is square); layers are numbered 1..D+1 (the
    readout is ``D + 1``). Inputs: ``batch_size`` standard-normal rows from
    ``jax.random.key(seed)``; targets: zeros. Network ``k`` of every cell uses
    key ``fold_in(fold_in(key(seed), 1), k)``: the same keys for every
    initializer, activation and depth (common random numbers).

    Args:
      initializers: label -> kernel initializer, or label -> (kernel_init,
        bias_init).
      activations: names from ``ACTIVATIONS`` (default ("relu", "tanh")).
      depths: numbers of hidden layers (default 2, 4, ..., 64).
      width: hidden width (default 256).
      batch_size: rows of the input batch (default 256).
      num_keys: networks per cell (default 8).
      seed: seed of the inputs and keys (default 0).
      out_features: readout width (default ``width``).

    Returns:
      DataFrame with columns ``COLUMNS``; see :func:`stats_frame`.

    Raises:
      ValueError: an empty initializer mapping, depth < 1, or unknown
        activation.

    Example:
      >>> df = depth_sweep({"he": initlab.he_normal(),
      ...                   "glorot": initlab.glorot_normal()}, ("relu",), (8, 32))
    """
    if not initializers:
        raise ValueError("depth_sweep: give at least one initializer (label -> init).")
    if any(isinstance(d, bool) or not isinstance(d, int) or d < 1 for d in depths):
        raise ValueError(f"depth_sweep: depths must be ints >= 1; got {depths!r}.")
    for a in activations:
        _activation(a)
    root = jax.random.key(seed)
    x = jax.random.normal(root, (batch_size, width))
    net_keys = _keys(jax.random.fold_in(root, 1), num_keys)
    out = width if out_features is None else out_features
    frames = []
    for label, inits in initializers.items():
        kernel_init, bias_init = inits if isinstance(inits, tuple) else (inits, None)
        for activation in activations:
            for depth in depths:
                stats = signal_propagation(
                    net_keys,
                    (width,) * (depth + 1) + (out,),
                    kernel_init,
                    bias_init,
                    activation,
                    x,
                )
                frames.append(stats_frame(stats, label, activation, depth))
    return pd.concat(frames, ignore_index=True)


# --------------------------------------------------------------------------- #
# Any PureModel that sows its pre-activations.
# --------------------------------------------------------------------------- #


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


# --------------------------------------------------------------------------- #
# Symmetry
# --------------------------------------------------------------------------- #


def distinct_units(
    kernel: jax.Array, bias: jax.Array | None = None, tol: float = 1e-6
) -> jax.Array:
    """Number of distinct units of a layer: output columns equal within ``tol``.

    Unit ``j`` is column ``j`` of the kernel (all axes but the last flattened,
    so conv kernels ``(k..., in, out)`` work) with ``bias[j]`` appended. Two
    units are equal when their largest absolute difference is <= ``tol``;
    "equal" is closed transitively (connected components), so the result is
    the number of groups. Units that start equal get equal gradients and stay
    equal under (S)GD: a count below ``out`` at init persists through
    training, which this function can check at every step. Pure and
    jittable; vmap it over restarts or steps.

    Args:
      kernel: (..., out) weights.
      bias: (out,) or None.
      tol: absolute tolerance, >= 0 (default 1e-6).

    Returns:
      an int32 scalar array in ``[1, out]``.

    Raises:
      ValueError: a kernel with < 2 axes, a bias of the wrong length, a
        negative tol.

    Example:
      >>> distinct_units(jnp.ones((4, 8)))            # constant init: 1
      Array(1, dtype=int32)

    References:
      Rumelhart, Hinton & Williams, "Learning representations by
      back-propagating errors", 1986 (symmetry breaking).
    """
    kernel = jnp.asarray(kernel)
    if kernel.ndim < 2:
        raise ValueError(
            f"distinct_units: kernel must have an (in..., out) shape; got "
            f"{kernel.shape}. Pass the bias separately."
        )
    if not (isinstance(tol, int | float) and math.isfinite(tol) and tol >= 0):
        raise ValueError(f"distinct_units: tol must be a number >= 0; got {tol!r}.")
    units = kernel.reshape(-1, kernel.shape[-1])
    if bias is not None:
        bias = jnp.asarray(bias)
        if bias.shape != (kernel.shape[-1],):
            raise ValueError(
                f"distinct_units: bias must have shape ({kernel.shape[-1]},) to "
                f"match the kernel's units; got {bias.shape}."
            )
        units = jnp.concatenate([units, bias[None, :].astype(units.dtype)], axis=0)
    n = units.shape[1]
    diff = jnp.max(jnp.abs(units[:, :, None] - units[:, None, :]), axis=0)
    reach = (diff <= tol).astype(jnp.float32)
    # Transitive closure by repeated squaring: ceil(log2 n) steps cover any path.
    for _ in range(max(1, math.ceil(math.log2(max(n, 2))))):
        reach = (reach @ reach > 0).astype(jnp.float32)
    # Each group of size s has s members each counting 1/s.
    return jnp.round(jnp.sum(1.0 / jnp.sum(reach, axis=1))).astype(jnp.int32)
