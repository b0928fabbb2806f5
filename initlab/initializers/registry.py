"""The name table: initializers by name or config (``get``, ``names``, ``to_config``).

Every factory registers itself where it is defined, with one decorator::

    @register("glorot_uniform", formula="U(±√(6/(fan_in+fan_out)))")
    def glorot_uniform(...): ...

which fills :data:`REGISTRY` (name -> factory), :data:`FORMULAS` (name -> one
line for ``initlab list`` and the README) and, through
``initlab.initializers.__all__``, the public exports. This module imports no
factory, so composite initializers (``depth_scaled``, ``fixup``, ``perturbed``,
...) can resolve names with :func:`get` without an import cycle; the package
``initlab.initializers`` imports every factory module, so by the time anyone can
import this module the table is full. ``initlab.registry`` is its public face.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from typing import Any

from initlab import _checks
from initlab.initializers._core import InitFn

# name -> factory. Every factory returns an InitFn.
REGISTRY: dict[str, Callable[..., InitFn]] = {}

# One line per entry for `initlab list` and the README: formula and defaults.
FORMULAS: dict[str, str] = {}

# Keras's built-in initializers, in Keras's order (keras.initializers, Keras 3).
KERAS_NAMES = (
    "zeros", "ones", "constant", "random_normal", "random_uniform",
    "truncated_normal", "variance_scaling", "orthogonal", "identity",
    "lecun_uniform", "lecun_normal", "glorot_uniform", "glorot_normal",
    "he_uniform", "he_normal",
)  # fmt: skip

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

# Keys of Keras's serialized form around the config (keras.saving): ignored.
_KERAS_ENVELOPE = {"module", "registered_name", "shared_object_id"}


def register(
    name: str, factory: Callable[..., Any] | None = None, formula: str = ""
) -> Any:
    """Adds a factory to the registry so configs can name it.

    Call it with the factory, or use it as a decorator on the factory's
    definition (how initlab registers its own)::

        @initlab.register("my_init", formula="U(±width)")
        def my_init(width: float = 0.1): ...

    Args:
      name: snake_case name, not already registered.
      factory: ``factory(**hyper) -> init``; if it returns a plain function,
        ``to_config`` cannot describe it, so prefer returning an ``InitFn``.
        None: return a decorator that registers the function it decorates.
      formula: one line for ``initlab list`` and the README.

    Returns:
      None when ``factory`` is given; else the decorator (which returns the
      factory unchanged).

    Raises:
      ValueError: a name already taken or not snake_case.
      TypeError: a factory that is not callable, or a formula that is not a str.

    Example:
      >>> def my_factory(width=0.1):
      ...     return initlab.random_uniform(-width, width)
      >>> initlab.register("my_init", my_factory, "U(±0.1)")
    """
    if not re.fullmatch(r"[a-z][a-z0-9_]*", str(name)):
        raise ValueError(f"register: name must be snake_case; got {name!r}.")
    if name in REGISTRY:
        raise ValueError(f"register: {name!r} is already registered.")
    if not isinstance(formula, str):
        raise TypeError(f"register: formula must be a str; got {formula!r:.60}.")

    def add(fn: Callable[..., Any]) -> Callable[..., Any]:
        if not callable(fn):
            raise TypeError(f"register: factory must be callable; got {fn!r:.60}.")
        if name in REGISTRY:
            raise ValueError(f"register: {name!r} is already registered.")
        REGISTRY[name] = fn
        FORMULAS[name] = formula
        return fn

    if factory is None:
        return add
    add(factory)
    return None


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
    hint = _checks.closest(_canonical(name), names(), n=4)
    return ValueError(
        f"unknown initializer {name!r}.{hint} Valid names: {', '.join(names())} "
        "(Keras class names such as 'GlorotUniform' work too)."
    )


def _factory(name: str) -> tuple[str, Callable[..., Any]]:
    key = _canonical(name)
    if key not in REGISTRY:
        raise _unknown(name)
    return key, REGISTRY[key]


def _build(name: str, kwargs: dict[str, Any]) -> Any:
    key, factory = _factory(name)
    params = inspect.signature(factory).parameters
    unknown = [k for k in kwargs if k not in params or k.startswith("_")]
    if unknown:
        allowed = [p for p in params if not p.startswith("_")]
        raise ValueError(
            f"{key}: unknown argument(s) {unknown}; allowed: {allowed or 'none'}."
        )
    kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in kwargs.items()}
    return factory(**kwargs)


def _from_keras(class_name: str, config: Any) -> Any:
    """An initializer from Keras's ``(class_name, config)``, with Keras's meaning."""
    if config is None:
        config = {}
    if not isinstance(config, dict):
        raise TypeError(
            f"get: a Keras config's 'config' must be a dict of hyper-parameters; "
            f"got {type(config).__name__} {config!r:.60}."
        )
    config = dict(config)
    # Keras's seed (an int, None or a serialized SeedGenerator) is dropped:
    # initlab draws from the key it is called with. Keras's JAX backend draws
    # an int seed s with the raw key [s, 0]: jnp.array([s, 0], jnp.uint32)
    # passed to the initlab initializer gives Keras's values.
    config.pop("seed", None)
    name, _ = _factory(str(class_name))
    if name == "variance_scaling" and isinstance(config.get("distribution"), str):
        # Keras lower-cases the distribution and reads "normal" as truncated.
        distribution = config["distribution"].lower()
        config["distribution"] = (
            "truncated_normal" if distribution == "normal" else distribution
        )
    if "input_axes" in config or "output_axes" in config:
        # Keras uses them only together; one alone is ignored (compute_fans).
        if config.get("input_axes") is None or config.get("output_axes") is None:
            config.pop("input_axes", None)
            config.pop("output_axes", None)
    return _build(name, config)


def get(x: Any) -> Any:
    """An initializer from a name, a config dict, or an initializer.

    * a name: ``"glorot_uniform"``, or a Keras class name ``"GlorotUniform"``
      (and Keras's shortcuts ``"normal"``, ``"uniform"``, ``"zero"``, ``"one"``);
    * initlab's config: ``{"name": "random_uniform", "minval": -1, "maxval": 1}``
      (what :func:`to_config` writes);
    * Keras's serialized form, as ``keras.initializers.serialize`` writes it:
      ``{"module": "keras.initializers", "class_name": "VarianceScaling",
      "config": {"scale": 2.0, "mode": "fan_in", "distribution":
      "truncated_normal", "seed": None, "input_axes": None, "output_axes":
      None}, "registered_name": None}``, or the same with ``"name"`` in place
      of ``"class_name"``. Keras's meaning is kept: its ``seed`` is dropped
      (initlab draws from the key it is given; Keras's JAX backend draws seed
      ``s`` with the raw key ``jnp.array([s, 0], jnp.uint32)``, so that key
      reproduces Keras's values); its distribution "normal" is the truncated
      normal; ``input_axes``/``output_axes`` count only when both are given
      (then every other axis counts for neither fan), as in Keras;
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
            return _from_keras(str(x["class_name"]), x.get("config"))
        if "name" in x:
            rest = {k: v for k, v in x.items() if k != "name"}
            name = str(x["name"])
            keras_form = "config" in rest and set(rest) <= {"config", *_KERAS_ENVELOPE}
            takes_config = "config" in inspect.signature(_factory(name)[1]).parameters
            if keras_form and not takes_config:
                return _from_keras(name, rest["config"])
            return _build(name, rest)
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
