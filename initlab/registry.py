"""Initializers by name or config: ``get``, ``names``, ``to_config``, ``register``.

The public face of :mod:`initlab.initializers.registry`, where the name table
lives (filled by each factory's ``@register`` decorator). ``REGISTRY`` maps
names to factories, ``FORMULAS`` names to one-line formulas, ``KERAS_NAMES``
lists Keras's built-in initializers in Keras's order.
"""

from initlab.initializers.registry import (
    FORMULAS,
    KERAS_NAMES,
    REGISTRY,
    get,
    names,
    register,
    to_config,
)

__all__ = ["FORMULAS", "KERAS_NAMES", "REGISTRY", "get", "names", "register",
           "to_config"]  # fmt: skip
