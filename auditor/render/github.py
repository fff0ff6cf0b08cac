"""GitHub Actions workflow commands: one ``::error``/``::warning``/``::notice`` annotation per finding
(and per note), shown on the pull request's diff."""

from __future__ import annotations

from auditor.scan import ScanResult

COMMANDS = {"critical": "error", "high": "error", "medium": "warning", "low": "notice", "info": "notice"}


def escape_data(text: str) -> str:
    """A workflow command's message: ``%``, CR and LF percent-encoded."""
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    """A workflow command's property value: as a message, plus ``:`` and ``,``."""
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def _command(name: str, properties: list, message: str) -> str:
    rendered = ",".join(f"{key}={escape_property(str(value))}" for key, value in properties)
    return f"::{name} {rendered}::{escape_data(message)}" if rendered else f"::{name}::{escape_data(message)}"


def render_github(result: ScanResult) -> str:
    """One annotation line per finding, then one ``::warning`` per note; empty when there is nothing."""
    lines = []
    for finding in result.findings:
        properties = []
        if finding.line > 0:  # live findings are about a database object, not a line of code
            properties += [("file", finding.path), ("line", finding.line)]
            if finding.end_line and finding.end_line > finding.line:
                properties.append(("endLine", finding.end_line))
            if finding.column:
                properties.append(("col", finding.column + 1))
        properties.append(("title", f"{finding.rule} {finding.title} ({finding.severity}, {finding.priority})"))
        message = f"{finding.message}\n\nFix: {finding.remediation}"
        if finding.line <= 0:
            message = f"{finding.path} {finding.function}: {message}"
        if len(finding.chain) > 1:
            message += "\n\nEvidence: " + " → ".join(finding.chain)
        lines.append(_command(COMMANDS.get(finding.severity, "warning"), properties, message))
    for path, message in result.notes:
        properties = ([("file", path)] if path else []) + [("title", "audit note")]
        lines.append(_command("warning", properties, message))
    return "".join(line + "\n" for line in lines)
