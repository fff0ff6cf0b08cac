"""Renderers: terminal, JSON, Markdown, HTML, SARIF and GitHub annotations."""

from __future__ import annotations

TEXT_FORMATS = ("json", "markdown", "html", "sarif", "github")


def render_text(result, output_format: str) -> str:
    """The report of ``result`` in one of ``TEXT_FORMATS`` (every format but the terminal summary)."""
    if output_format == "json":
        from auditor.render.json_report import render_json

        return render_json(result)
    if output_format == "markdown":
        from auditor.render.markdown import render_markdown

        return render_markdown(result)
    if output_format == "html":
        from auditor.render.html import render_html

        return render_html(result)
    if output_format == "sarif":
        from auditor.render.sarif import render_sarif

        return render_sarif(result)
    if output_format == "github":
        from auditor.render.github import render_github

        return render_github(result)
    raise ValueError(f"unknown report format {output_format!r}")
