"""The initializer object and the checks every initializer shares."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import DTypeLike

from initlab import _checks
from initlab._types import PRNGKey

# Which dtypes an initializer accepts.
REAL = "real"
REAL_OR_COMPLEX = "real_or_complex"


class InitFn:
    """A pure initializer ``init(key, shape, dtype=float32) -> jax.Array``.

    Made by the factories in :mod:`initlab` (``initlab.glorot_uniform()``); it
    remembers its name and hyper-parameters so that ``initlab.to_config`` can
    write it down and ``initlab.get`` rebuild it. Calling it checks the key,
    shape and dtype, then draws. Same key, shape and dtype give the same bits;
    the same key and shape with another dtype is another draw (16-bit: the
    float32 draw rounded; float64 under x64: other bits).
    """

    __slots__ = ("name", "config", "_draw", "_dtypes", "_check_shape", "_max_abs",
                 "__weakref__")  # fmt: skip

    def __init__(
        self,
        name: str,
        config: dict[str, Any],
        draw: Callable[[PRNGKey, tuple[int, ...], jnp.dtype], jax.Array],
        *,
        dtypes: str = REAL,
        check_shape: Callable[[tuple[int, ...]], None] | None = None,
        max_abs: Callable[[tuple[int, ...]], float] | None = None,
    ):
        self.name = name
        self.config = dict(config)
        self._draw = draw
        self._dtypes = dtypes
        self._check_shape = check_shape
        # the largest |value| a draw can plausibly reach for a shape: refused
        # beyond the dtype's range (an overflow would be a silent inf)
        self._max_abs = max_abs

    def __call__(
        self, key: PRNGKey, shape: Sequence[int], dtype: DTypeLike = jnp.float32
    ) -> jax.Array:
        shape = check_shape(shape, self.name)
        dtype = check_dtype(dtype, self.name, self._dtypes)
        check_key(key, self.name)
        if self._check_shape is not None:
            self._check_shape(shape)
        if math.prod(shape) == 0:
            # Zero-size shapes: nothing to draw; fans of an empty axis are
            # meaningless, so we return the empty array instead of dividing by 0.
            return jnp.zeros(shape, dtype)
        if self._max_abs is not None:
            reach, largest = self._max_abs(shape), float(jnp.finfo(dtype).max)
            if not reach <= largest:
                args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
                raise ValueError(
                    f"{self.name}({args}) draws values up to about {reach:.3g} for "
                    f"shape {shape}, beyond {dtype}'s largest {largest:.3g}: they "
                    "would be inf. Use a smaller scale (or a wider dtype)."
                )
        return self._draw(key, shape, dtype)

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config.items())
        return f"{self.name}({args})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, InitFn)
            and self.name == other.name
            and self.config == other.config
        )

    def __hash__(self) -> int:
        return hash((self.name, repr(self.config)))


def check_shape(shape: Any, name: str) -> tuple[int, ...]:
    """Returns ``shape`` as a tuple of non-negative Python ints, or raises."""
    if isinstance(shape, int | np.integer):
        shape = (int(shape),)
    try:
        dims = tuple(shape)
    except TypeError:
        raise TypeError(
            f"{name}: shape must be a sequence of ints such as (64, 128); "
            f"got {shape!r} of type {type(shape).__name__}."
        ) from None
    out = []
    for d in dims:
        if isinstance(d, bool) or not isinstance(d, int | np.integer):
            raise TypeError(
                f"{name}: every dimension of shape must be an int; got {shape!r}. "
                "Pass concrete sizes such as (64, 128)."
            )
        if d < 0:
            raise ValueError(f"{name}: dimensions must be >= 0; got shape {shape!r}.")
        out.append(int(d))
    return tuple(out)


def check_dtype(dtype: Any, name: str, allowed: str = REAL) -> jnp.dtype:
    """Returns the canonical JAX dtype, refusing integer, bool and (maybe) complex."""
    try:
        dt = jnp.dtype(dtype)
    except TypeError:
        raise TypeError(
            f"{name}: dtype must be a floating dtype such as jnp.float32; "
            f"got {dtype!r}."
        ) from None
    is_complex = jnp.issubdtype(dt, jnp.complexfloating)
    if not (jnp.issubdtype(dt, jnp.floating) or is_complex):
        raise TypeError(
            f"{name}: integer and bool dtypes cannot hold random weights; got "
            f"{dt}. Use a floating dtype (float32, bfloat16, float16, float64)."
        )
    if is_complex and allowed != REAL_OR_COMPLEX:
        raise TypeError(
            f"{name}: complex dtypes are supported only by variance_scaling and "
            f"its specialisations (and zeros/ones/constant); got {dt}."
        )
    # float64 without jax_enable_x64 becomes float32, as everywhere in JAX.
    return jnp.dtype(jax.dtypes.canonicalize_dtype(dt))


def check_key(key: Any, name: str) -> None:
    """Accepts a typed key (``jax.random.key``) or a legacy uint32[2] key."""
    dtype = getattr(key, "dtype", None)
    if dtype is not None and jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if key.shape != ():
            raise ValueError(
                f"{name}: expected one key, got a batch of keys with shape "
                f"{key.shape}. Use jax.vmap over keys to draw several arrays."
            )
        return
    if dtype == jnp.uint32 and getattr(key, "shape", None) == (2,):
        return
    raise TypeError(
        f"{name}: key must be a JAX PRNG key such as jax.random.key(0); got "
        f"{type(key).__name__} {key!r:.60}."
    )


def sample_dtype(dtype: jnp.dtype) -> jnp.dtype:
    """16-bit draws are made in float32 and cast: bf16 sampling is too coarse."""
    if jnp.issubdtype(dtype, jnp.complexfloating):
        return dtype
    return jnp.dtype(jnp.float32) if dtype.itemsize < 4 else dtype


def real_dtype(dtype: jnp.dtype) -> jnp.dtype:
    """float32 for complex64, float64 for complex128, the dtype itself otherwise."""
    return jnp.finfo(dtype).dtype


def positive(value: Any, what: str, name: str) -> float:
    """A finite positive number; kept for ``initlab.lsuv`` (use ``_checks.number``).

    Initializers validate with :mod:`initlab._checks` directly; this thin
    wrapper keeps ``initlab.lsuv``'s import working until it does too.
    """
    return _checks.number(value, what, where=name, positive=True)
