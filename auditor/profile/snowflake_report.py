"""The Snowflake profile as a terminal summary (rich), JSON (deterministic) or Markdown."""

from __future__ import annotations

import json
from collections import Counter

from rich.console import Console
from rich.table import Table
from rich.text import Text

from auditor import __version__
from auditor.findings import SEVERITIES
from auditor.profile.snowflake_analysis import SIZE_NAMES, Profile, seconds, short
from auditor.profile.snowflake_history import HISTORY_DAYS
from auditor.render.terminal import print_brief_finding, severity_summary

SCHEMA_VERSION = "1.0"
CREDITS_NOTE = ("Warehouse credits are estimated per query as the warehouse size's credits per hour x the "
                "query's EXECUTION_TIME (QUERY_HISTORY has no per-query warehouse credits): queries sharing a "
                "warehouse are over-counted and idle time is not counted; WAREHOUSE_METERING_HISTORY has the "
                "billed figures. Cloud services credits are CREDITS_USED_CLOUD_SERVICES as recorded.")


def to_document(profile: Profile, top: int) -> dict:
    """The profile as plain data (no timestamps: the same history gives the same document)."""
    counts = Counter(f.severity for f in profile.findings)
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "audit", "version": __version__},
        "kind": "snowflake-profile",
        "source": profile.source,
        "window_days": HISTORY_DAYS,
        "summary": {"queries": profile.queries, "query_groups": len(profile.groups),
                    "estimated_warehouse_credits": round(profile.total_credits, 4),
                    "elapsed_ms": round(profile.total_elapsed_ms), "findings": len(profile.findings),
                    "by_severity": {severity: counts.get(severity, 0) for severity in SEVERITIES}},
        "credits_note": CREDITS_NOTE,
        "top_queries": [{"key": g.key, "query_type": g.query_type, "text": g.text, **g.figures()}
                        for g in profile.groups[:top]],
        "top_by_elapsed": [{"key": g.key, "runs": g.runs, "elapsed_ms": round(g.elapsed_ms)}
                           for g in by_elapsed(profile)[:top]],
        "warehouses": [{"name": w.name, "size": SIZE_NAMES.get(w.size, ""), "queries": w.queries,
                        "elapsed_ms": round(w.elapsed_ms), "estimated_credits": round(w.credits, 4),
                        "queued_queries": w.queued_queries, "queued_overload_ms": round(w.queued_overload_ms)}
                       for w in profile.warehouses],
        "cortex": [{"function": u.function, "queries": u.queries, "elapsed_ms": round(u.elapsed_ms),
                    "estimated_credits": round(u.credits, 4)} for u in profile.cortex],
        "findings": [finding.to_dict() for finding in profile.findings],
        "notes": list(profile.notes),
    }


def by_elapsed(profile: Profile) -> list:
    """The query groups, longest total elapsed time first."""
    return sorted(profile.groups, key=lambda g: (-g.elapsed_ms, g.key))


