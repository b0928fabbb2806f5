"""The summary table as text: value [interval] cells, and as a Markdown table."""

from __future__ import annotations

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


def display_table(
    table: pd.DataFrame, *, confidence: float = 0.95, digits: int | None = None
) -> pd.DataFrame:
    """The printable form of :func:`initlab.stats.summary_table`: value [interval].

    Args:
      table: the DataFrame from ``stats.summary_table``.
      confidence: the coverage its intervals were computed with (for headers).
      digits: decimals of every number; None: 4 significant digits.

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
    if digits is not None:
        integer(digits, "digits", low=0, where="display_table")

    def fmt(value: Any) -> str:
        return _fmt(value, digits)

    def with_ci(r: Any, name: str, low: str, high: str) -> str:
        if not np.isfinite(r[low]):
            return fmt(r[name])
        return f"{fmt(r[name])} [{fmt(r[low])}, {fmt(r[high])}]"

    pct = f"{confidence:.0%} CI"
    best = [c for c in table.columns if c.startswith("best_of_")]
    rows = []
    for _, r in table.iterrows():
        row = {
            "initializer": r["initializer"],
            "n": _fmt(r["n"]),
            "diverged": _fmt(r["diverged"]),
            f"mean [{pct}]": with_ci(r, "mean", "mean_low", "mean_high"),
            f"IQM [{pct}]": with_ci(r, "iqm", "iqm_low", "iqm_high"),
            "median": fmt(r["median"]),
            "std": fmt(r["std"]),
        }
        if "success_rate" in table:
            row[f"success rate [{pct}]"] = with_ci(
                r, "success_rate", "success_low", "success_high"
            )
        for column in best:
            row[f"expected best of {column.removeprefix('best_of_')}"] = fmt(r[column])
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
