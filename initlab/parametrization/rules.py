"""SP, NTK and µP as one object: per-layer variances, multipliers and step sizes.

A *parametrization* says how a network's initialization, its forward
multipliers and each layer's learning rate change when its width changes. Each
factor here is relative to a **base width**: at the base width every factor is
1 and all three parametrizations are the standard one (the same numbers, bit
for bit); away from it, each layer's factor is a power of its *width
multipliers*

* ``m_in = fan_in / base fan_in`` and ``m_out = fan_out / base fan_out``,
  counting only the width dimensions (hidden units; conv channels). The input
  layer's fan-in (the data's features) and the output layer's fan-out (the
  classes) do not scale: their multiplier is 1.

The stored parameter of a kernel is ``w``; the network computes with ``W =
multiplier * w``. "init variance" multiplies the variance the run's kernel
initializer draws, which the table assumes scales as ``1 / fan_in``
(``he_normal``, ``lecun_normal``, ``variance_scaling(mode="fan_in")``, Flax's
default), as mup assumes of PyTorch's. The learning-rate factors multiply the
run's step size for that leaf: SGD (with or without momentum) takes the "SGD"
column, Adam the "Adam" column.

============  =======================  =============  ==========  ===========  =========
param.        leaves                   init variance  multiplier  SGD lr       Adam lr
============  =======================  =============  ==========  ===========  =========
SP            every leaf               1              1           1            1
NTK           input kernel, biases     1              1           1            1
NTK           hidden kernels           m_in           m_in^-1/2   1            1
NTK           output kernel            m_in           m_in^-1/2   1            1
µP            input kernel             1              1           m_out        1
µP            hidden kernels           1              1           m_out / m_in 1 / m_in
µP            output kernel            m_in (or 0)    1 / m_in    m_in         1
µP            biases                   1              1           m_out        1
============  =======================  =============  ==========  ===========  =========

(:data:`EXPONENTS` holds the same table as powers of ``(m_in, m_out)``.) The
output bias has ``m_out = 1``, so all its factors are 1; biases keep the run's
bias initializer (zeros by default), which the table takes to be independent
of the width (``"torch_default_bias"``, drawn from the kernel's fan-in, is not
corrected here, unlike in mup).

Where the rows come from:

* µP is Yang et al. (2022), Table 3 (µP for general networks with SGD and
  Adam: input weights and biases: init variance 1/fan_in, SGD lr fan_out,
  Adam lr 1; output weights: 1/fan_in^2, 1/fan_in, 1/fan_in; hidden weights:
  1/fan_in, 1, 1/fan_in), in the equivalent form with an output multiplier
  1/width that the mup package implements (``MuReadout`` divides the readout's
  input by ``width_mult`` and rescales its weights by ``width_mult^1/2``;
  ``MuSGD`` multiplies the step of vector-like parameters by ``width_mult`` and
  divides that of matrix-like ones by ``fan_in_mult / fan_out_mult``;
  ``MuAdam`` divides that of matrix-like ones by ``width_mult``). Moving a
  factor ``theta`` into the multiplier divides the init standard deviation by
  ``theta``, the SGD lr by ``theta^2`` and the Adam lr by ``theta``: the two
  forms train the same functions. ``readout_zero_init`` starts the output
  kernel and bias at 0, as mup recommends so that the output does not shrink
  as ``width^-1/2`` at initialization.
* NTK is Yang & Hu (2021)'s abc-parametrization ``a_1 = 0``, ``a_l = 1/2``
  (l >= 2), ``b = 0``, ``c = 0``: every kernel past the input is ``W = n^-1/2
  w`` with ``w`` of constant variance, trained at a width-independent step.
* SP: the initializer's own ``1 / fan_in`` variance and one global step size.

References:
  Yang & Hu (2021), "Tensor Programs IV: Feature learning in infinite-width
  neural networks", ICML (abc-parametrizations, µP, NTK).
  Yang, Hu, Babuschkin, Sidor, Liu, Farhi, Ryder, Pachocki, Chen, Gao (2022),
  "Tensor Programs V: Tuning large neural networks via zero-shot
  hyperparameter transfer", arXiv:2203.03466 (Table 3; µTransfer).
  Jacot, Gabriel, Hongler (2018), "Neural tangent kernel", NeurIPS (NTK).
"""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal

