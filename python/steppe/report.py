"""A small self-contained HTML report: sentences, tables and charts in one file.

Charts are drawn with matplotlib's Agg canvas (no display, no global backend
change) and embedded as base64 PNG; the CSS is inline; nothing is fetched.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .results import Estimates

__all__ = ["Section", "write_report"]

_CSS = """
body{font:15px/1.5 system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
h1{font-size:1.6em;margin-bottom:.2em}
h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
.note{background:#fff4e0;border-left:4px solid #e69500;padding:.5em 1em}
table.plain{border-collapse:collapse;font-size:13px}
table.plain th,table.plain td{padding:2px 8px;text-align:right}
table.plain th{border-bottom:1px solid #999}
img{max-width:100%;height:auto}
footer{margin-top:3em;color:#777;font-size:12px}
""".strip()


@dataclass
class Section:
    """One part of a report.

    Parameters
    ----------
    title : str
        Heading of the section.
    text : sequence of str
        Paragraphs (plain text, escaped), e.g. sentences from
        :meth:`steppe.Estimates.describe`.
    estimates : Estimates, optional
        Shown as its table and, unless ``chart`` is None, as a chart.
    table : pandas.DataFrame, optional
        Any other table (e.g. census counts), shown without its index.
    chart : {"bar", "point"} or None, default "bar"
        Chart kind for ``estimates``.
    notes : sequence of str
        Highlighted caveats shown under the heading (e.g. a reliability warning).

    Examples
    --------
    >>> Section("Census", text=["1 in 6 residents is ethnic Russian."]).title
    'Census'
    """

    title: str
    text: Sequence[str] = ()
    estimates: Estimates | None = None
    table: pd.DataFrame | None = None
    chart: str | None = "bar"
    notes: Sequence[str] = ()


def _chart_png(estimates: Estimates, kind: str) -> str:
    """Render the estimates' chart to a base64 PNG without touching pyplot."""
    try:
        from matplotlib.figure import Figure
    except ImportError as error:  # pragma: no cover - depends on the environment
        raise ImportError(
            'write_report draws charts with matplotlib: pip install "steppe[plot]"'
        ) from error
    figure = Figure(figsize=(7.5, 4.0))
    estimates.plot(ax=figure.add_subplot(), kind=kind)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def _section_html(section: Section) -> str:
    parts = [f"<section><h2>{html.escape(section.title)}</h2>"]
    parts += [f'<p class="note">{html.escape(note)}</p>' for note in section.notes]
    parts += [f"<p>{html.escape(paragraph)}</p>" for paragraph in section.text]
    if section.estimates is not None:
        if section.chart is not None:
            png = _chart_png(section.estimates, section.chart)
            alt = html.escape(f"Chart: {section.title}")
            parts.append(f'<img alt="{alt}" src="data:image/png;base64,{png}">')
        parts.append(section.estimates._repr_html_())
    if section.table is not None:
        parts.append(section.table.to_html(index=False, classes="plain", border=0, escape=True))
    parts.append("</section>")
    return "\n".join(parts)


def write_report(
    sections: Iterable[Section],
    path: str | Path,
    *,
    title: str = "steppe report",
    notes: Sequence[str] = (),
) -> Path:
    """Write sections to one self-contained HTML file.

    Parameters
    ----------
    sections : iterable of Section
        The report's parts, in order.
    path : str or Path
        Output file; its parent folders are created.
    title : str, default "steppe report"
        Page title and top heading.
    notes : sequence of str
        Highlighted notes under the title (e.g. "The poll is simulated").

    Returns
    -------
    pathlib.Path
        The file written.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = write_report([Section("Census", text=["1 in 6 is Russian."])],
    ...                    pathlib.Path(tempfile.mkdtemp()) / "index.html")
    >>> "1 in 6 is Russian." in out.read_text(encoding="utf-8")
    True
    """
    body = [f"<h1>{html.escape(title)}</h1>"]
    body += [f'<p class="note">{html.escape(note)}</p>' for note in notes]
    body += [_section_html(section) for section in sections]
    body.append("<footer>Made with steppe: design-based survey estimates.</footer>")
    document = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head>\n"
        f"<body>\n{chr(10).join(body)}\n</body></html>\n"
    )
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(document, encoding="utf-8")
    return target
