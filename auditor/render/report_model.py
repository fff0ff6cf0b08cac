"""What the Markdown and HTML reports show, computed once from a scan: summary figures, findings
grouped by priority and category, the impact x effort matrix, the roadmap and the index script.

Everything here is plain data in a deterministic order, so both reports render identically from
a fresh scan and from a saved JSON report.
"""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path
from typing import Optional

from auditor import __version__
from auditor.findings import SEVERITIES, rank_key
from auditor.render.index_advice import index_section
from auditor.rules import load_rules

PRIORITIES = {
    "P0": "Now: fixes for request-path problems with high confidence",
    "P1": "This sprint",
    "P2": "Next sprints",
    "P3": "Backlog",
}
EFFORTS = ("low", "medium", "high")
# (impact, effort) -> quadrant: a critical or high finding is a quick win unless its fix is a large
# change; a lesser one is worth doing now only when its fix is small.
QUADRANTS = {
    ("high", "small"): "Quick wins",
    ("high", "large"): "Major projects",
    ("lower", "small"): "Fill-ins",
    ("lower", "large"): "Later",
}
CRITICAL_SHOWN = 10

# (metric key, label), in the order of the summary table; keys a report lacks are left out.
SUMMARY_METRICS = (
    ("files", "Python files scanned"),
    ("lines", "Lines scanned"),
    ("sql_files", "SQL files scanned"),
    ("functions", "Functions"),
    ("async_functions", "Async functions"),
    ("cached_functions", "Functions behind a cache decorator"),
    ("request_handlers", "Request handlers found"),
    ("db_call_sites", "Database call sites"),
    ("files_opening_connections", "Files opening direct connections"),
    ("sql_statements", "SQL statements found"),
    ("sql_unparsed", "SQL statements the dialect's parser rejected"),
    ("schema_tables", "Tables in the schema catalog"),
    ("access_paths", "Table access paths analysed"),
    ("recommended_indexes", "Indexes recommended"),
    ("unparsed_files", "Files that could not be analysed"),
    ("test_findings_hidden", "Findings in test and migration code (not shown; `--include-tests`)"),
)

_HOP = re.compile(r"^(?P<where>[^\s:][^:]*:\d+) (?P<label>.*)$")
_SQL_START = re.compile(r"^\s*(SELECT|INSERT|UPDATE|DELETE|WITH|CREATE|ALTER|DROP|MERGE|COPY|VALUES)\b", re.I)


def excerpt_language(finding) -> str:
    """``sql`` when the excerpt is an SQL statement (SQL and index rules quote the statement), else ``python``."""
    return "sql" if _SQL_START.match(finding.excerpt or "") else "python"


def split_hop(hop: str) -> dict:
    """``{"where": "path:line", "label": ...}`` of one evidence hop (``where`` empty when it has none)."""
    match = _HOP.match(hop)
    if match:
        return {"where": match["where"], "label": match["label"]}
    return {"where": "", "label": hop}


def _number(value) -> Optional[float]:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _figure(value, digits: int = 0) -> str:
    number = _number(value)
    if number is None:
        return str(value)
    if number == int(number):
        return f"{int(number):,}"
    return f"{number:,.{digits or 2}f}"


def format_workload(workload) -> str:
    """One line of measured figures: calls, total and mean time, rows per call."""
    if not isinstance(workload, dict) or not workload:
        return ""
    parts = []
    if "calls" in workload:
        parts.append(f"{_figure(workload['calls'])} calls")
    if "total_ms" in workload:
        parts.append(f"{_figure(workload['total_ms'], 1)} ms in total")
    if "mean_ms" in workload:
        parts.append(f"{_figure(workload['mean_ms'], 2)} ms per call")
    if "rows_per_call" in workload:
        parts.append(f"{_figure(workload['rows_per_call'], 1)} rows per call")
    known = {"calls", "total_ms", "mean_ms", "rows_per_call", "raised_from"}
    parts += [f"{key} {_plain(value)}" for key, value in sorted(workload.items()) if key not in known]
    text = ", ".join(parts)
    if workload.get("raised_from"):
        text += f" (severity raised from {workload['raised_from']} by these figures)"
    return text


