"""The pure (init, apply) interface the engine trains, and the model zoo."""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import jax
import jax.numpy as jnp
from flax import nnx

from initlab import tree_paths
from initlab._types import InitializerLike, PRNGKey, PyTree
from initlab.models.mnist1d import ConvBase, GRUBase, ResidualMLP
from initlab.models.modules import (
    CNN1D,
    MLP,
    GRUClassifier,
    LSTMClassifier,
    _init_kwargs,
    _widths,
)
from initlab.reinit import reinit
from initlab.tree_paths import leaf_path, path_key


@dataclasses.dataclass(frozen=True)
class PureModel:
    """A model as pure functions: what the engine trains.

    Attributes:
      name: a label for tables and plots.
      init: ``init(key, kernel_init=None, bias_init=None) -> params``, a pytree
        of arrays with no leading axis; same key, same bits. None keeps the
        model's own initializer.
      apply: ``apply(params, x) -> outputs`` (batch, out), in evaluation mode
        (for a model with state: with its initial state).
      intermediates: optional ``(params, x) -> (outputs, values)`` where
        ``values`` is a dict of what the model sows (e.g. ``"preactivations"``,
        a tuple with one (batch, width) array per hidden layer). None when the
        model sows nothing.
      init_state: for a model with non-parameter state (batch statistics):
        ``init_state(key) -> state`` at step 0; None: no state.
      train_apply: ``train_apply(params, state, x, key) -> (outputs, state)``
        in training mode: batch statistics update, dropout draws from ``key``
        (a new key every step); None: ``apply`` (no state, no randomness).
      eval_apply: ``eval_apply(params, state, x) -> outputs`` in evaluation
        mode (running averages, no dropout); None: ``apply``.

    Example:
      >>> model = initlab.models.mlp((32,), 2, 2)
      >>> params = jax.vmap(model.init)(jax.random.split(jax.random.key(0), 8))
      >>> x = jnp.ones((5, 2))
      >>> jax.vmap(model.apply, in_axes=(0, None))(params, x).shape
      (8, batch, 2)
    """

    name: str
    init: Callable[..., PyTree]
    apply: Callable[[PyTree, jax.Array], jax.Array]
    intermediates: Callable[[PyTree, jax.Array], tuple[jax.Array, dict]] | None = None
    init_state: Callable[[PRNGKey], PyTree] | None = None
    train_apply: Callable[..., tuple[jax.Array, PyTree]] | None = None
    eval_apply: Callable[[PyTree, PyTree, jax.Array], jax.Array] | None = None

    @property
    def stateful(self) -> bool:
        """Whether training steps differ from ``apply`` (state or randomness)."""
        return self.train_apply is not None

    def start_state(self, key: PRNGKey) -> PyTree:
        """The non-parameter state at step 0 (an empty dict for stateless models)."""
        return {} if self.init_state is None else self.init_state(key)

    def forward_train(self, params: PyTree, state: PyTree, x: jax.Array,
                      key: PRNGKey) -> tuple[jax.Array, PyTree]:  # fmt: skip
        """One training-mode forward pass: ``(outputs, new state)``."""
        if self.train_apply is None:
            return self.apply(params, x), state
        return self.train_apply(params, state, x, key)

    def forward_eval(self, params: PyTree, state: PyTree, x: jax.Array) -> jax.Array:
        """One evaluation-mode forward pass."""
        if self.eval_apply is None:
            return self.apply(params, x)
        return self.eval_apply(params, state, x)


