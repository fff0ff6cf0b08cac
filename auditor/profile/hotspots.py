"""Findings from the workload itself (pg_stat_statements):

* PRF101 a statement that takes a large share of the database's execution time;
* PRF102 the N+1 signature: very many calls of a SELECT returning about one row each;
* PRF107 a statement that spills sorts or hashes to temporary files.
"""

from __future__ import annotations

from auditor.profile.live_findings import Thresholds, live_finding, ms
from auditor.profile.workload import Workload


def _evidence(stats) -> dict:
    return {"queryid": stats.queryid, "calls": stats.calls, "total_ms": round(stats.total_ms, 3),
            "mean_ms": round(stats.mean_ms, 3), "rows_per_call": round(stats.rows_per_call, 2),
            "shared_blks_read": stats.shared_blks_read, "temp_blks_written": stats.temp_blks_written}


def _is_select(query: str) -> bool:
    head = query.lstrip().split(None, 1)[0].lower() if query.strip() else ""
    return head in ("select", "with", "table")


def workload_findings(workload: Workload, database: str, thresholds: Thresholds, links: dict) -> list:
    """PRF101, PRF102 and PRF107 for the statements of ``workload``; ``links`` maps a query id to the
    code locations that send it (``--repo``), named in the message."""
    findings = []
    total_ms = workload.total_ms or 1.0
    total_calls = workload.total_calls or 1
    for stats in workload.statements:
        where = _where(links.get(stats.queryid))
        share = stats.total_ms / total_ms
        if share >= thresholds.hot_share and stats.total_ms >= thresholds.hot_min_ms:
            findings.append(live_finding(
                "PRF101", database, f"statement {stats.queryid}",
                f"{share:.0%} of the database's execution time: {stats.calls:,} calls, {ms(stats.total_ms)} in "
                f"total, {ms(stats.mean_ms)} per call, {stats.rows_per_call:,.1f} rows per call{where}",
                "Read its plan first (EXPLAIN (ANALYZE, BUFFERS) on a replica or a copy): index its filters (see "
                "the verified index advice), return fewer rows, or cache the result when it is read far more "
                "often than the data changes.",
                evidence=_evidence(stats), excerpt=stats.query, severity_steps=1 if share >= 0.5 else 0))
        if _is_select(stats.query) and stats.calls >= thresholds.n_plus_one_calls \
                and stats.calls >= thresholds.n_plus_one_share * total_calls \
                and 0 < stats.rows_per_call <= thresholds.n_plus_one_rows:
            findings.append(live_finding(
                "PRF102", database, f"statement {stats.queryid}",
                f"N+1 signature: {stats.calls:,} calls ({stats.calls / total_calls:.0%} of all calls) returning "
                f"{stats.rows_per_call:.2f} rows each, {ms(stats.total_ms)} in total{where}",
                "Fetch the rows for all the items at once: WHERE id = ANY(%s) with the list of ids, a JOIN, or "
                "the ORM's eager loading (select_related/prefetch_related, selectinload/joinedload).",
                evidence=_evidence(stats), excerpt=stats.query))
        if stats.temp_blks_written >= thresholds.temp_spill_blocks:
            spilled = stats.temp_blks_written * 8192
            findings.append(live_finding(
                "PRF107", database, f"statement {stats.queryid}",
                f"wrote {spilled / 1048576:,.0f} MB of temporary files over {stats.calls:,} calls "
                f"({stats.temp_blks_written / max(stats.calls, 1):,.0f} blocks per call){where}",
                "A sort, hash or aggregate did not fit in work_mem: index the ORDER BY/GROUP BY so rows come "
                "sorted, return fewer rows, or raise work_mem for this role or session "
                "(SET work_mem = '64MB') rather than globally.",
                evidence=_evidence(stats), excerpt=stats.query))
    return findings


def _where(locations) -> str:
    if not locations:
        return ""
    shown = ", ".join(locations[:3])
    more = f" and {len(locations) - 3} more" if len(locations) > 3 else ""
    return f"; sent from {shown}{more}"
