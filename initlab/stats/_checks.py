"""Validation of restart values and arguments, and the shared rng helper.

:func:`as_rng` and :func:`check_values` are public (``initlab.stats.as_rng``,
``initlab.stats.check_values``): plots and report use them too. The other
checks are private to initlab.stats.
"""

from __future__ import annotations

from typing import Any, Literal

import numpy as np

from initlab._checks import integer

RNG = np.random.Generator | int
Method = Literal["percentile", "bca"]


_DROP_HINT = (
    "Non-finite outcomes usually come from diverged restarts: leave them out with "
    "initlab.stats.drop_diverged(values, diverged) or Outcomes.values(metric), "
    "which drops them and lets you count them."
)


def as_rng(rng: RNG) -> np.random.Generator:
    """The ``np.random.Generator`` behind an ``rng`` argument of initlab.stats.

    Every resampling in initlab takes ``rng`` as an ``int`` seed or a
    ``Generator``; this is the one place that turns it into a generator. A seed
    gives a fresh generator (the same seed, the same numbers, whatever ran
    before); a generator is returned as is (not copied), so drawing from the
    result advances the caller's generator.

    Args:
      rng: an int seed >= 0 or a ``np.random.Generator``.

    Returns:
      ``np.random.default_rng(rng)`` for a seed, ``rng`` itself for a generator.

    Raises:
      TypeError: ``rng`` is neither an int nor a generator (bools, floats and
        None are refused).
      ValueError: a negative seed.

    Example:
      >>> as_rng(0).random() == np.random.default_rng(0).random()
      True
      >>> children = as_rng(0).spawn(3)  # e.g. one stream per initializer
    """
    if isinstance(rng, np.random.Generator):
        return rng
    if isinstance(rng, (int, np.integer)) and not isinstance(rng, bool):
        if rng < 0:
            raise ValueError(f"rng seed must be >= 0, got {rng}.")
        return np.random.default_rng(int(rng))
    raise TypeError(
        f"rng must be an int seed or a np.random.Generator, got {type(rng).__name__}"
        f" ({rng!r}). Pass e.g. rng=0 so that the interval is reproducible."
    )


def check_values(values: Any, name: str = "values", min_n: int = 1) -> np.ndarray:
    """Restart outcomes as a 1-D float64 array of finite numbers, or a teaching error.

    The check every statistic of initlab runs on its input: one number per
    restart, at least ``min_n`` of them, none NaN or inf (a non-finite value
    is usually a diverged restart, and the error says how to leave it out).

    Args:
      values: (R,) numbers, one per restart (list, NumPy or JAX array).
      name: what to call ``values`` in an error, e.g. ``"test_accuracy of 'he'"``.
      min_n: the fewest values allowed (0 accepts an empty array).

    Returns:
      ``values`` as a ``np.float64`` array of shape (R,).

    Raises:
      TypeError: values are not numbers; ``name`` is not a str; ``min_n`` is
        not an int.
      ValueError: not 1-D, fewer than ``min_n`` values, a NaN or inf value
        (the message gives its restart index), or ``min_n < 0``.

    Example:
      >>> check_values([0.9, 0.8], "test_accuracy")
      array([0.9, 0.8])
    """
    if not isinstance(name, str):
        raise TypeError(f"name must be a str, got {type(name).__name__} {name!r}.")
    min_n = integer(min_n, "min_n", low=0, where="check_values")
    try:
        x = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise TypeError(f"{name} must be numbers, got {values!r:.80}.") from err
    if x.ndim != 1:
        raise ValueError(
            f"{name} must be a 1-D array with one value per restart, got shape "
            f"{x.shape}. Select one metric, e.g. Outcomes.values(metric, label)."
        )
    if x.size < min_n:
        raise ValueError(
            f"{name} has {x.size} value(s); at least {min_n} needed "
            f"(is every restart of this initializer diverged?)."
        )
    bad = np.flatnonzero(~np.isfinite(x))
    if bad.size:
        where = bad[:10].tolist()
        more = ", ..." if bad.size > 10 else ""
        raise ValueError(
            f"{name} has {bad.size} non-finite value(s) (NaN/inf) of {x.size}, at "
            f"restart index {str(where)[1:-1]}{more}. {_DROP_HINT}"
        )
    return x


# The names these helpers had while they were private to initlab.stats.
_as_rng = as_rng
_check_values = check_values


def _check_confidence(confidence: Any) -> float:
    if isinstance(confidence, bool) or not isinstance(
        confidence, (int, float, np.integer, np.floating)
    ):
        raise TypeError(
            f"confidence must be a number in (0, 1), got {type(confidence).__name__}."
        )
    if not 0.0 < float(confidence) < 1.0:
        hint = f" (did you mean {confidence / 100}?)" if 1 < confidence < 100 else ""
        raise ValueError(f"confidence must be in (0, 1), got {confidence}{hint}.")
    return float(confidence)


def _check_method(method: Any) -> str:
    name = str(method).lower()
    if name not in ("percentile", "bca"):
        raise ValueError(
            f"method must be 'percentile' or 'bca' (Efron 1987), got {method!r}."
        )
    return "BCa" if name == "bca" else "percentile"


def _check_n_resamples(n_resamples: Any) -> int:
    if isinstance(n_resamples, bool) or not isinstance(n_resamples, (int, np.integer)):
        raise TypeError(f"n_resamples must be an int, got {n_resamples!r}.")
    if n_resamples < 1:
        raise ValueError(f"n_resamples must be >= 1, got {n_resamples}.")
    return int(n_resamples)


def _check_ks(ks: Any, n: int, replace: bool) -> np.ndarray:
    k = np.arange(1, n + 1) if ks is None else np.asarray(ks)
    if k.ndim > 1 or k.size == 0:
        raise ValueError(f"ks must be an int or a 1-D list of ints, got {ks!r}.")
    if not np.issubdtype(k.dtype, np.integer):
        raise TypeError(f"ks must be integers, got {ks!r}.")
    k = k.reshape(-1).astype(np.int64)
    if k.min() < 1:
        raise ValueError(f"k must be >= 1, got {k.min()}.")
    if k.max() > n:
        how = "with" if replace else "without"
        raise ValueError(
            f"k = {k.max()} is larger than the number of restarts n = {n}. Best of "
            f"k ({how} replacement) is only estimated for k <= n: beyond that it "
            "extrapolates; run more restarts or lower k."
        )
    return k
