"""``audit profile`` against the real PostgreSQL of the test session (fixture ``postgres``).

A shop database with a workload that has exactly three problems: an N+1 (the author of each
book loaded one by one), a lookup no index serves (books by ``reference``, 60 sequential scans of
200,000 rows) and an index nothing uses (``books_total_idx``). The profiler must report those,
and nothing else.
"""

from __future__ import annotations

import json

import pytest

from auditor.profile.connection import ProfileError, connect
from auditor.profile.demo import flush_statistics
from auditor.profile.live_findings import Thresholds
from auditor.profile.plans import Planner, index_names
from auditor.profile.run import ProfileOptions, profile
from tests.test_postgres_cluster import need_hypopg

SCHEMA = """
CREATE TABLE authors (id int PRIMARY KEY, name text NOT NULL);
CREATE TABLE books (
    id int PRIMARY KEY,
    author_id int NOT NULL REFERENCES authors (id),
    title text NOT NULL,
    reference text NOT NULL,
    total int NOT NULL,
    created_at timestamptz NOT NULL
);
INSERT INTO authors SELECT g, 'author ' || g FROM generate_series(1, 5000) g;
INSERT INTO books SELECT g, 1 + g % 5000, 'title ' || g, 'REF-' || g, g % 1000, now() - g * interval '1 minute'
FROM generate_series(1, 200000) g;
CREATE INDEX books_author_id_idx ON books (author_id);
CREATE INDEX books_total_idx ON books (total);
"""
N_PLUS_ONE = "SELECT id, name FROM authors WHERE id = %s"
BY_REFERENCE = "SELECT id, total FROM books WHERE reference = %s"
BY_AUTHOR = "SELECT id, title FROM books WHERE author_id = %s"
THRESHOLDS = Thresholds(hot_min_ms=100.0)  # the test workload takes well under a second


def run_shop_workload(conn) -> None:
    cur = conn.cursor()
    cur.execute(BY_AUTHOR, (7,))
    for book_id, _title in cur.fetchall():
        pass
    for i in range(2000):  # N+1: one query per book for its author
        cur.execute(N_PLUS_ONE, (1 + (i * 7) % 5000,))
        cur.fetchone()
    for i in range(60):  # webhook lookups by reference: no index
        cur.execute(BY_REFERENCE, (f"REF-{1 + i * 3001}",))
        cur.fetchone()
    flush_statistics(conn)


def drop_database(postgres, name: str) -> None:
    conn = postgres.connect("postgres", autocommit=True)
    try:
        conn.cursor().execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        conn.close()


@pytest.fixture(scope="module")
def shop(postgres):
    """DSN of a database with the shop schema, data and workload (pg_stat_statements and HypoPG)."""
    need_hypopg(postgres)
    drop_database(postgres, "profile_shop")  # the fixture is module-scoped: test_profile_cli.py loads it again
    dsn = postgres.create_database("profile_shop", extensions=("pg_stat_statements", "hypopg"))
    conn = postgres.connect("profile_shop", autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute(SCHEMA)
        cur.execute("VACUUM ANALYZE")
        cur.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = 'profile_shop'), 0)")
    finally:
        conn.close()
    conn = postgres.connect("profile_shop", autocommit=True)
    try:
        run_shop_workload(conn)
    finally:
        conn.close()
    return dsn


@pytest.fixture(scope="module")
def shop_report(shop):
    return profile(shop, ProfileOptions(thresholds=THRESHOLDS))


def queryid_of(report, text: str) -> int:
    from auditor.profile.fingerprint import fingerprint

    matches = [s.queryid for s in report.workload.statements if fingerprint(s.query) == fingerprint(text)]
    assert len(matches) == 1, [s.query for s in report.workload.statements]
    return matches[0]


def test_the_profiler_reports_exactly_the_n_plus_one_the_missing_index_and_the_unused_index(shop_report):
    n_plus_one = queryid_of(shop_report, N_PLUS_ONE)
    by_reference = queryid_of(shop_report, BY_REFERENCE)
    found = sorted((f.rule, f.context["object"]) for f in shop_report.findings)
    assert found == sorted([
        ("IDX101", "index books (reference)"),
        ("IDX103", "index public.books_total_idx"),
        ("PRF101", f"statement {by_reference}"),
        ("PRF102", f"statement {n_plus_one}"),
        ("PRF103", "table books"),
    ])
    assert all(f.path == "db:profile_shop" for f in shop_report.findings)
    n1 = next(f for f in shop_report.findings if f.rule == "PRF102")
    assert n1.context["live"]["calls"] == 2000 and n1.context["live"]["rows_per_call"] == 1.0
    assert n1.excerpt == "SELECT id, name FROM authors WHERE id = $1"
    seq = next(f for f in shop_report.findings if f.rule == "PRF103").context["live"]
    assert seq["rows"] == 200000 and seq["seq_scan"] >= 60 and seq["idx_scan"] == 1


