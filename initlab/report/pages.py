"""The report's two pages: Markdown (for GitHub) and one self-contained HTML file.

Both render the same sections (a dict built by :mod:`initlab.report.write`
from the words of :mod:`initlab.report.sections`) in the same order: the
findings, the summary table, comparisons, variance and binomial checks, the
figures, then settings and provenance. The HTML page embeds every figure as a
``data:`` URI and has no script, font or link outside itself, so it opens
offline as one file; its probability-of-improvement table shows each cell's
interval on hover.
"""

from __future__ import annotations

import base64
import html
from pathlib import Path
from typing import Any

import numpy as np

from initlab.report.tables import _md_table

_SECTIONS = (
    ("Hyper-parameters", "hyper"),
    ("Comparisons", "comparisons"),
    ("Init vs data order", "variance"),
    ("Binomial check", "binomial"),
)


def _section_lines(sec: dict, key: str) -> tuple[str, list[str]]:
    lines = sec[key]
    if key == "variance":
        return "", list(lines)
    head, *rest = lines
    return head, rest


# ----- Markdown ------------------------------------------------------------


def _md_items(items: list, depth: int = 0) -> list[str]:
    out = []
    pad = "  " * depth
    for name, value in items:
        if isinstance(value, list):
            out.append(f"{pad}- **{name}**:")
            out += _md_items(value, depth + 1)
        else:
            out.append(f"{pad}- **{name}**: `{value}`")
    return out


def _markdown(sec: dict, shown: Any, figures: list) -> str:
    md = [f"# {sec['title']}", "", sec["lead"], "", "## Findings", ""]
    md += [f"- **{bold}**: {text}" for bold, text in sec["findings"]] + [""]
    md += ["## Summary", "", _md_table(shown), ""]
    md += [sec["diverged"], "", sec["method"], ""]
    if sec["target"]:
        md += [sec["target"], ""]
    for heading, key in _SECTIONS:
        if sec[key]:
            head, rest = _section_lines(sec, key)
            md += [f"## {heading}", ""] + ([head, ""] if head else [])
            md += [f"- {line}" for line in rest] + [""]
    if figures:
        md += ["## Figures", ""]
        for f in figures:
            vector = (
                f" (vector: [{Path(f.vector).suffix[1:].upper()}]({f.vector}))"
                if f.vector
                else ""
            )
            md += [f"![{f.caption}]({f.png})", "", f"*{f.caption}*{vector}", ""]
    md += ["## Settings and reproduction", ""]
    for heading, items in sec["provenance"]:
        md += [f"### {heading}", ""]
        if heading == "Reproduce":
            for name, value in items:
                md += ["```sh", value, "```", ""] if name == "command" else [value, ""]
            continue
        md += _md_items(items) + [""]
    return "\n".join(md)


# ----- HTML ----------------------------------------------------------------

_STYLE = """
:root{--ink:#1d1d1f;--muted:#5f6368;--rule:#e3e3e3;--accent:#1f5fa8}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
 color:var(--ink);max-width:66em;margin:0 auto;padding:1.5em 1.2em 4em}
h1{font-size:1.6em;margin:.2em 0}h2{font-size:1.25em;margin-top:2em;
 border-bottom:1px solid var(--rule);padding-bottom:.2em}h3{font-size:1.05em}
p.lead{color:var(--muted);margin-top:0}
section#findings{background:#f4f7fb;border-left:4px solid var(--accent);
 padding:.6em 1.2em;margin:1em 0 1.5em}
section#findings h2{border:0;margin-top:.3em}
ul.findings{padding-left:1.1em}ul.findings li{margin:.35em 0}
.table-wrap{overflow-x:auto}
table{border-collapse:collapse;font-variant-numeric:tabular-nums;font-size:.9em}
table.summary td,table.summary th{padding:.25em .6em;border-bottom:1px solid
 var(--rule);text-align:right;white-space:nowrap}
table.summary th{white-space:normal;vertical-align:bottom}
table.summary td:first-child,table.summary th:first-child{text-align:left}
table.summary tr.failed td{color:#8a8a8a}
table.matrix{font-size:.78em}
table.matrix td{width:3.4em;height:2.1em;text-align:center;border:1px solid #fff}
table.matrix th{font-weight:normal;padding:.15em .4em;text-align:right;
 white-space:nowrap}
table.matrix thead th{writing-mode:vertical-rl;transform:rotate(180deg);
 text-align:left;vertical-align:bottom}
table.matrix td.resolved{font-weight:bold}
figure{margin:1.8em 0}figure img{max-width:100%;height:auto;display:block}
figcaption{color:var(--muted);font-size:.92em;margin-top:.3em}
dl.items{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em}
dl.items dt{font-weight:600}dl.items dd{margin:0}
dd code,pre{word-break:break-all;white-space:pre-wrap}
pre{background:#f6f6f6;padding:.6em .8em;border-radius:4px}
"""


def _html_items(items: list) -> str:
    e = html.escape
    parts = ['<dl class="items">']
    for name, value in items:
        parts.append(f"<dt>{e(name)}</dt>")
        if isinstance(value, list):
            parts.append(f"<dd>{_html_items(value)}</dd>")
        else:
            parts.append(f"<dd><code>{e(value)}</code></dd>")
    parts.append("</dl>")
    return "".join(parts)


