"""The terminal summary (rich): counts by severity and category, then the top findings."""

from __future__ import annotations

from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor.findings import SEVERITIES, rank_key
from auditor.render.report_model import scope_lines, suppressed_counts
from auditor.scan import ScanResult

STYLES = {"critical": "bold white on red", "high": "bold red", "medium": "yellow", "low": "cyan", "info": "dim"}


def severity_summary(findings: list) -> Text:
    """``Findings: 17  high 1  medium 11  low 5``, each severity in its colour."""
    counts = Counter(f.severity for f in findings)
    summary = Text("Findings: ")
    summary.append(str(len(findings)), style="bold")
    for severity in SEVERITIES:
        if counts.get(severity):
            summary.append(f"  {severity} {counts[severity]}", style=STYLES[severity])
    return summary


def print_brief_finding(console: Console, finding, excerpt_limit: int = 110) -> None:
    """A live finding in a few lines: priority, severity, rule, object, message, excerpt, fix."""
    console.print()
    header = Text()
    header.append(f"{finding.priority} ", style="bold")
    header.append(finding.severity, style=STYLES.get(finding.severity, ""))
    header.append(f" {finding.rule} ", style="bold")
    header.append(finding.function)
    console.print(header)
    console.print(f"  {finding.message}", markup=False, highlight=False)
    if finding.excerpt:
        excerpt = " ".join(finding.excerpt.split())
        if len(excerpt) > excerpt_limit:
            excerpt = excerpt[:excerpt_limit - 1] + "…"
        console.print(Text(f"    {excerpt}", style="dim"))
    console.print(Text(f"  fix: {finding.remediation}", style="green"))


def render_terminal(result: ScanResult, console: Console, top: int = 15) -> None:
    """Print the summary and the ``top`` most important findings."""
    metrics = result.metrics
    console.print(
        f"[bold]audit[/bold] scanned {metrics.get('files', 0)} files, {metrics.get('lines', 0):,} lines: "
        f"{metrics.get('db_call_sites', 0)} DB call sites, {metrics.get('request_handlers', 0)} request handlers, "
        f"{metrics.get('files_opening_connections', 0)} files opening connections."
    )
    console.print(severity_summary(result.findings))
    if result.findings:
        table = Table(show_header=True, header_style="bold", box=None, pad_edge=False)
        table.add_column("category")
        table.add_column("rule")
        table.add_column("count", justify="right")
        per_rule = Counter((f.category, f.rule, f.title) for f in result.findings)
        for (category, rule, title), count in sorted(per_rule.items()):
            table.add_row(category, f"{rule} {title}", str(count))
        console.print(table)
    for finding in sorted(result.findings, key=rank_key)[:top]:
        console.print()
        header = Text()
        header.append(f"{finding.priority} ", style="bold")
        header.append(f"{finding.severity}", style=STYLES[finding.severity])
        header.append(f" {finding.rule} ", style="bold")
        header.append(f"{finding.path}:{finding.line}", style="underline")
        header.append(f"  (confidence {finding.confidence})", style="dim")
        console.print(header)
        console.print(f"  {finding.message}", highlight=False, markup=False)
        if finding.excerpt:
            console.print(Text(f"    {finding.line} | {finding.excerpt}", style="dim"))
        if len(finding.chain) > 1:
            console.print(Text("  chain: " + " → ".join(finding.chain), style="dim"))
        console.print(Text(f"  fix: {finding.remediation}", style="green"))
    if len(result.findings) > top:
        console.print(f"\n… {len(result.findings) - top} more; use --format markdown -o report.md for all.")
    hidden = metrics.get("test_findings_hidden", 0)
    if hidden:
        console.print(f"\n{hidden} finding(s) in test and migration code not shown (--include-tests shows them).")
    suppressed = suppressed_counts(metrics)
    if suppressed:
        by_rule = ", ".join(f"{item['rule']} {item['count']}" for item in suppressed["by_rule"])
        console.print(f"\n{suppressed['total']} finding(s) suppressed by audit: ignore comments"
                      f"{f' ({by_rule})' if by_rule else ''}.", markup=False, highlight=False)
    for line in scope_lines(metrics):
        console.print(line, markup=False, highlight=False)
    if result.notes:
        console.print(f"\n[yellow]{len(result.notes)} note(s):[/yellow]")
        for path, message in result.notes[:10]:
            console.print(f"  {path}: {message}", markup=False, highlight=False)
        if len(result.notes) > 10:
            console.print(f"  … {len(result.notes) - 10} more in the JSON/Markdown report")
