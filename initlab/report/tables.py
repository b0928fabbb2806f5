"""The summary table as text: value [interval] cells, and as a Markdown table.

Digits follow the uncertainty: with ``digits="auto"`` each column is written
to the decimals its typical interval width supports (:func:`decimals`), so a
table never shows 0.0008132 beside 0.9734 when the intervals are 0.002 wide.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from initlab._checks import integer, number

if TYPE_CHECKING:
    import pandas as pd


_SUMMARY_COLUMNS = ("initializer", "n", "diverged", "mean", "mean_low", "mean_high",
                    "iqm", "iqm_low", "iqm_high", "median", "std")  # fmt: skip


def _fmt(value: Any, digits: int | None = None) -> str:
    if value is None or (isinstance(value, float) and not np.isfinite(value)):
        return "–"
    if isinstance(value, (int, np.integer)):
        return str(int(value))
    return f"{float(value):.4g}" if digits is None else f"{float(value):.{digits}f}"


def decimals(width: float, *, max_decimals: int = 6) -> int | None:
    """Decimals that show an interval of this width: one or two of its digits.

    The width's first significant digit sets the last decimal shown; when
    that digit is 1 or 2 one more is kept (a width of 0.0012 rounded to
    0.001 would lose half of itself). So 0.04 -> 2 decimals, 0.0012 -> 4,
    0.2 -> 2, 3 -> 0, 25 -> 0.

    Args:
      width: ``high - low`` of an interval.
      max_decimals: cap on the result. Default 6.

    Returns:
      The number of decimals, or None for a width that gives none (zero,
      negative or not finite): then write 4 significant digits.

    Raises:
      TypeError: ``max_decimals`` not an int.
      ValueError: ``max_decimals < 0``.

    Example:
      >>> decimals(0.004), decimals(0.0012), decimals(0.0)
      (3, 4, None)
    """
    max_decimals = integer(max_decimals, "max_decimals", low=0, where="decimals")
    w = float(width)
    if not math.isfinite(w) or w <= 0:
        return None
    exponent = math.floor(math.log10(w))
    lead = w / 10.0**exponent
    if lead >= 9.5:  # rounds up to the next power of ten
        exponent, lead = exponent + 1, 1.0
    d = -exponent + (1 if lead < 3 else 0)
    return max(0, min(d, max_decimals))


def column_decimals(low: Sequence[float], high: Sequence[float]) -> int | None:
    """One number of decimals for a column: :func:`decimals` of its median width.

    The median over the rows whose interval has a positive, finite width, so
    one odd row (a single restart, a degenerate interval) does not set the
    whole column.

    Args:
      low, high: the column's interval ends, one per row.

    Returns:
      Decimals, or None when no row has a usable width.

    Example:
      >>> column_decimals([0.1, 0.5, 0.9], [0.104, 0.503, 0.9])
      3
    """
    lo = np.asarray(low, np.float64)
    hi = np.asarray(high, np.float64)
    width = hi - lo
    width = width[np.isfinite(width) & (width > 0)]
    if width.size == 0:
        return None
    return decimals(float(np.median(width)))


def display_table(
    table: pd.DataFrame,
    *,
    confidence: float = 0.95,
    digits: int | str | None = None,
    median_interval: bool = False,
) -> pd.DataFrame:
    """The printable form of :func:`initlab.stats.summary_table`: value [interval].

    Args:
      table: the DataFrame from ``stats.summary_table``.
      confidence: the coverage its intervals were computed with (for headers).
      digits: decimals of every number; None: 4 significant digits; "auto":
        per column, from its interval widths (:func:`column_decimals`): mean,
        IQM, median and success rate each from their own intervals; std and
        the expected best of k like the IQM.
      median_interval: also write the median's interval (when the table has
        median_low / median_high).

    Returns:
      One row of strings per initializer: n, diverged, mean [CI], IQM [CI],
      median, std, success rate [CI] (when the table has it) and the expected
      best of k.

    Raises:
      TypeError: ``table`` is not a DataFrame; ``confidence`` not a number;
        ``digits`` not an int.
      ValueError: ``table`` lacks a summary column; ``confidence`` outside
        (0, 1); ``digits < 0``.

    Example:
      >>> from initlab import stats
      >>> out = initlab.train("xor", ["he_normal", "zeros"], num_restarts=8,
      ...                     steps=100, progress=False)
      >>> print(display_table(stats.summary_table(out, "test_accuracy", rng=0)))
    """
    import pandas as pd

    if not isinstance(table, pd.DataFrame):
        raise TypeError(
            f"table must be a pandas DataFrame from initlab.stats.summary_table, got "
            f"{type(table).__name__}."
        )
    missing = [c for c in _SUMMARY_COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(
            f"table lacks column(s) {missing}; pass what "
            "initlab.stats.summary_table returns."
        )
    if not 0 < number(confidence, "confidence", where="display_table") < 1:
        raise ValueError(
            f"display_table: confidence must be in (0, 1); got {confidence!r}."
        )
    auto = isinstance(digits, str)
    if auto and digits != "auto":
        raise ValueError(
            f"display_table: digits must be an int >= 0, None or 'auto'; got "
            f"{digits!r}."
        )
    if digits is not None and not auto:
        integer(digits, "digits", low=0, where="display_table")
    places: dict[str, int | None] = {}
    for name in ("mean", "iqm", "median", "success"):
        low, high = f"{name}_low", f"{name}_high"
        places[name] = (
            column_decimals(table[low], table[high])
            if auto and low in table and high in table
            else None
            if auto
            else digits
        )
    if auto and places["median"] is None:
        places["median"] = places["iqm"]
    if auto and places["iqm"] is None:
        places["iqm"] = places["mean"]
    places["std"] = places["iqm"]

    def fmt(value: Any, column: str = "iqm") -> str:
        return _fmt(value, places[column])

    def with_ci(r: Any, name: str, low: str, high: str, column: str) -> str:
        if not np.isfinite(r[low]):
            return fmt(r[name], column)
        return f"{fmt(r[name], column)} [{fmt(r[low], column)}, {fmt(r[high], column)}]"

    pct = f"{confidence:.0%} CI"
    best = [c for c in table.columns if c.startswith("best_of_")]
    rows = []
    for _, r in table.iterrows():
        row = {
            "initializer": r["initializer"],
            "n": _fmt(r["n"]),
            "diverged": _fmt(r["diverged"]),
            f"mean [{pct}]": with_ci(r, "mean", "mean_low", "mean_high", "mean"),
            f"IQM [{pct}]": with_ci(r, "iqm", "iqm_low", "iqm_high", "iqm"),
        }
        if median_interval and "median_low" in table and "median_high" in table:
            row[f"median [{pct}]"] = with_ci(
                r, "median", "median_low", "median_high", "median"
            )
        else:
            row["median"] = fmt(r["median"], "median")
        row["std"] = fmt(r["std"], "std")
        if "success_rate" in table:
            row[f"success rate [{pct}]"] = with_ci(
                r, "success_rate", "success_low", "success_high", "success"
            )
        for column in best:
            row[f"expected best of {column.removeprefix('best_of_')}"] = fmt(
                r[column], "iqm"
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _md_table(frame: pd.DataFrame) -> str:
    def cell(v: Any) -> str:
        return str(v).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(cell(c) for c in frame.columns) + " |"]
    lines.append("|" + "|".join("---" for _ in frame.columns) + "|")
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines)