def _table_html(frame: Any, failed: Any) -> str:
    """The summary table; rows of failed initializers get class "failed"."""
    e = html.escape
    head = "".join(f"<th>{e(str(c))}</th>" for c in frame.columns)
    rows = []
    for values in frame.itertuples(index=False):
        cls = ' class="failed"' if str(values[0]) in failed else ""
        cells = "".join(f"<td>{e(str(v))}</td>" for v in values)
        rows.append(f"<tr{cls}>{cells}</tr>")
    return (
        f'<table class="summary"><thead><tr>{head}</tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )


def _cell_colour(p: float) -> tuple[str, str]:
    """Background and text colour of a probability: red 0, white 0.5, blue 1."""
    base = np.array([247, 247, 247], float)
    target = np.array([33, 102, 172] if p >= 0.5 else [178, 24, 43], float)
    t = min(1.0, abs(p - 0.5) * 2)
    rgb = base + t * (target - base)
    hex_colour = "#" + "".join(f"{int(round(c)):02x}" for c in rgb)
    return hex_colour, ("#fff" if t > 0.6 else "#1d1d1f")


def _matrix_html(matrix: dict) -> str:
    e = html.escape
    labels = list(matrix["labels"])
    p, low, high = (np.asarray(matrix[k]) for k in ("p", "low", "high"))
    head = "".join(f'<th scope="col">{e(x)}</th>' for x in labels)
    rows = []
    for i, a in enumerate(labels):
        cells = []
        for j, b in enumerate(labels):
            if i == j:
                cells.append("<td></td>")
                continue
            bg, fg = _cell_colour(float(p[i, j]))
            resolved = not (low[i, j] <= 0.5 <= high[i, j])
            title = (
                f"P({a} beats {b}) = {p[i, j]:.2f} [{low[i, j]:.2f}, {high[i, j]:.2f}]"
            )
            cls = ' class="resolved"' if resolved else ""
            cells.append(
                f'<td{cls} style="background:{bg};color:{fg}" title="{e(title)}">'
                f"{p[i, j]:.2f}</td>"
            )
        rows.append(f'<tr><th scope="row">{e(a)}</th>{"".join(cells)}</tr>')
    return (
        '<div class="table-wrap"><table class="matrix"><thead><tr><th></th>'
        f"{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
    )


def _data_uri(path: Path) -> str:
    return "data:image/png;base64," + base64.b64encode(path.read_bytes()).decode()


def _png_size(path: Path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    return int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")


def _html(sec: dict, shown: Any, figures: list, folder: Path) -> str:
    e = html.escape
    body = [
        f"<header><h1>{e(sec['title'])}</h1>",
        f'<p class="lead">{e(sec["lead"])}</p></header>',
        '<section id="findings"><h2>Findings</h2><ul class="findings">',
    ]
    body += [
        f"<li><strong>{e(bold)}</strong>: {e(text)}</li>"
        for bold, text in sec["findings"]
    ]
    body.append("</ul></section>")
    body += [
        '<section id="summary"><h2>Summary</h2><div class="table-wrap">',
        _table_html(shown, sec.get("failed", ())),
        "</div>",
        f"<p>{e(sec['diverged'])}</p>",
        f"<p>{e(sec['method'])}</p>",
    ]
    if sec["target"]:
        body.append(f"<p>{e(sec['target'])}</p>")
    body.append("</section>")
    for heading, key in _SECTIONS:
        if sec[key] or (key == "comparisons" and sec.get("matrix")):
            body.append(f'<section id="{key}"><h2>{e(heading)}</h2>')
            if sec[key]:
                head, rest = _section_lines(sec, key)
                if head:
                    body.append(f"<p>{e(head)}</p>")
                body.append(
                    "<ul>" + "".join(f"<li>{e(x)}</li>" for x in rest) + "</ul>"
                )
            if key == "comparisons" and sec.get("matrix"):
                body.append(
                    "<p>Every pair: P(a restart of the row beats a restart of the "
                    "column); hover a cell for its interval, bold = the interval "
                    "excludes 0.5.</p>"
                )
                body.append(_matrix_html(sec["matrix"]))
            body.append("</section>")
    if figures:
        body.append('<section id="figures"><h2>Figures</h2>')
        for f in figures:
            png = folder / f.png
            width, height = _png_size(png)
            body.append(
                f'<figure id="fig-{e(f.name)}"><img src="{_data_uri(png)}" '
                f'alt="{e(f.caption)}" width="{width}" height="{height}">'
                f"<figcaption>{e(f.caption)}</figcaption></figure>"
            )
        body.append("</section>")
    body.append('<section id="provenance"><h2>Settings and reproduction</h2>')
    for heading, items in sec["provenance"]:
        body.append(f"<h3>{e(heading)}</h3>")
        if heading == "Reproduce":
            for name, value in items:
                body.append(
                    f"<pre><code>{e(value)}</code></pre>"
                    if name == "command"
                    else f"<p>{e(value)}</p>"
                )
            continue
        body.append(_html_items(items))
    body.append("</section>")
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{e(sec['title'])}</title><style>{_STYLE}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
