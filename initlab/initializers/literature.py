"""Initializers from the literature: ZerO, depth scaling, edge of chaos, filter
banks (Gabor, DCT, Haar) and perturbations of pretrained parameters.

Every ``(key, shape, dtype)`` initializer here is an :class:`InitFn` made by a
factory that validates its hyper-parameters; ``perturbed`` works on a whole
parameter tree instead and returns ``(key) -> params``.
"""

from __future__ import annotations

import itertools
import math
import zlib
from collections.abc import Callable, Sequence
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import scipy.linalg
import scipy.optimize
import scipy.special

from initlab._types import PRNGKey, PyTree
from initlab.initializers._core import (
    InitFn,
    choice,
    number,
    positive,
    sample_dtype,
)
from initlab.initializers.basic import random_normal
from initlab.initializers.variance import fans, variance_scaling

EocActivation = Literal["tanh", "erf"]
MeanFieldActivation = Literal["tanh", "erf", "relu", "linear"]
EOC_ACTIVATIONS = ("tanh", "erf")
MEAN_FIELD_ACTIVATIONS = ("tanh", "erf", "relu", "linear")
ScheduleKind = Literal["increasing", "decreasing", "constant"]
SCHEDULE_KINDS = ("increasing", "decreasing", "constant")
SPACINGS = ("linear", "geometric")


# --------------------------------------------------------------------------- #
# Shared helpers: initializers given as objects, names or configs.
# --------------------------------------------------------------------------- #


def _resolve(init: Any, what: str, name: str) -> Callable[..., jax.Array]:
    """An initializer from an initializer, a registry name or a config dict."""
    if callable(init):
        return init
    if isinstance(init, str | dict):
        # Deferred: the registry imports this package (names -> factories).
        from initlab.registry import get

        return get(init)
    raise TypeError(
        f"{name}: {what} must be an initializer such as initlab.he_normal(), a "
        f"registered name or a config dict; got {type(init).__name__} {init!r:.60}."
    )


def _describe(init: Callable[..., jax.Array]) -> Any:
    """The config of an initlab initializer (JSON-safe), else the object itself."""
    if isinstance(init, InitFn):
        return {"name": init.name, **init.config}
    return init


def _int_at_least(value: Any, low: int, what: str, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{name}: {what} must be an int; got {type(value).__name__} {value!r}."
        )
    if value < low:
        raise ValueError(f"{name}: {what} must be >= {low}; got {value}.")
    return int(value)


def _scaled(name: str, config: dict[str, Any], init: Any, scale: float) -> InitFn:
    """``scale * init(key, shape, dtype)``; the multiply is in >= float32."""

    def draw(key, shape, dtype):
        w = init(key, shape, dtype)
        return (w.astype(sample_dtype(dtype)) * scale).astype(dtype)

    return InitFn(name, config, draw)


# --------------------------------------------------------------------------- #
# ZerO
# --------------------------------------------------------------------------- #


def _zero_matrix(n_in: int, n_out: int) -> np.ndarray:
    """ZerO's (in, out) matrix: the transpose of the paper's (out, in) W."""
    if n_in >= n_out:
        # in == out: identity; in > out: partial identity I* (first out inputs).
        return np.eye(n_in, n_out)
    # Expanding layer: c * I* H_m I*, m = ceil(log2(out)), c = 2^{-(m-1)/2}.
    m = math.ceil(math.log2(n_out))
    hadamard = scipy.linalg.hadamard(2**m).astype(np.float64)
    # H_m is symmetric, so the paper's (out, in) block transposed is H[:in, :out].
    return 2.0 ** (-(m - 1) / 2) * hadamard[:n_in, :n_out]


