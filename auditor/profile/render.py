"""The profile report: terminal (rich), JSON (versioned, sorted keys) and Markdown."""

from __future__ import annotations

import json

from rich.console import Console
from rich.table import Table

from auditor import __version__
from auditor.findings import SEVERITIES, rank_key
from auditor.profile.live_findings import ms, size
from auditor.profile.run import ProfileReport
from auditor.profile.workload import top
from auditor.render.terminal import print_brief_finding, severity_summary

SCHEMA_VERSION = "profile-1.0"
RANKINGS = (("total_ms", "total time"), ("mean_ms", "mean time"), ("calls", "calls"),
            ("shared_blks_read", "shared blocks read"), ("temp_blks_written", "temp blocks written"))


def _short(query: str, limit: int = 90) -> str:
    text = " ".join(query.split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _share(stats, report: ProfileReport) -> float:
    total = report.workload.total_ms
    return stats.total_ms / total if total else 0.0


def to_document(report: ProfileReport) -> dict:
    """The report as plain data."""
    counts = {severity: 0 for severity in SEVERITIES}
    for finding in report.findings:
        counts[finding.severity] += 1
    workload = report.workload
    plans = {p.queryid: p for p in report.advice.plans} if report.advice else {}
    rankings = {}
    for key, _ in RANKINGS:
        chosen = [s for s in top(workload.statements, key, report.top) if getattr(s, key) > 0]
        rankings[key] = [s.queryid for s in chosen]
    statements = []
    shown = {q for ids in rankings.values() for q in ids}
    for stats in workload.statements:
        if stats.queryid not in shown:
            continue
        entry = stats.to_dict()
        entry["share"] = round(_share(stats, report), 4)
        entry["code"] = report.links.get(stats.queryid, [])
        plan = plans.get(stats.queryid)
        if plan is not None:
            entry["plan"] = {"cost_before": plan.before, "cost_after": plan.after, "indexes": plan.indexes_after,
                             "nodes": plan.summary, "error": plan.error}
        statements.append(entry)
    document = {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "audit", "version": __version__},
        "target": report.target,
        "database": report.database,
        "server_version": report.server_version,
        "session": report.settings,
        "summary": {"findings": len(report.findings), "by_severity": counts,
                    "statements": len(workload.statements), "calls": workload.total_calls,
                    "total_ms": round(workload.total_ms, 3), "hidden_statements": workload.hidden,
                    "tables": len(report.catalog.tables), "indexes": len(report.catalog.indexes),
                    "connections": dict(report.activity.states),
                    "max_connections": report.activity.max_connections,
                    "stats_reset": report.catalog.stats_reset},
        "workload_available": workload.available,
        "rankings": rankings,
        "statements": statements,
        "findings": [f.to_dict() for f in report.findings],
        "index_advice": _advice_document(report),
        "warnings": list(report.warnings),
        "notes": list(report.notes),
    }
    return document


def _advice_document(report: ProfileReport):
    advice = report.advice
    if advice is None:
        return None
    return {
        "verified": advice.verified,
        "note": advice.note,
        "totals": advice.totals(),
        "unparsed_statements": advice.unparsed,
        "unplanned": [{"queryid": p.queryid, "query": _short(p.query, 200), "error": p.error} for p in advice.unplanned],
        "indexes": [{
            "ddl": v.ddl,
            "table": v.recommendation.index.table,
            "verified": v.verified,
            "weighted_cost_before": round(v.weighted_before, 2),
            "weighted_cost_after": round(v.weighted_after, 2),
            "size_bytes": v.size_bytes,
            "statements": [{"queryid": q, "cost_before": b, "cost_after": a} for q, b, a in v.statements],
            "reasons": list(v.recommendation.reasons),
        } for v in advice.chosen],
        "rejected": [{"ddl": rec.index.name, "why": why} for rec, why in advice.rejected],
    }


def render_json(report: ProfileReport) -> str:
    return json.dumps(to_document(report), indent=2, sort_keys=True, ensure_ascii=False, default=str) + "\n"


