"""``audit profile --snowflake`` end to end: the real snowflake-connector-python code path (HTTP login,
queries, result sets) against a fakesnow server on loopback, with SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY
created in the documented shape (tests/data/snowflake/) and loaded with a realistic week of queries."""

from __future__ import annotations

import csv
import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

fakesnow = pytest.importorskip("fakesnow", reason="fakesnow (test extra, Python >= 3.11) is not installed")
snowflake_connector = pytest.importorskip("snowflake.connector")
# fakesnow.server() imports the submodule fakesnow.server, which then shadows the function: keep it
start_server = fakesnow.server
pytestmark = pytest.mark.filterwarnings("ignore:Arrow output on a DB-API result:UserWarning")  # fakesnow's own

DATA = Path(__file__).resolve().parent / "data" / "snowflake"
PASSWORD = "s3cr3t-Pa55word-never-printed"


def _load_history(conn, table: str = "SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY") -> None:
    """Create the view's shape as ``table`` and load the CSV, times shifted so that the latest query
    started an hour ago (the profiler reads the last 7 days)."""
    with open(DATA / "query_history.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    latest = max(datetime.fromisoformat(row["START_TIME"]) for row in rows)
    shift = datetime.now(timezone.utc) - timedelta(hours=1) - latest
    for row in rows:
        for column in ("START_TIME", "END_TIME"):
            row[column] = (datetime.fromisoformat(row[column]) + shift).isoformat(sep=" ")
    database, schema, _ = table.split(".")
    cursor = conn.cursor()
    cursor.execute(f"CREATE DATABASE IF NOT EXISTS {database}")
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {database}.{schema}")
    ddl = (DATA / "query_history.sql").read_text(encoding="utf-8")
    cursor.execute(ddl.replace("SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY", table))
    columns = list(rows[0])
    cursor.executemany(
        f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join(['%s'] * len(columns))})",
        [[row[c] if row[c] != "" else None for c in columns] for row in rows])


@pytest.fixture(scope="module")
def account():
    """Connection keywords of a fakesnow server whose account has the loaded history."""
    logging.getLogger("uvicorn").setLevel(logging.WARNING)
    with start_server() as kwargs:
        with snowflake_connector.connect(**kwargs) as conn:
            _load_history(conn)
        yield kwargs


@pytest.fixture
def empty_account(account):
    """The same server while SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY is hidden (renamed), as for a role
    that may not read it. (All fakesnow servers of a process share one in-memory database.)"""
    with snowflake_connector.connect(**account) as conn:
        cursor = conn.cursor()
        cursor.execute("ALTER TABLE SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY RENAME TO SNOWFLAKE.ACCOUNT_USAGE.HIDDEN")
        try:
            yield account
        finally:
            cursor.execute("ALTER TABLE SNOWFLAKE.ACCOUNT_USAGE.HIDDEN RENAME TO SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY")