def from_nnx(factory: Callable[..., nnx.Module], name: str | None = None) -> PureModel:
    """A :class:`PureModel` from an NNX module factory.

    ``params`` is the ``nnx.Param`` state of the module (``nnx.split(model,
    nnx.Param, ...)``). Other state (``nnx.BatchStat`` running averages) is
    the model's ``init_state``: the engine carries it through training, where
    ``train_apply`` runs the module in training mode (batch statistics
    updated, dropout masks drawn from the step's key) and ``eval_apply`` in
    evaluation mode (running averages, no dropout). A module without such
    state or RNG streams gets plain ``apply``. ``apply`` merges the graph, the
    given params and the built state into a fresh module and calls it, so
    every function is pure and works under ``jit`` and ``vmap``.

    Args:
      factory: ``factory(*, kernel_init=..., bias_init=..., rngs) -> nnx.Module``;
        kernel_init / bias_init are passed only when not None, so the factory's
        own defaults apply otherwise. The module's ``__call__(x)`` returns
        (batch, out).
      name: label; defaults to the factory's ``__name__``.

    Returns:
      the pure model.

    Raises:
      TypeError: factory not callable or not returning an ``nnx.Module``.

    Example:
      >>> model = from_nnx(lambda *, rngs, kernel_init=None, bias_init=None:
      ...     MLP(64, (128,), 10, kernel_init=kernel_init, bias_init=bias_init,
      ...         rngs=rngs), name="mlp")
      >>> params = model.init(jax.random.key(0), initlab.he_normal(), None)
    """
    if not callable(factory):
        raise TypeError(f"from_nnx: factory must be callable; got {factory!r:.60}.")

    def build(key: PRNGKey, kernel_init=None, bias_init=None) -> nnx.Module:
        kwargs = _init_kwargs(kernel_init=kernel_init, bias_init=bias_init)
        module = factory(rngs=nnx.Rngs(key), **kwargs)
        if not isinstance(module, nnx.Module):
            raise TypeError(
                f"from_nnx: the factory must return an nnx.Module; got "
                f"{type(module).__name__}."
            )
        return module

    # The graph (and shapes) without computing anything; concrete non-parameter
    # state only when the model has some.
    abstract = nnx.eval_shape(lambda: build(jax.random.key(0)))
    graphdef, _, abstract_rest = nnx.split(abstract, nnx.Param, ...)
    if jax.tree.leaves(abstract_rest):
        _, _, rest = nnx.split(build(jax.random.key(0)), nnx.Param, ...)
    else:
        rest = abstract_rest

    def init(key: PRNGKey, kernel_init=None, bias_init=None) -> PyTree:
        _, params, _ = nnx.split(build(key, kernel_init, bias_init), nnx.Param, ...)
        return params

    def apply(params: PyTree, x: jax.Array) -> jax.Array:
        return nnx.merge(graphdef, params, rest)(x)

    def intermediates(params: PyTree, x: jax.Array) -> tuple[jax.Array, dict]:
        module = nnx.merge(graphdef, params, rest)
        out, values = nnx.capture(module, nnx.Intermediate)(x)
        return out, nnx.to_pure_dict(values)

    label = name if name is not None else getattr(factory, "__name__", "nnx")
    if not jax.tree.leaves(abstract_rest):  # no state, no randomness
        return PureModel(label, init, apply, intermediates)
    # With state or randomness, ``apply`` is evaluation mode at the initial
    # state (running averages as built, no dropout).
    functions = _nnx_state_functions(build, abstract)
    initial = functions["init_state"](jax.random.key(0))
    eval_apply = functions["eval_apply"]

    def apply_eval(params: PyTree, x: jax.Array) -> jax.Array:
        return eval_apply(params, initial, x)

    return PureModel(label, init, apply_eval, **functions)


