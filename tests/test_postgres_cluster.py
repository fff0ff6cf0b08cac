"""The ``postgres`` fixture starts a real, private PostgreSQL with pg_stat_statements and HypoPG."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from tests.conftest import postgres_required
from tests.postgres import PostgresCluster, find_bindir


def explain(cur, sql: str, params=None) -> dict:
    cur.execute("EXPLAIN (FORMAT JSON) " + sql, params)
    return cur.fetchone()[0][0]["Plan"]


def plan_nodes(plan: dict):
    yield plan
    for child in plan.get("Plans", ()):
        yield from plan_nodes(child)


def need_hypopg(cluster) -> None:
    if cluster.has_hypopg:
        return
    why = cluster.missing_extensions.get("hypopg", "not requested")
    if postgres_required():
        pytest.fail(f"AUDIT_REQUIRE_POSTGRES=1 but HypoPG is not installed: {why}", pytrace=False)
    pytest.skip(f"HypoPG is not installed: {why}")


def test_a_query_runs_in_the_private_database(postgres):
    conn = postgres.connect()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 6 * 7, current_database(), current_user, inet_server_port()")
            assert cur.fetchone() == (42, "audit_test", "postgres", postgres.port)
            cur.execute("SHOW data_directory")
            assert Path(cur.fetchone()[0]) == postgres.data_dir
            cur.execute("SHOW unix_socket_directories")
            assert cur.fetchone()[0] == str(postgres.socket_dir)
            cur.execute("SHOW fsync")
            assert cur.fetchone()[0] == "off"
            cur.execute("SHOW server_version_num")
            assert int(cur.fetchone()[0]) // 10000 == postgres.version
    finally:
        conn.close()
    assert postgres.dsn == f"postgresql://postgres@127.0.0.1:{postgres.port}/audit_test"
    assert (postgres.socket_dir / f".s.PGSQL.{postgres.port}").is_socket()


def test_the_server_does_not_run_as_root(postgres):
    owner = postgres.data_dir.stat().st_uid
    if os.geteuid() == 0:
        import pwd

        assert owner == pwd.getpwnam("postgres").pw_uid
    else:
        assert owner == os.geteuid()
    pid = int((postgres.data_dir / "postmaster.pid").read_text().split()[0])
    assert os.stat(f"/proc/{pid}").st_uid == owner != 0


def test_pg_stat_statements_records_normalized_statements(postgres):
    assert postgres.has_pg_stat_statements
    conn = postgres.connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_setting('shared_preload_libraries')")
            assert "pg_stat_statements" in cur.fetchone()[0]
            cur.execute("CREATE TABLE pgss_probe (id int PRIMARY KEY, tag text)")
            cur.execute("INSERT INTO pgss_probe SELECT g, 'tag' || (g % 7) FROM generate_series(1, 100) g")
            cur.execute("SELECT pg_stat_statements_reset()")
            for tag in ("tag1", "tag2", "tag3"):
                cur.execute("SELECT count(*) FROM pgss_probe WHERE tag = %s", (tag,))
                assert cur.fetchone()[0] in (14, 15)
            cur.execute(
                "SELECT query, calls, rows FROM pg_stat_statements "
                "WHERE query LIKE %s AND dbid = (SELECT oid FROM pg_database WHERE datname = current_database())",
                ("%FROM pgss_probe WHERE tag%",),
            )
            assert cur.fetchall() == [("SELECT count(*) FROM pgss_probe WHERE tag = $1", 3, 3)]
            cur.execute("DROP TABLE pgss_probe")
    finally:
        conn.close()


def test_hypopg_index_lowers_the_explain_cost_of_a_selective_query(postgres):
    need_hypopg(postgres)
    conn = postgres.connect(autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute("CREATE TABLE hypo_orders (id bigint PRIMARY KEY, customer_id int NOT NULL, note text)")
            cur.execute(
                "INSERT INTO hypo_orders SELECT g, g % 5000, repeat('x', 40) FROM generate_series(1, 50000) g"
            )
            cur.execute("ANALYZE hypo_orders")
            cur.execute("SELECT reltuples::bigint FROM pg_class WHERE relname = 'hypo_orders'")
            assert cur.fetchone()[0] == 50000
            query = "SELECT id, note FROM hypo_orders WHERE customer_id = 42"

            before = explain(cur, query)
            assert before["Node Type"] == "Seq Scan"

            cur.execute("SELECT indexrelid, indexname FROM hypopg_create_index('CREATE INDEX ON hypo_orders (customer_id)')")
            oid, name = cur.fetchone()
            assert name.endswith("btree_hypo_orders_customer_id")
            cur.execute("SELECT count(*) FROM hypopg_list_indexes")
            assert cur.fetchone()[0] == 1

            after = explain(cur, query)
            used = {node.get("Index Name") for node in plan_nodes(after)} - {None}
            assert used == {name}
            assert after["Total Cost"] < before["Total Cost"] / 10
            # Hypothetical: nothing was built, and nothing survives a reset.
            cur.execute("SELECT count(*) FROM pg_index WHERE indrelid = 'hypo_orders'::regclass")
            assert cur.fetchone()[0] == 1  # the primary key only
            cur.execute("SELECT hypopg_reset()")
            assert explain(cur, query)["Total Cost"] == before["Total Cost"]
            cur.execute("DROP TABLE hypo_orders")
    finally:
        conn.close()


def test_a_second_cluster_is_independent_and_stop_removes_everything():
    if find_bindir() is None:
        if postgres_required():
            pytest.fail("AUDIT_REQUIRE_POSTGRES=1 but no PostgreSQL server binaries", pytrace=False)
        pytest.skip("no PostgreSQL server binaries")
    pytest.importorskip("psycopg2")
    with PostgresCluster(dbname="second", extensions=()) as cluster:
        base, port = cluster.base_dir, cluster.port
        conn = cluster.connect()
        with conn.cursor() as cur:
            cur.execute("SELECT current_database(), count(*) FROM pg_extension WHERE extname <> 'plpgsql'")
            assert cur.fetchone() == ("second", 0)
        conn.close()
        assert base.is_dir()
    assert not base.exists()
    assert cluster.base_dir is None and not cluster.running
    with socket.socket() as sock:
        assert sock.connect_ex(("127.0.0.1", port)) != 0


def test_the_billing_sample_projects_statements_run_on_the_cluster(postgres):
    """The index benchmark's workload: the sample project's own code, traced, on its schema."""
    import importlib.util
    import sys

    from tests.conftest import REPO_ROOT

    sys.path.insert(0, str(REPO_ROOT / "benchmarks" / "workload"))
    try:
        import workload
    finally:
        sys.path.remove(str(REPO_ROOT / "benchmarks" / "workload"))
    has_flask = importlib.util.find_spec("flask") is not None
    dsn = postgres.create_database("billing_workload")
    conn = postgres.connect("billing_workload", autocommit=True)
    try:
        with conn.cursor() as cur:
            cur.execute(workload.SCHEMA_SQL.read_text(encoding="utf-8"))
            # The few rows the calls need: the customer who logs in, the order that is shown.
            cur.execute(
                "INSERT INTO customers (id, email, name, country) VALUES (%(c)s, 'User4242@Corp.io', 'Acme', 'DE');"
                "INSERT INTO accounts (id, customer_id, currency) VALUES (%(c)s, %(c)s, 'USD');"
                "INSERT INTO orders (id, customer_id, account_id, total_cents, currency)"
                " VALUES (%(o)s, %(c)s, %(c)s, 100, 'USD')",
                {"c": workload.CUSTOMER, "o": workload.ORDER},
            )
            statements = workload.trace(dsn, http=has_flask)
            assert len(statements) == (30 if has_flask else 28)
            assert len({s.sql for s in statements}) == len(statements)
            for statement in statements:
                assert statement.location.startswith("billing/"), statement
                path, line = statement.location.split()[0].split(":")
                source = (workload.PROJECT / path).read_text(encoding="utf-8").splitlines()
                assert "execute(" in source[int(line) - 1], statement.location
                cur.execute("EXPLAIN (FORMAT JSON) " + statement.bound)
                assert cur.fetchone()[0][0]["Plan"]["Total Cost"] >= 0
            # The pool never commits for the tracer: the INSERT and UPDATEs left nothing behind.
            cur.execute("SELECT (SELECT count(*) FROM events) + (SELECT count(*) FROM invoices)")
            assert cur.fetchone()[0] == 0
    finally:
        conn.close()