def render_terminal(report: ProfileReport, console: Console) -> None:
    """Summary, top statements, findings, index advice, warnings."""
    workload = report.workload
    activity = report.activity
    console.print(
        f"[bold]audit profile[/bold] {report.target} (PostgreSQL {report.server_version}): "
        f"{len(workload.statements)} statements, {workload.total_calls:,} calls, {ms(workload.total_ms)}; "
        f"{len(report.catalog.tables)} tables, {len(report.catalog.indexes)} indexes; "
        f"{activity.total} connections of {activity.max_connections}.", highlight=False)
    console.print(severity_summary(report.findings))
    if workload.statements:
        console.print()
        table = Table(title=f"Top statements by total time (of {len(workload.statements)})", title_justify="left",
                      box=None, header_style="bold", pad_edge=False)
        for column, justify in (("#", "right"), ("calls", "right"), ("total", "right"), ("mean", "right"),
                                ("rows/call", "right"), ("share", "right"), ("statement", "left")):
            table.add_column(column, justify=justify)
        plans = {p.queryid: p for p in report.advice.plans} if report.advice else {}
        for rank, stats in enumerate(top(workload.statements, "total_ms", report.top), start=1):
            code = report.links.get(stats.queryid)
            plan = plans.get(stats.queryid)
            text = _short(stats.query) + (f"\n  ↳ {', '.join(code[:3])}" if code else "")
            if plan is not None and plan.summary:
                text += f"\n  plan: {plan.summary} (cost {plan.before:,.0f})"
            table.add_row(str(rank), f"{stats.calls:,}", ms(stats.total_ms), ms(stats.mean_ms),
                          f"{stats.rows_per_call:,.1f}", f"{_share(stats, report):.0%}", text)
        console.print(table)
        _terminal_rankings(report, console)
    for finding in sorted(report.findings, key=rank_key):
        print_brief_finding(console, finding)
    _terminal_advice(report, console)
    if report.warnings or report.notes:
        console.print()
        for line in report.warnings:
            console.print(f"[yellow]warning:[/yellow] {line}", highlight=False)
        for line in report.notes:
            console.print(f"note: {line}", markup=False, highlight=False)


def _ranking_value(stats, key: str) -> str:
    if key == "mean_ms":
        return ms(stats.mean_ms)
    if key == "calls":
        return f"{stats.calls:,} calls"
    if key == "shared_blks_read":
        return f"{size(stats.shared_blks_read * 8192)} read"
    return f"{size(stats.temp_blks_written * 8192)} temp"


def _terminal_rankings(report: ProfileReport, console: Console, count: int = 3) -> None:
    """The top statements by mean time, calls, blocks read and temp blocks written (total time has its table)."""
    table = Table(title="Top by other measures", title_justify="left", box=None, header_style="bold",
                  pad_edge=False)
    for column, justify in (("by", "left"), ("value", "right"), ("statement", "left")):
        table.add_column(column, justify=justify)
    rows = 0
    for key, label in RANKINGS[1:]:
        chosen = [s for s in top(report.workload.statements, key, min(count, report.top)) if getattr(s, key) > 0]
        for position, stats in enumerate(chosen):
            code = report.links.get(stats.queryid)
            table.add_row(label if position == 0 else "", _ranking_value(stats, key),
                          _short(stats.query, 70) + (f" ({code[0]})" if code else ""))
            rows += 1
    if rows:
        console.print()
        console.print(table)


