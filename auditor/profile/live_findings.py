"""Findings of the live profiler: located in the database (``db:<name>``), identified by the object
they are about (a statement's query id, a table, an index, the connection pool)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from auditor.findings import Finding, lower_severity, priority_for, raise_severity
from auditor.rules import load_rules


@dataclass
class Thresholds:
    """When a live observation becomes a finding (the defaults suit a production database)."""

    hot_share: float = 0.20  # PRF101: share of the workload's execution time
    hot_min_ms: float = 1_000.0  # PRF101: and at least this much time in total
    n_plus_one_calls: int = 1_000  # PRF102: calls
    n_plus_one_share: float = 0.05  # PRF102: of all calls
    n_plus_one_rows: float = 1.5  # PRF102: rows per call at most
    large_table_rows: int = 10_000  # PRF103, IDX104: a large table
    seq_scan_min: int = 10  # PRF103: sequential scans at least
    cache_hit_min: float = 0.99  # PRF104: below this ratio
    cache_min_blocks: int = 10_000  # PRF104: over at least this many block accesses
    idle_share: float = 0.5  # PRF105: idle connections >= this share of max_connections
    idle_min: int = 10  # PRF105: and at least this many
    near_limit_share: float = 0.8  # PRF105: all connections >= this share of max_connections
    long_running_s: float = 300.0  # PRF106: an active query or open transaction older than this
    temp_spill_blocks: int = 12_800  # PRF107: temp blocks written (100 MB of 8 kB blocks)


def live_finding(rule_id: str, database: str, obj: str, message: str, remediation: str, *,
                 evidence: Optional[dict] = None, excerpt: str = "", impact: str = "",
                 severity_steps: int = 0, confidence: Optional[str] = None) -> Finding:
    """A finding of ``rule_id`` about ``obj`` (``statement 123``, ``table public.orders``...)."""
    rule = load_rules()[rule_id]
    severity = rule.severity
    if severity_steps > 0:
        severity = raise_severity(severity, severity_steps)
    elif severity_steps < 0:
        severity = lower_severity(severity, -severity_steps)
    confidence = confidence or rule.confidence
    return Finding(rule=rule.id, title=rule.title, category=rule.category, severity=severity,
                   confidence=confidence, path=f"db:{database}", line=0, column=0, end_line=0, function=obj,
                   message=message, remediation=remediation, effort=rule.effort, impact=impact,
                   excerpt=" ".join(excerpt.split())[:300], context={"object": obj, "live": dict(evidence or {})},
                   priority=priority_for(severity, confidence))


def ms(value: float) -> str:
    """``1,234 ms`` / ``2.3 ms`` / ``0.04 ms``."""
    if value >= 100:
        return f"{value:,.0f} ms"
    if value >= 1:
        return f"{value:.1f} ms"
    return f"{value:.2f} ms"


def size(value: int) -> str:
    """Bytes as ``12 MB``."""
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:,.0f} {unit}" if unit == "B" else f"{value:,.1f} {unit}"
        value /= 1024
    return f"{value} B"
