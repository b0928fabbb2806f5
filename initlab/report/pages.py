"""The report's two pages: Markdown and one self-contained HTML file.

Both render the same sections (a dict of text built by
:mod:`initlab.report.sections`), the summary table and the figure list.
"""

from __future__ import annotations

import html
from typing import Any

from initlab.report.tables import _md_table


def _markdown(sec: dict, shown: Any, figures: list[tuple[str, str]]) -> str:
    md = [f"# {sec['title']}", "", sec["lead"], "", "## Summary", ""]
    md += [_md_table(shown), ""]
    md += [sec["diverged"], "", sec["method"], ""]
    if sec["target"]:
        md += [sec["target"], ""]
    for heading, key in (
        ("Comparisons", "comparisons"),
        ("Init vs data order", "variance"),
        ("Binomial check", "binomial"),
    ):
        if sec[key]:
            head, *rest = sec[key] if key != "variance" else ["", *sec[key]]
            md += [f"## {heading}", ""] + ([head, ""] if head else [])
            md += [f"- {line}" for line in rest] + [""]
    if figures:
        md += ["## Figures", ""]
        for rel, caption in figures:
            md += [f"![{caption}]({rel})", "", f"*{caption}*", ""]
    md += ["## Run", ""]
    md += [f"- **{key}**: `{value}`" for key, value in sec["metadata"]] + [""]
    return "\n".join(md)


def _html(sec: dict, shown: Any, figures: list[tuple[str, str]]) -> str:
    e = html.escape
    body = [
        f"<h1>{e(sec['title'])}</h1>",
        f"<p>{e(sec['lead'])}</p>",
        "<h2>Summary</h2>",
        shown.to_html(index=False, escape=True, border=0, classes="summary"),
        f"<p>{e(sec['diverged'])}</p>",
        f"<p>{e(sec['method'])}</p>",
    ]
    if sec["target"]:
        body.append(f"<p>{e(sec['target'])}</p>")
    for heading, key in (
        ("Comparisons", "comparisons"),
        ("Init vs data order", "variance"),
        ("Binomial check", "binomial"),
    ):
        if sec[key]:
            head, *rest = sec[key] if key != "variance" else ["", *sec[key]]
            body.append(f"<h2>{e(heading)}</h2>")
            if head:
                body.append(f"<p>{e(head)}</p>")
            body.append("<ul>" + "".join(f"<li>{e(x)}</li>" for x in rest) + "</ul>")
    if figures:
        body.append("<h2>Figures</h2>")
        for rel, caption in figures:
            body.append(
                f'<figure><img src="{e(rel)}" alt="{e(caption)}">'
                f"<figcaption>{e(caption)}</figcaption></figure>"
            )
    body.append("<h2>Run</h2><dl>")
    body += [f"<dt>{e(k)}</dt><dd><code>{e(v)}</code></dd>" for k, v in sec["metadata"]]
    body.append("</dl>")
    style = (
        "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}"
        "table.summary{border-collapse:collapse}"
        "table.summary td,table.summary th{padding:.2em .6em;"
        "border-bottom:1px solid #ddd;text-align:right}"
        "img{max-width:100%}figcaption{font-style:italic;color:#444}"
        "dd code{word-break:break-all}"
    )
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{e(sec['title'])}</title><style>{style}</style></head>\n<body>\n"
        + "\n".join(body)
        + "\n</body></html>\n"
    )