def render_json(profile: Profile, top: int) -> str:
    """The JSON report with sorted keys and a trailing newline."""
    return json.dumps(to_document(profile, top), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def render_markdown(profile: Profile, top: int) -> str:
    """The Markdown report: summary, top queries, warehouses, Cortex usage, every finding, notes."""
    lines = ["# Snowflake workload profile", "",
             f"Read {profile.queries:,} queries ({len(profile.groups):,} distinct) of the last {HISTORY_DAYS} days "
             f"from `{profile.source}`: {seconds(profile.total_elapsed_ms)} elapsed, about "
             f"{profile.total_credits:,.2f} warehouse credits (estimated). {len(profile.findings)} findings.", "",
             f"> {CREDITS_NOTE}", "", f"## Top {min(top, len(profile.groups))} queries by estimated credits", "",
             "| # | runs | elapsed | per run | est. credits | partitions scanned | query |",
             "|---|---|---|---|---|---|---|"]
    lines += _group_rows(profile.groups[:top])
    lines += ["", f"## Top {min(top, len(profile.groups))} queries by elapsed time", "",
              "| # | runs | elapsed | per run | est. credits | partitions scanned | query |",
              "|---|---|---|---|---|---|---|"]
    lines += _group_rows(by_elapsed(profile)[:top])
    lines += ["", "## Warehouses", "", "| warehouse | size | queries | elapsed | est. credits | queued (overload) |",
              "|---|---|---|---|---|---|"]
    for load in profile.warehouses:
        lines.append(f"| {load.name} | {SIZE_NAMES.get(load.size, '?')} | {load.queries:,} | "
                     f"{seconds(load.elapsed_ms)} | {load.credits:,.3f} | {load.queued_queries:,} queries, "
                     f"{seconds(load.queued_overload_ms)} |")
    if profile.cortex:
        lines += ["", "## Cortex functions", "", "| function | queries | elapsed | est. warehouse credits |",
                  "|---|---|---|---|"]
        lines += [f"| {u.function} | {u.queries:,} | {seconds(u.elapsed_ms)} | {u.credits:,.3f} |"
                  for u in profile.cortex]
    lines += ["", "## Findings", ""]
    if not profile.findings:
        lines.append("None.")
    for finding in profile.findings:
        lines += [f"### {finding.priority} {finding.severity} {finding.rule}: {finding.title}", "",
                  f"*{finding.function}*", "", finding.message, ""]
        if finding.excerpt:
            lines += ["```sql", finding.excerpt, "```", ""]
        lines += [f"**Fix:** {finding.remediation}", ""]
    if profile.notes:
        lines += ["## Notes", ""] + [f"- {note}" for note in profile.notes]
    return "\n".join(lines).rstrip() + "\n"


def render_terminal(profile: Profile, console: Console, top: int) -> None:
    """The terminal summary: counts, the top queries, warehouses, Cortex use, then the findings."""
    console.print(f"[bold]audit[/bold] read {profile.queries:,} queries ({len(profile.groups):,} distinct) of the "
                  f"last {HISTORY_DAYS} days from {profile.source}: {seconds(profile.total_elapsed_ms)} elapsed, "
                  f"about {profile.total_credits:,.2f} warehouse credits (estimated from size x execution time).",
                  highlight=False)
    console.print(severity_summary(profile.findings))
    if profile.groups and top:
        table = Table(title="Top queries by estimated credits", show_header=True, header_style="bold", box=None)
        for name in ("#", "runs", "elapsed", "est. credits", "partitions"):
            table.add_column(name, justify="right", no_wrap=True, min_width=max(len(name), 2))
        table.add_column("query", no_wrap=True, overflow="ellipsis")
        for position, group in enumerate(profile.groups[:top], start=1):
            table.add_row(str(position), f"{group.runs:,}", seconds(group.elapsed_ms), f"{group.credits:,.3f}",
                          _partitions(group), Text(short(group.text, 70)))
        console.print(table)
    if profile.warehouses:
        table = Table(title="Warehouses", show_header=True, header_style="bold", box=None)
        for name in ("warehouse", "size", "queries", "elapsed", "est. credits", "queued"):
            table.add_column(name)
        for load in profile.warehouses:
            table.add_row(load.name, SIZE_NAMES.get(load.size, "?"), f"{load.queries:,}", seconds(load.elapsed_ms),
                          f"{load.credits:,.3f}", f"{load.queued_queries:,} ({seconds(load.queued_overload_ms)})")
        console.print(table)
    if profile.cortex:
        console.print("Cortex functions: " + ", ".join(
            f"{u.function} {u.queries:,} queries {seconds(u.elapsed_ms)}" for u in profile.cortex), highlight=False)
    for finding in profile.findings[:top]:
        print_brief_finding(console, finding)
    if len(profile.findings) > top:
        console.print(f"\n… {len(profile.findings) - top} more findings; --format markdown -o profile.md shows all.")
    for note in profile.notes:
        console.print(Text(f"note: {note}", style="yellow"))


def _group_rows(groups: list) -> list:
    return [f"| {position} | {group.runs:,} | {seconds(group.elapsed_ms)} | {seconds(group.elapsed_ms / group.runs)} | "
            f"{group.credits:,.3f} | {_partitions(group)} | `{_cell(short(group.text, 100))}` |"
            for position, group in enumerate(groups, start=1)]


def _partitions(group) -> str:
    if not group.partitions_total:
        return "-"
    return f"{int(group.partitions_scanned):,}/{int(group.partitions_total):,}"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("`", "'")