def test_the_hypopg_verified_index_lowers_the_cost(shop_report):
    advice = shop_report.advice
    assert advice.verified
    assert [v.ddl for v in advice.chosen] == [
        'CREATE INDEX ON "public"."books" ("reference") INCLUDE ("id", "total")']
    chosen = advice.chosen[0]
    by_reference = queryid_of(shop_report, BY_REFERENCE)
    [(queryid, before, after)] = chosen.statements
    assert queryid == by_reference
    assert before > 1000 and after < 20 and after < before / 100  # seq scan of 200,000 rows vs an index probe
    assert chosen.weighted_before == pytest.approx(before * 60, rel=1e-3)
    assert chosen.weighted_after == pytest.approx(after * 60, rel=1e-3)
    assert chosen.size_bytes > 0
    totals = advice.totals()
    assert totals["unplanned"] == 0 and totals["planned"] == totals["statements"] == 3
    assert totals["weighted_after"] < totals["weighted_before"] / 10
    plan = next(p for p in advice.plans if p.queryid == by_reference)
    assert plan.indexes_after == ["(hypothetical) btree_books_reference_id_total"]
    finding = next(f for f in shop_report.findings if f.rule == "IDX101")
    assert finding.context["live"]["verified"] is True
    assert f"{before:,.0f} -> {after:,.0f}" in finding.message