import jax.numpy as jnp
import optax

from initlab import _checks
from initlab._types import PyTree
from initlab.models import PureModel, cnn1d, mlp
from initlab.tree_paths import map_with_paths, paths

Name = Literal["sp", "ntk", "mup"]
Role = Literal["input", "hidden", "output", "bias"]

#: The parametrizations, by name.
PARAMETRIZATIONS: tuple[str, ...] = ("sp", "ntk", "mup")
#: Display names (tables, figures).
TITLES = {"sp": "SP", "ntk": "NTK", "mup": "µP"}
#: Optimizers with a column in the table: SGD-like and Adam-like.
OPTIMIZER_COLUMNS = {"sgd": "sgd", "adam": "adam"}
ROLES: tuple[str, ...] = ("input", "hidden", "output", "bias")
QUANTITIES: tuple[str, ...] = ("init", "multiplier", "sgd", "adam")

_ONE = (0.0, 0.0)
_SAME = dict.fromkeys(QUANTITIES, _ONE)
_NTK_WIDE = dict(init=(1.0, 0.0), multiplier=(-0.5, 0.0), sgd=_ONE, adam=_ONE)

#: The table as exponents: ``EXPONENTS[name][role][quantity] = (e_in, e_out)``
#: means the factor ``m_in ** e_in * m_out ** e_out``. Quantities: "init"
#: (variance), "multiplier", "sgd" and "adam" (learning rate).
EXPONENTS: dict[str, dict[str, dict[str, tuple[float, float]]]] = {
    "sp": {role: dict(_SAME) for role in ROLES},
    "ntk": {"input": dict(_SAME), "hidden": dict(_NTK_WIDE),
            "output": dict(_NTK_WIDE), "bias": dict(_SAME)},
    "mup": {
        "input": dict(init=_ONE, multiplier=_ONE, sgd=(0.0, 1.0), adam=_ONE),
        "hidden": dict(init=_ONE, multiplier=_ONE, sgd=(-1.0, 1.0),
                       adam=(-1.0, 0.0)),
        "output": dict(init=(1.0, 0.0), multiplier=(-1.0, 0.0), sgd=(1.0, 0.0),
                       adam=_ONE),
        "bias": dict(init=_ONE, multiplier=_ONE, sgd=(0.0, 1.0), adam=_ONE),
    },
}  # fmt: skip


def factor(name: str, role: str, quantity: str, m_in: float, m_out: float) -> float:
    """One entry of the table: ``m_in ** e_in * m_out ** e_out``.

    Args:
      name: "sp", "ntk" or "mup".
      role: "input", "hidden", "output" (kernels) or "bias".
      quantity: "init" (variance), "multiplier", "sgd" or "adam" (lr).
      m_in, m_out: the layer's width multipliers (1 for a finite dimension).

    Returns:
      The factor (1.0 at the base width).

    Raises:
      ValueError: an unknown name, role or quantity, or a multiplier <= 0.

    Example:
      >>> factor("mup", "hidden", "adam", 4.0, 4.0)
      0.25
    """
    name = _checks.choice(name, PARAMETRIZATIONS, "parametrization", where="factor")
    role = _checks.choice(role, ROLES, "role", where="factor")
    quantity = _checks.choice(quantity, QUANTITIES, "quantity", where="factor")
    m_in = _checks.number(m_in, "m_in", where="factor", positive=True)
    m_out = _checks.number(m_out, "m_out", where="factor", positive=True)
    e_in, e_out = EXPONENTS[name][role][quantity]
    return float(m_in**e_in * m_out**e_out)


