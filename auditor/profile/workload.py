"""The live workload: pg_stat_statements of the current database, across PostgreSQL 13–17.

Column names moved between versions: ``total_time``/``mean_time`` (12 and older) became
``total_exec_time``/``mean_exec_time`` (13+), ``blk_read_time`` became ``shared_blk_read_time``
(17), ``toplevel`` appeared in 14. The columns are read from the view itself, so every version
gives the same :class:`StatementStats`. Utility statements (SET, BEGIN, EXPLAIN...), statements
on the system catalogs and the profiler's own statements are left out.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field

MISSING_EXTENSION = ("pg_stat_statements is not available in this database: add it to "
                     "shared_preload_libraries (postgresql.conf, then restart) and run "
                     "CREATE EXTENSION pg_stat_statements")
NOT_PRELOADED = ("pg_stat_statements is installed but not loaded: add it to shared_preload_libraries "
                 "(postgresql.conf) and restart the server")
HIDDEN_TEXT = "<insufficient privilege>"
_DML = re.compile(r"^\s*(?:/\*.*?\*/\s*)*(select|insert|update|delete|with|values|table)\b", re.I | re.S)
_SYSTEM = re.compile(r"\b(pg_catalog|information_schema|pg_stat_\w+|pg_class|pg_index|pg_namespace|pg_attribute|"
                     r"pg_constraint|pg_database|pg_settings|pg_am|pg_locks|hypopg\w*|pg_extension|pg_roles|"
                     r"pg_proc|pg_type|pg_indexes|pg_tables)\b", re.I)
# The profiler's (and its setup's) own FROM-less statements; an application's RLS filter on
# current_setting('app.tenant') reads a table and stays.
_SESSION = re.compile(r"^\s*SELECT\b(?![^;]*\bFROM\b)[^;]*\b(current_setting|current_user|current_database|"
                      r"pg_backend_pid|pg_stat_force_next_flush)\b", re.I | re.S)


@dataclass
class StatementStats:
    """One normalised statement of pg_stat_statements (summed over users)."""

    queryid: int
    query: str
    calls: int
    total_ms: float
    mean_ms: float
    rows: int
    shared_blks_hit: int = 0
    shared_blks_read: int = 0
    temp_blks_written: int = 0

    @property
    def rows_per_call(self) -> float:
        return self.rows / self.calls if self.calls else 0.0

    @property
    def hit_ratio(self) -> float:
        total = self.shared_blks_hit + self.shared_blks_read
        return self.shared_blks_hit / total if total else 1.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["rows_per_call"] = round(self.rows_per_call, 2)
        data["total_ms"] = round(self.total_ms, 3)
        data["mean_ms"] = round(self.mean_ms, 3)
        return data


@dataclass
class Workload:
    """What pg_stat_statements gave, or why it gave nothing."""

    statements: list = field(default_factory=list)  # StatementStats, by total time descending
    available: bool = False
    error: str = ""  # why the workload could not be read
    hidden: int = 0  # statements of other users whose text we may not read
    skipped_utility: int = 0
    columns: tuple = ()  # the view's columns, for the record

    @property
    def total_ms(self) -> float:
        return sum(s.total_ms for s in self.statements)

    @property
    def total_calls(self) -> int:
        return sum(s.calls for s in self.statements)


def _pick(columns: set, *names: str) -> str:
    for name in names:
        if name in columns:
            return name
    return ""


def is_workload_statement(query: str) -> bool:
    """A query/DML statement of the application: not utility, not on the system catalogs."""
    return bool(_DML.match(query)) and not _SYSTEM.search(query) and not _SESSION.match(query)


def read_workload(conn) -> Workload:
    """The current database's statements from pg_stat_statements (never raises for a missing view)."""
    import psycopg2

    cur = conn.cursor()
    try:
        cur.execute("SELECT 1 FROM pg_extension WHERE extname = 'pg_stat_statements'")
        if cur.fetchone() is None:
            return Workload(error=MISSING_EXTENSION)
        cur.execute("SELECT * FROM pg_stat_statements LIMIT 0")
        columns = {d[0] for d in cur.description}
    except psycopg2.Error as exc:
        return Workload(error=_read_error(exc))
    total = _pick(columns, "total_exec_time", "total_time")
    hit = _pick(columns, "shared_blks_hit")
    read = _pick(columns, "shared_blks_read")
    temp = _pick(columns, "temp_blks_written")
    toplevel = " AND toplevel" if "toplevel" in columns else ""
    select = (
        f"SELECT queryid, query, sum(calls)::bigint, sum({total})::float8, sum(rows)::bigint, "
        f"{f'sum({hit})::bigint' if hit else '0'}, {f'sum({read})::bigint' if read else '0'}, "
        f"{f'sum({temp})::bigint' if temp else '0'} "
        "FROM pg_stat_statements "
        f"WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()){toplevel} "
        "GROUP BY queryid, query"
    )
    try:
        cur.execute(select)
        rows = cur.fetchall()
        cur.execute("SELECT count(*) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE "
                    f"datname = current_database()){toplevel} AND (query IS NULL OR query = %s)", (HIDDEN_TEXT,))
        hidden = cur.fetchone()[0]
    except psycopg2.Error as exc:
        return Workload(error=_read_error(exc))
    workload = Workload(available=True, columns=tuple(sorted(columns)), hidden=int(hidden))
    merged: dict = {}
    for queryid, query, calls, total_ms, n_rows, blks_hit, blks_read, temp_written in rows:
        if query is None or query.strip() == HIDDEN_TEXT:
            continue  # counted above
        if not is_workload_statement(query):
            workload.skipped_utility += 1
            continue
        key = queryid if queryid is not None else query
        current = merged.get(key)
        if current is None:
            merged[key] = StatementStats(int(queryid or 0), query.strip(), int(calls or 0), float(total_ms or 0),
                                         0.0, int(n_rows or 0), int(blks_hit or 0), int(blks_read or 0),
                                         int(temp_written or 0))
        else:  # the same statement of several users
            current.calls += int(calls or 0)
            current.total_ms += float(total_ms or 0)
            current.rows += int(n_rows or 0)
            current.shared_blks_hit += int(blks_hit or 0)
            current.shared_blks_read += int(blks_read or 0)
            current.temp_blks_written += int(temp_written or 0)
    for stats in merged.values():
        stats.mean_ms = stats.total_ms / stats.calls if stats.calls else 0.0
    workload.statements = sorted(merged.values(), key=lambda s: (-s.total_ms, -s.calls, s.queryid))
    return workload


def _read_error(exc: Exception) -> str:
    """One line for a pg_stat_statements that exists but cannot be read."""
    text = str(exc)
    if "shared_preload_libraries" in text:
        return NOT_PRELOADED
    if "permission denied" in text.lower():
        return "permission denied for pg_stat_statements: GRANT pg_read_all_stats TO <user>"
    return f"pg_stat_statements could not be read: {text.strip().splitlines()[0]}"


def top(statements: list, key: str, n: int) -> list:
    """The ``n`` statements with the highest ``key`` (total_ms, mean_ms, calls, shared_blks_read,
    temp_blks_written), ties by query id."""
    return sorted(statements, key=lambda s: (-getattr(s, key), s.queryid))[:n]