def test_hypothetical_indexes_are_session_local_and_nothing_was_created(shop, postgres):
    conn = postgres.connect("profile_shop", autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'books' ORDER BY 1")
        assert [r[0] for r in cur.fetchall()] == ["books_author_id_idx", "books_pkey", "books_total_idx"]
        cur.execute("SELECT count(*) FROM hypopg_list_indexes")
        assert cur.fetchone()[0] == 0
    finally:
        conn.close()


def test_a_write_through_the_profilers_session_fails_and_the_session_is_limited(shop):
    import psycopg2

    conn = connect(shop)
    try:
        cur = conn.cursor()
        cur.execute("SHOW statement_timeout")
        assert cur.fetchone()[0] == "15s"
        cur.execute("SHOW default_transaction_read_only")
        assert cur.fetchone()[0] == "on"
        cur.execute("SELECT application_name FROM pg_stat_activity WHERE pid = pg_backend_pid()")
        assert cur.fetchone()[0] == "audit-profile"
        for statement in ("INSERT INTO authors VALUES (999999, 'x')", "UPDATE books SET total = 0 WHERE id = 1",
                          "DELETE FROM authors WHERE id = 1", "CREATE TABLE profiler_wrote (a int)",
                          "CREATE INDEX ON books (title)"):
            with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
                cur.execute(statement)
        cur.execute("SELECT count(*) FROM authors")
        assert cur.fetchone()[0] == 5000
    finally:
        conn.close()
    conn = connect(shop, statement_timeout_ms=200)
    try:
        with pytest.raises(psycopg2.errors.QueryCanceled):
            conn.cursor().execute("SELECT pg_sleep(2)")
    finally:
        conn.close()


def test_the_report_records_the_session_settings(shop_report):
    assert shop_report.settings == {"default_transaction_read_only": "on", "statement_timeout": "15s",
                                    "application_name": "audit-profile"}


def test_normalised_statements_that_cannot_be_prepared_as_they_stand_are_planned(shop):
    conn = connect(shop)
    try:
        cur = conn.cursor()
        cur.execute("SELECT current_setting('server_version_num')::int")
        planner = Planner(conn, cur.fetchone()[0])
        interval = planner.explain("SELECT id FROM books WHERE created_at > now() - INTERVAL $1 AND total = $2")
        assert interval.ok and interval.rewritten and interval.cost > 0
        typed = planner.explain("SELECT count(*) FROM books WHERE created_at > DATE $1 AND created_at < TIMESTAMP $2")
        assert typed.ok and typed.rewritten
        untyped = planner.explain("SELECT $1, id FROM authors WHERE id = $2")
        assert untyped.ok
        update = planner.explain("UPDATE books SET total = $1 WHERE id = $2")  # planned, never executed
        assert update.ok and update.plan["Node Type"] == "ModifyTable"
        plain = planner.explain("SELECT id FROM authors WHERE id = $1")
        assert plain.ok and not plain.rewritten and index_names(plain.plan) == ["authors_pkey"]
        missing = planner.explain("SELECT id FROM no_such_table WHERE id = $1")
        assert not missing.ok and 'relation "no_such_table" does not exist' in missing.error
        assert list(planner.failures) == ["SELECT id FROM no_such_table WHERE id = $1"]
        cur.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cur.fetchone()[0] == 0  # every PREPARE was deallocated
    finally:
        conn.close()


def test_unplannable_workload_statements_are_counted(postgres):
    need_hypopg(postgres)
    dsn = postgres.create_database("profile_dropped", extensions=("pg_stat_statements", "hypopg"))
    conn = postgres.connect("profile_dropped", autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("CREATE TABLE gone (id int PRIMARY KEY, v int); CREATE TABLE kept (id int PRIMARY KEY)")
        cur.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)")
        cur.execute("SELECT v FROM gone WHERE id = %s", (1,))
        cur.execute("SELECT id FROM kept WHERE id = %s", (1,))
        cur.execute("DROP TABLE gone")
    finally:
        conn.close()
    report = profile(dsn, ProfileOptions(thresholds=THRESHOLDS))
    totals = report.advice.totals()
    assert (totals["statements"], totals["planned"], totals["unplanned"]) == (2, 1, 1)
    [unplanned] = report.advice.unplanned
    assert unplanned.query == "SELECT v FROM gone WHERE id = $1"
    assert 'relation "gone" does not exist' in unplanned.error


def test_profile_errors_are_one_line_without_the_password(postgres):
    from auditor.profile.cluster import free_port

    port = free_port()
    with pytest.raises(ProfileError) as info:
        connect(f"postgresql://reader:Pa55word!@127.0.0.1:{port}/db")
    assert str(info.value) == f"cannot connect to reader@127.0.0.1:{port}/db: server unreachable (connection refused)"
    with pytest.raises(ProfileError) as info:
        connect(f"host=127.0.0.1 port={postgres.port} dbname=no_such_db user=postgres password=Pa55word!")
    assert str(info.value) == (f'cannot connect to postgres@127.0.0.1:{postgres.port}/no_such_db: '
                               'database "no_such_db" does not exist')


def test_catalog_and_activity_health_checks(postgres):
    """Redundant and unused indexes, a foreign key without an index, a temp spill, an idle pile-up,
    a long-running query and a transaction left open: each reported once, nothing else."""
    import threading
    import time

    dsn = postgres.create_database("profile_health", extensions=("pg_stat_statements",))
    conn = postgres.connect("profile_health", autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("""
            CREATE TABLE parent (id int PRIMARY KEY);
            CREATE TABLE child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES parent (id), v int NOT NULL);
            INSERT INTO parent SELECT g FROM generate_series(1, 100) g;
            INSERT INTO child SELECT g, 1 + g % 100, g % 77 FROM generate_series(1, 20000) g;
            CREATE INDEX child_v_idx ON child (v);
            CREATE INDEX child_v_id_idx ON child (v, id);
        """)
        cur.execute("ANALYZE")
        cur.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)")
        cur.execute("SET work_mem = '64kB'")
        cur.execute("SELECT id, md5(id::text) FROM child ORDER BY md5(id::text)")
        cur.fetchall()
        flush_statistics(conn)
    finally:
        conn.close()
    idle = [postgres.connect("profile_health", autocommit=True) for _ in range(15)]
    open_transaction = postgres.connect("profile_health")
    open_transaction.cursor().execute("SELECT 1")  # BEGIN ... and nothing more: idle in transaction
    sleeper = postgres.connect("profile_health", autocommit=True)
    cur = sleeper.cursor()
    cur.execute("SELECT pg_backend_pid()")
    sleeping_pid = cur.fetchone()[0]
    cur = open_transaction.cursor()
    cur.execute("SELECT pg_backend_pid()")
    open_pid = cur.fetchone()[0]
    thread = threading.Thread(target=lambda: sleeper.cursor().execute("SELECT pg_sleep(6)"))
    thread.start()
    try:
        time.sleep(1.5)
        thresholds = Thresholds(long_running_s=1.0, temp_spill_blocks=10, hot_min_ms=1e9)
        report = profile(dsn, ProfileOptions(thresholds=thresholds, advise=False))
    finally:
        thread.join()
        for connection in idle + [open_transaction, sleeper]:
            connection.close()
    spill = next(s for s in report.workload.statements if "md5" in s.query)
    assert sorted((f.rule, f.context["object"]) for f in report.findings) == [
        ("IDX102", "index public.child_v_idx"),
        ("IDX103", "index public.child_v_id_idx"),
        ("IDX104", "foreign key child(parent_id)"),
        ("PRF105", "connections idle"),
        ("PRF106", f"backend {open_pid}"),
        ("PRF106", f"backend {sleeping_pid}"),
        ("PRF107", f"statement {spill.queryid}"),
    ]
    by_object = {f.context["object"]: f for f in report.findings}
    assert by_object["index public.child_v_idx"].message.startswith(
        "index child_v_idx on child (v) its keys lead child_v_id_idx (v, id)")
    assert by_object[f"backend {sleeping_pid}"].context["live"]["state"] == "active"
    assert by_object[f"backend {open_pid}"].context["live"]["state"] == "idle in transaction"
    assert by_object["connections idle"].context["live"]["states"]["idle"] >= 15
    assert spill.temp_blks_written >= 10


def test_a_statement_with_a_percent_sign_is_planned_as_written(shop):
    conn = connect(shop)
    try:
        cur = conn.cursor()
        cur.execute("SELECT current_setting('server_version_num')::int")
        planner = Planner(conn, cur.fetchone()[0])
        plan = planner.explain("SELECT id FROM books WHERE reference LIKE 'REF-1%' AND total % 7 = $1")
        assert plan.ok, plan.error
        assert "'REF-1%'" in json.dumps(plan.plan) and "%%" not in json.dumps(plan.plan)
    finally:
        conn.close()
