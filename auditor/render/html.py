"""The HTML report: one self-contained file (inline CSS, JS and SVG; nothing is fetched), rendered
from ``reports/html.html.j2``. Code is highlighted with Pygments; the priority matrix is an SVG
drawn here; filtering and the copy buttons are a few lines of inline JavaScript.
"""

from __future__ import annotations

import json
import math
from html import escape

from markupsafe import Markup
from pygments import highlight as pygments_highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import PostgresLexer, PythonLexer, SqlLexer

from auditor.findings import SEVERITIES
from auditor.render.report_model import QUADRANTS, build_report
from auditor.resources import report_template
from auditor.scan import ScanResult

CODE_STYLE = "github-dark"
SEVERITY_COLOURS = {"critical": "#b42318", "high": "#e0592a", "medium": "#d9a514", "low": "#2f7fc1", "info": "#7a8594"}
QUADRANT_FILLS = {"Quick wins": "#e6f4ea", "Major projects": "#fdf0e1", "Fill-ins": "#e8f0fb", "Later": "#f1f2f4"}
_LEXERS = {"python": PythonLexer, "sql": SqlLexer, "postgres": PostgresLexer}


def highlight(code: str, language: str = "python") -> Markup:
    """``code`` as highlighted HTML spans (no wrapper element)."""
    lexer = _LEXERS.get(language, PythonLexer)(stripnl=False, ensurenl=False)
    return Markup(pygments_highlight(code, lexer, HtmlFormatter(nowrap=True)).rstrip("\n"))


def inline_code(text: str) -> Markup:
    """Escaped text whose `backticked` spans become ``<code>`` elements."""
    parts = str(text).split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return Markup(escape(str(text), quote=False))
    return Markup("".join(escape(part, quote=False) if index % 2 == 0 else f"<code>{escape(part, quote=False)}</code>"
                          for index, part in enumerate(parts)))


def code_css() -> str:
    """The highlighter's colours, scoped to ``.code``."""
    return HtmlFormatter(style=CODE_STYLE).get_style_defs(".code")


def matrix_svg(matrix: dict) -> Markup:
    """The impact x effort matrix as an inline SVG: one bubble per cell, sized by its finding count."""
    cell_w, cell_h, left, top, bottom = 120, 52, 86, 8, 46
    efforts = matrix["efforts"]
    rows = matrix["rows"]
    width = left + cell_w * len(efforts) + 12
    height = top + cell_h * len(rows) + bottom
    largest = max(matrix["largest"], 1)
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
             f'role="img" aria-labelledby="matrix-title" class="matrix">',
             '<title id="matrix-title">Priority matrix: findings by impact (severity) and effort</title>']
    for r, row in enumerate(rows):
        for c, cell in enumerate(row):
            x, y = left + c * cell_w, top + r * cell_h
            parts.append(f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" '
                         f'fill="{QUADRANT_FILLS[cell["quadrant"]]}" stroke="#ffffff" stroke-width="2"/>')
    for r, row in enumerate(rows):
        severity = row[0]["severity"]
        y = top + r * cell_h + cell_h / 2
        parts.append(f'<text x="{left - 10}" y="{y + 4:.0f}" text-anchor="end" class="axis">{severity}</text>')
        for c, cell in enumerate(row):
            if not cell["count"]:
                continue
            cx, cy = left + c * cell_w + cell_w / 2, top + r * cell_h + cell_h / 2
            radius = 8 + 14 * math.sqrt(cell["count"] / largest)
            rules = ", ".join(f'{x["rule"]}{" ×" + str(x["count"]) if x["count"] > 1 else ""}' for x in cell["rules"])
            tip = f'{cell["count"]} {severity} finding{"s" if cell["count"] != 1 else ""}, {cell["effort"]} effort: {rules}'
            parts.append(f'<g class="bubble" data-severity="{severity}" data-effort="{cell["effort"]}">'
                         f'<title>{escape(tip)}</title>'
                         f'<circle cx="{cx:.0f}" cy="{cy:.0f}" r="{radius:.1f}" fill="{SEVERITY_COLOURS[severity]}" '
                         f'fill-opacity="0.9"/>'
                         f'<text x="{cx:.0f}" y="{cy + 4:.0f}" text-anchor="middle" class="count">{cell["count"]}</text></g>')
    for c, effort in enumerate(efforts):
        x = left + c * cell_w + cell_w / 2
        parts.append(f'<text x="{x:.0f}" y="{top + cell_h * len(rows) + 18}" text-anchor="middle" '
                     f'class="axis">{effort}</text>')
    parts.append(f'<text x="{left + cell_w * len(efforts) / 2:.0f}" y="{height - 6}" text-anchor="middle" '
                 f'class="axis-title">effort to fix →</text>')
    parts.append(f'<text x="14" y="{top + cell_h * len(rows) / 2:.0f}" text-anchor="middle" class="axis-title" '
                 f'transform="rotate(-90 14 {top + cell_h * len(rows) / 2:.0f})">impact →</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def render_html(result: ScanResult) -> str:
    """The HTML report as one string."""
    report = build_report(result)
    template = report_template("html.html.j2", {"highlight": highlight, "md": inline_code}, html=True)
    text = template.render(
        r=report,
        severities=SEVERITIES,
        colours=SEVERITY_COLOURS,
        quadrant_fills=QUADRANT_FILLS,
        quadrants=list(QUADRANTS.values()),
        code_css=Markup(code_css()),
        matrix=matrix_svg(report["matrix"]),
        counts_json=Markup(json.dumps({"total": report["total"]})),
    )
    return text.rstrip("\n") + "\n"
