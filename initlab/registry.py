"""Initializers by name or config: ``get``, ``names``, ``to_config``, ``register``."""

from __future__ import annotations

import difflib
import inspect
import re
from collections.abc import Callable
from typing import Any

from initlab import initializers as I
from initlab.initializers import InitFn

# name -> factory. Every factory returns an InitFn.
REGISTRY: dict[str, Callable[..., InitFn]] = {
    "zeros": I.zeros,
    "ones": I.ones,
    "constant": I.constant,
    "random_normal": I.random_normal,
    "random_uniform": I.random_uniform,
    "truncated_normal": I.truncated_normal,
    "variance_scaling": I.variance_scaling,
    "orthogonal": I.orthogonal,
    "identity": I.identity,
    "lecun_uniform": I.lecun_uniform,
    "lecun_normal": I.lecun_normal,
    "glorot_uniform": I.glorot_uniform,
    "glorot_normal": I.glorot_normal,
    "he_uniform": I.he_uniform,
    "he_normal": I.he_normal,
    "xavier_uniform": I.xavier_uniform,
    "xavier_normal": I.xavier_normal,
    "kaiming_uniform": I.kaiming_uniform,
    "kaiming_normal": I.kaiming_normal,
    "torch_default": I.torch_default,
    "torch_default_bias": I.torch_default_bias,
    "dirac": I.dirac,
    "delta_orthogonal": I.delta_orthogonal,
    "sparse": I.sparse,
    "zero_init": I.zero_init,
    "depth_scaled": I.depth_scaled,
    "fixup": I.fixup,
    "gpt2_residual": I.gpt2_residual,
    "depth_schedule": I.depth_schedule,
    "edge_of_chaos": I.edge_of_chaos,
    "edge_of_chaos_bias": I.edge_of_chaos_bias,
    "gabor": I.gabor,
    "dct": I.dct,
    "haar": I.haar,
}

# The seed's list: Keras's built-in initializers, in Keras's order.
KERAS_NAMES = (
    "zeros", "ones", "constant", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "orthogonal", "identity",
    "lecun_uniform", "lecun_normal", "glorot_uniform", "glorot_normal",
    "he_uniform", "he_normal",
)  # fmt: skip

# One line per entry for `initlab list` and the README: formula and defaults.
FORMULAS: dict[str, str] = {
    "zeros": "w = 0",
    "ones": "w = 1",
    "constant": "w = value (value=0.0)",
    "random_normal": "N(mean, stddev²) (mean=0, stddev=0.05)",
    "random_uniform": "U(minval, maxval) (minval=-0.05, maxval=0.05)",
    "truncated_normal": "N(mean, stddev²) cut at ±2 stddev, not rescaled "
    "(mean=0, stddev=0.05)",
    "variance_scaling": "Var = scale/fan; uniform b=√(3·scale/fan); truncated "
    "std √(scale/fan)/0.8796 (scale=1, fan_in, truncated_normal)",
    "orthogonal": "gain · Q, Q from QR of a Gaussian, sign(diag R) fixed (gain=1)",
    "identity": "gain · I, non-square padded with zeros; 2-D only (gain=1)",
    "lecun_uniform": "U(±√(3/fan_in))",
    "lecun_normal": "truncated normal, Var = 1/fan_in",
    "glorot_uniform": "U(±√(6/(fan_in+fan_out))) (Keras default kernel)",
    "glorot_normal": "truncated normal, Var = 2/(fan_in+fan_out)",
    "he_uniform": "U(±√(6/fan_in))",
    "he_normal": "truncated normal, Var = 2/fan_in",
    "xavier_uniform": "U(±gain·√(6/(fan_in+fan_out))) (gain=1; PyTorch)",
    "xavier_normal": "N(0, gain²·2/(fan_in+fan_out)), untruncated (gain=1; PyTorch)",
    "kaiming_uniform": "U(±gain·√(3/fan)), gain=gain(nonlinearity, slope) "
    "(leaky_relu, slope=0, fan_in; PyTorch)",
    "kaiming_normal": "N(0, gain²/fan), untruncated (leaky_relu, slope=0, fan_in; "
    "PyTorch)",
    "torch_default": "U(±1/√fan_in) (PyTorch Linear/Conv default)",
    "torch_default_bias": "U(±1/√fan_in of the kernel) (PyTorch default bias; "
    "needs fan_in or kernel_shape)",
    "dirac": "identity convolution: 1 at the centre tap of channel i→i (groups=1)",
    "delta_orthogonal": "orthogonal (in,out) matrix at the centre tap, zeros "
    "elsewhere; 3-5-D, in ≤ out (scale=1)",
    "sparse": "N(0, stddev²) with ⌈sparsity·out⌉ zeros per row (stddev=0.01; "
    "sparsity required)",
    "zero_init": "ZerO: I (in=out), partial I (in>out), 2^{-(m-1)/2}·H_m[:in,:out] "
    "(in<out, m=⌈log2 out⌉); conv: centre tap; deterministic",
    "depth_scaled": "scale · init(key, shape) (init and scale required)",
    "fixup": "L^{-1/(2m-2)} · init, L residual branches of m layers (init, "
    "num_branches required; m=2)",
    "gpt2_residual": "init / √(2L), L blocks (init=N(0, 0.02²); num_blocks required)",
    "depth_schedule": "s_l · init, s_l from min_scale to max_scale over depth "
    "(increasing, 0.5, 2.0, geometric; init, layer, depth required)",
    "edge_of_chaos": "N(0, σ_w²/fan_in), σ_w solves χ₁ = 1 (sigma_b=0, tanh)",
    "edge_of_chaos_bias": "N(0, σ_b²) (sigma_b=0)",
    "gabor": "unit-norm Gabor filters, (freq × orientation × phase) bank; 1-/2-D "
    "conv ((0.125, 0.25), 4, σ=0.56/f, phases (0, π/2))",
    "dct": "orthonormal DCT-II filter bank, low frequency first; conv kernels",
    "haar": "orthonormal Haar wavelet filter bank; conv kernels, sizes 2^n",
}

