"""Tables that read as cards on a phone: each body cell gets its column's heading as data-label.

The stylesheet (static/carefair.css, "Tables on small screens") turns every `govuk-table` into
one card per row below the tablet breakpoint and shows each cell's `data-label` before it, so
a cell still says what it is once the header row is out of sight. Doing this once, on the way
out, covers every table (and every table other pages add later) without JavaScript and without
each template repeating its headings.
"""

from __future__ import annotations

import re
from html import escape, unescape

from flask import Flask, Response

_TABLE = re.compile(r"<table\b[^>]*>.*?</table>", re.S | re.I)
_THEAD = re.compile(r"<thead\b[^>]*>(.*?)</thead>", re.S | re.I)
_HEADER_CELL = re.compile(r"<th\b([^>]*)>(.*?)</th>", re.S | re.I)
_BODY = re.compile(r"(<tbody\b[^>]*>)(.*?)(</tbody>)", re.S | re.I)
_ROW = re.compile(r"<tr\b[^>]*>.*?</tr>", re.S | re.I)
_CELL_OPEN = re.compile(r"<(td|th)\b([^>]*)>", re.I)
_COLSPAN = re.compile(r'colspan="(\d+)"', re.I)
_TAGS = re.compile(r"<[^>]+>")
_HIDDEN = re.compile(r'<span class="govuk-visually-hidden">.*?</span>', re.S)


def _text(html: str) -> str:
    return " ".join(unescape(_TAGS.sub(" ", _HIDDEN.sub("", html))).split())


def _headings(table: str) -> list[str]:
    head = _THEAD.search(table)
    if head is None:
        return []
    labels: list[str] = []
    for attrs, inner in _HEADER_CELL.findall(head.group(1)):
        span = _COLSPAN.search(attrs)
        labels.extend([_text(inner)] * (int(span.group(1)) if span else 1))
    return labels


def _label_row(row: str, labels: list[str]) -> str:
    column = 0
    out: list[str] = []
    last = 0
    for cell in _CELL_OPEN.finditer(row):
        tag, attrs = cell.group(1), cell.group(2)
        out.append(row[last:cell.start()])
        label = labels[column] if column < len(labels) else ""
        if label and "data-label=" not in attrs:
            out.append(f'<{tag}{attrs} data-label="{escape(label)}">')
        else:
            out.append(cell.group(0))
        last = cell.end()
        span = _COLSPAN.search(attrs)
        column += int(span.group(1)) if span else 1
    out.append(row[last:])
    return "".join(out)


def _label_table(match: re.Match[str]) -> str:
    table = match.group(0)
    labels = _headings(table)
    if not labels:
        return table

    def body(m: re.Match[str]) -> str:
        rows = _ROW.sub(lambda r: _label_row(r.group(0), labels), m.group(2))
        return m.group(1) + rows + m.group(3)

    return _BODY.sub(body, table)


def label_tables(html: str) -> str:
    """Every table's body cells labelled with their column heading (unless already labelled)."""
    return _TABLE.sub(_label_table, html)


def register(app: Flask) -> None:
    @app.after_request
    def _label_table_cells(response: Response) -> Response:
        if (response.mimetype == "text/html" and not response.direct_passthrough
                and not response.is_streamed):
            html = response.get_data(as_text=True)
            if "<table" in html:
                response.set_data(label_tables(html))
        return response
