"""The one set of argument validators: each names what was given and what is allowed.

Every public function checks its arguments with these before anything is traced
or compiled. A value of the wrong *type* raises ``TypeError``, a value of the
right type outside the allowed range raises ``ValueError``; messages read
``"<where>: <what> must be ...; got <value>."`` so a user can fix the call from
the message alone. Not re-exported: ``from initlab import _checks``.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

# PRNG seeds and key-stream indices are folded in as uint32: 2**32 would wrap
# to 0 and silently repeat restart 0's numbers.
UINT32_LIMIT = 2**32


def _prefix(where: str) -> str:
    return f"{where}: " if where else ""


def _shown(value: Any) -> str:
    """A short repr: arrays by dtype and shape, never their values."""
    if isinstance(value, np.ndarray) or type(value).__module__.startswith("jax"):
        shape = getattr(value, "shape", None)
        dtype = getattr(value, "dtype", None)
        if shape is not None:
            return f"{type(value).__name__} of dtype {dtype} and shape {tuple(shape)}"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def integer(
    value: Any,
    what: str,
    *,
    low: int | None = None,
    high: int | None = None,
    where: str = "",
) -> int:
    """``value`` as a Python int in ``[low, high)``, or a teaching error.

    Bools are refused (``True`` is not a count); NumPy integers are accepted.

    Raises:
      TypeError: not an integer.
      ValueError: below ``low`` or at/above ``high``.
    """
    if isinstance(value, bool) or not isinstance(value, int | np.integer):
        raise TypeError(
            f"{_prefix(where)}{what} must be an int; got {type(value).__name__} "
            f"{_shown(value)}."
        )
    value = int(value)
    if low is not None and value < low:
        raise ValueError(
            f"{_prefix(where)}{what} must be an int >= {low}; got {value}."
        )
    if high is not None and value >= high:
        raise ValueError(
            f"{_prefix(where)}{what} must be an int < {high}; got {value}."
        )
    return value


def positive_int(value: Any, what: str, *, where: str = "") -> int:
    """An int >= 1 (see :func:`integer`)."""
    value = integer(value, what, where=where)
    if value < 1:
        raise ValueError(
            f"{_prefix(where)}{what} must be a positive int (>= 1); got {value}."
        )
    return value


def number(
    value: Any,
    what: str,
    *,
    where: str = "",
    positive: bool = False,
    nonnegative: bool = False,
) -> float:
    """A finite real number as a float, optionally > 0 or >= 0.

    Raises:
      TypeError: not a real number (bools and strings are refused).
      ValueError: NaN, infinite, or outside the asked range.
    """
    if isinstance(value, bool) or not isinstance(value, int | float | np.number):
        raise TypeError(
            f"{_prefix(where)}{what} must be a number; got {type(value).__name__} "
            f"{_shown(value)}."
        )
    if isinstance(value, complex | np.complexfloating):
        raise TypeError(f"{_prefix(where)}{what} must be real; got {value!r}.")
    try:
        as_float = float(value)
    except OverflowError:
        as_float = math.inf
    if not math.isfinite(as_float):
        raise ValueError(f"{_prefix(where)}{what} must be finite; got {value!r}.")
    if positive and not as_float > 0:
        raise ValueError(f"{_prefix(where)}{what} must be a number > 0; got {value!r}.")
    if nonnegative and not as_float >= 0:
        raise ValueError(
            f"{_prefix(where)}{what} must be a number >= 0; got {value!r}."
        )
    return as_float


def boolean(value: Any, what: str, *, where: str = "") -> bool:
    """A real bool (``True``/``False``, NumPy bools too); ints are refused."""
    if not isinstance(value, bool | np.bool_):
        raise TypeError(
            f"{_prefix(where)}{what} must be True or False; got "
            f"{type(value).__name__} {_shown(value)}."
        )
    return bool(value)


def choice(value: Any, allowed: Sequence[str], what: str, *, where: str = "") -> str:
    """One of ``allowed``; an unknown value is named with the closest choice.

    Raises:
      ValueError: not one of ``allowed`` (also for non-strings).
    """
    if isinstance(value, str) and value in allowed:
        return value
    close = (
        difflib.get_close_matches(value, list(allowed), n=1)
        if isinstance(value, str)
        else []
    )
    hint = f" Did you mean {close[0]!r}?" if close else ""
    raise ValueError(
        f"{_prefix(where)}unknown {what} {_shown(value)}.{hint} Allowed: "
        f"{', '.join(map(repr, allowed))}."
    )


def closest(name: str, valid: Iterable[str], n: int = 3) -> str:
    """`` Did you mean 'x'?`` for the closest valid names, or ``""``."""
    close = difflib.get_close_matches(str(name), list(valid), n=n, cutoff=0.5)
    return f" Did you mean {', '.join(map(repr, close))}?" if close else ""
