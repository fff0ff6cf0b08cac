"""Statements of the live workload linked to the code that sends them, and back.

``CodeIndex.from_scan(result)`` fingerprints every statement the static scan found
(``ScanResult.sql.statements``); ``locate(query)`` gives the ``path:line`` sites of a
pg_stat_statements text. ``apply_workload(result, workload)`` is ``audit scan --dsn``: static
findings at a hot statement's sites get ``context["workload"]`` and a higher severity.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from auditor.findings import priority_for, raise_severity, severity_rank
from auditor.profile.fingerprint import fingerprint

HOT_CALLS = 10_000  # a statement this often called raises its findings one level
HOT_SHARE = 0.05  # ... or one taking this share of the execution time
VERY_HOT_CALLS = 1_000_000  # two levels
VERY_HOT_SHARE = 0.25
_LOCATION = re.compile(r"([\w./-]+\.py):(\d+)")


@dataclass
class CodeIndex:
    """Fingerprint -> the static statements with that fingerprint."""

    by_fingerprint: dict = field(default_factory=dict)

    @classmethod
    def from_scan(cls, result) -> "CodeIndex":
        index = cls()
        analysis = getattr(result, "sql", None)
        for statement in getattr(analysis, "statements", None) or []:
            index.by_fingerprint.setdefault(fingerprint(statement.text), []).append(statement)
        return index

    def statements(self, query: str) -> list:
        return self.by_fingerprint.get(fingerprint(query), [])

    def locate(self, query: str) -> list:
        """``path:line`` of every code site that sends ``query`` (the statement's own line when no
        call is known), sorted."""
        locations = set()
        for statement in self.statements(query):
            for site in statement.hot_sites:
                locations.add((site.path, site.line))
        return [f"{path}:{line}" for path, line in sorted(locations)]

    def code_text(self, query: str) -> str:
        """The code's text of the statement (constants intact), or ''."""
        found = [s for s in self.statements(query) if s.parsed.tree is not None]
        return found[0].text if found else ""


def workload_context(stats) -> dict:
    """The ``finding.context["workload"]`` entry for a statement's figures."""
    return {"calls": stats.calls, "total_ms": round(stats.total_ms, 3), "mean_ms": round(stats.mean_ms, 3),
            "rows_per_call": round(stats.rows_per_call, 2)}


def heat(stats, total_ms: float) -> int:
    """Severity levels a statement's figures add to the findings on its code: 0, 1 or 2."""
    share = stats.total_ms / total_ms if total_ms else 0.0
    if stats.calls >= VERY_HOT_CALLS or share >= VERY_HOT_SHARE:
        return 2
    if stats.calls >= HOT_CALLS or share >= HOT_SHARE:
        return 1
    return 0


def apply_workload(result, workload) -> int:
    """Attach the live figures to the static findings whose code sends a workload statement, and
    raise the severity (and priority) of the hot ones. Returns how many findings were matched."""
    code = CodeIndex.from_scan(result)
    at: dict = {}  # (path, line) -> stats of the hottest statement sent from there
    for stats in workload.statements:
        for statement in code.statements(stats.query):
            places = {(statement.path, statement.line)} | {(s.path, s.line) for s in statement.sites}
            for place in places:
                if place not in at or at[place].total_ms < stats.total_ms:
                    at[place] = stats
    matched = 0
    total_ms = workload.total_ms
    for finding in result.findings:
        places = [(finding.path, finding.line)] + [(m.group(1), int(m.group(2))) for hop in finding.chain
                                                   for m in _LOCATION.finditer(hop)]
        hits = [at[place] for place in places if place in at]
        if not hits:
            continue
        stats = max(hits, key=lambda s: s.total_ms)
        matched += 1
        finding.context["workload"] = workload_context(stats)
        steps = heat(stats, total_ms)
        if steps:
            raised = raise_severity(finding.severity, steps)
            if severity_rank(raised) < severity_rank(finding.severity):
                finding.context["workload"]["raised_from"] = finding.severity
                finding.severity = raised
            finding.priority = priority_for(finding.severity, finding.confidence)
    return matched
