"""Read Snowflake's query history: ``SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY``, or the
``INFORMATION_SCHEMA.QUERY_HISTORY()`` table function when the view is not readable."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from auditor.profile.snowflake_connect import QUERY_TAG, SnowflakeSetupError, one_line

ACCOUNT_USAGE = "SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY"
INFORMATION_SCHEMA = "INFORMATION_SCHEMA.QUERY_HISTORY()"
HISTORY_DAYS = 7  # the table function keeps 7 days; the view is read over the same window
ROW_LIMIT = 100_000  # most recent queries read; older ones in the window are left out (and said so)
FUNCTION_ROW_LIMIT = 10_000  # the table function's maximum RESULT_LIMIT

# The documented columns of the ACCOUNT_USAGE view that the profiler reads (times in milliseconds).
COLUMNS = (
    "QUERY_ID", "QUERY_TEXT", "QUERY_HASH", "QUERY_PARAMETERIZED_HASH", "QUERY_TYPE", "QUERY_TAG",
    "WAREHOUSE_NAME", "WAREHOUSE_SIZE", "WAREHOUSE_TYPE", "EXECUTION_STATUS", "START_TIME",
    "TOTAL_ELAPSED_TIME", "EXECUTION_TIME", "COMPILATION_TIME", "QUEUED_OVERLOAD_TIME",
    "QUEUED_PROVISIONING_TIME", "BYTES_SCANNED", "PARTITIONS_SCANNED", "PARTITIONS_TOTAL",
    "BYTES_SPILLED_TO_LOCAL_STORAGE", "BYTES_SPILLED_TO_REMOTE_STORAGE", "ROWS_PRODUCED",
    "CREDITS_USED_CLOUD_SERVICES",
)
# Columns without which a check cannot run (the table function's output may lack some).
CHECK_COLUMNS = {
    "pruning": ("PARTITIONS_SCANNED", "PARTITIONS_TOTAL"),
    "spilling": ("BYTES_SPILLED_TO_LOCAL_STORAGE", "BYTES_SPILLED_TO_REMOTE_STORAGE"),
    "queueing": ("QUEUED_OVERLOAD_TIME",),
}
UNFINISHED = {"RUNNING", "QUEUED", "BLOCKED", "RESUMING_WAREHOUSE"}

ACCOUNT_USAGE_SQL = (
    f"SELECT {', '.join(COLUMNS)} FROM {ACCOUNT_USAGE} "
    f"WHERE START_TIME >= DATEADD('day', -{HISTORY_DAYS}, CURRENT_TIMESTAMP()) "
    f"ORDER BY START_TIME DESC LIMIT {ROW_LIMIT}"
)
INFORMATION_SCHEMA_SQL = (
    "SELECT * FROM TABLE(INFORMATION_SCHEMA.QUERY_HISTORY("
    f"END_TIME_RANGE_START => DATEADD('day', -{HISTORY_DAYS}, CURRENT_TIMESTAMP()), "
    f"RESULT_LIMIT => {FUNCTION_ROW_LIMIT})) ORDER BY START_TIME DESC"
)


@dataclass
class QueryRun:
    """One finished statement of the history."""

    query_id: str
    text: str
    query_hash: str
    parameterized_hash: str
    query_type: str
    warehouse: str
    warehouse_size: str
    warehouse_type: str
    status: str
    elapsed_ms: float
    execution_ms: float
    compilation_ms: float
    queued_overload_ms: Optional[float]
    queued_provisioning_ms: float
    bytes_scanned: float
    partitions_scanned: Optional[float]
    partitions_total: Optional[float]
    spilled_local: Optional[float]
    spilled_remote: Optional[float]
    rows_produced: float
    cloud_credits: float


@dataclass
class History:
    """The runs read, where from, and what could not be read."""

    runs: list
    source: str
    notes: list = field(default_factory=list)
    missing_columns: tuple = ()


def read_history(conn) -> History:
    """The last :data:`HISTORY_DAYS` days of query history through an open connection."""
    from snowflake.connector import DictCursor
    from snowflake.connector.errors import Error, ProgrammingError

    notes = []
    cursor = conn.cursor(DictCursor)
    try:
        try:
            rows = cursor.execute(ACCOUNT_USAGE_SQL).fetchall()
            source = ACCOUNT_USAGE
        except ProgrammingError as exc:
            first = one_line(exc, {})
            try:
                rows = cursor.execute(INFORMATION_SCHEMA_SQL).fetchall()
            except ProgrammingError as second:
                raise SnowflakeSetupError(
                    f"cannot read query history: {ACCOUNT_USAGE}: {first}; {INFORMATION_SCHEMA}: "
                    f"{one_line(second, {})} (grant IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE to the role, "
                    "or set SNOWFLAKE_DATABASE for the table function)") from None
            source = INFORMATION_SCHEMA
            notes.append(
                f"{ACCOUNT_USAGE} is not readable ({first}); read {INFORMATION_SCHEMA} instead: at most "
                f"{HISTORY_DAYS} days and {FUNCTION_ROW_LIMIT:,} queries, only those this role may see. Grant IMPORTED "
                "PRIVILEGES ON DATABASE SNOWFLAKE (or the SNOWFLAKE.GOVERNANCE_VIEWER database role) for "
                "the whole account's history.")
    except Error as exc:  # the connection dropped, the statement timed out...
        raise SnowflakeSetupError(f"cannot read query history: {one_line(exc, {})}") from None
    finally:
        cursor.close()
    if source == ACCOUNT_USAGE and len(rows) >= ROW_LIMIT:
        notes.append(f"only the {ROW_LIMIT:,} most recent queries of the last {HISTORY_DAYS} days were read")
    runs, missing = runs_from_rows(rows)
    for check, columns in CHECK_COLUMNS.items():
        absent = [c for c in columns if c in missing]
        if absent:
            notes.append(f"{source} has no {', '.join(absent)}: {check} not checked")
    return History(runs=runs, source=source, notes=notes, missing_columns=missing)


def runs_from_rows(rows: list) -> tuple:
    """``(runs, missing columns)`` from DictCursor rows; the profiler's own queries and unfinished
    ones are left out."""
    present = set(rows[0]) if rows else set(COLUMNS)
    missing = tuple(c for c in COLUMNS if c not in present)
    runs = []
    for row in rows:
        status = str(row.get("EXECUTION_STATUS") or "").upper()
        if status in UNFINISHED or row.get("QUERY_TAG") == QUERY_TAG or not row.get("QUERY_TEXT"):
            continue
        runs.append(QueryRun(
            query_id=str(row.get("QUERY_ID") or ""),
            text=str(row["QUERY_TEXT"]),
            query_hash=str(row.get("QUERY_HASH") or ""),
            parameterized_hash=str(row.get("QUERY_PARAMETERIZED_HASH") or ""),
            query_type=str(row.get("QUERY_TYPE") or "").upper(),
            warehouse=str(row.get("WAREHOUSE_NAME") or ""),
            warehouse_size=str(row.get("WAREHOUSE_SIZE") or ""),
            warehouse_type=str(row.get("WAREHOUSE_TYPE") or ""),
            status=status,
            elapsed_ms=_number(row.get("TOTAL_ELAPSED_TIME")),
            execution_ms=_number(row.get("EXECUTION_TIME")),
            compilation_ms=_number(row.get("COMPILATION_TIME")),
            queued_overload_ms=_optional(row, "QUEUED_OVERLOAD_TIME"),
            queued_provisioning_ms=_number(row.get("QUEUED_PROVISIONING_TIME")),
            bytes_scanned=_number(row.get("BYTES_SCANNED")),
            partitions_scanned=_optional(row, "PARTITIONS_SCANNED"),
            partitions_total=_optional(row, "PARTITIONS_TOTAL"),
            spilled_local=_optional(row, "BYTES_SPILLED_TO_LOCAL_STORAGE"),
            spilled_remote=_optional(row, "BYTES_SPILLED_TO_REMOTE_STORAGE"),
            rows_produced=_number(row.get("ROWS_PRODUCED")),
            cloud_credits=_number(row.get("CREDITS_USED_CLOUD_SERVICES")),
        ))
    return runs, missing


def _number(value) -> float:
    try:
        return float(value) if value is not None else 0.0
    except (TypeError, ValueError):
        return 0.0


def _optional(row: dict, column: str) -> Optional[float]:
    return _number(row.get(column)) if column in row else None