def format_cost(cost) -> str:
    """One line for an LLM call's cost: model and provider, token cap, prices per million tokens (or
    why the call is not priced), the daily estimate when known, and where the prices come from."""
    if not isinstance(cost, dict) or not cost:
        return ""
    parts = []
    if cost.get("model"):
        parts.append(f"model {cost['model']}" + (f" ({cost['provider']})" if cost.get("provider") else ""))
    if "max_tokens" in cost:
        parts.append("no max_tokens" if cost["max_tokens"] is None else f"max_tokens {_plain(cost['max_tokens'])}")
    per_million = cost.get("price_per_million")
    if isinstance(per_million, dict) and per_million:
        prices = " / ".join(_usd(per_million[k]) for k in ("input", "output") if k in per_million)
        kinds = " / ".join(k for k in ("input", "output") if k in per_million)
        parts.append(f"{prices} per 1M {kinds} tokens")
    elif cost.get("prices") not in (None, {}, ""):
        parts.append(f"prices {_plain(cost['prices'])}")
    if cost.get("priced") is False and cost.get("reason"):
        parts.append(f"not priced: {cost['reason']}")
    if "calls_per_day" in cost:
        parts.append(f"{_figure(cost['calls_per_day'])} calls/day")
    if "usd_per_day" in cost:
        usd = _number(cost["usd_per_day"])
        parts.append(f"≈ ${usd:,.2f}/day" if usd is not None else f"usd_per_day {cost['usd_per_day']}")
    known = {"model", "provider", "max_tokens", "price_per_million", "prices", "priced", "reason", "calls_per_day",
             "usd_per_day", "price_as_of", "price_source"}
    parts += [f"{key} {_plain(value)}" for key, value in sorted(cost.items()) if key not in known]
    text = ", ".join(parts)
    origin = [f"as of {cost['price_as_of']}" if cost.get("price_as_of") else "",
              f"source: {cost['price_source']}" if cost.get("price_source") else ""]
    origin = [o for o in origin if o]
    if origin:
        text += f" (prices {'; '.join(origin)})"
    return text


def _usd(value) -> str:
    number = _number(value)
    return f"${number:,.2f}" if number is not None else str(value)


