"""A :class:`~analysis.report.document.Report` as one self-contained HTML file: styles inline,
plotly.js included once (the first chart), every figure with a fixed div id, so the file opens
without a network and the same study gives the same bytes."""
from __future__ import annotations

from html import escape

from analysis.report.document import Report, Section, Table

CSS = """
body { font-family: Helvetica, Arial, sans-serif; color: #222; max-width: 760px; margin: 24px auto; padding: 0 16px;
       line-height: 1.45; font-size: 14px; }
h1 { font-size: 24px; margin-bottom: 4px; } h2 { font-size: 19px; margin-top: 32px; border-bottom: 1px solid #bbb; }
h3 { font-size: 16px; margin-top: 22px; } .subtitle { color: #555; margin: 0; }
table { border-collapse: collapse; margin: 8px 0 4px; font-size: 12.5px; width: 100%; }
caption { text-align: left; font-style: italic; padding-bottom: 4px; }
thead th { border-top: 1.5px solid #222; border-bottom: 1px solid #222; padding: 3px 6px; text-align: left;
           font-weight: normal; }
tbody td { padding: 2px 6px; vertical-align: top; } tbody tr:last-child td { border-bottom: 1.5px solid #222; }
td.num, th.num { text-align: right; white-space: nowrap; }
.note { font-size: 12px; color: #333; margin: 2px 0 14px; } .note em { font-style: italic; }
.missing { border-left: 3px solid #c80; background: #fff8e8; padding: 6px 10px; margin: 8px 0; }
.figure { margin: 10px 0 16px; page-break-inside: avoid; } .figcaption { font-size: 12px; color: #333; }
.reproduce { font-size: 12px; color: #444; } code { font-size: 11.5px; word-break: break-all; }
.contents { margin: 12px 0 4px; font-size: 13px; } .contents p { margin: 0; font-weight: bold; }
.contents ul { margin: 4px 0; padding-left: 20px; }
.enabler { margin: 2px 0 8px; } .source { color: #555; font-size: 12px; }
@page { size: A4; margin: 14mm; }
@media print { body { margin: 0; max-width: none; } h2 { page-break-after: avoid; } table { page-break-inside: auto; }
               tr { page-break-inside: avoid; } }
"""


def _table(table: Table) -> str:
    numeric = table.numeric if table.numeric is not None else [i > 0 for i in range(len(table.columns))]
    cls = [' class="num"' if n else "" for n in numeric]
    head = "".join(f"<th{c}>{escape(str(h))}</th>" for h, c in zip(table.columns, cls))
    body = "".join("<tr>" + "".join(f"<td{c}>{escape(str(v))}</td>" for v, c in zip(row, cls)) + "</tr>"
                   for row in table.rows)
    note = f'<p class="note"><em>Note.</em> {escape(table.note)}</p>' if table.note else ""
    return (f"<table><caption>{escape(table.caption)}</caption><thead><tr>{head}</tr></thead>"
            f"<tbody>{body}</tbody></table>{note}")


def _anchor(index: int) -> str:
    return f"section-{index + 1}"


def _contents(report: Report) -> str:
    """A list of the top-level sections, linked (only for reports with three or more)."""
    top = [(i, s) for i, s in enumerate(report.sections) if s.level <= 2]
    if len(top) < 3:
        return ""
    items = "".join(f'<li><a href="#{_anchor(i)}">{escape(s.title)}</a></li>' for i, s in top)
    return f'<nav class="contents"><p>Contents</p><ul>{items}</ul></nav>'


def _section(section: Section, first_chart: list[bool], index: int = 0) -> str:
    level = max(2, min(int(section.level), 4))
    parts = [f'<h{level} id="{_anchor(index)}">{escape(section.title)}</h{level}>']
    parts += [f"<p>{escape(p)}</p>" for p in section.paragraphs]
    parts += [f'<p class="missing">{escape(m)}</p>' for m in section.missing]
    parts += [_table(t) for t in section.tables]
    for fig in section.figures:
        if fig.svg:
            div = f'<div id="{escape(fig.id)}">{fig.svg}</div>'
        else:
            div = fig.figure.to_html(full_html=False, include_plotlyjs=first_chart[0], div_id=fig.id,
                                     config={"displayModeBar": False, "responsive": False})
            first_chart[0] = False
        caption = f'<div class="figcaption">{escape(fig.caption)}</div>' if fig.caption else ""
        parts.append(f'<div class="figure">{div}{caption}</div>')
    parts += [f'<p class="reproduce">Reproduce: <code>{escape(c)}</code></p>' for c in section.reproduce]
    return "\n".join(parts)


def to_html(report: Report) -> str:
    """The report as a complete HTML document (UTF-8 text)."""
    first_chart = [True]
    body = _contents(report) + "\n".join(_section(s, first_chart, i) for i, s in enumerate(report.sections))
    subtitle = "".join(f'<p class="subtitle">{escape(s)}</p>' for s in report.subtitle)
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            f"<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"><title>{escape(report.title)}"
            f"</title><style>{CSS}</style></head>\n<body><h1>{escape(report.title)}</h1>{subtitle}\n{body}\n"
            "</body></html>\n")
