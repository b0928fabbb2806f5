"""Type aliases shared across initlab."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, TypeAlias

import jax
from jax.typing import DTypeLike

PRNGKey: TypeAlias = jax.Array
"""A typed JAX key (``jax.random.key(0)``); legacy uint32 keys are accepted too."""

Shape: TypeAlias = Sequence[int]
PyTree: TypeAlias = Any


class Initializer(Protocol):
    """``init(key, shape, dtype=float32) -> jax.Array``, pure: same key, same bits."""

    def __call__(
        self, key: PRNGKey, shape: Shape, dtype: DTypeLike = ...
    ) -> jax.Array: ...


InitializerLike: TypeAlias = "Initializer | str | dict[str, Any]"
ApplyFn: TypeAlias = Callable[[PyTree, jax.Array], jax.Array]
