"""The pages of the restart studies (ensembles, landscape, predict, perturb).

Each study writes into its folder ``report.md`` and ``report.html`` (the same
sections: findings, tables, figures, settings; the HTML embeds its images and
opens offline), ``figures/*.png`` (+ ``.svg``) and its tables as CSV, beside
the run's ``results.parquet``. Figures use :func:`initlab.plots.figure_style`
("screen") and :func:`initlab.plots.save_figure`.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd


def ci(value: float, low: float, high: float, digits: int = 3, pct: bool = False):
    """``"0.971 [0.968, 0.974]"`` (``pct``: in percent); "–" for NaN."""
    if value is None or not np.isfinite(value):
        return "–"
    scale, unit = (100.0, " %") if pct else (1.0, "")
    text = f"{value * scale:.{digits}f}"
    if low is not None and np.isfinite(low) and np.isfinite(high):
        text += f" [{low * scale:.{digits}f}, {high * scale:.{digits}f}]"
    return text + unit


def _cell(v: Any) -> str:
    if isinstance(v, float | np.floating):
        if not math.isfinite(v):
            return "–"
        return f"{v:.4g}"
    return str(v)


def md_table(frame: pd.DataFrame) -> str:
    """A GitHub Markdown table of a frame (numbers to 4 significant digits)."""
    cols = [str(c) for c in frame.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines)


def slug(label: str) -> str:
    """A label as a file-name part: every non-alphanumeric character is ``_``.

    Example:
      >>> slug("U(-1, 1)")
      'U__1__1_'
    """
    return "".join(c if c.isalnum() else "_" for c in label)


def save(fig: Any, out: Path, name: str) -> str:
    """Writes ``figures/<name>.png`` (+ .svg) under ``out``; returns its path."""
    from initlab import plots

    folder = out / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    plots.save_figure(fig, folder / f"{name}.png", dpi=130, also=("svg",))
    return f"figures/{name}.png"


class Page:
    """Sections of a study's report, written as Markdown and HTML."""

    def __init__(self, title: str, lead: str):
        self.title = title
        self.lead = lead
        self.findings: list[str] = []
        self.sections: list[
            tuple[str, list[str], pd.DataFrame | None, list[tuple[str, str]]]
        ] = []

    def section(
        self,
        heading: str,
        text: Sequence[str] = (),
        table: pd.DataFrame | None = None,
        figures: Sequence[tuple[str, str]] = (),
    ) -> None:
        self.sections.append((heading, list(text), table, list(figures)))

    def write(self, out: Path, settings: Mapping[str, Any]) -> None:
        out.mkdir(parents=True, exist_ok=True)
        (out / "report.md").write_text(self._markdown(settings))
        (out / "report.html").write_text(self._html(out, settings))

    def _markdown(self, settings: Mapping[str, Any]) -> str:
        md = [f"# {self.title}", "", self.lead, "", "## Findings", ""]
        md += [f"- {f}" for f in self.findings] + [""]
        for heading, text, table, figures in self.sections:
            md += [f"## {heading}", ""]
            md += [*text, ""] if text else []
            if table is not None:
                md += [md_table(table), ""]
            for path, caption in figures:
                md += [f"![{caption}]({path})", f"*{caption}*", ""]
        md += ["## Settings", ""]
        md += [f"- **{k}**: `{v}`" for k, v in settings.items()] + [""]
        return "\n".join(md)

    def _html(self, out: Path, settings: Mapping[str, Any]) -> str:
        esc = html.escape
        body = [
            f"<h1>{esc(self.title)}</h1>",
            f"<p>{esc(self.lead)}</p>",
            "<h2>Findings</h2><ul>",
        ]
        body += [f"<li>{esc(f)}</li>" for f in self.findings] + ["</ul>"]
        for heading, text, table, figures in self.sections:
            body.append(f"<h2>{esc(heading)}</h2>")
            body += [f"<p>{esc(t)}</p>" for t in text]
            if table is not None:
                body.append(
                    table.to_html(
                        index=False, na_rep="–", float_format=lambda v: f"{v:.4g}"
                    )
                )
            for path, caption in figures:
                data = base64.b64encode((out / path).read_bytes()).decode()
                body.append(
                    f'<figure><img src="data:image/png;base64,{data}" '
                    f'alt="{esc(caption)}"><figcaption>{esc(caption)}'
                    "</figcaption></figure>"
                )
        body.append("<h2>Settings</h2><ul>")
        body += [
            f"<li><b>{esc(str(k))}</b>: <code>{esc(str(v))}</code></li>"
            for k, v in settings.items()
        ] + ["</ul>"]
        style = (
            "body{font-family:sans-serif;max-width:60em;margin:2em auto;"
            "padding:0 1em;color:#222}table{border-collapse:collapse;"
            "font-size:90%}td,th{border:1px solid #ccc;padding:2px 6px;"
            "text-align:right}img{max-width:100%}figcaption{font-size:90%;"
            "color:#555}"
        )
        return (
            f"<!DOCTYPE html><html><head><meta charset='utf-8'><title>"
            f"{esc(self.title)}</title><style>{style}</style></head><body>"
            + "".join(body)
            + "</body></html>"
        )