def _nnx_state_functions(build: Callable, abstract: nnx.Module) -> dict[str, Any]:
    """init_state / train_apply / eval_apply of an NNX model with state or RNGs.

    The carried state is every non-parameter Variable except the RNG streams
    (batch statistics and the like). RNG streams are not carried: each
    training step gives every stream a fresh key folded from the step's key
    and the stream's path, so dropout masks differ across restarts and steps
    and are the same for the same keys. Train and eval modes are the module's
    ``train()`` / ``eval()`` (``deterministic``, ``use_running_average``).
    """
    abstract.train()
    train_def, _, rng_template, _ = nnx.split(abstract, nnx.Param, nnx.RngState, ...)
    abstract.eval()
    eval_def = nnx.graphdef(abstract)

    def seeded(key: PRNGKey) -> PyTree:
        def leaf(path, value):
            if jnp.issubdtype(value.dtype, jax.dtypes.prng_key):
                return path_key(key, leaf_path(path))
            return jnp.zeros(value.shape, value.dtype)  # stream counters

        return jax.tree_util.tree_map_with_path(leaf, rng_template)

    def init_state(key: PRNGKey) -> PyTree:
        _, _, _, state = nnx.split(build(key), nnx.Param, nnx.RngState, ...)
        return state

    def train_apply(params, state, x, key):
        # Fresh Variables at this trace level (under grad the state comes from
        # the outer trace, and NNX refuses to mutate Variables across levels).
        state = jax.tree.map(lambda v: v, state)
        module = nnx.merge(train_def, params, seeded(key), state)
        out = module(x)
        _, _, _, new_state = nnx.split(module, nnx.Param, nnx.RngState, ...)
        return out, new_state

    def eval_apply(params, state, x):
        module = nnx.merge(eval_def, params, seeded(jax.random.key(0)), state)
        return module(x)

    initial = init_state(jax.random.key(0))

    def intermediates(params, x):
        module = nnx.merge(eval_def, params, seeded(jax.random.key(0)), initial)
        out, values = nnx.capture(module, nnx.Intermediate)(x)
        return out, nnx.to_pure_dict(values)

    return dict(init_state=init_state, train_apply=train_apply,
                eval_apply=eval_apply, intermediates=intermediates)  # fmt: skip


def from_pure(
    init: Callable[[PRNGKey], PyTree],
    apply: Callable[[PyTree, jax.Array], jax.Array],
    name: str = "custom",
    kernel_rule: str = r"(kernel|weight|\bw)$",
    bias_rule: str = r"(bias|\bb)$",
) -> PureModel:
    """A :class:`PureModel` from your own ``init(key)`` and ``apply``.

    The engine's ``kernel_init`` / ``bias_init`` are applied with
    :func:`initlab.reinit` on the leaves whose path (see ``initlab.reinit``)
    matches ``kernel_rule`` / ``bias_rule`` (kernel rule first); None leaves your
    init's values. ``init(key)`` gets the key itself; the reinit draws use keys
    folded from it.

    Args:
      init: ``init(key) -> params`` pytree.
      apply: ``apply(params, x) -> outputs`` (batch, out).
      name: label.
      kernel_rule, bias_rule: regular expressions searched in each leaf path.

    Returns:
      the pure model.

    Raises:
      TypeError: init or apply not callable.
      ValueError: (when ``init`` is called) a rule with an initializer matches
        no leaf.

    Example:
      >>> def my_init(key):
      ...     return {"w": jnp.zeros((2, 1)), "b": jnp.zeros(1)}
      >>> model = from_pure(my_init, lambda p, x: x @ p["w"] + p["b"])
      >>> model.init(jax.random.key(0), initlab.ones(), None)["w"]
      Array([[1.], [1.]], dtype=float32)
    """
    if not callable(init) or not callable(apply):
        raise TypeError(
            f"from_pure: init and apply must be callables; got "
            f"{type(init).__name__} and {type(apply).__name__}."
        )

    def pure_init(key: PRNGKey, kernel_init=None, bias_init=None) -> PyTree:
        return _by_rules(init(key), key, kernel_init, bias_init, kernel_rule,
                         bias_rule)  # fmt: skip

    return PureModel(name, pure_init, apply)


def _by_rules(params, key, kernel_init, bias_init, kernel_rule, bias_rule):
    """The engine's kernel/bias initializers applied by path rules (reinit)."""
    rules = [
        (rule, ini)
        for rule, ini in ((kernel_rule, kernel_init), (bias_rule, bias_init))
        if ini is not None
    ]
    if not rules:
        return params
    # Fold the key so the rule draws are not the draws init(key) made.
    return reinit(params, rules, jax.random.fold_in(key, 1))