def _terminal_advice(report: ProfileReport, console: Console) -> None:
    advice = report.advice
    if advice is None:
        return
    totals = advice.totals()
    console.print()
    how = "verified with HypoPG" if advice.verified else "NOT verified (HypoPG is not installed)"
    console.print(f"[bold]Index advice[/bold] ({how}): {len(advice.chosen)} index(es)", highlight=False)
    for verified in advice.chosen:
        line = f"  {verified.ddl}"
        if verified.verified:
            line += (f"\n    weighted cost {verified.weighted_before:,.0f} -> {verified.weighted_after:,.0f} "
                     f"(-{verified.gain:.1%}) over {len(verified.statements)} statement(s), ~{size(verified.size_bytes)}")
        console.print(line, markup=False, highlight=False)
    if advice.verified and totals["planned"]:
        before, after = totals["weighted_before"], totals["weighted_after"]
        ratio = after / before if before else 1.0
        console.print(f"  workload (calls x cost): {before:,.0f} -> {after:,.0f} ({ratio:.1%}); "
                      f"sum of costs {totals['cost_before']:,.0f} -> {totals['cost_after']:,.0f}", highlight=False)
    console.print(f"  planned {totals['planned']} of {totals['statements']} statements"
                  + (f"; could not plan {totals['unplanned']}" if totals["unplanned"] else ""), highlight=False)
    for plan in advice.unplanned[:5]:
        console.print(f"    {_short(plan.query, 70)}: {plan.error}", markup=False, highlight=False)


def render_markdown(report: ProfileReport) -> str:
    """The report as Markdown."""
    workload = report.workload
    lines = [f"# audit profile: {report.target}", "",
             f"PostgreSQL {report.server_version}; {len(workload.statements)} statements, "
             f"{workload.total_calls:,} calls, {ms(workload.total_ms)} of execution time; "
             f"{len(report.catalog.tables)} tables, {len(report.catalog.indexes)} indexes; "
             f"{report.activity.total} connections of {report.activity.max_connections}.", ""]
    if workload.statements:
        plans = {p.queryid: p for p in report.advice.plans} if report.advice else {}
        lines += ["## Top statements by total time", "",
                  "| # | calls | total | mean | rows/call | share | statement | plan | code |",
                  "|--:|--:|--:|--:|--:|--:|---|---|---|"]
        for rank, stats in enumerate(top(workload.statements, "total_ms", report.top), start=1):
            code = ", ".join(report.links.get(stats.queryid, [])[:3])
            plan = plans.get(stats.queryid)
            nodes = _md(f"{plan.summary} (cost {plan.before:,.0f})") if plan is not None and plan.summary else ""
            lines.append(f"| {rank} | {stats.calls:,} | {ms(stats.total_ms)} | {ms(stats.mean_ms)} | "
                         f"{stats.rows_per_call:,.1f} | {_share(stats, report):.0%} | "
                         f"`{_md(_short(stats.query, 120))}` | {nodes} | {code} |")
        lines.append("")
    lines += [f"## Findings ({len(report.findings)})", ""]
    for finding in sorted(report.findings, key=rank_key):
        lines += [f"### {finding.priority} {finding.severity} {finding.rule} {finding.title}: {_md(finding.function)}", "",
                  _md(finding.message), ""]
        if finding.excerpt:
            lines += ["```sql", finding.excerpt, "```", ""]
        lines += [f"**Fix:** {_md(finding.remediation)}", ""]
    advice = report.advice
    if advice is not None:
        totals = advice.totals()
        how = "verified with HypoPG" if advice.verified else "not verified: HypoPG is not installed"
        lines += [f"## Index advice ({how})", ""]
        for verified in advice.chosen:
            lines.append(f"- `{verified.ddl}`" + (
                f": weighted cost {verified.weighted_before:,.0f} → {verified.weighted_after:,.0f} "
                f"(−{verified.gain:.1%}), {len(verified.statements)} statement(s)" if verified.verified else ""))
        if advice.verified and totals["planned"]:
            lines += ["", f"Workload cost (calls × cost): {totals['weighted_before']:,.0f} → "
                          f"{totals['weighted_after']:,.0f}; sum of costs {totals['cost_before']:,.0f} → "
                          f"{totals['cost_after']:,.0f}."]
        lines += ["", f"Planned {totals['planned']} of {totals['statements']} statements; "
                      f"could not plan {totals['unplanned']}.", ""]
    if report.warnings or report.notes:
        lines += ["## Notes", ""] + [f"- warning: {_md(w)}" for w in report.warnings] + \
                 [f"- {_md(n)}" for n in report.notes] + [""]
    return "\n".join(lines).rstrip("\n") + "\n"


def _md(text: str) -> str:
    return text.replace("|", "\\|")
