"""Pieces of the profiler that need no database: DSN redaction, fingerprints, typed-literal rewriting,
the N+1 and hot-statement rules on given figures, the code link of ``audit scan --dsn``."""

from __future__ import annotations

import pytest

from auditor.profile.connection import describe_target, password_of, redact, resolve_dsn
from auditor.profile.fingerprint import fingerprint, normalized_text
from auditor.profile.hotspots import workload_findings
from auditor.profile.live_findings import Thresholds
from auditor.profile.plans import parameter_count, rewrite_typed_literals
from auditor.profile.workload import StatementStats, Workload, is_workload_statement


@pytest.mark.parametrize("text,expected", [
    ("postgresql://app:s3cr3t@db.internal:5432/shop", "postgresql://app:***@db.internal:5432/shop"),
    ("postgres://app:p%40ss@h/db?sslmode=require", "postgres://app:***@h/db?sslmode=require"),
    ("host=db user=app password=s3cr3t dbname=shop", "host=db user=app password=*** dbname=shop"),
    ("host=db password = 'with space' dbname=shop", "host=db password = *** dbname=shop"),
    ("postgresql://h/db?user=app&password=s3cr3t&sslmode=require",
     "postgresql://h/db?user=app&password=***&sslmode=require"),
    ("postgresql://app@h/db", "postgresql://app@h/db"),
    ('FATAL: password authentication failed for user "app" (dsn postgresql://app:s3cr3t@h/db)',
     'FATAL: password authentication failed for user "app" (dsn postgresql://app:***@h/db)'),
])
def test_redact_removes_every_password_form(text, expected):
    assert redact(text) == expected


def test_redact_removes_a_known_secret_wherever_it_appears():
    assert redact("could not connect: s3cr3t-value rejected", ("s3cr3t-value",)) == "could not connect: *** rejected"


def test_password_of_and_describe_target():
    assert password_of("postgresql://app:s3cr3t@h:6543/db") == "s3cr3t"
    assert password_of("host=h user=app password='a b' dbname=db") == "a b"
    assert password_of("postgresql://app@h/db") == ""
    assert describe_target("postgresql://app:s3cr3t@h:6543/db") == "app@h:6543/db"
    assert describe_target("host=h dbname=db") == "h:5432/db"