def mlp(
    widths: Sequence[int],
    in_features: int,
    out_features: int,
    activation: str | Callable = "relu",
    output_activation: str | Callable | None = None,
    use_bias: bool = True,
    param_dtype: Any = jnp.float32,
) -> PureModel:
    """A pure :class:`MLP`.

    Args:
      widths, in_features, out_features, activation, output_activation,
        use_bias, param_dtype: as :class:`MLP`.

    Returns:
      ``PureModel`` named e.g. ``"mlp-64-128-10"``.

    Raises:
      ValueError, TypeError: as :class:`MLP` (raised here, not at init).

    Example:
      >>> model = mlp((2,), 2, 1, "sigmoid", "sigmoid")   # the XOR net
    """

    def factory(*, rngs, kernel_init=None, bias_init=None):
        return MLP(in_features, widths, out_features, activation=activation,
                   output_activation=output_activation, kernel_init=kernel_init,
                   bias_init=bias_init, use_bias=use_bias,
                   param_dtype=param_dtype, rngs=rngs)  # fmt: skip

    sizes = (in_features, *_widths(widths, "widths", "mlp"), out_features)
    return from_nnx(factory, "mlp-" + "-".join(map(str, sizes)))


_LAYER_PATH = re.compile(r"layers/(\d+)")


def mlp_from_params(
    params: PyTree,
    activation: str | Callable = "relu",
    output_activation: str | Callable | None = None,
) -> PureModel:
    """The pure :func:`mlp` that ``params`` are the parameters of.

    The sizes, whether the layers have biases and the parameter dtype are
    read from the tree; the activations are not stored in it, so say them.
    Use it to run the one MLP on a parameter tree you hold, e.g. one rescaled
    by :func:`initlab.lsuv_rescale` or built by hand.

    Args:
      params: one network's parameters (no restart axis): leaves
        ``layers/<i>/kernel`` (in, out) and, for every layer or none,
        ``layers/<i>/bias`` (out,), for ``i = 0 .. L-1``; an ``nnx.State``
        from ``mlp(...).init`` or the same as plain dicts
        (``nnx.to_pure_dict``). Works on tracers (under ``jit`` / ``vmap``).
      activation: hidden activation, as :class:`MLP`.
      output_activation: as :class:`MLP` (default None: the output is the
        last layer's pre-activation).

    Returns:
      ``mlp(widths, in_features, out_features, activation,
      output_activation, use_bias, param_dtype)`` (the same object for the
      same arguments); its ``apply(params, x)`` and
      ``intermediates(params, x)`` take ``params``.

    Raises:
      ValueError: ``params`` is not one MLP's tree (other leaves, missing or
        non-consecutive layers, kernels that are not (in, out) or do not
        chain, biases on some layers only); the message says which.
      TypeError, ValueError: an unknown activation (see
        :func:`get_activation`).

    Example:
      >>> params = mlp((64, 64), 32, 10).init(jax.random.key(0))
      >>> model = mlp_from_params(params, "tanh")
      >>> model.name, model.apply(params, jnp.ones((8, 32))).shape
      ('mlp-32-64-64-10', (8, 10))
    """
    where = "mlp_from_params"
    found = tree_paths.layers(params)
    index = {}
    for layer in found:
        match = _LAYER_PATH.fullmatch(layer.path)
        if match is None:
            raise ValueError(
                f"{where}: params must be an MLP's tree (kernels at "
                f"'layers/<i>/kernel'); got a kernel at {layer.kernel_path!r}."
            )
        index[int(match.group(1))] = layer
    if sorted(index) != list(range(len(index))) or not index:
        raise ValueError(
            f"{where}: params must hold layers 0..L-1 ('layers/<i>/kernel'); got "
            f"layers {sorted(index)}."
        )
    layers = [index[i] for i in range(len(index))]
    known = {p for lay in layers for p in (lay.kernel_path, lay.bias_path) if p}
    extra = [p for p in tree_paths.paths(params) if p not in known]
    if extra:
        raise ValueError(
            f"{where}: params must hold only the layers' kernel and bias; got "
            f"also {extra[:3]}."
        )
    shapes = [jnp.shape(lay.kernel) for lay in layers]
    sizes = [shapes[0][0] if len(shapes[0]) == 2 else None]
    for i, shape in enumerate(shapes):
        if len(shape) != 2 or shape[0] != sizes[-1]:
            raise ValueError(
                f"{where}: layer {i}'s kernel must be (in, out), in = the previous "
                f"layer's out; got shape {shape} after {shapes[:i]}. Pass one "
                "network's params (no restart axis)."
            )
        sizes.append(shape[1])
    biased = [lay.bias is not None for lay in layers]
    if any(biased) and not all(biased):
        raise ValueError(
            f"{where}: either every layer has a bias or none does; got biases on "
            f"layers {[i for i, b in enumerate(biased) if b]} of {len(layers)}."
        )
    for i, lay in enumerate(layers):
        if lay.bias is not None and jnp.shape(lay.bias) != (sizes[i + 1],):
            raise ValueError(
                f"{where}: layer {i}'s bias must have shape ({sizes[i + 1]},); got "
                f"{jnp.shape(lay.bias)}."
            )
    dtype = jnp.dtype(layers[0].kernel.dtype)
    return _mlp(tuple(sizes[1:-1]), sizes[0], sizes[-1], activation,
                output_activation, all(biased), dtype)  # fmt: skip