# Keras's string shortcuts and class names that snake_case does not reach.
_ALIASES = {
    "zero": "zeros",
    "one": "ones",
    "normal": "random_normal",
    "uniform": "random_uniform",
    "orthogonal_initializer": "orthogonal",
    "identity_initializer": "identity",
    "glorot_uniform_initializer": "glorot_uniform",
}


def register(name: str, factory: Callable[..., Any], formula: str = "") -> None:
    """Adds a factory to the registry so configs can name it.

    Args:
      name: snake_case name, not already registered.
      factory: ``factory(**hyper) -> init``; if it returns a plain function,
        ``to_config`` cannot describe it, so prefer returning an ``InitFn``.
      formula: one line for ``initlab list``.

    Raises:
      ValueError: a name already taken or not snake_case.

    Example:
      >>> initlab.register("my_init", my_factory, "U(±0.1)")
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
        raise ValueError(f"register: name must be snake_case; got {name!r}.")
    if name in REGISTRY:
        raise ValueError(f"register: {name!r} is already registered.")
    if not callable(factory):
        raise TypeError(f"register: factory must be callable; got {factory!r}.")
    REGISTRY[name] = factory
    FORMULAS[name] = formula


def names() -> list[str]:
    """Every registered initializer name, sorted.

    Example:
      >>> "glorot_uniform" in initlab.names()
      True
    """
    return sorted(REGISTRY)


def _canonical(name: str) -> str:
    snake = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name.strip()).lower()
    snake = snake.replace("-", "_").replace(" ", "_")
    return _ALIASES.get(snake, snake)


def _unknown(name: str) -> ValueError:
    close = difflib.get_close_matches(_canonical(name), names(), n=4, cutoff=0.5)
    hint = f" Did you mean {', '.join(map(repr, close))}?" if close else ""
    return ValueError(
        f"unknown initializer {name!r}.{hint} Valid names: {', '.join(names())} "
        "(Keras class names such as 'GlorotUniform' work too)."
    )


def _build(name: str, kwargs: dict[str, Any]) -> Any:
    key = _canonical(name)
    if key not in REGISTRY:
        raise _unknown(name)
    factory = REGISTRY[key]
    params = inspect.signature(factory).parameters
    unknown = [k for k in kwargs if k not in params or k.startswith("_")]
    if unknown:
        allowed = [p for p in params if not p.startswith("_")]
        raise ValueError(
            f"{key}: unknown argument(s) {unknown}; allowed: {allowed or 'none'}."
        )
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return factory(**kwargs)


def get(x: Any) -> Any:
    """An initializer from a name, a config dict, or an initializer.

    * a name: ``"glorot_uniform"``, or a Keras class name ``"GlorotUniform"``;
    * initlab's config: ``{"name": "random_uniform", "minval": -1, "maxval": 1}``;
    * Keras's serialized form: ``{"class_name": "VarianceScaling", "config":
      {"scale": 2.0, "mode": "fan_in", "distribution": "normal", "seed": None}}``
      (Keras's ``seed`` is dropped: initlab takes keys; Keras's distribution
      "normal" means "truncated_normal");
    * a callable (an initializer): returned as is.

    Args:
      x: what to resolve.

    Returns:
      ``init(key, shape, dtype)``.

    Raises:
      ValueError: an unknown name (the message lists the closest valid names) or
        argument.
      TypeError: anything else.

    Example:
      >>> init = initlab.get("HeNormal")
      >>> init2 = initlab.get(initlab.to_config(init))   # same values, same key
    """
    if callable(x):
        return x
    if isinstance(x, str):
        return _build(x, {})
    if isinstance(x, dict):
        if "class_name" in x:
            config = dict(x.get("config") or {})
            config.pop("seed", None)
            name = _canonical(str(x["class_name"]))
            if name == "variance_scaling" and config.get("distribution") == "normal":
                config["distribution"] = "truncated_normal"
            return _build(name, config)
        if "name" in x:
            config = {k: v for k, v in x.items() if k != "name"}
            return _build(str(x["name"]), config)
        raise ValueError(
            f"get: a config dict needs 'name' (initlab form) or 'class_name' "
            f"(Keras form); got keys {sorted(x)}."
        )
    raise TypeError(
        f"get: expected an initializer name, config dict or callable; got "
        f"{type(x).__name__} {x!r:.60}."
    )


def _json_safe(value: Any) -> Any:
    if isinstance(value, tuple | list):
        return [_json_safe(v) for v in value]
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    return value


def to_config(init: Any) -> dict[str, Any]:
    """A JSON-safe dict describing an initializer; ``get`` rebuilds it.

    Args:
      init: an initializer made by an initlab factory.

    Returns:
      ``{"name": ..., **hyper_parameters}``.

    Raises:
      TypeError: a plain function (initlab cannot see its hyper-parameters).

    Example:
      >>> initlab.to_config(initlab.random_uniform(-1.0, 1.0))
      {'name': 'random_uniform', 'minval': -1.0, 'maxval': 1.0}
    """
    if not isinstance(init, InitFn):
        raise TypeError(
            f"to_config: can only describe initializers made by initlab factories; "
            f"got {init!r:.60}. Wrap yours in a factory and initlab.register it."
        )
    return {"name": init.name, **_json_safe(init.config)}