def zero_init() -> InitFn:
    """ZerO: a deterministic full-rank init built from zeros, ones and Hadamards.

    For a dense kernel in Flax's (in, out) layout (the transpose of the
    paper's ``W`` in R^{out x in}):

    * ``in == out``: the identity;
    * ``in > out``: the partial identity ``I*`` (output j copies input j);
    * ``in < out``: ``c * I* H_m I*`` with ``H_m`` the 2^m x 2^m Sylvester
      Hadamard matrix (entries +-1), ``m = ceil(log2(out))`` and
      ``c = 2^{-(m-1)/2}``; i.e. ``w = c * H_m[:in, :out]``.

    Every case has rank ``min(in, out)``. A convolution kernel ``(k..., in,
    out)`` gets that matrix at the centre tap (``k // 2`` on every spatial
    axis) and zeros elsewhere. The key is ignored: every restart starts from
    the same weights, and the paper breaks the symmetry by the Hadamard
    structure, not by randomness. Biases (and, in residual networks, the last
    layer of each branch) should be zero, as in the paper's Algorithm 1.
    Registered as ``"zero_init"`` (not to be confused with ``zeros``).

    Returns:
      ``init(key, shape, dtype)`` for 2- to 5-D shapes.

    Raises:
      ValueError: a shape with fewer than 2 or more than 5 axes (when called).

    Example:
      >>> w = initlab.zero_init()(jax.random.key(0), (64, 128))  # Hadamard block
      >>> bool(jnp.linalg.matrix_rank(w) == 64)
      True

    References:
      Zhao, Schäfer & Anandkumar, "ZerO Initialization: Initializing Neural
      Networks with only Zeros and Ones", TMLR 2022 (arXiv:2110.12661, 2021).
    """
    name = "zero_init"

    def check(shape):
        if not 2 <= len(shape) <= 5:
            raise ValueError(
                f"{name}: needs a dense (in, out) or conv (k..., in, out) shape "
                f"with 2 to 5 axes; got {shape}. For a bias use initlab.zeros()."
            )

    def draw(key, shape, dtype):
        *spatial, n_in, n_out = shape
        w = np.zeros(shape, np.float64)
        w[tuple(k // 2 for k in spatial)] = _zero_matrix(n_in, n_out)
        return jnp.asarray(w, sample_dtype(dtype)).astype(dtype)

    return InitFn(name, {}, draw, check_shape=check)


# --------------------------------------------------------------------------- #
# Depth scaling
# --------------------------------------------------------------------------- #


def depth_scaled(init: Any, scale: float) -> InitFn:
    """Another initializer's draw multiplied by a constant: ``scale * init(...)``.

    The building block of depth-aware schemes (Fixup, GPT-2, schedules): the
    same key, shape and dtype give exactly ``scale`` times the base draw (the
    product is computed in float32 for 16-bit dtypes, then cast).

    Args:
      init: the base initializer (an initializer, a registered name or a
        config dict).
      scale: a finite multiplier >= 0 (0 gives zeros, as Fixup's last layer).

    Returns:
      ``init(key, shape, dtype)``.

    Raises:
      TypeError: ``init`` is not an initializer, name or config.
      ValueError: a negative or non-finite scale.

    Example:
      >>> init = initlab.depth_scaled(initlab.he_normal(), 0.5)
      >>> w = init(jax.random.key(0), (64, 64))   # == 0.5 * he_normal()(key, ...)

    References:
      Zhang, Dauphin & Ma, "Fixup Initialization", ICLR 2019; Radford et al.,
      "Language Models are Unsupervised Multitask Learners", 2019.
    """
    name = "depth_scaled"
    base = _resolve(init, "init", name)
    scale = number(scale, "scale", name)
    if scale < 0:
        raise ValueError(
            f"{name}: scale must be >= 0; got {scale}. Flip signs in the base "
            "initializer instead."
        )
    return _scaled(name, {"init": _describe(base), "scale": scale}, base, scale)


def fixup_scale(num_branches: int, branch_layers: int) -> float:
    """Fixup's multiplier ``L^{-1/(2m-2)}`` for layers inside residual branches.

    Args:
      num_branches: ``L``, the number of residual branches (>= 1).
      branch_layers: ``m``, the number of weight layers per branch (>= 2; with
        one layer per branch the exponent is undefined).

    Returns:
      The multiplier as a float.

    Raises:
      ValueError: counts out of range.

    Example:
      >>> initlab.fixup_scale(16, 2)   # 16 ** -0.5
      0.25

    References:
      Zhang, Dauphin & Ma, "Fixup Initialization: Residual Learning Without
      Normalization", ICLR 2019.
    """
    num_branches = _int_at_least(num_branches, 1, "num_branches", "fixup_scale")
    branch_layers = _int_at_least(branch_layers, 2, "branch_layers", "fixup_scale")
    return float(num_branches ** (-1.0 / (2 * branch_layers - 2)))


def fixup(init: Any, num_branches: int, branch_layers: int = 2) -> InitFn:
    """Fixup: a standard init scaled by ``L^{-1/(2m-2)}`` inside residual branches.

    Use it for every weight layer inside a residual branch except the last,
    which Fixup initializes to zero (as the classification layer); add the
    scalar multipliers and biases of the paper in the model.

    Args:
      init: the base initializer, e.g. ``initlab.he_normal()``.
      num_branches: ``L``, the number of residual branches.
      branch_layers: ``m``, weight layers per branch (default 2).

    Returns:
      ``init(key, shape, dtype)`` equal to ``fixup_scale(L, m) * init(...)``.

    Raises:
      ValueError: counts out of range (see :func:`fixup_scale`).

    Example:
      >>> conv_init = initlab.fixup(initlab.he_normal(), num_branches=16)

    References:
      Zhang, Dauphin & Ma, "Fixup Initialization: Residual Learning Without
      Normalization", ICLR 2019.
    """
    base = _resolve(init, "init", "fixup")
    scale = fixup_scale(num_branches, branch_layers)
    config = {
        "init": _describe(base),
        "num_branches": num_branches,
        "branch_layers": branch_layers,
    }
    return _scaled("fixup", config, base, scale)


def gpt2_scale(num_blocks: int) -> float:
    """GPT-2's multiplier ``1 / sqrt(2 L)`` for residual projections.

    Each of the ``L`` transformer blocks adds two residual branches (attention
    and MLP), so ``N = 2 L`` residual layers each get ``1 / sqrt(N)``.

    Args:
      num_blocks: ``L``, the number of transformer blocks (>= 1).

    Returns:
      The multiplier as a float.

    Example:
      >>> initlab.gpt2_scale(12)   # 1 / sqrt(24)
      0.2041241452319315

    References:
      Radford et al., "Language Models are Unsupervised Multitask Learners",
      OpenAI 2019.
    """
    num_blocks = _int_at_least(num_blocks, 1, "num_blocks", "gpt2_scale")
    return 1.0 / math.sqrt(2 * num_blocks)


def gpt2_residual(num_blocks: int, init: Any = None) -> InitFn:
    """GPT-2's residual-projection init: ``init`` scaled by ``1 / sqrt(2 L)``.

    Args:
      num_blocks: ``L``, the number of transformer blocks.
      init: the base initializer (default ``N(0, 0.02^2)``, GPT-2's).

    Returns:
      ``init(key, shape, dtype)``; with the default, ``N(0, (0.02/sqrt(2L))^2)``.

    Example:
      >>> proj_init = initlab.gpt2_residual(12)   # std 0.02 / sqrt(24)

    References:
      Radford et al., "Language Models are Unsupervised Multitask Learners",
      OpenAI 2019.
    """
    base = (
        random_normal(0.0, 0.02)
        if init is None
        else _resolve(init, "init", "gpt2_residual")
    )
    scale = gpt2_scale(num_blocks)
    config = {"num_blocks": num_blocks, "init": _describe(base)}
    return _scaled("gpt2_residual", config, base, scale)


def schedule_scale(
    layer: int,
    depth: int,
    kind: ScheduleKind = "increasing",
    min_scale: float = 0.5,
    max_scale: float = 2.0,
    spacing: Literal["linear", "geometric"] = "geometric",
) -> float:
    """The multiplier of layer ``layer`` (0-based) of ``depth`` in a schedule.

    With ``t = layer / (depth - 1)`` (``t = 0`` when ``depth == 1``):
    "increasing" goes from ``min_scale`` (first layer) to ``max_scale`` (last),
    "decreasing" the other way, "constant" is 1 everywhere (the control arm).
    "geometric" spacing interpolates ``log(scale)`` linearly (each layer a
    constant factor more random), "linear" the scale itself.

    Args:
      layer: 0-based layer index, ``0 <= layer < depth``.
      depth: number of layers in the schedule (>= 1).
      kind: "increasing" (default), "decreasing" or "constant".
      min_scale: smallest multiplier, > 0 (default 0.5).
      max_scale: largest multiplier, >= min_scale (default 2.0).
      spacing: "geometric" (default) or "linear".

    Returns:
      The multiplier as a float.

    Raises:
      ValueError: a layer outside ``[0, depth)``, unknown kind or spacing,
        ``min_scale > max_scale``.

    Example:
      >>> initlab.schedule_scale(2, 3, "increasing", 0.5, 2.0)
      2.0
    """
    name = "depth_schedule"
    depth = _int_at_least(depth, 1, "depth", name)
    layer = _int_at_least(layer, 0, "layer", name)
    if layer >= depth:
        raise ValueError(
            f"{name}: layer is 0-based and must be < depth={depth}; got {layer}."
        )
    kind = choice(kind, SCHEDULE_KINDS, "kind", name)
    spacing = choice(spacing, SPACINGS, "spacing", name)
    lo = positive(min_scale, "min_scale", name)
    hi = positive(max_scale, "max_scale", name)
    if lo > hi:
        raise ValueError(
            f"{name}: min_scale ({lo}) must be <= max_scale ({hi}); for a "
            "decreasing schedule use kind='decreasing'."
        )
    if kind == "constant":
        return 1.0
    t = layer / (depth - 1) if depth > 1 else 0.0
    if kind == "decreasing":
        t = 1.0 - t
    if spacing == "linear":
        return lo + (hi - lo) * t
    return float(math.exp(math.log(lo) + (math.log(hi) - math.log(lo)) * t))


def depth_schedule(
    init: Any,
    layer: int,
    depth: int,
    kind: ScheduleKind = "increasing",
    min_scale: float = 0.5,
    max_scale: float = 2.0,
    spacing: Literal["linear", "geometric"] = "geometric",
) -> InitFn:
    """A base init scaled by layer: "more random as we go deeper" experiments.

    Layer ``layer`` of ``depth`` draws ``schedule_scale(layer, depth, kind,
    min_scale, max_scale, spacing) * init(key, shape, dtype)``; see
    :func:`schedule_scale` for the schedule.

    Args:
      init: the base initializer, e.g. ``initlab.lecun_normal()``.
      layer, depth, kind, min_scale, max_scale, spacing: see
        :func:`schedule_scale` (defaults "increasing", 0.5, 2.0, "geometric").

    Returns:
      ``init(key, shape, dtype)`` for that layer.

    Example:
      >>> inits = [initlab.depth_schedule(initlab.he_normal(), l, 8)
      ...          for l in range(8)]   # x0.5 at layer 0 ... x2 at layer 7

    References:
      The depth-dependent scalings of Fixup (Zhang et al., ICLR 2019) and
      GPT-2 (Radford et al., 2019), generalised to a schedule.
    """
    base = _resolve(init, "init", "depth_schedule")
    scale = schedule_scale(layer, depth, kind, min_scale, max_scale, spacing)
    config = dict(
        init=_describe(base),
        layer=layer,
        depth=depth,
        kind=kind,
        min_scale=float(min_scale),
        max_scale=float(max_scale),
        spacing=spacing,
    )
    return _scaled("depth_schedule", config, base, scale)


# --------------------------------------------------------------------------- #
# Edge of chaos (mean-field theory of deep random networks)
# --------------------------------------------------------------------------- #

# Probabilists' Gauss-Hermite rule: sum(w f(z)) / sqrt(2 pi) = E[f(z)], z~N(0,1).
# With 201 nodes it matches the erf closed forms to ~1e-13 for q <= 4 but only
# to ~1e-6 at q = 10 (tanh(sqrt(q) z) turns step-like), so larger q falls back
# to adaptive quadrature (scipy.integrate.quad).
_GH_NODES, _GH_WEIGHTS = np.polynomial.hermite_e.hermegauss(201)
_GH_WEIGHTS = _GH_WEIGHTS / math.sqrt(2 * math.pi)
_GH_MAX_Q = 4.0


def _phi(activation: str) -> tuple[Callable, Callable]:
    if activation == "tanh":
        return np.tanh, lambda x: 1.0 - np.tanh(x) ** 2
    if activation == "erf":
        return scipy.special.erf, lambda x: 2 / math.sqrt(math.pi) * np.exp(-(x**2))
    if activation == "relu":
        return lambda x: np.maximum(x, 0.0), lambda x: (x > 0).astype(float)
    return (lambda x: x), np.ones_like


def _gauss(f: Callable[[np.ndarray], np.ndarray], q: float) -> float:
    """E[f(sqrt(q) z)] for z ~ N(0, 1) by Gauss-Hermite quadrature (q <= 4)."""
    root = math.sqrt(max(q, 0.0))
    if q <= _GH_MAX_Q:
        return float(_GH_WEIGHTS @ f(root * _GH_NODES))

    def integrand(z):
        return float(f(np.asarray(root * z))) * math.exp(-z * z / 2)

    value, _ = scipy.integrate.quad(integrand, -np.inf, np.inf, epsabs=1e-13)
    return value / math.sqrt(2 * math.pi)


def _mf_args(sigma_w, sigma_b, activation, name, allowed=MEAN_FIELD_ACTIVATIONS):
    sigma_w = number(sigma_w, "sigma_w", name)
    sigma_b = number(sigma_b, "sigma_b", name)
    if sigma_w < 0 or sigma_b < 0:
        raise ValueError(
            f"{name}: sigma_w and sigma_b are standard deviations and must be "
            f">= 0; got sigma_w={sigma_w}, sigma_b={sigma_b}."
        )
    return sigma_w, sigma_b, choice(activation, allowed, "activation", name)


def variance_map(
    q: float,
    sigma_w: float,
    sigma_b: float = 0.0,
    activation: MeanFieldActivation = "tanh",
) -> float:
    """The mean-field length map ``q -> sigma_w^2 E[phi(sqrt(q) z)^2] + sigma_b^2``.

    For a layer ``h' = W phi(h) + b`` with ``W_ij ~ N(0, sigma_w^2 / fan_in)``
    and ``b_i ~ N(0, sigma_b^2)``, this maps the second moment ``q`` of the
    pre-activations ``h`` to that of ``h'`` in the wide limit. The expectation
    is over ``z ~ N(0, 1)`` (Gauss-Hermite quadrature with 201 nodes for
    ``q <= 4``, adaptive quadrature above; exact forms for relu, ``q/2``, and
    linear, ``q``).

    Args:
      q: pre-activation second moment, >= 0.
      sigma_w: weight std (times sqrt(fan_in)), >= 0.
      sigma_b: bias std, >= 0 (default 0).
      activation: "tanh" (default), "erf" (``erf(x)``, unscaled), "relu" or
        "linear".

    Returns:
      The next layer's ``q``.

    Example:
      >>> initlab.variance_map(1.0, 1.0, 0.0, "relu")
      0.5

    References:
      Poole et al., "Exponential expressivity in deep neural networks through
      transient chaos", NeurIPS 2016.
    """
    name = "variance_map"
    sigma_w, sigma_b, activation = _mf_args(sigma_w, sigma_b, activation, name)
    q = number(q, "q", name)
    if q < 0:
        raise ValueError(f"{name}: q is a second moment and must be >= 0; got {q}.")
    if activation == "relu":
        moment = q / 2
    elif activation == "linear":
        moment = q
    else:
        moment = _gauss(lambda x: _phi(activation)[0](x) ** 2, q)
    return sigma_w**2 * moment + sigma_b**2


def mean_field_q(
    depth: int,
    sigma_w: float,
    sigma_b: float = 0.0,
    activation: MeanFieldActivation = "tanh",
    q_input: float = 1.0,
) -> np.ndarray:
    """The mean-field pre-activation second moments ``q_1 ... q_depth``.

    ``q_1 = sigma_w^2 q_input + sigma_b^2`` (the input is not passed through
    ``phi``) and ``q_{l+1} = variance_map(q_l)``: the prediction for the
    per-layer second moment of a wide random MLP whose inputs have mean square
    ``q_input`` per coordinate.

    Args:
      depth: number of layers (>= 1).
      sigma_w, sigma_b, activation: see :func:`variance_map`.
      q_input: mean square of the input coordinates (default 1).

    Returns:
      float64 array of shape ``(depth,)``.

    Example:
      >>> q = initlab.mean_field_q(32, 1.0, 0.0, "tanh")   # ~ 1 / (2 l)

    References:
      Poole et al., NeurIPS 2016; Schoenholz et al., "Deep Information
      Propagation", ICLR 2017.
    """
    name = "mean_field_q"
    depth = _int_at_least(depth, 1, "depth", name)
    sigma_w, sigma_b, activation = _mf_args(sigma_w, sigma_b, activation, name)
    q = sigma_w**2 * positive(q_input, "q_input", name) + sigma_b**2
    out = [q]
    for _ in range(depth - 1):
        q = variance_map(q, sigma_w, sigma_b, activation)
        out.append(q)
    return np.asarray(out)


def fixed_point_q(
    sigma_w: float, sigma_b: float = 0.0, activation: EocActivation = "tanh"
) -> float:
    """The fixed point ``q*`` of :func:`variance_map` for tanh or erf networks.

    Solved with Brent's method on ``(0, sigma_w^2 + sigma_b^2]`` (phi^2 <= 1
    bounds the map). With ``sigma_b = 0`` and ``sigma_w phi'(0) <= 1`` the only
    fixed point is ``q* = 0`` (signals shrink to zero) and 0 is returned.

    Args:
      sigma_w: weight std (times sqrt(fan_in)), >= 0.
      sigma_b: bias std, >= 0 (default 0).
      activation: "tanh" (default) or "erf".

    Returns:
      ``q*`` as a float.

    Example:
      >>> initlab.fixed_point_q(1.0, 0.0)
      0.0

    References:
      Poole et al., NeurIPS 2016.
    """
    name = "fixed_point_q"
    sigma_w, sigma_b, activation = _mf_args(
        sigma_w, sigma_b, activation, name, EOC_ACTIVATIONS
    )
    if sigma_w == 0:
        return sigma_b**2

    def excess(q):
        return variance_map(q, sigma_w, sigma_b, activation) - q

    lo, hi = 1e-12, sigma_w**2 + sigma_b**2 + 1e-9
    if excess(lo) <= 0:
        return 0.0
    return float(scipy.optimize.brentq(excess, lo, hi, xtol=1e-14, rtol=1e-12))


def chi_1(
    sigma_w: float, sigma_b: float = 0.0, activation: EocActivation = "tanh"
) -> float:
    """``chi_1 = sigma_w^2 E[phi'(sqrt(q*) z)^2]``: the mean squared singular
    value of a layer's Jacobian at the fixed point.

    ``chi_1 < 1``: ordered phase (nearby inputs converge, gradients vanish);
    ``chi_1 > 1``: chaotic phase (they diverge, gradients explode);
    ``chi_1 = 1``: the edge of chaos, where signals travel deepest.

    Args:
      sigma_w, sigma_b, activation: see :func:`fixed_point_q`.

    Returns:
      ``chi_1`` as a float.

    Example:
      >>> round(initlab.chi_1(1.0, 0.0, "tanh"), 12)
      1.0

    References:
      Poole et al., NeurIPS 2016; Schoenholz et al., "Deep Information
      Propagation", ICLR 2017.
    """
    q_star = fixed_point_q(sigma_w, sigma_b, activation)
    dphi = _phi(activation)[1]
    return float(sigma_w) ** 2 * _gauss(lambda x: dphi(x) ** 2, q_star)


def critical_sigma_w(sigma_b: float = 0.0, activation: EocActivation = "tanh") -> float:
    """The weight std on the edge of chaos: the ``sigma_w`` with ``chi_1 = 1``.

    Solved with Brent's method. Because ``|phi'|`` peaks at 0 for tanh and erf,
    ``chi_1 <= 1`` at ``sigma_w = 1 / phi'(0)`` (tanh: 1, erf: sqrt(pi)/2), with
    equality when ``sigma_b = 0``; the bracket's upper end doubles until
    ``chi_1 > 1``. Known values: tanh with ``sigma_b = 0`` gives exactly 1; the
    critical ``sigma_w`` grows with ``sigma_b``.

    Args:
      sigma_b: bias std, >= 0 (default 0).
      activation: "tanh" (default) or "erf" (unscaled ``erf(x)``).

    Returns:
      ``sigma_w`` as a float (``chi_1(sigma_w, sigma_b) = 1`` to ~1e-10).

    Raises:
      ValueError: a negative sigma_b or an unknown activation.

    Example:
      >>> initlab.critical_sigma_w(0.0, "tanh")
      1.0

    References:
      Schoenholz, Gilmer, Ganguli & Sohl-Dickstein, "Deep Information
      Propagation", ICLR 2017; Poole et al., NeurIPS 2016.
    """
    name = "critical_sigma_w"
    _, sigma_b, activation = _mf_args(1.0, sigma_b, activation, name, EOC_ACTIVATIONS)
    lo = 1.0 if activation == "tanh" else math.sqrt(math.pi) / 2

    def excess(sigma_w):
        return chi_1(sigma_w, sigma_b, activation) - 1.0

    if excess(lo) >= 0:  # sigma_b == 0: the edge sits at 1 / phi'(0) exactly.
        return lo
    hi = 2 * lo
    while excess(hi) <= 0:
        hi *= 2
        if hi > 1e6:
            raise ValueError(
                f"{name}: found no sigma_w <= 1e6 with chi_1 = 1 for "
                f"sigma_b={sigma_b}; use a smaller sigma_b."
            )
    return float(scipy.optimize.brentq(excess, lo, hi, xtol=1e-13, rtol=1e-13))


def edge_of_chaos(
    sigma_b: float = 0.0,
    activation: EocActivation = "tanh",
    distribution: Literal["untruncated_normal", "uniform"] = "untruncated_normal",
) -> InitFn:
    """Kernel init on the edge of chaos: ``N(0, sigma_w^2 / fan_in)``.

    ``sigma_w = critical_sigma_w(sigma_b, activation)`` is computed once, when
    the factory is called. Pair it with ``edge_of_chaos_bias(sigma_b)`` for the
    biases: the pair puts a deep tanh (or erf) network at ``chi_1 = 1``.

    Args:
      sigma_b: bias std the network will use, >= 0 (default 0).
      activation: "tanh" (default) or "erf".
      distribution: "untruncated_normal" (default; the theory's Gaussian) or
        "uniform" (same variance; mean-field results depend on it only
        through the variance in the wide limit).

    Returns:
      ``init(key, shape, dtype)`` for shapes of 2+ axes (fans as in
      :func:`initlab.fans`).

    Raises:
      ValueError: negative sigma_b, unknown activation or distribution.

    Example:
      >>> kernel_init = initlab.edge_of_chaos(sigma_b=0.05)
      >>> bias_init = initlab.edge_of_chaos_bias(sigma_b=0.05)

    References:
      Poole et al., "Exponential expressivity in deep neural networks through
      transient chaos", NeurIPS 2016; Schoenholz et al., "Deep Information
      Propagation", ICLR 2017.
    """
    name = "edge_of_chaos"
    distribution = choice(
        distribution, ("untruncated_normal", "uniform"), "distribution", name
    )
    sigma_w = critical_sigma_w(sigma_b, activation)
    inner = variance_scaling(sigma_w**2, "fan_in", distribution, _name=name)

    def check(shape):
        try:
            fans(shape)
        except ValueError as e:
            raise ValueError(f"{name}: {e}") from None

    config = {
        "sigma_b": float(sigma_b),
        "activation": activation,
        "distribution": distribution,
    }
    return InitFn(name, config, lambda k, s, d: inner(k, s, d), check_shape=check)


def edge_of_chaos_bias(sigma_b: float = 0.0) -> InitFn:
    """Bias init matching :func:`edge_of_chaos`: ``N(0, sigma_b^2)`` (0 -> zeros).

    Args:
      sigma_b: bias std, >= 0 (default 0).

    Returns:
      ``init(key, shape, dtype)`` for any shape.

    Example:
      >>> b = initlab.edge_of_chaos_bias(0.05)(jax.random.key(0), (256,))

    References:
      Schoenholz et al., "Deep Information Propagation", ICLR 2017.
    """
    name = "edge_of_chaos_bias"
    sigma_b = number(sigma_b, "sigma_b", name)
    if sigma_b < 0:
        raise ValueError(f"{name}: sigma_b must be >= 0; got {sigma_b}.")

    def draw(key, shape, dtype):
        z = jax.random.normal(key, shape, sample_dtype(dtype))
        return (sigma_b * z).astype(dtype)

    return InitFn(name, {"sigma_b": sigma_b}, draw)


# --------------------------------------------------------------------------- #
# First-layer dictionaries: Gabor, DCT and Haar filter banks
# --------------------------------------------------------------------------- #


def _dct_matrix(k: int) -> np.ndarray:
    """Orthonormal DCT-II basis, rows by increasing frequency: (k, k)."""
    n = np.arange(k)
    basis = np.cos(np.pi * (2 * n[None, :] + 1) * n[:, None] / (2 * k))
    basis *= np.sqrt(2.0 / k)
    basis[0] /= np.sqrt(2.0)
    return basis


def _haar_matrix(k: int) -> np.ndarray:
    """Orthonormal Haar basis, rows coarse to fine: (k, k), k a power of 2."""
    h = np.ones((1, 1))
    while h.shape[0] < k:
        n = h.shape[0]
        h = np.vstack([np.kron(h, [1.0, 1.0]), np.kron(np.eye(n), [1.0, -1.0])])
        h /= np.sqrt(2.0)
    return h


def _separable(basis_of: Callable[[int], np.ndarray], spatial) -> np.ndarray:
    """(P, *spatial) products of 1-D bases, P = prod(spatial), lowest index sum
    (coarsest / lowest frequency) first."""
    bases = [basis_of(k) for k in spatial]
    order = sorted(itertools.product(*[range(k) for k in spatial]),
                   key=lambda idx: (sum(idx), idx))  # fmt: skip
    patterns = []
    for idx in order:
        p = np.ones(())
        for b, i in zip(bases, idx, strict=True):
            p = np.multiply.outer(p, b[i])
        patterns.append(p)
    return np.stack(patterns)


def _place(patterns: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """Filter o = pattern (o mod P) on input channel (o div P) mod in."""
    *spatial, n_in, n_out = shape
    num = patterns.shape[0]
    w = np.zeros(shape, np.float64)
    for o in range(n_out):
        w[..., (o // num) % n_in, o] = patterns[o % num]
    return w


def _bank(name, config, patterns_of, noise, gain, check) -> InitFn:
    def draw(key, shape, dtype):
        w = gain * _place(patterns_of(tuple(shape[:-2])), shape)
        out = jnp.asarray(w, sample_dtype(dtype))
        if noise is not None:
            out = out + noise(key, shape, dtype).astype(out.dtype)
        return out.astype(dtype)

    return InitFn(name, config, draw, check_shape=check)


def _conv_check(
    name: str,
    extra: Callable[[tuple[int, ...]], None] | None = None,
    ranks: tuple[int, ...] = (3, 4, 5),
):
    def check(shape):
        if len(shape) not in ranks:
            kinds = "1-D (k, in, out) or 2-D (kh, kw, in, out)"
            if 5 in ranks:
                kinds += " or 3-D (kd, kh, kw, in, out)"
            raise ValueError(
                f"{name}: needs a {kinds} conv kernel shape in Flax's layout; got "
                f"{shape}. A dense (in, out) kernel has no spatial filters."
            )
        if extra is not None:
            extra(shape)

    return check


def _bank_args(noise, gain, name):
    noise = None if noise is None else _resolve(noise, "noise", name)
    return noise, number(gain, "gain", name)


def dct(noise: Any = None, gain: float = 1.0) -> InitFn:
    """A DCT-II filter bank for a first conv layer, plus optional noise.

    Pattern ``u`` of a 1-D kernel of size ``k`` is ``a_u cos(pi (2n+1) u /
    (2k))`` with ``a_0 = sqrt(1/k)``, ``a_u = sqrt(2/k)``: unit norm, lowest
    frequency first. 2-D and 3-D kernels use the separable products
    ``b_u (x) b_v (x) ...`` ordered by ``u + v + ...``. Output channel ``o``
    holds pattern ``o mod P`` (``P = prod(kernel size)``) on input channel
    ``(o div P) mod in``, zero on the others. Hence the kernel reshaped to
    ``(prod(k) * in, out)`` has orthonormal columns whenever ``out <= P *
    in``, and is an orthonormal basis when ``out == P * in`` (e.g. ``out`` =
    kernel size with one input channel); with more outputs the patterns
    repeat, and ``noise`` breaks the tie.

    Args:
      noise: optional initializer added to the bank (e.g.
        ``initlab.random_normal(stddev=0.01)``); the key is ignored without it.
      gain: multiplier of the bank (default 1.0).

    Returns:
      ``init(key, shape, dtype)`` for (k, in, out), (kh, kw, in, out) or
      (kd, kh, kw, in, out).

    Raises:
      ValueError: a shape that is not a 1-, 2- or 3-D conv kernel.

    Example:
      >>> w = initlab.dct()(jax.random.key(0), (8, 1, 8))   # orthonormal basis

    References:
      Ahmed, Natarajan & Rao, "Discrete Cosine Transform", IEEE Trans.
      Computers 1974; Ulicny, Krylov & Dahyot, "Harmonic Networks: Integrating
      Spectral Information into CNNs", 2018.
    """
    name = "dct"
    noise, gain = _bank_args(noise, gain, name)
    config = {"noise": None if noise is None else _describe(noise), "gain": gain}
    return _bank(
        name,
        config,
        lambda sp: _separable(_dct_matrix, sp),
        noise,
        gain,
        _conv_check(name),
    )


def haar(noise: Any = None, gain: float = 1.0) -> InitFn:
    """A Haar wavelet filter bank for a first conv layer, plus optional noise.

    The 1-D basis for a kernel of size ``k = 2^n``: the constant ``1/sqrt(k)``
    then the Haar wavelets from coarse to fine (each ``+-2^{-j/2}`` on its
    support), orthonormal. 2-D and 3-D kernels use separable products ordered
    by index sum. Placement over channels and the orthonormality statement are
    those of :func:`dct`: orthonormal columns when ``out <= prod(k) * in``, a
    basis when equal.

    Args:
      noise: optional initializer added to the bank.
      gain: multiplier of the bank (default 1.0).

    Returns:
      ``init(key, shape, dtype)`` for 1-, 2- or 3-D conv kernels.

    Raises:
      ValueError: a spatial size that is not a power of 2, or a shape that is
        not a 1-, 2- or 3-D conv kernel.

    Example:
      >>> w = initlab.haar()(jax.random.key(0), (4, 4, 3, 48))   # a basis

    References:
      Haar, "Zur Theorie der orthogonalen Funktionensysteme", Math. Annalen
      1910; Mallat, "A theory for multiresolution signal decomposition", 1989.
    """
    name = "haar"
    noise, gain = _bank_args(noise, gain, name)

    def powers_of_two(shape):
        spatial = shape[:-2]
        if any(k < 1 or k & (k - 1) for k in spatial):
            raise ValueError(
                f"{name}: spatial sizes must be powers of 2 (1, 2, 4, 8, ...); got "
                f"{spatial} from shape {shape}. Use dct() for other sizes."
            )

    config = {"noise": None if noise is None else _describe(noise), "gain": gain}
    return _bank(
        name,
        config,
        lambda sp: _separable(_haar_matrix, sp),
        noise,
        gain,
        _conv_check(name, powers_of_two),
    )


def gabor(
    frequencies: Sequence[float] = (0.125, 0.25),
    num_orientations: int = 4,
    sigma: float | None = None,
    phases: Sequence[float] = (0.0, math.pi / 2),
    noise: Any = None,
    gain: float = 1.0,
) -> InitFn:
    """A Gabor filter bank for a first conv layer, plus optional noise.

    With coordinates centred on the kernel (``x = n - (k-1)/2``), each filter
    is ``exp(-(x^2 + y^2) / (2 sigma^2)) cos(2 pi f x' + phase)``, ``x' = x cos
    theta + y sin theta``, normalised to unit L2 norm; 1-D kernels drop ``y``
    and ``theta``. The bank is every (frequency, orientation ``theta = pi i /
    num_orientations``, phase) in that order, and output channel ``o`` holds
    filter ``o mod P`` on input channel ``(o div P) mod in``. The discrete
    Fourier transform of a filter peaks at frequency ``f`` cycles per sample
    (in direction theta), up to the DFT's resolution ``1/k``.

    Args:
      frequencies: spatial frequencies in cycles per sample, each in
        ``(0, 0.5]`` (Nyquist) (default (0.125, 0.25)).
      num_orientations: number of orientations for 2-D kernels (default 4).
      sigma: envelope std in samples; default ``0.56 / f`` per frequency (a
        one-octave bandwidth, as in V1 simple cells).
      phases: phases in radians (default (0, pi/2): even and odd filters).
      noise: optional initializer added to the bank.
      gain: multiplier of the bank (default 1.0).

    Returns:
      ``init(key, shape, dtype)`` for (k, in, out) or (kh, kw, in, out).

    Raises:
      ValueError: a frequency outside (0, 0.5], a non-positive sigma or
        orientation count, empty lists, or (when called) a filter that
        vanishes on the kernel (e.g. an odd filter on a 1-tap kernel).

    Example:
      >>> w = initlab.gabor((0.25,), 4)(jax.random.key(0), (7, 7, 3, 24))

    References:
      Gabor, "Theory of communication", 1946; Daugman, "Uncertainty relation
      for resolution in space, spatial frequency, and orientation", JOSA 1985;
      Krizhevsky, Sutskever & Hinton, ImageNet CNNs learn Gabor-like first
      layers, NeurIPS 2012.
    """
    name = "gabor"
    freqs = tuple(number(f, "frequency", name) for f in frequencies)
    if not freqs or any(not 0 < f <= 0.5 for f in freqs):
        raise ValueError(
            f"{name}: frequencies must be a non-empty list of cycles per sample in "
            f"(0, 0.5]; got {tuple(frequencies)}."
        )
    num_orientations = _int_at_least(num_orientations, 1, "num_orientations", name)
    sig = None if sigma is None else positive(sigma, "sigma", name)
    phs = tuple(number(p, "phase", name) for p in phases)
    if not phs:
        raise ValueError(f"{name}: phases must not be empty; e.g. (0.0, pi/2).")
    noise, gain = _bank_args(noise, gain, name)

    def patterns_of(spatial):
        grids = np.meshgrid(
            *[np.arange(k) - (k - 1) / 2 for k in spatial], indexing="ij"
        )
        angles = (
            [0.0] if len(spatial) == 1 else
            [math.pi * i / num_orientations for i in range(num_orientations)]
        )  # fmt: skip
        out = []
        for f in freqs:
            s = 0.56 / f if sig is None else sig
            envelope = np.exp(-sum(g**2 for g in grids) / (2 * s**2))
            for theta in angles:
                along = grids[0] if len(spatial) == 1 else (
                    grids[1] * math.cos(theta) + grids[0] * math.sin(theta)
                )  # fmt: skip
                for phase in phs:
                    p = envelope * np.cos(2 * math.pi * f * along + phase)
                    norm = np.linalg.norm(p)
                    if norm < 1e-8:
                        raise ValueError(
                            f"{name}: the filter (f={f}, theta={theta:.3f}, phase="
                            f"{phase:.3f}) vanishes on a {spatial} kernel; use a "
                            "larger kernel or drop that phase."
                        )
                    out.append(p / norm)
        return np.stack(out)

    config = dict(
        frequencies=freqs,
        num_orientations=num_orientations,
        sigma=sig,
        phases=phs,
        noise=None if noise is None else _describe(noise),
        gain=gain,
    )
    return _bank(
        name, config, patterns_of, noise, gain, _conv_check(name, ranks=(3, 4))
    )


# --------------------------------------------------------------------------- #
# Pretrained / perturbed parameters
# --------------------------------------------------------------------------- #


def _path_seed(path) -> int:
    """A stable 31-bit seed from a leaf's path (crc32 of its keystr)."""
    return zlib.crc32(jax.tree_util.keystr(path).encode()) & 0x7FFFFFFF


def perturbed(
    params: PyTree, noise: Any = None, scale: float = 1.0
) -> Callable[[PRNGKey], PyTree]:
    """Pretrained parameters plus ``scale`` times fresh noise, per leaf.

    Returns ``draw(key) -> params'`` with ``params'[leaf] = params[leaf] +
    scale * noise(fold_in(key, crc32(path)), leaf.shape, leaf.dtype)``. Keys
    come from the crc32 of each leaf's path (``jax.tree_util.keystr``), so a
    leaf's noise does not change when other leaves are added, removed or
    reordered. Leaves that are not floating-point arrays (step counters,
    masks) are returned unchanged. With ``noise=None`` or ``scale=0`` the
    returned function gives back ``params`` itself, bit for bit. Vmap ``draw``
    over keys for many perturbed restarts.

    Args:
      params: a pytree of arrays (the pretrained parameters).
      noise: an initializer (or name/config) for the noise, e.g.
        ``initlab.random_normal(stddev=0.01)``; it must accept every float
        leaf's shape (fan-based initializers refuse 1-D biases). None: no
        noise.
      scale: finite multiplier of the noise (default 1.0).

    Returns:
      ``draw(key) -> pytree`` with the structure of ``params``.

    Raises:
      TypeError: ``noise`` is not an initializer, name or config.
      ValueError: a non-finite scale.

    Example:
      >>> draw = initlab.perturbed(pretrained, initlab.random_normal(stddev=1e-3))
      >>> restarts = jax.vmap(draw)(jax.random.split(jax.random.key(0), 16))

    References:
      Frankle et al., "Linear Mode Connectivity and the Lottery Ticket
      Hypothesis", ICML 2020 (perturbing a trained network's weights).
    """
    name = "perturbed"
    scale = number(scale, "scale", name)
    noise_fn = None if noise is None else _resolve(noise, "noise", name)
    if noise_fn is None or scale == 0.0:
        return lambda key: params

    def draw(key: PRNGKey) -> PyTree:
        def leaf(path, x):
            dtype = getattr(x, "dtype", None)
            if dtype is None or not jnp.issubdtype(dtype, jnp.floating):
                return x
            eps = noise_fn(jax.random.fold_in(key, _path_seed(path)), x.shape, dtype)
            return (x + scale * eps).astype(dtype)

        return jax.tree_util.tree_map_with_path(leaf, params)

    return draw