@functools.lru_cache(maxsize=64)
def _mlp(widths, in_features, out_features, activation, output_activation,
         use_bias, param_dtype) -> PureModel:  # fmt: skip
    """:func:`mlp`, one object per arguments (their compiled functions are shared)."""
    return mlp(widths, in_features, out_features, activation, output_activation,
               use_bias, param_dtype)  # fmt: skip


def cnn1d(
    in_length: int,
    in_channels: int,
    channels: Sequence[int],
    num_classes: int,
    kernel_size: int = 5,
    activation: str | Callable = "relu",
    stride: int = 2,
) -> PureModel:
    """A pure :class:`CNN1D` (arguments as there).

    Example:
      >>> model = cnn1d(40, 1, (32, 32), 10)
    """

    def factory(*, rngs, kernel_init=None, bias_init=None):
        return CNN1D(in_length, in_channels, channels, num_classes,
                     kernel_size=kernel_size, activation=activation,
                     kernel_init=kernel_init, bias_init=bias_init, stride=stride,
                     rngs=rngs)  # fmt: skip

    chans = "-".join(map(str, _widths(channels, "channels", "cnn1d")))
    return from_nnx(factory, f"cnn1d-{chans}")


def _rnn(cls, tag, in_features, hidden, num_classes, recurrent_kernel_init):
    def factory(*, rngs, kernel_init=None, bias_init=None):
        return cls(in_features, hidden, num_classes, kernel_init=kernel_init,
                   recurrent_kernel_init=recurrent_kernel_init,
                   bias_init=bias_init, rngs=rngs)  # fmt: skip

    return from_nnx(factory, f"{tag}-{hidden}")


def gru(
    in_features: int,
    hidden: int,
    num_classes: int,
    recurrent_kernel_init: InitializerLike | None = None,
) -> PureModel:
    """A pure :class:`GRUClassifier`.

    The engine's ``kernel_init`` goes to the input and head kernels; the
    recurrent kernel is fixed here (None: Flax's orthogonal). To compare
    recurrent initializers, make one model per initializer, or use
    ``initlab.reinit`` with the rule ``"dense_h/kernel$"``.

    Example:
      >>> model = gru(1, 64, 10, recurrent_kernel_init="orthogonal")
    """
    return _rnn(
        GRUClassifier, "gru", in_features, hidden, num_classes, recurrent_kernel_init
    )