@pytest.fixture
def env(monkeypatch, tmp_path):
    """Point the profiler's environment at a server: ``env(kwargs, **overrides)``; no other
    SNOWFLAKE_* variable and no connections.toml leak in from the machine."""
    import os

    for name in list(os.environ):
        if name.startswith("SNOWFLAKE_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("SNOWFLAKE_HOME", str(tmp_path / "snowflake-home"))

    def _env(kwargs=None, **values):
        if kwargs is not None:
            values = {"SNOWFLAKE_ACCOUNT": "acme-prod", "SNOWFLAKE_USER": "auditor", "SNOWFLAKE_PASSWORD": PASSWORD,
                      "SNOWFLAKE_HOST": kwargs["host"], "SNOWFLAKE_PORT": str(kwargs["port"]),
                      "SNOWFLAKE_PROTOCOL": kwargs["protocol"], **values}
        for name, value in values.items():
            monkeypatch.setenv(name, value)
    return _env


def _profile(capsys, output_format="json", output=None, top=10):
    from auditor.profile.snowflake_cli import run

    code = run(top=top, output=output, output_format=output_format)
    captured = capsys.readouterr()
    assert PASSWORD not in captured.out + captured.err
    return code, captured.out, captured.err


@pytest.fixture
def report(account, env, capsys):
    """The JSON profile of the loaded history, and the exit code."""
    env(account)
    code, out, err = _profile(capsys)
    assert err == ""
    return code, json.loads(out)


PRUNED = "00d143ed7095d2eeb4802259409f5826"  # orders filtered by region and order_date, 6 runs
SPILLING = "470695e14483253fd2a189d371da4b06"  # sessionizing window function on a Medium warehouse
OPEN_TICKETS = "8d4c4c0ba64a6fc50d4c0254ee5a7e10"  # repeated with CURRENT_TIMESTAMP()
SUMMARIZE = "5953856216d66a98f82a27ae4bfc9073"
CLASSIFY = "87bda8ca1add9491e60e805c58ab24b9"


def _finding(document, rule, obj):
    matches = [f for f in document["findings"] if f["rule"] == rule and f["function"] == obj]
    assert len(matches) == 1, (rule, obj)
    return matches[0]


def test_reports_exactly_the_problems_of_the_workload(report):
    code, document = report
    assert [(f["rule"], f["function"], f["severity"]) for f in document["findings"]] == [
        ("PRF203", f"query {SPILLING}", "high"),
        ("PRF202", f"query {PRUNED}", "high"),
        ("PRF204", "warehouse BI_WH", "medium"),
        ("PRF201", f"query {SPILLING}", "medium"),
        ("PRF201", f"query {PRUNED}", "medium"),
        ("PRF205", f"query {OPEN_TICKETS}", "medium"),
        ("PRF206", f"query {SUMMARIZE}", "low"),
        ("PRF206", f"query {CLASSIFY}", "low"),
    ]
    assert code == 1  # high findings
    assert {f["path"] for f in document["findings"]} == {"snowflake:query_history"}
    assert document["source"] == "SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY"
    assert document["notes"] == []
    # 73 rows: the profiler's own query (QUERY_TAG 'audit profile') and one 10 days old are left out
    assert document["summary"]["queries"] == 71
    assert document["summary"]["query_groups"] == 15


def test_top_queries_by_estimated_credits(report):
    _, document = report
    top = document["top_queries"]
    assert len(top) == 10
    assert [q["key"] for q in top[:3]] == [SPILLING, PRUNED, SUMMARIZE]
    # 4,769,015 ms of execution on a Medium warehouse (4 credits/hour)
    assert top[0]["estimated_credits"] == round(4_769_015 / 3_600_000 * 4, 4) == 5.2989
    assert top[0]["runs"] == 3 and top[0]["warehouses"] == ["TRANSFORM_WH"]
    assert "size" in document["credits_note"] and "EXECUTION_TIME" in document["credits_note"]
    # by elapsed time the dashboard tiles (8 runs each) come before the cheaper-per-second classification
    assert [(q["key"], q["elapsed_ms"]) for q in document["top_by_elapsed"][:5]] == [
        (SPILLING, 4_771_715), (PRUNED, 689_463), (SUMMARIZE, 599_780),
        ("04f07cd9493a89bd180b23c35257e2a7", 125_554), ("652c7c7ab11fb27f86af8ffb6628b1fe", 124_463)]
    cost = _finding(document, "PRF201", f"query {SPILLING}")
    assert cost["message"].startswith("Query #1 by estimated warehouse credits: 5.30 credits (74% of the window's "
                                      "estimated 7.15) over 3 runs, 4,771.7 s elapsed")


def test_poor_pruning_names_the_filter_columns_for_a_clustering_key(report):
    _, document = report
    finding = _finding(document, "PRF202", f"query {PRUNED}")
    live = finding["context"]["live"]
    assert (live["partitions_scanned"], live["partitions_total"], live["runs"]) == (303_839, 314_040, 6)
    assert live["scanned_ratio"] == 0.9675
    assert live["filter_columns"] == {"ANALYTICS.SALES.ORDERS": ["region", "order_date"]}
    assert "It filters ANALYTICS.SALES.ORDERS on region, order_date." in finding["message"]
    assert "ALTER TABLE ANALYTICS.SALES.ORDERS CLUSTER BY (region, order_date);" in finding["remediation"]
    # not reported: a full scan without WHERE, a well-pruned point lookup, a 40-partition table
    assert [f["function"] for f in document["findings"] if f["rule"] == "PRF202"] == [f"query {PRUNED}"]


def test_spilling_advises_the_next_warehouse_size(report):
    _, document = report
    finding = _finding(document, "PRF203", f"query {SPILLING}")
    assert finding["message"] == ("Spilled 114.0 GiB to local and 29.0 GiB to remote storage in 3 of 3 runs on "
                                  "TRANSFORM_WH (Medium); 4,771.7 s elapsed.")
    assert "ALTER WAREHOUSE TRANSFORM_WH SET WAREHOUSE_SIZE = LARGE" in finding["remediation"]
    # the 200 MB local spill of the median query is below the threshold; the 10-day-old remote spill is outside
    assert [f["function"] for f in document["findings"] if f["rule"] == "PRF203"] == [f"query {SPILLING}"]


def test_queueing_on_an_overloaded_warehouse(report):
    _, document = report
    finding = _finding(document, "PRF204", "warehouse BI_WH")
    live = finding["context"]["live"]
    assert (live["queries"], live["queued_queries"], live["queued_overload_ms"], live["max_queued_ms"]) == (
        25, 24, 253_686, 14_856)
    assert finding["message"] == ("Warehouse BI_WH (Small) queued 24 of 25 queries because it was overloaded: "
                                  "253.7 s waiting in total (69% of their elapsed time), up to 14.9 s for one query.")
    assert "MAX_CLUSTER_COUNT = 3" in finding["remediation"]


def test_repeated_query_that_misses_the_result_cache(report):
    _, document = report
    finding = _finding(document, "PRF205", f"query {OPEN_TICKETS}")
    live = finding["context"]["live"]
    assert (live["runs"], live["executed_runs"], live["execution_ms"]) == (12, 12, 28_348)
    assert live["query_hash"] == "8899039150f263554e5d487817dd0011"
    assert live["non_reusable_functions"] == ["CURRENT_TIMESTAMP"]
    assert "It calls CURRENT_TIMESTAMP, which rules out result reuse." in finding["message"]
    # the revenue query repeated 10 times was served from the result cache after its first run
    assert [f["function"] for f in document["findings"] if f["rule"] == "PRF205"] == [f"query {OPEN_TICKETS}"]


def test_cortex_usage_counts_and_time(report):
    _, document = report
    assert document["cortex"] == [
        {"function": "SNOWFLAKE.CORTEX.SUMMARIZE", "queries": 2, "elapsed_ms": 599_780,
         "estimated_credits": round((312_000 + 287_000) / 3_600_000, 4)},
        {"function": "AI_CLASSIFY", "queries": 1, "elapsed_ms": 95_300, "estimated_credits": round(95_000 / 3_600_000, 4)},
    ]
    finding = _finding(document, "PRF206", f"query {CLASSIFY}")
    assert finding["message"].startswith("Calls AI_CLASSIFY in 1 run: 95.3 s elapsed, 3 rows produced")


def test_json_is_deterministic(account, env, capsys):
    env(account)
    first = _profile(capsys)[1]
    second = _profile(capsys)[1]
    assert first == second


def test_markdown_and_terminal_reports(account, env, capsys, tmp_path):
    env(account)
    code, out, err = _profile(capsys, "markdown")
    assert code == 1 and err == ""
    assert out.startswith("# Snowflake workload profile\n\nRead 71 queries (15 distinct) of the last 7 days from "
                          "`SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY`")
    assert "| SNOWFLAKE.CORTEX.SUMMARIZE | 2 | 599.8 s | 0.166 |" in out
    assert "### P1 high PRF202: Filtered Snowflake query scans most micro-partitions of a large table" in out
    assert "## Top 10 queries by elapsed time" in out
    target = tmp_path / "profile.txt"
    code, out, err = _profile(capsys, "terminal", output=target)
    assert (code, out) == (1, "")
    assert err == f"wrote {target} (8 findings)\n"
    text = target.read_text(encoding="utf-8")
    assert text.startswith("audit read 71 queries (15 distinct) of the last 7 days from "
                           "SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY")
    assert "P1 high PRF203 query " + SPILLING in text
    assert PASSWORD not in text


def test_connection_from_connections_toml(account, env, capsys, tmp_path):
    home = tmp_path / "snowflake-home"
    home.mkdir()
    toml = home / "connections.toml"
    toml.write_text(f'[fake]\naccount = "fakesnow"\nuser = "fake"\npassword = "{PASSWORD}"\n'
                    f'host = "{account["host"]}"\nport = {account["port"]}\nprotocol = "http"\n', encoding="utf-8")
    toml.chmod(0o600)
    env(SNOWFLAKE_CONNECTION_NAME="fake")
    code, out, err = _profile(capsys)
    assert (code, err) == (1, "")
    assert json.loads(out)["summary"]["queries"] == 71


@pytest.mark.parametrize("values,message", [
    ({}, "no Snowflake account: set SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER and SNOWFLAKE_PASSWORD (or "
         "SNOWFLAKE_PRIVATE_KEY_FILE or SNOWFLAKE_AUTHENTICATOR), or SNOWFLAKE_CONNECTION_NAME for a connection "
         "in connections.toml"),
    ({"SNOWFLAKE_ACCOUNT": "acme-prod"}, "no Snowflake user: set SNOWFLAKE_USER"),
    ({"SNOWFLAKE_ACCOUNT": "acme-prod", "SNOWFLAKE_USER": "auditor"},
     "no Snowflake credentials: set SNOWFLAKE_PASSWORD, SNOWFLAKE_PRIVATE_KEY_FILE or SNOWFLAKE_AUTHENTICATOR "
     "(e.g. externalbrowser)"),
    ({"SNOWFLAKE_ACCOUNT": "acme-prod", "SNOWFLAKE_USER": "auditor", "SNOWFLAKE_PASSWORD": PASSWORD,
      "SNOWFLAKE_PORT": "https"}, "SNOWFLAKE_PORT is not a number: 'https'"),
])
def test_missing_credentials_are_a_one_line_error(env, capsys, values, message):
    env(**values)
    assert _profile(capsys) == (2, "", f"audit: error: {message}\n")


def test_failing_connection_is_a_one_line_error(env, capsys):
    import socket

    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env({"host": "127.0.0.1", "port": port, "protocol": "http"})
    code, out, err = _profile(capsys)
    assert (code, out) == (2, "")
    assert err.startswith("audit: error: cannot connect to Snowflake (account acme-prod as user auditor (password)): "
                          "250001: Could not connect to Snowflake backend")
    assert err.count("\n") == 1


def test_unreadable_history_is_a_one_line_error(empty_account, env, capsys):
    env(empty_account)
    # fakesnow's words for "does not exist or not authorized" and for the table function it lacks
    assert _profile(capsys) == (2, "", (
        "audit: error: cannot read query history: SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY: 002003 (42S02): Catalog "
        "Error: Table with name QUERY_HISTORY does not exist!; INFORMATION_SCHEMA.QUERY_HISTORY(): 001003 (42000): "
        "Parser Error: syntax error at or near \"TABLE\" (grant IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE to the "
        "role, or set SNOWFLAKE_DATABASE for the table function)\n"))


def test_falls_back_to_the_table_function(empty_account, env, capsys, monkeypatch):
    """fakesnow has no INFORMATION_SCHEMA.QUERY_HISTORY() table function: its SQL is replaced by a
    table holding the fixture's last 7 days without the partition and spill columns, to check the
    fallback, its note, and that the checks needing absent columns are skipped and said so."""
    from auditor.profile import snowflake_history

    with snowflake_connector.connect(**empty_account) as conn:
        _load_history(conn, "OPS.HISTORY.FULL_HISTORY")
        columns = [c for c in snowflake_history.COLUMNS if not c.startswith(("PARTITIONS_", "BYTES_SPILLED_"))]
        conn.cursor().execute(
            f"CREATE OR REPLACE TABLE OPS.HISTORY.FUNCTION_OUTPUT AS SELECT {', '.join(columns)} "
            "FROM OPS.HISTORY.FULL_HISTORY WHERE START_TIME >= DATEADD('day', -7, CURRENT_TIMESTAMP())")
    monkeypatch.setattr(snowflake_history, "INFORMATION_SCHEMA_SQL", "SELECT * FROM OPS.HISTORY.FUNCTION_OUTPUT")
    env(empty_account)
    code, out, err = _profile(capsys)
    document = json.loads(out)
    assert (code, err) == (0, "")  # the two high findings need the absent columns
    assert document["source"] == "INFORMATION_SCHEMA.QUERY_HISTORY()"
    assert [(f["rule"], f["function"]) for f in document["findings"]] == [
        ("PRF204", "warehouse BI_WH"), ("PRF201", f"query {SPILLING}"), ("PRF201", f"query {PRUNED}"),
        ("PRF205", f"query {OPEN_TICKETS}"), ("PRF206", f"query {SUMMARIZE}"), ("PRF206", f"query {CLASSIFY}")]
    notes = document["notes"]
    assert len(notes) == 3
    assert notes[0].startswith("SNOWFLAKE.ACCOUNT_USAGE.QUERY_HISTORY is not readable (002003 (42S02): ")
    assert notes[0].endswith("read INFORMATION_SCHEMA.QUERY_HISTORY() instead: at most 7 days and 10,000 queries, "
                             "only those this role may see. Grant IMPORTED PRIVILEGES ON DATABASE SNOWFLAKE (or the "
                             "SNOWFLAKE.GOVERNANCE_VIEWER database role) for the whole account's history.")
    assert notes[1:] == [
        "INFORMATION_SCHEMA.QUERY_HISTORY() has no PARTITIONS_SCANNED, PARTITIONS_TOTAL: pruning not checked",
        "INFORMATION_SCHEMA.QUERY_HISTORY() has no BYTES_SPILLED_TO_LOCAL_STORAGE, BYTES_SPILLED_TO_REMOTE_STORAGE: "
        "spilling not checked"]


def test_audit_profile_snowflake_command(account, tmp_path):
    """The command as a user runs it, in its own process, talking HTTP to the fake account."""
    import os
    import subprocess
    import sys

    environ = {name: value for name, value in os.environ.items() if not name.startswith("SNOWFLAKE_")}
    environ.update(SNOWFLAKE_ACCOUNT="acme-prod", SNOWFLAKE_USER="auditor", SNOWFLAKE_PASSWORD=PASSWORD,
                   SNOWFLAKE_HOST=account["host"], SNOWFLAKE_PORT=str(account["port"]), SNOWFLAKE_PROTOCOL="http",
                   SNOWFLAKE_HOME=str(tmp_path))
    target = tmp_path / "profile.md"
    result = subprocess.run([sys.executable, "-m", "auditor", "profile", "--snowflake", "--top", "3", "-o", str(target)],
                            capture_output=True, text=True, env=environ, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (1, "", f"wrote {target} (8 findings)\n")
    text = target.read_text(encoding="utf-8")
    assert text.startswith("# Snowflake workload profile\n")
    assert "## Top 3 queries by estimated credits" in text
    assert PASSWORD not in text