@dataclasses.dataclass(frozen=True)
class LayerScaling:
    """One kernel of a parametrized model and the factors of it and its bias.

    Attributes:
      path: the module's path, e.g. "layers/1" (leaves ``path + "/kernel"``
        and ``path + "/bias"``).
      role: "input", "hidden" or "output".
      shape: the kernel's shape.
      fan_in, fan_out: the kernel's fans (a conv's include its window).
      m_in, m_out: width multipliers of its fan-in and fan-out (1: finite).
      init_variance: factor on the initializer's variance (0: zero init).
      multiplier: the forward multiplier ``W = multiplier * w``.
      sgd_lr, adam_lr: learning-rate factors of the kernel.
      bias_sgd_lr, bias_adam_lr: learning-rate factors of its bias.
    """

    path: str
    role: str
    shape: tuple[int, ...]
    fan_in: int
    fan_out: int
    m_in: float
    m_out: float
    init_variance: float
    multiplier: float
    sgd_lr: float
    adam_lr: float
    bias_sgd_lr: float
    bias_adam_lr: float


@dataclasses.dataclass(frozen=True)
class Parametrization:
    """SP, NTK or µP relative to a base width: builds models and optimizers.

    ``pz.mlp(widths, in_features, out_features)`` (or :meth:`cnn1d`) gives a
    :class:`ParametrizedModel`: its ``model`` is a :class:`~initlab.PureModel`
    whose ``init`` rescales each kernel the engine's initializer draws by its
    variance factor, and whose ``apply`` multiplies each kernel by its
    multiplier; its ``optimizer(name)`` is a factory
    ``factory(learning_rate) -> optax.GradientTransformation`` that scales each
    leaf's step by its learning-rate factor. Both plug into
    :func:`initlab.train` (``model=pm.model, optimizer=pm.optimizer("adam"),
    learning_rate=[...]``): the learning-rate axis still trains in one
    compiled loop. The table of factors is in the module's docstring.

    Attributes:
      name: "sp", "ntk" or "mup".
      base_width: the width at which every factor is 1: one int for every
        hidden layer (or conv layer), or one per layer.
      readout_zero_init: start the output kernel and bias at zero (mup's
        ``readout_zero_init``; any parametrization).
      output_multiplier: a width-independent constant on the output kernel
        (mup's ``output_mult``), a tunable hyper-parameter; default 1.

    Raises:
      ValueError / TypeError: an unknown name, a base width that is not a
        positive int (or a non-empty sequence of them), a non-bool
        readout_zero_init, an output_multiplier that is not a finite number
        > 0.

    Example:
      >>> pz = Parametrization("mup", base_width=16)
      >>> pm = pz.mlp((32, 32), 64, 10)
      >>> out = initlab.train("digits", "he_normal", model=pm.model,
      ...                     optimizer=pm.optimizer("adam"),
      ...                     learning_rate=[1e-3, 3e-3], num_restarts=2,
      ...                     steps=5, progress=False)

    References:
      Yang & Hu (2021); Yang et al. (2022) (Tensor Programs IV, V).
    """

    name: Name
    base_width: int | tuple[int, ...]
    readout_zero_init: bool = False
    output_multiplier: float = 1.0

    def __post_init__(self) -> None:
        where = "Parametrization"
        _checks.choice(self.name, PARAMETRIZATIONS, "parametrization", where=where)
        base = self.base_width
        if isinstance(base, Sequence) and not isinstance(base, str):
            if not base:
                raise ValueError(
                    f"{where}: base_width must be an int or a non-empty sequence "
                    "of ints (one per hidden layer); got an empty sequence."
                )
            base = tuple(_checks.positive_int(b, "each base width", where=where)
                         for b in base)  # fmt: skip
        else:
            base = _checks.positive_int(base, "base_width", where=where)
        object.__setattr__(self, "base_width", base)
        _checks.boolean(self.readout_zero_init, "readout_zero_init", where=where)
        mult = _checks.number(self.output_multiplier, "output_multiplier",
                              where=where, positive=True)  # fmt: skip
        object.__setattr__(self, "output_multiplier", mult)

    @property
    def title(self) -> str:
        """The display name: "SP", "NTK" or "µP"."""
        return TITLES[self.name]

    def _bases(self, widths: tuple[int, ...], what: str) -> tuple[int, ...]:
        if not widths:
            raise ValueError(
                f"{self.title}: a parametrization needs at least one hidden layer "
                f"(its {what} are empty): with none, no dimension scales."
            )
        if isinstance(self.base_width, int):
            return (self.base_width,) * len(widths)
        if len(self.base_width) != len(widths):
            raise ValueError(
                f"{self.title}: base_width {self.base_width} has "
                f"{len(self.base_width)} entries but the model's {what} "
                f"{widths} have {len(widths)}; give one base per layer (same "
                "depth as the model) or one int for all."
            )
        return self.base_width

    def _layers(
        self, kernels: Sequence[tuple[str, tuple[int, ...]]],
        widths: tuple[int, ...], what: str,
    ) -> tuple[LayerScaling, ...]:  # fmt: skip
        """The scaling of each kernel: (path, shape), input first, output last."""
        bases = self._bases(widths, what)
        mults = [w / b for w, b in zip(widths, bases, strict=True)]
        out = []
        last = len(kernels) - 1
        for i, (path, shape) in enumerate(kernels):
            role = "input" if i == 0 else "output" if i == last else "hidden"
            m_in = 1.0 if i == 0 else mults[i - 1]
            m_out = 1.0 if i == last else mults[i]
            receptive = math.prod(shape[:-2])
            get = lambda q, r=role, a=m_in, b=m_out: factor(self.name, r, q, a, b)  # noqa: E731
            init = get("init")
            multiplier = get("multiplier")
            if role == "output":
                init = 0.0 if self.readout_zero_init else init
                multiplier *= self.output_multiplier
            bias = lambda q, b=m_out: factor(self.name, "bias", q, 1.0, b)  # noqa: E731
            out.append(LayerScaling(
                path=path, role=role, shape=tuple(shape),
                fan_in=receptive * shape[-2], fan_out=receptive * shape[-1],
                m_in=m_in, m_out=m_out, init_variance=init, multiplier=multiplier,
                sgd_lr=get("sgd"), adam_lr=get("adam"), bias_sgd_lr=bias("sgd"),
                bias_adam_lr=bias("adam"),
            ))  # fmt: skip
        return tuple(out)

    def _tag(self) -> str:
        base = self.base_width
        base = base if isinstance(base, int) else "-".join(map(str, base))
        tag = f"{self.name}@{base}"
        if self.readout_zero_init:
            tag += "-zero-readout"
        if self.output_multiplier != 1.0:
            tag += f"-out{self.output_multiplier:g}"
        return tag

    def mlp(
        self,
        widths: Sequence[int],
        in_features: int,
        out_features: int,
        activation: str | Callable = "relu",
        output_activation: str | Callable | None = None,
        use_bias: bool = True,
    ) -> ParametrizedModel:
        """The parametrized :func:`initlab.models.mlp` (paths ``layers/<i>``).

        Args:
          widths: hidden widths (at least one), e.g. (256, 256).
          in_features, out_features, activation, output_activation,
            use_bias: as :func:`initlab.models.mlp`.

        Returns:
          :class:`ParametrizedModel`.

        Raises:
          ValueError: no hidden layer, or widths whose depth does not match
            a per-layer base_width; bad sizes as :func:`initlab.models.mlp`.

        Example:
          >>> pm = Parametrization("ntk", 64).mlp((128,), 64, 10)
          >>> [s.role for s in pm.layers]
          ['input', 'output']
        """
        inner = mlp(widths, in_features, out_features, activation,
                    output_activation, use_bias)  # fmt: skip
        widths = tuple(widths)
        sizes = (in_features, *widths, out_features)
        kernels = [(f"layers/{i}", (a, b))
                   for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:],
                                                        strict=True))]  # fmt: skip
        layers = self._layers(kernels, widths, "widths")
        return ParametrizedModel.wrap(self, inner, layers)

    def cnn1d(
        self,
        in_length: int,
        in_channels: int,
        channels: Sequence[int],
        num_classes: int,
        kernel_size: int = 5,
        activation: str | Callable = "relu",
        stride: int = 2,
    ) -> ParametrizedModel:
        """The parametrized :func:`initlab.models.cnn1d` (``convs/<i>``, ``head``).

        The widths are the conv channels; the head is the output layer (its
        fan-in, the last conv's channels, scales). The first conv's fan-in
        (input channels x window) does not.

        Example:
          >>> pm = Parametrization("mup", 16).cnn1d(40, 1, (64, 64), 10)
          >>> [s.role for s in pm.layers]
          ['input', 'hidden', 'output']
        """
        inner = cnn1d(in_length, in_channels, channels, num_classes, kernel_size,
                      activation, stride)  # fmt: skip
        chans = tuple(channels)
        sizes = (in_channels, *chans)
        kernels = [(f"convs/{i}", (kernel_size, a, b))
                   for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:],
                                                        strict=True))]  # fmt: skip
        kernels.append(("head", (chans[-1], num_classes)))
        layers = self._layers(kernels, chans, "channels")
        return ParametrizedModel.wrap(self, inner, layers)

    def build(self, spec: Any, task: Any) -> ParametrizedModel:
        """A parametrized model from a model config, sized from a task.

        Args:
          spec: ``{"name": "mlp", "widths": [...], ...}`` or ``{"name":
            "cnn1d", "channels": [...], ...}`` (the other sizes come from the
            task, as in :func:`initlab.engine.build_model`); "mlp" / "cnn1d"
            alone take the defaults (128, 128) / (32, 32).
          task: a Task or task name.

        Returns:
          :class:`ParametrizedModel`.

        Raises:
          ValueError: a model this module has no rule for (the recurrent
            models, the MNIST-1D reference models, a PureModel or your own
            code: their width dimensions cannot be read from a
            ``PureModel``), or an unknown argument.

        Example:
          >>> pm = Parametrization("mup", 64).build(
          ...     {"name": "mlp", "widths": [256, 256]}, "digits")
          >>> pm.model.name
          'mlp-64-256-256-10-mup@64'
        """
        from initlab.engine import build_task
        from initlab.engine.build import num_outputs

        if isinstance(spec, str):
            spec = {"name": spec}
        name = spec.get("name") if isinstance(spec, Mapping) else None
        if name not in ("mlp", "cnn1d"):
            given = name if name is not None else type(spec).__name__
            raise ValueError(
                f"{self.title}: no parametrization rule for model {given!r}; "
                "supported: 'mlp' (hidden widths) and 'cnn1d' (conv channels), "
                "whose width dimensions are known. Build it with "
                "Parametrization.mlp(...) / .cnn1d(...)."
            )
        kwargs = {k: tuple(v) if isinstance(v, list) else v
                  for k, v in spec.items() if k != "name"}  # fmt: skip
        method = self.mlp if name == "mlp" else self.cnn1d
        allowed = [p for p in inspect.signature(method).parameters]
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise ValueError(
                f"{self.title}: model {name!r}: unknown argument(s) {unknown}; "
                f"allowed: {allowed}."
            )
        task = build_task(task)
        x = task.x_train
        n_out = num_outputs(task)
        if name == "mlp":
            filled = dict(widths=(128, 128), in_features=math.prod(x.shape[1:]),
                          out_features=n_out)  # fmt: skip
        else:
            filled = dict(in_length=x.shape[1],
                          in_channels=x.shape[-1] if x.ndim == 3 else 1,
                          channels=(32, 32), num_classes=n_out)  # fmt: skip
        return method(**{**filled, **kwargs})


