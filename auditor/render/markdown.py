"""The Markdown audit report, rendered from ``reports/markdown.md.j2``."""

from __future__ import annotations

from auditor.render.report_model import build_report
from auditor.resources import report_template
from auditor.scan import ScanResult


def table_cell(text) -> str:
    """Text safe inside a Markdown table cell: pipes escaped, line breaks as spaces."""
    return " ".join(str(text).split()).replace("|", "\\|")


def render_markdown(result: ScanResult) -> str:
    """The full Markdown report."""
    template = report_template("markdown.md.j2", {"cell": table_cell})
    text = template.render(r=build_report(result))
    return text.rstrip("\n") + "\n"