def _plain(value) -> str:
    """A context value as short text: dicts as ``key value`` pairs, lists comma-separated."""
    if isinstance(value, dict):
        return ", ".join(f"{key} {_plain(item)}" for key, item in sorted(value.items(), key=lambda kv: str(kv[0])))
    if isinstance(value, (list, tuple)):
        return ", ".join(_plain(item) for item in value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def impact_level(severity: str) -> str:
    """``high`` for critical and high findings, ``lower`` for the rest (the matrix's rows)."""
    return "high" if severity in ("critical", "high") else "lower"


def quadrant(severity: str, effort: str) -> str:
    """The priority-matrix quadrant of a severity and an effort."""
    impact = impact_level(severity)
    if impact == "high":
        return QUADRANTS[(impact, "large" if effort == "high" else "small")]
    return QUADRANTS[(impact, "small" if effort == "low" else "large")]


def finding_view(finding, number: int) -> dict:
    """A finding as the templates read it."""
    context = finding.context or {}
    view = finding.to_dict()
    view.update({
        "number": number,
        "anchor": f"finding-{number}",
        "location": f"{finding.path}:{finding.line}" if finding.line > 0 else finding.path,
        "language": excerpt_language(finding),
        "hops": [split_hop(hop) for hop in finding.chain] if len(finding.chain) > 1 else [],
        "request_path": [str(hop) for hop in context.get("request_path") or []],
        "workload": format_workload(context.get("workload")),
        "cost": format_cost(context.get("cost")),
        "live": _plain(context["live"]) if isinstance(context.get("live"), dict) and context["live"] else "",
        "ddl": context.get("ddl") if isinstance(context.get("ddl"), str) else "",
        "quadrant": quadrant(finding.severity, finding.effort),
    })
    return view


def _matrix(findings: list) -> dict:
    cells = []
    for severity in SEVERITIES:
        row = []
        for effort in EFFORTS:
            members = [f for f in findings if f.severity == severity and f.effort == effort]
            rules = Counter(f.rule for f in members)
            row.append({"severity": severity, "effort": effort, "count": len(members),
                        "rules": [{"rule": r, "count": n} for r, n in sorted(rules.items())],
                        "quadrant": quadrant(severity, effort)})
        cells.append(row)
    quadrants = Counter(quadrant(f.severity, f.effort) for f in findings)
    return {"efforts": list(EFFORTS), "rows": cells,
            "quadrants": [{"name": name, "count": quadrants.get(name, 0)} for name in QUADRANTS.values()],
            "largest": max(cell["count"] for row in cells for cell in row)}


def _roadmap(findings: list, rules: dict) -> list:
    steps = []
    for priority, label in PRIORITIES.items():
        members = [f for f in findings if f.priority == priority]
        grouped: dict = {}
        for finding in members:
            entry = grouped.setdefault((finding.rule, finding.path), {
                "rule": finding.rule, "title": _title(finding, rules), "path": finding.path,
                "lines": [], "effort": finding.effort, "severity": finding.severity})
            entry["lines"].append(finding.line)
        items = [dict(entry, count=len(entry["lines"]), lines=sorted(entry["lines"]))
                 for _, entry in sorted(grouped.items())]
        steps.append({"priority": priority, "label": label, "items": items, "count": len(members)})
    return steps


def _title(finding, rules: dict) -> str:
    rule = rules.get(finding.rule)
    return rule.title if rule is not None else finding.title


def _headline(findings: list, severity_counts: dict, on_request_path: int, by_priority: dict) -> str:
    if not findings:
        return "No findings: nothing in the scanned code matched a rule."
    worst = next(s for s in SEVERITIES if severity_counts[s])
    parts = [f"{len(findings)} finding{'s' if len(findings) != 1 else ''}",
             f"the most severe {worst} ({severity_counts[worst]})"]
    text = ", ".join(parts) + "."
    if on_request_path:
        text += f" {on_request_path} sit on a request path, where users wait for them."
    if by_priority.get("P0"):
        text += f" {len(by_priority['P0'])} are P0: fix them first."
    return text


def build_report(result) -> dict:
    """Everything the Markdown and HTML templates render, from a ScanResult."""
    rules = load_rules()
    findings = sorted(result.findings, key=rank_key)
    views = [finding_view(f, number) for number, f in enumerate(findings, 1)]
    metrics = result.metrics or {}
    severity_counts = {s: sum(1 for f in findings if f.severity == s) for s in SEVERITIES}
    by_priority = {p: [v for v in views if v["priority"] == p] for p in PRIORITIES}
    groups = []
    for priority, label in PRIORITIES.items():
        members = by_priority[priority]
        if not members:
            continue
        categories = sorted({v["category"] for v in members})
        groups.append({"priority": priority, "label": label, "count": len(members),
                       "categories": [{"name": c, "findings": [v for v in members if v["category"] == c]}
                                      for c in categories]})
    rule_counts = Counter((f.rule, f.category) for f in findings)
    category_counts = Counter(f.category for f in findings)
    on_request_path = sum(1 for v in views if v["request_path"])
    sql = index_section(result)
    index_statements = [v for v in views if v["ddl"]]
    return {
        "version": __version__,
        "project": Path(str(result.root)).name or str(result.root),
        "headline": _headline(findings, severity_counts, on_request_path, by_priority),
        "summary": [{"label": label, "value": metrics[key]} for key, label in SUMMARY_METRICS if key in metrics],
        "total": len(findings),
        "severity_counts": severity_counts,
        "priority_counts": {p: len(by_priority[p]) for p in PRIORITIES},
        "category_counts": [{"name": c, "count": n} for c, n in sorted(category_counts.items())],
        "rule_counts": [{"rule": r, "category": c, "title": rules[r].title if r in rules else r, "count": n}
                        for (r, c), n in sorted(rule_counts.items())],
        "on_request_path": on_request_path,
        "critical": [v for v in views if v["priority"] == "P0"][:CRITICAL_SHOWN],
        "critical_more": max(len(by_priority["P0"]) - CRITICAL_SHOWN, 0),
        "findings": views,
        "groups": groups,
        "matrix": _matrix(findings),
        "roadmap": _roadmap(findings, rules),
        "index_script": sql.index_script if sql is not None and (metrics.get("recommended_indexes") or any(
            v["rule"].startswith("IDX") for v in views)) else "",
        "index_dialect": sql.dialect if sql is not None else "",
        "index_statements": index_statements,
        "suppressed": suppressed_counts(metrics),
        "filters": scope_lines(metrics),
        "notes": [{"path": path, "message": message} for path, message in result.notes],
        "rules": sorted({f.rule for f in findings}),
        "categories": sorted(category_counts),
    }


def suppressed_counts(metrics: dict) -> dict:
    """``{"total": n, "by_rule": [...]}`` from the ``suppressed`` and ``suppressed_by_rule`` metrics, or {}."""
    total = metrics.get("suppressed")
    by_rule = metrics.get("suppressed_by_rule")
    counts = {str(k): v for k, v in by_rule.items() if _count(v)} if isinstance(by_rule, dict) else {}
    if not _count(total):
        total = sum(counts.values())
    if not total:
        return {}
    return {"total": total, "by_rule": [{"rule": k, "count": n} for k, n in sorted(counts.items())]}


def _count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def scope_lines(metrics: dict) -> list:
    """Sentences on what the scan left out: baseline, diff mode, rules turned off by the configuration."""
    lines = []
    baseline = metrics.get("baseline")
    if isinstance(baseline, dict):
        lines.append(f"Baseline: {baseline.get('entries', 0)} known findings, {baseline.get('matched', 0)} still "
                     f"present and not reported, {baseline.get('fixed', 0)} fixed.")
    diff = metrics.get("diff")
    if isinstance(diff, dict):
        commit = str(diff.get("commit", ""))[:12]
        lines.append(f"Diff mode: only findings new since {diff.get('ref', '?')}"
                     f"{f' ({commit})' if commit else ''}; {diff.get('matched', 0)} of the base's "
                     f"{diff.get('base_findings', 0)} findings are still present and not reported.")
    if _count(metrics.get("test_files_skipped")):
        lines.append(f"{metrics['test_files_skipped']} test files were not scanned (`--include-tests` scans them).")
    if _count(metrics.get("ignored_by_config")):
        lines.append(f"{metrics['ignored_by_config']} findings of rules the configuration turns off are not shown.")
    return lines