def scale_by_path(multipliers: Mapping[str, float]) -> optax.GradientTransformation:
    """Multiplies each leaf's update by its factor, by path (per-leaf step sizes).

    Chained after an optimizer (``optax.chain(optax.adam(lr),
    scale_by_path(...))``) it gives each leaf the learning rate ``lr *
    factor``: for SGD (with momentum) and Adam the update is linear in the
    step size. Leaves with factor 1 are left untouched (bit for bit).

    Args:
      multipliers: leaf path (see :mod:`initlab.tree_paths`) -> factor > 0.

    Returns:
      A stateless ``optax.GradientTransformation``.

    Raises:
      ValueError: a factor that is not finite and > 0; (at ``init``) a
        parameter tree with a leaf whose path has no factor.

    Example:
      >>> opt = optax.chain(optax.sgd(0.1), scale_by_path(
      ...     {"w": 2.0, "b": 1.0}))
    """
    if not isinstance(multipliers, Mapping):
        raise TypeError(
            f"scale_by_path: multipliers must map leaf paths to numbers; got "
            f"{type(multipliers).__name__}."
        )
    table = {
        str(path): _checks.number(v, f"the factor of {path!r}", where="scale_by_path",
                                  positive=True)
        for path, v in multipliers.items()
    }  # fmt: skip

    def init(params: PyTree) -> optax.EmptyState:
        missing = [p for p in paths(params) if p not in table]
        if missing:
            raise ValueError(
                f"scale_by_path: no learning-rate factor for {missing[:4]}; the "
                f"optimizer was made for the leaves {sorted(table)[:6]}. Use the "
                "optimizer of the same ParametrizedModel as the model."
            )
        return optax.EmptyState()

    def update(updates, state, params=None):
        del params

        def scale(path, u):
            f = table[path]
            return u if f == 1.0 else u * jnp.asarray(f, u.dtype)

        return map_with_paths(scale, updates), state

    return optax.GradientTransformation(init, update)