def lstm(
    in_features: int,
    hidden: int,
    num_classes: int,
    recurrent_kernel_init: InitializerLike | None = None,
) -> PureModel:
    """A pure :class:`LSTMClassifier`; initializers as :func:`gru`.

    Example:
      >>> model = lstm(1, 64, 10)
    """
    return _rnn(
        LSTMClassifier, "lstm", in_features, hidden, num_classes, recurrent_kernel_init
    )


# ----- the MNIST-1D reference models (initlab.models.mnist1d) -----------------------


def conv_base(
    in_length: int = 40,
    num_classes: int = 10,
    channels: int = 25,
    kernel_sizes: Sequence[int] = (5, 3, 3),
    stride: int = 2,
    padding: int = 1,
    in_channels: int = 1,
) -> PureModel:
    """A pure :class:`~initlab.models.mnist1d.ConvBase`, MNIST-1D's reference CNN.

    Defaults are the reference (5,210 parameters); ``init(key)`` with no
    initializers draws PyTorch's default init. Arguments as there; bad ones
    raise here (the module is built abstractly), not at init.

    Example:
      >>> model = conv_base()
      >>> num_params(model.init(jax.random.key(0)))
      5210
    """

    def factory(*, rngs, kernel_init=None, bias_init=None):
        return ConvBase(in_length, num_classes, channels=channels,
                        kernel_sizes=kernel_sizes, stride=stride, padding=padding,
                        in_channels=in_channels, kernel_init=kernel_init,
                        bias_init=bias_init, rngs=rngs)  # fmt: skip

    return from_nnx(factory, f"mnist1d-conv-{channels}")


def residual_mlp(
    in_features: int = 40, num_classes: int = 10, hidden: int = 100
) -> PureModel:
    """A pure :class:`~initlab.models.mnist1d.ResidualMLP` (MNIST-1D's MLPBase).

    Defaults are the reference (15,210 parameters); arguments as there.

    Example:
      >>> num_params(residual_mlp().init(jax.random.key(0)))
      15210
    """

    def factory(*, rngs, kernel_init=None, bias_init=None):
        return ResidualMLP(in_features, num_classes, hidden=hidden,
                           kernel_init=kernel_init, bias_init=bias_init,
                           rngs=rngs)  # fmt: skip

    return from_nnx(factory, f"mnist1d-mlp-{hidden}")


def gru_base(
    in_length: int = 40,
    num_classes: int = 10,
    hidden: int = 6,
    bidirectional: bool = True,
    in_features: int = 1,
    recurrent_kernel_init: InitializerLike | None = None,
) -> PureModel:
    """A pure :class:`~initlab.models.mnist1d.GRUBase` (MNIST-1D's GRU).

    Defaults are the reference (5,134 parameters). As in :func:`gru`, the
    engine's ``kernel_init`` goes to the input and head kernels and the
    recurrent kernels are fixed here (None: PyTorch's ``U(±1/sqrt(hidden))``).

    Example:
      >>> num_params(gru_base().init(jax.random.key(0)))
      5134
    """

    def factory(*, rngs, kernel_init=None, bias_init=None):
        return GRUBase(in_length, num_classes, hidden=hidden,
                       bidirectional=bidirectional, in_features=in_features,
                       kernel_init=kernel_init,
                       recurrent_kernel_init=recurrent_kernel_init,
                       bias_init=bias_init, rngs=rngs)  # fmt: skip

    tag = "bigru" if bidirectional else "gru"
    return from_nnx(factory, f"mnist1d-{tag}-{hidden}")


MODELS: Mapping[str, Callable[..., PureModel]] = {
    "mlp": mlp,
    "cnn1d": cnn1d,
    "gru": gru,
    "lstm": lstm,
    "mnist1d_conv": conv_base,
    "mnist1d_mlp": residual_mlp,
    "mnist1d_gru": gru_base,
}


def num_params(params: PyTree) -> int:
    """Number of scalars in a params pytree (no leading restart axis).

    Example:
      >>> num_params(mlp((2,), 2, 1).init(jax.random.key(0)))
      9
    """
    return sum(math.prod(jnp.shape(x)) for x in jax.tree.leaves(params))
