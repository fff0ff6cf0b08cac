"""Catalog and activity health checks (PgHero-class), each a finding with its evidence:

* IDX103 an index no query has used since the statistics were reset;
* IDX102 duplicate and prefix-redundant indexes (``auditor/sql/redundant.py`` on the live schema);
* IDX104 a foreign key whose columns lead no index (on a large referencing table);
* PRF103 a large table read mostly by sequential scans;
* PRF104 a low buffer-cache hit ratio (database and tables);
* PRF105 idle and idle-in-transaction pile-ups, connections near ``max_connections``;
* PRF106 queries running, and transactions open, for longer than the threshold.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.profile.catalog import LiveCatalog
from auditor.profile.live_findings import Thresholds, live_finding, size
from auditor.sql.redundant import describe_keys, redundant_indexes


@dataclass
class Activity:
    """pg_stat_activity, counted (the profiler's own session left out)."""

    max_connections: int = 0
    reserved: int = 0
    states: dict = field(default_factory=dict)  # state -> client backends
    long_running: list = field(default_factory=list)  # (pid, state, seconds, query, application)
    hidden: int = 0  # sessions of other users whose state we may not see
    database_hits: int = 0
    database_reads: int = 0

    @property
    def total(self) -> int:
        return sum(self.states.values())


def read_activity(conn, long_running_s: float) -> Activity:
    """Connection counts by state and the long-running sessions of the whole server."""
    cur = conn.cursor()
    cur.execute("SELECT current_setting('max_connections')::int, current_setting('superuser_reserved_connections')::int")
    max_connections, reserved = cur.fetchone()
    activity = Activity(max_connections=max_connections, reserved=reserved)
    cur.execute("""
        SELECT pid, state, extract(epoch FROM now() - coalesce(CASE WHEN state = 'active' THEN query_start
                                                                     ELSE xact_start END, now()))::float8,
               coalesce(query, ''), coalesce(application_name, ''), xact_start IS NOT NULL
        FROM pg_stat_activity
        WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()""")
    for pid, state, seconds, query, application, in_transaction in cur.fetchall():
        if state is None:
            activity.hidden += 1
            continue
        activity.states[state] = activity.states.get(state, 0) + 1
        if state in ("active", "idle in transaction", "idle in transaction (aborted)") and seconds >= long_running_s \
                and (state == "active" or in_transaction):
            activity.long_running.append((pid, state, float(seconds), query, application))
    cur.execute("SELECT blks_hit, blks_read FROM pg_stat_database WHERE datname = current_database()")
    row = cur.fetchone()
    if row:
        activity.database_hits, activity.database_reads = int(row[0] or 0), int(row[1] or 0)
    activity.long_running.sort(key=lambda item: -item[2])
    return activity


def index_findings(catalog: LiveCatalog, database: str, thresholds: Thresholds) -> list:
    """IDX102 (redundant), IDX103 (unused), IDX104 (foreign key without an index)."""
    findings = []
    stats = {(ix.table, ix.name): ix for ix in catalog.indexes}
    redundant = set()
    for index, cover, reason in redundant_indexes(catalog.schema):
        table = _table_key(catalog, index.table)
        usage = stats.get((table, index.name))
        redundant.add((table, index.name))
        scans = f"; {usage.idx_scan:,} scans, {size(usage.bytes)}" if usage else ""
        obj = f"index {_qualified(catalog, table, index.name)}"
        findings.append(live_finding(
            "IDX102", database, obj,
            f"index {index.name} on {table} ({describe_keys(index.keys)}) {reason}{scans}",
            f"DROP INDEX CONCURRENTLY IF EXISTS {_qualified(catalog, table, index.name)}; (after checking no query "
            f"hint or tool names it; {cover.name} serves its lookups)",
            evidence={"index": index.name, "table": table, "covered_by": cover.name,
                      "idx_scan": usage.idx_scan if usage else None, "bytes": usage.bytes if usage else None},
            excerpt=usage.definition if usage else ""))
    for usage in catalog.indexes:
        if usage.idx_scan or usage.primary or usage.unique or usage.constraint or not usage.valid:
            continue
        if (usage.table, usage.name) in redundant:
            continue
        table_stats = catalog.tables.get(usage.table)
        since = f"since {catalog.stats_reset[:19]}" if catalog.stats_reset else "since the statistics began"
        writes = f"; the table had {table_stats.writes:,} row writes, each maintaining it" if table_stats and \
            table_stats.writes else ""
        obj = f"index {_qualified(catalog, usage.table, usage.name)}"
        findings.append(live_finding(
            "IDX103", database, obj,
            f"index {usage.name} on {usage.table} has not been used by any query {since} "
            f"({size(usage.bytes)}{writes})",
            f"Check the other servers (replicas) and a full business cycle (month-end jobs), then "
            f"DROP INDEX CONCURRENTLY IF EXISTS {_qualified(catalog, usage.table, usage.name)};",
            evidence={"index": usage.name, "table": usage.table, "idx_scan": 0, "bytes": usage.bytes,
                      "stats_reset": catalog.stats_reset},
            excerpt=usage.definition))
    findings.extend(_foreign_key_findings(catalog, database, thresholds))
    return findings


def _foreign_key_findings(catalog: LiveCatalog, database: str, thresholds: Thresholds) -> list:
    findings = []
    for key, table in sorted(catalog.schema.tables.items()):
        stats = catalog.tables.get(key)
        if stats is None or stats.rows < thresholds.large_table_rows:
            continue
        for fk in table.foreign_keys:
            columns = set(fk.columns)
            if any(set(index.columns[:len(fk.columns)]) == columns for index in table.indexes
                   if not index.where and index.method == "btree"):
                continue
            cols = ", ".join(fk.columns)
            name = f"{key.rsplit('.', 1)[-1]}_{'_'.join(fk.columns)}_idx"
            findings.append(live_finding(
                "IDX104", database, f"foreign key {key}({cols})",
                f"{key}({cols}) references {fk.ref_table} but no index leads with {cols}: every DELETE or key "
                f"UPDATE on {fk.ref_table} scans {key} ({stats.rows:,} rows), and joins from {fk.ref_table} "
                f"cannot use an index",
                f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON {_qualified(catalog, key, '')}({cols});",
                evidence={"table": key, "columns": list(fk.columns), "references": fk.ref_table, "rows": stats.rows}))
    return findings


def table_findings(catalog: LiveCatalog, database: str, thresholds: Thresholds) -> list:
    """PRF103 (sequential scans on large tables) and PRF104 (low cache hit ratio per table)."""
    findings = []
    for key, stats in sorted(catalog.tables.items()):
        if stats.rows >= thresholds.large_table_rows and stats.seq_scan >= thresholds.seq_scan_min \
                and stats.seq_scan > stats.idx_scan:
            per_scan = stats.seq_tup_read / stats.seq_scan if stats.seq_scan else 0
            findings.append(live_finding(
                "PRF103", database, f"table {key}",
                f"{key} ({stats.rows:,} rows, {size(stats.bytes)}) was read by {stats.seq_scan:,} sequential "
                f"scans ({stats.seq_tup_read:,} rows, {per_scan:,.0f} per scan) and {stats.idx_scan:,} index scans",
                "Find the statements that scan it (this report's top statements, or pg_stat_statements ordered "
                "by shared_blks_hit + shared_blks_read) and index their filters; the index advice of this report "
                "lists the verified candidates.",
                evidence={"table": key, "rows": stats.rows, "bytes": stats.bytes, "seq_scan": stats.seq_scan,
                          "seq_tup_read": stats.seq_tup_read, "idx_scan": stats.idx_scan}))
        accesses = stats.heap_blks_hit + stats.heap_blks_read
        if accesses >= thresholds.cache_min_blocks and stats.heap_blks_hit / accesses < thresholds.cache_hit_min:
            ratio = stats.heap_blks_hit / accesses
            findings.append(live_finding(
                "PRF104", database, f"table {key}",
                f"{key}: {ratio:.1%} of {accesses:,} block reads were served from the buffer cache "
                f"({stats.heap_blks_read:,} from disk or the OS cache)",
                "Index the scans that read it (they read more blocks than they need), or give the server "
                "more shared_buffers/memory when the working set is larger than the cache.",
                evidence={"table": key, "hit_ratio": round(ratio, 4), "blocks_read": stats.heap_blks_read,
                          "blocks_hit": stats.heap_blks_hit}))
    return findings


def activity_findings(activity: Activity, database: str, thresholds: Thresholds) -> list:
    """PRF104 (database cache hit ratio), PRF105 (connections), PRF106 (long-running)."""
    findings = []
    accesses = activity.database_hits + activity.database_reads
    if accesses >= thresholds.cache_min_blocks and activity.database_hits / accesses < thresholds.cache_hit_min:
        ratio = activity.database_hits / accesses
        findings.append(live_finding(
            "PRF104", database, f"database {database}",
            f"database {database}: {ratio:.1%} of {accesses:,} block reads were served from the buffer cache",
            "Index the large scans first (they read more blocks than the queries need); if the working set is "
            "larger than shared_buffers, add memory or raise shared_buffers (about 25% of RAM).",
            evidence={"hit_ratio": round(ratio, 4), "blocks_read": activity.database_reads,
                      "blocks_hit": activity.database_hits}))
    usable = max(activity.max_connections - activity.reserved, 1)
    idle = activity.states.get("idle", 0)
    idle_tx = activity.states.get("idle in transaction", 0) + activity.states.get("idle in transaction (aborted)", 0)
    counts = ", ".join(f"{count} {state}" for state, count in sorted(activity.states.items()))
    if idle + idle_tx >= max(thresholds.idle_min, thresholds.idle_share * activity.max_connections):
        findings.append(live_finding(
            "PRF105", database, "connections idle",
            f"{idle + idle_tx} of {activity.max_connections} connections are idle ({idle} idle, {idle_tx} idle in "
            f"transaction; all: {counts})",
            "Pool connections: a server-side pooler (PgBouncer in transaction mode) or a smaller application "
            "pool (SQLAlchemy pool_size/max_overflow, Django CONN_MAX_AGE with a pooler); end transactions "
            "promptly and set idle_in_transaction_session_timeout.",
            evidence={"states": dict(activity.states), "max_connections": activity.max_connections},
            severity_steps=1 if idle_tx >= thresholds.idle_min else 0))
    elif activity.total >= thresholds.near_limit_share * usable:
        findings.append(live_finding(
            "PRF105", database, "connections near max_connections",
            f"{activity.total} of {usable} usable connections are in use ({counts})",
            "Pool connections (PgBouncer in transaction mode, or bounded application pools) before raising "
            "max_connections: every connection is a process with its own memory.",
            evidence={"states": dict(activity.states), "max_connections": activity.max_connections}))
    for pid, state, seconds, query, application in activity.long_running:
        what = "query has been running" if state == "active" else "transaction has been open (idle)"
        findings.append(live_finding(
            "PRF106", database, f"backend {pid}",
            f"a {what} for {seconds:,.0f} s (pid {pid}, application '{application or '?'}')",
            "Look at the plan of the statement (EXPLAIN) and its locks (pg_locks); cancel it with "
            f"SELECT pg_cancel_backend({pid}) if it is stuck; set statement_timeout / "
            "idle_in_transaction_session_timeout for the application's role.",
            evidence={"pid": pid, "state": state, "seconds": round(seconds, 1), "application": application},
            excerpt=query, severity_steps=1 if seconds >= 10 * thresholds.long_running_s else 0))
    return findings


def _table_key(catalog: LiveCatalog, name: str) -> str:
    return name if name in catalog.tables else next((k for k in catalog.tables if k.endswith("." + name)), name)


def _qualified(catalog: LiveCatalog, table: str, name: str) -> str:
    stats = catalog.tables.get(table)
    schema = stats.schema if stats else "public"
    bare = table.rsplit(".", 1)[-1]
    return f"{schema}.{name}" if name else f"{schema}.{bare}"