def test_resolve_dsn_prefers_the_option_then_audit_dsn_then_database_url(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql://b/b")
    monkeypatch.setenv("AUDIT_DSN", "postgresql://a/a")
    assert resolve_dsn("postgresql://x/x") == "postgresql://x/x"
    assert resolve_dsn(None) == "postgresql://a/a"
    monkeypatch.delenv("AUDIT_DSN")
    assert resolve_dsn(None) == "postgresql://b/b"
    monkeypatch.delenv("DATABASE_URL")
    assert resolve_dsn(None) is None


@pytest.mark.parametrize("code,recorded", [
    ("SELECT id, status FROM orders WHERE customer_id = %s AND status = 'paid' ORDER BY created_at DESC LIMIT 20",
     "SELECT id, status FROM orders WHERE customer_id = $1 AND status = $2 ORDER BY created_at DESC LIMIT $3"),
    ("select * from t where d > now() - interval '2 days' and n = -1 and x in %s and b = true",
     "select * from t where d > now() - INTERVAL $1 and n = $2 and x in ($3, $4,$5) and b = $6"),
    ("UPDATE t SET a = %(a)s WHERE id = %(id)s", "UPDATE t SET a = $1 WHERE id = $2"),
    ("SELECT a FROM t WHERE a = :name::text", "SELECT a FROM t WHERE a = $1::text"),
    ("SELECT a FROM t WHERE a = ?  -- trailing comment", "SELECT a FROM t WHERE a = $1"),
    ('SELECT "Q".a FROM "Q" WHERE a - 1 > 2;', 'SELECT "Q".a FROM "Q" WHERE a - $1 > $2'),
])
def test_code_text_and_pg_stat_statements_text_share_a_fingerprint(code, recorded):
    assert fingerprint(code) == fingerprint(recorded), (normalized_text(code), normalized_text(recorded))


@pytest.mark.parametrize("one,other", [
    ("SELECT id FROM orders WHERE customer_id = $1", "SELECT id FROM orders WHERE account_id = $1"),
    ("SELECT id FROM orders WHERE a = $1", "SELECT id FROM Orders2 WHERE a = $1"),
    ('SELECT id FROM "Orders" WHERE a = $1', "SELECT id FROM orders WHERE a = $1"),
    ("SELECT id FROM t WHERE a = $1 AND b = $2", "SELECT id FROM t WHERE a = $1 OR b = $2"),
    ("SELECT id FROM t WHERE a - $1 > $2", "SELECT id FROM t WHERE a > $2"),
])
def test_different_statements_have_different_fingerprints(one, other):
    assert fingerprint(one) != fingerprint(other)


@pytest.mark.parametrize("query,expected", [
    ("SELECT 1 FROM t WHERE created_at > now() - INTERVAL $2", "SELECT 1 FROM t WHERE created_at > now() - $2::interval"),
    ("SELECT 1 FROM t WHERE d >= DATE $1 AND ts < timestamp with time zone $2",
     "SELECT 1 FROM t WHERE d >= $1::date AND ts < $2::timestamp with time zone"),
    ("SELECT 1 FROM t WHERE a = $1", "SELECT 1 FROM t WHERE a = $1"),
    ("SELECT interval_days FROM t WHERE n = $1", "SELECT interval_days FROM t WHERE n = $1"),
])
def test_typed_literals_become_casts(query, expected):
    assert rewrite_typed_literals(query) == expected


def test_parameter_count_ignores_strings():
    assert parameter_count("SELECT $1, '$9' FROM t WHERE a = $3") == 3
    assert parameter_count("SELECT 1") == 0


def test_workload_statements_exclude_utility_and_catalog_statements():
    assert is_workload_statement("SELECT id FROM orders WHERE id = $1")
    assert is_workload_statement("/* app */ WITH x AS (SELECT 1) SELECT * FROM x")
    assert is_workload_statement("UPDATE orders SET status = $1 WHERE id = $2")
    assert is_workload_statement("SELECT id FROM notes WHERE tenant_id = current_setting($1)::int")  # RLS-style
    for query in ("BEGIN", "SET application_name = $1", "EXPLAIN SELECT 1", "VACUUM ANALYZE orders",
                  "SELECT * FROM pg_stat_statements", "SELECT current_setting($1)", "SELECT current_user",
                  "SELECT relname FROM pg_class WHERE oid = $1", "SELECT * FROM hypopg_create_index($1)"):
        assert not is_workload_statement(query), query


def _stats(queryid, query, calls, total_ms, rows, temp=0):
    return StatementStats(queryid, query, calls, total_ms, total_ms / calls, rows, temp_blks_written=temp)


def test_workload_rules_on_given_figures():
    workload = Workload(available=True, statements=[
        _stats(1, "SELECT id, total FROM books WHERE reference = $1", 60, 1800.0, 60),  # 60% of the time
        _stats(2, "SELECT id, name FROM authors WHERE id = $1", 20_000, 600.0, 20_000),  # N+1
        _stats(3, "UPDATE counters SET n = n + $1 WHERE id = $2", 20_000, 400.0, 20_000),  # a write: not N+1
        _stats(4, "SELECT * FROM order_items WHERE order_id = $1", 5_000, 150.0, 200_000),  # 40 rows per call
        _stats(5, "SELECT * FROM events ORDER BY payload->>$1", 2, 50.0, 20, temp=30_000),  # spills
    ])
    findings = workload_findings(workload, "shop", Thresholds(), {2: ["app/books.py:12"]})
    assert sorted((f.rule, f.context["object"]) for f in findings) == [
        ("PRF101", "statement 1"), ("PRF102", "statement 2"), ("PRF107", "statement 5")]
    prf101 = next(f for f in findings if f.rule == "PRF101")
    assert prf101.severity == "high"  # 60% of the time: one level up
    assert prf101.message.startswith("60% of the database's execution time: 60 calls, 1,800 ms in total")
    prf102 = next(f for f in findings if f.rule == "PRF102")
    assert prf102.message == ("N+1 signature: 20,000 calls (44% of all calls) returning 1.00 rows each, 600 ms in "
                              "total; sent from app/books.py:12")
    assert prf102.context["live"]["calls"] == 20_000
    assert next(f for f in findings if f.rule == "PRF107").message.startswith("wrote 234 MB of temporary files")


def test_no_workload_findings_below_the_thresholds():
    workload = Workload(available=True, statements=[
        _stats(1, "SELECT id FROM t WHERE id = $1", 999, 10.0, 999),  # under 1,000 calls
        _stats(2, "SELECT id FROM u WHERE id = $1", 2_000, 900.0, 2_000),  # 2,000 of 50,000 calls (4%)
        _stats(3, "SELECT id FROM v WHERE a = $1", 47_001, 15.0, 470_010),  # 10 rows per call
    ])
    assert workload_findings(workload, "db", Thresholds(), {}) == []  # and none has 1 s and 20% of the time


def test_code_text_gets_dollar_parameters_with_its_literals_kept():
    from auditor.profile.advice import dollar_parameters

    code = ("SELECT a FROM t WHERE s = 'open' AND a = %s AND b LIKE 'L-%%' AND c = %(c)s AND e = %(c)s "
            "AND f = %s AND g LIKE %s || '%%'")
    assert dollar_parameters(code) == ("SELECT a FROM t WHERE s = 'open' AND a = $1 AND b LIKE 'L-%' AND c = $2 "
                                       "AND e = $2 AND f = $3 AND g LIKE $4 || '%'")


class _FakeCursor:
    """Answers read_workload's queries as a server with the given pg_stat_statements columns would."""

    def __init__(self, columns, rows, hidden=0):
        self.columns, self.rows, self.hidden = columns, rows, hidden
        self.executed, self.description, self._result = [], None, []

    def execute(self, sql, params=None):
        self.executed.append(sql)
        if "FROM pg_extension" in sql:
            self._result = [(1,)]
        elif sql.endswith("LIMIT 0"):
            self.description = [(name,) for name in self.columns]
            self._result = []
        elif "count(*)" in sql:
            self._result = [(self.hidden,)]
        else:
            self._result = list(self.rows)

    def fetchone(self):
        return self._result[0] if self._result else None

    def fetchall(self):
        return list(self._result)


class _FakeConnection:
    def __init__(self, cursor):
        self._cursor = cursor

    def cursor(self):
        return self._cursor


COMMON = ["userid", "dbid", "queryid", "query", "calls", "rows", "shared_blks_hit", "shared_blks_read",
          "temp_blks_written"]


@pytest.mark.parametrize("version,columns,total,toplevel", [
    (12, COMMON + ["total_time", "mean_time", "blk_read_time"], "sum(total_time)", False),
    (13, COMMON + ["total_exec_time", "mean_exec_time", "total_plan_time", "blk_read_time"],
     "sum(total_exec_time)", False),
    (14, COMMON + ["toplevel", "total_exec_time", "mean_exec_time", "blk_read_time"], "sum(total_exec_time)", True),
    (17, COMMON + ["toplevel", "total_exec_time", "shared_blk_read_time", "stats_since"], "sum(total_exec_time)", True),
])
def test_pg_stat_statements_columns_of_every_version(version, columns, total, toplevel):
    from auditor.profile.workload import read_workload

    rows = [(11, "SELECT id FROM t WHERE id = $1", 400, 20.0, 400, 390, 10, 0),
            (12, "BEGIN", 400, 1.0, 0, 0, 0, 0),
            (13, "SELECT id FROM t WHERE a = $1", 2, 30.0, 10, 5, 500, 0)]
    cursor = _FakeCursor(columns, rows, hidden=2)
    workload = read_workload(_FakeConnection(cursor))
    select = next(sql for sql in cursor.executed if sql.startswith("SELECT queryid"))
    assert total in select and ("AND toplevel" in select) == toplevel, version
    assert [s.queryid for s in workload.statements] == [13, 11]  # by total time; BEGIN left out
    assert workload.skipped_utility == 1 and workload.hidden == 2
    first = workload.statements[1]
    assert (first.calls, first.mean_ms, first.rows_per_call, round(first.hit_ratio, 3)) == (400, 0.05, 1.0, 0.975)


def test_table_and_connection_health_on_given_statistics():
    from auditor.profile.catalog import LiveCatalog, TableStats
    from auditor.profile.health import Activity, activity_findings, table_findings

    catalog = LiveCatalog(tables={
        "events": TableStats("events", "public", 5_000_000, 900_000_000, 1200, 6_000_000_000, 3, 160_000, 40_000),
        "orders": TableStats("orders", "public", 200_000, 30_000_000, 3, 600_000, 90_000, 1_000, 2_000_000),
        "countries": TableStats("countries", "public", 250, 16_384, 50_000, 12_500_000, 0),
    })
    found = sorted((f.rule, f.context["object"]) for f in table_findings(catalog, "db", Thresholds()))
    assert found == [("PRF103", "table events"), ("PRF104", "table events")]
    near = Activity(max_connections=100, reserved=3, states={"active": 70, "idle": 15}, database_hits=9_100_000,
                    database_reads=900_000)
    found = [(f.rule, f.context["object"]) for f in activity_findings(near, "db", Thresholds())]
    assert found == [("PRF104", "database db"), ("PRF105", "connections near max_connections")]
    calm = Activity(max_connections=100, reserved=3, states={"active": 4, "idle": 6}, database_hits=900,
                    database_reads=700)
    assert activity_findings(calm, "db", Thresholds()) == []


def test_postgresql_16_plans_normalised_text_with_generic_plan():
    """The 16+ branch (the test server is 15): one EXPLAIN (GENERIC_PLAN), no PREPARE, typed literals cast."""
    from auditor.profile.plans import Planner

    class Cursor:
        executed: list = []

        def execute(self, sql, params=None):
            self.executed.append(sql)

        def fetchone(self):
            return ([{"Plan": {"Node Type": "Seq Scan", "Relation Name": "t", "Total Cost": 42.5}}],)

        def close(self):
            pass

    cursor = Cursor()
    planner = Planner(_FakeConnection(cursor), 160002)
    plan = planner.explain("SELECT id FROM t WHERE created_at > now() - INTERVAL $1 AND a LIKE 'x%'")
    assert plan.ok and plan.cost == 42.5 and plan.rewritten
    assert cursor.executed == [
        "EXPLAIN (GENERIC_PLAN, FORMAT JSON) SELECT id FROM t WHERE created_at > now() - $1::interval AND a LIKE 'x%'"]
