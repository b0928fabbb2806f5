"""Edge of chaos: mean-field theory of deep random networks."""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Literal

import jax
import numpy as np
import scipy.integrate
import scipy.optimize
import scipy.special

from initlab import _checks
from initlab.initializers._core import InitFn, sample_dtype
from initlab.initializers.registry import register
from initlab.initializers.variance import Axes, layout, variance_scaling

EocActivation = Literal["tanh", "erf"]
MeanFieldActivation = Literal["tanh", "erf", "relu", "linear"]
EOC_ACTIVATIONS = ("tanh", "erf")
MEAN_FIELD_ACTIVATIONS = ("tanh", "erf", "relu", "linear")


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
    sigma_w = _checks.number(sigma_w, "sigma_w", where=name)
    sigma_b = _checks.number(sigma_b, "sigma_b", where=name)
    if sigma_w < 0 or sigma_b < 0:
        raise ValueError(
            f"{name}: sigma_w and sigma_b are standard deviations and must be "
            f">= 0; got sigma_w={sigma_w}, sigma_b={sigma_b}."
        )
    return (
        sigma_w,
        sigma_b,
        _checks.choice(activation, allowed, "activation", where=name),
    )


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
      >>> from initlab.initializers.mean_field import variance_map
      >>> variance_map(1.0, 1.0, 0.0, "relu")
      0.5

    References:
      Poole et al., "Exponential expressivity in deep neural networks through
      transient chaos", NeurIPS 2016.
    """
    name = "variance_map"
    sigma_w, sigma_b, activation = _mf_args(sigma_w, sigma_b, activation, name)
    q = _checks.number(q, "q", where=name)
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
      >>> from initlab.initializers.mean_field import mean_field_q
      >>> q = mean_field_q(32, 1.0, 0.0, "tanh")   # ~ 1 / (2 l)

    References:
      Poole et al., NeurIPS 2016; Schoenholz et al., "Deep Information
      Propagation", ICLR 2017.
    """
    name = "mean_field_q"
    depth = _checks.positive_int(depth, "depth", where=name)
    sigma_w, sigma_b, activation = _mf_args(sigma_w, sigma_b, activation, name)
    q = (
        sigma_w**2 * _checks.number(q_input, "q_input", where=name, positive=True)
        + sigma_b**2
    )
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


@register(
    "edge_of_chaos",
    formula="N(0, σ_w²/fan_in), σ_w solves χ₁ = 1 (sigma_b=0, tanh)",
)
def edge_of_chaos(
    sigma_b: float = 0.0,
    activation: EocActivation = "tanh",
    distribution: Literal["untruncated_normal", "uniform"] = "untruncated_normal",
    in_axis: Axes = -2,
    out_axis: Axes = -1,
    batch_axis: Axes = (),
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
      in_axis, out_axis, batch_axis: layout, each an axis or a sequence of
        axes, see :func:`initlab.fans`.

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
    distribution = _checks.choice(
        distribution, ("untruncated_normal", "uniform"), "distribution", where=name
    )
    sigma_w = critical_sigma_w(sigma_b, activation)
    axes = layout(in_axis, out_axis, batch_axis, name=name)
    inner = variance_scaling(
        sigma_w**2, "fan_in", distribution, in_axis, out_axis, batch_axis, _name=name
    )

    def check(shape):
        axes.fans(shape, name)

    config = {
        "sigma_b": float(sigma_b),
        "activation": activation,
        "distribution": distribution,
        **axes.config(),
    }
    return InitFn(name, config, lambda k, s, d: inner(k, s, d), check_shape=check)


@register("edge_of_chaos_bias", formula="N(0, σ_b²) (sigma_b=0)")
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
    sigma_b = _checks.number(sigma_b, "sigma_b", where=name)
    if sigma_b < 0:
        raise ValueError(f"{name}: sigma_b must be >= 0; got {sigma_b}.")

    def draw(key, shape, dtype):
        z = jax.random.normal(key, shape, sample_dtype(dtype))
        return (sigma_b * z).astype(dtype)

    return InitFn(name, {"sigma_b": sigma_b}, draw)