def _multiplied(factors: Mapping[str, float]) -> Callable[[PyTree], PyTree]:
    """``params -> params`` with the leaves at ``factors``' paths multiplied.

    A factor 1 leaves its leaf untouched (bit for bit); 0 gives zeros.
    """

    def one(path, leaf):
        f = factors.get(path, 1.0)
        if f == 1.0:
            return leaf
        if f == 0.0:
            return jnp.zeros_like(leaf)
        return leaf * jnp.asarray(f, leaf.dtype)

    return lambda params: map_with_paths(one, params)


@dataclasses.dataclass(frozen=True, eq=False)
class ParametrizedModel:
    """A model under a parametrization: the model, its table, its optimizers.

    Made by :meth:`Parametrization.mlp` / :meth:`Parametrization.cnn1d`.

    Attributes:
      parametrization: the :class:`Parametrization`.
      model: the :class:`~initlab.PureModel` to train: ``init(key,
        kernel_init, bias_init)`` draws the inner model with the engine's
        initializers, then multiplies each kernel by the square root of its
        variance factor (zeroes the output layer for ``readout_zero_init``);
        ``apply`` and ``intermediates`` run the inner model on the effective
        weights :meth:`effective` (each kernel times its multiplier). Its name
        is the inner model's plus the parametrization, e.g.
        "mlp-64-256-10-mup@64". The stored parameters (``keep_params``) are
        the ``w``; :meth:`effective` gives the ``W``.
      inner: the standard model it wraps.
      layers: one :class:`LayerScaling` per kernel, input first.
    """

    parametrization: Parametrization
    model: PureModel
    inner: PureModel
    layers: tuple[LayerScaling, ...]

    @classmethod
    def wrap(cls, pz: Parametrization, inner: PureModel,
             layers: tuple[LayerScaling, ...]) -> ParametrizedModel:  # fmt: skip
        """The parametrized model of ``inner`` whose kernels are ``layers``."""
        init_scale = {f"{s.path}/kernel": math.sqrt(s.init_variance) for s in layers}
        if pz.readout_zero_init:
            init_scale[f"{layers[-1].path}/bias"] = 0.0
        effective = _multiplied({f"{s.path}/kernel": s.multiplier for s in layers})

        def init(key, kernel_init=None, bias_init=None):
            params = inner.init(key, kernel_init, bias_init)
            return _multiplied(init_scale)(params)

        def apply(params, x):
            return inner.apply(effective(params), x)

        intermediates = None
        if inner.intermediates is not None:

            def intermediates(params, x):
                return inner.intermediates(effective(params), x)

        model = PureModel(f"{inner.name}-{pz._tag()}", init, apply, intermediates)
        return cls(pz, model, inner, layers)

    def effective(self, params: PyTree) -> PyTree:
        """The weights the network computes with: each kernel times its multiplier.

        Works on one restart's params or a stack (restart axis first).

        Example:
          >>> pm = Parametrization("mup", 64).mlp((256,), 64, 10)
          >>> w = pm.effective(pm.model.init(jax.random.key(0)))
        """
        return _multiplied({f"{s.path}/kernel": s.multiplier for s in self.layers})(
            params
        )

    def lr_factors(self, optimizer: str) -> dict[str, float]:
        """Leaf path -> learning-rate factor for "sgd" or "adam" (the table).

        Example:
          >>> Parametrization("mup", 64).mlp((256,), 64, 10).lr_factors("adam")
          {'layers/0/kernel': 1.0, 'layers/0/bias': 1.0, 'layers/1/kernel': 1.0,
           'layers/1/bias': 1.0}
        """
        where = f"{self.parametrization.title} learning rates"
        column = _checks.choice(optimizer, tuple(OPTIMIZER_COLUMNS), "optimizer",
                                where=where)  # fmt: skip
        out = {}
        for s in self.layers:
            out[f"{s.path}/kernel"] = s.sgd_lr if column == "sgd" else s.adam_lr
            out[f"{s.path}/bias"] = s.bias_sgd_lr if column == "sgd" else s.bias_adam_lr
        return out

    def optimizer(self, name: str = "sgd", **kwargs: Any) -> Callable:
        """``factory(learning_rate) -> optax.GradientTransformation`` with the table's
        per-leaf learning rates.

        ``optax.chain(optax.<name>(learning_rate, **kwargs),
        scale_by_path(factors))``. Pass the factory as ``optimizer=`` to
        :func:`initlab.train` with ``learning_rate=`` one value or a list (an
        axis, one compiled loop). At the base width every factor is 1 and the
        updates are optax's own, bit for bit.

        Args:
          name: "sgd" (the SGD column; any momentum, nesterov) or "adam" (the
            Adam column).
          **kwargs: fixed arguments of the optax optimizer (``momentum=0.9``,
            ``b1=...``, ``eps=...``); not the learning rate.

        Returns:
          The factory.

        Raises:
          ValueError: another optimizer, an argument optax's does not take,
            or a learning_rate among ``kwargs``.

        Example:
          >>> pm = Parametrization("mup", 64).mlp((256, 256), 64, 10)
          >>> opt = pm.optimizer("sgd", momentum=0.9)(0.1)
        """
        where = f"{self.parametrization.title} optimizer"
        column = _checks.choice(name, tuple(OPTIMIZER_COLUMNS), "optimizer",
                                where=where)  # fmt: skip
        allowed = [p for p in inspect.signature(getattr(optax, column)).parameters
                   if p != "learning_rate"]  # fmt: skip
        if "learning_rate" in kwargs:
            raise ValueError(
                f"{where}: give the learning rate to the factory (or as "
                "initlab.train's learning_rate=), not among its arguments."
            )
        unknown = sorted(set(kwargs) - set(allowed))
        if unknown:
            raise ValueError(
                f"{where}: optax.{column} takes no argument(s) {unknown}; allowed: "
                f"{allowed}."
            )
        scale = scale_by_path(self.lr_factors(column))
        base = getattr(optax, column)

        def factory(learning_rate):
            return optax.chain(base(learning_rate, **kwargs), scale)

        label = f"{self.parametrization.name}_{column}"
        factory.__name__ = factory.__qualname__ = label
        return factory

    def table(self):
        """The factors of every kernel and bias: a ``pandas.DataFrame``.

        Columns: leaf, role, shape, m_in, m_out, init_variance, multiplier,
        sgd_lr, adam_lr.
        """
        import pandas as pd

        rows = []
        for s in self.layers:
            rows.append(dict(leaf=f"{s.path}/kernel", role=s.role, shape=s.shape,
                             m_in=s.m_in, m_out=s.m_out,
                             init_variance=s.init_variance, multiplier=s.multiplier,
                             sgd_lr=s.sgd_lr, adam_lr=s.adam_lr))  # fmt: skip
            zero = self.parametrization.readout_zero_init and s.role == "output"
            rows.append(dict(leaf=f"{s.path}/bias", role="bias", shape=(s.shape[-1],),
                             m_in=1.0, m_out=s.m_out,
                             init_variance=0.0 if zero else 1.0, multiplier=1.0,
                             sgd_lr=s.bias_sgd_lr, adam_lr=s.bias_adam_lr))  # fmt: skip
        return pd.DataFrame(rows)
