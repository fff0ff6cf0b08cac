"""The profiler on a production database: it never executes what it plans, its statements are cut
off by statement_timeout, a connection dropped mid-profile gives a partial report with a note
(not a traceback), and a DSN's password reaches no output, report or log.

Complements tests/test_profile_postgres.py (read-only session, timeout setting) and
tests/test_profile_cli.py (no password in the outputs of a normal run).
"""

from __future__ import annotations

import json
import logging
import time

import pytest

import auditor.profile.run as run_module
from auditor.cli import app
from auditor.profile.connection import connect
from auditor.profile.demo import flush_statistics
from auditor.profile.run import ProfileOptions, profile
from tests.test_cli import cli_runner

DATABASE = "profile_safety"
SECRET = "S4fety-Secret-9q"
SCHEMA = """
CREATE TABLE items (id int PRIMARY KEY, n int NOT NULL, label text NOT NULL);
INSERT INTO items SELECT g, g % 10, 'item ' || g FROM generate_series(1, 20000) g;
CREATE TABLE side_effects (at timestamptz NOT NULL DEFAULT now(), what text NOT NULL);
CREATE FUNCTION audit_side_effect() RETURNS int LANGUAGE sql VOLATILE AS
    $$ INSERT INTO side_effects (what) VALUES ('function ran') RETURNING 1 $$;
CREATE FUNCTION log_update() RETURNS trigger LANGUAGE plpgsql AS
    $$ BEGIN INSERT INTO side_effects (what) VALUES ('update ran'); RETURN NEW; END $$;
CREATE TRIGGER items_logged BEFORE UPDATE ON items FOR EACH ROW EXECUTE FUNCTION log_update();
"""


def side_effects(postgres) -> int:
    conn = postgres.connect(DATABASE, autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM side_effects")
        return cur.fetchone()[0]
    finally:
        conn.close()


@pytest.fixture(scope="module")
def safety_db(postgres):
    """DSN of a small database whose workload writes: a function with a side effect, an UPDATE
    whose trigger logs, a lookup without an index."""
    admin = postgres.connect("postgres", autocommit=True)
    try:
        admin.cursor().execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    finally:
        admin.close()
    dsn = postgres.create_database(DATABASE, extensions=("pg_stat_statements",))
    conn = postgres.connect(DATABASE, autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute(SCHEMA)
        cur.execute("VACUUM ANALYZE")
        cur.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = %s), 0)",
                    (DATABASE,))
        for i in range(30):
            cur.execute("SELECT audit_side_effect()")
            cur.execute("UPDATE items SET n = n WHERE id = %s", (i + 1,))
            cur.execute("SELECT id FROM items WHERE label = %s", (f"item {i}",))
        flush_statistics(conn)
    finally:
        conn.close()
    return dsn


def with_password(dsn: str) -> str:
    """The same DSN with a password (trust authentication lets it in and ignores it)."""
    return dsn.replace("postgresql://postgres@", f"postgresql://postgres:{SECRET}@")


def terminate_profiler(postgres) -> int:
    """Terminate the profiler's backend from another session; the number of backends ended."""
    conn = postgres.connect(DATABASE, autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE application_name = 'audit-profile' AND datname = %s AND pid <> pg_backend_pid()) t",
                    (DATABASE,))
        return cur.fetchone()[0]
    finally:
        conn.close()


def test_the_profiler_plans_the_writing_workload_without_executing_it(postgres, safety_db):
    before = side_effects(postgres)
    assert before == 60  # the workload's own writes
    report = profile(with_password(safety_db), ProfileOptions())
    texts = " ".join(s.query for s in report.workload.statements)
    assert "audit_side_effect()" in texts and "UPDATE items SET n = n" in texts
    assert side_effects(postgres) == before
    import psycopg2

    conn = connect(safety_db)
    try:
        for statement in ("SELECT audit_side_effect()", "UPDATE items SET n = n WHERE id = 1"):
            with pytest.raises(psycopg2.errors.ReadOnlySqlTransaction):
                conn.cursor().execute(statement)
    finally:
        conn.close()
    assert side_effects(postgres) == before


def test_a_slow_statement_is_cancelled_and_the_report_says_what_is_missing(safety_db, monkeypatch):
    real = run_module.read_catalog

    def slow_catalog(conn):
        conn.cursor().execute("SELECT pg_sleep(5)")
        return real(conn)

    monkeypatch.setattr(run_module, "read_catalog", slow_catalog)
    started = time.monotonic()
    report = profile(safety_db, ProfileOptions(statement_timeout_ms=300))
    assert time.monotonic() - started < 4  # the 5 s sleep was cut off
    assert report.settings["statement_timeout"] == "300ms"
    assert report.warnings == ["a statement was cancelled (statement_timeout) while reading the catalog (canceling "
                               "statement due to statement timeout): the report is partial, the catalog and what "
                               "follows it are missing"]
    assert report.workload.statements  # read before the cancelled step
    assert report.catalog.tables == {} and report.advice is None


@pytest.mark.parametrize("hook", ["read_catalog", "read_activity", "build_advice"])
def test_a_dropped_connection_gives_a_partial_report_with_a_note(postgres, safety_db, monkeypatch, tmp_path,
                                                                 caplog, hook):
    real = getattr(run_module, hook)
    ended = []

    def terminated_first(*args, **kwargs):
        ended.append(terminate_profiler(postgres))
        time.sleep(0.2)  # the backend is gone before the next statement is sent
        return real(*args, **kwargs)

    monkeypatch.setattr(run_module, hook, terminated_first)
    caplog.set_level(logging.DEBUG)
    output = tmp_path / "report.json"
    result = cli_runner().invoke(app, ["profile", "--dsn", with_password(safety_db), "-o", str(output)])
    assert ended == [1]
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code in (0, 1), result.stderr
    step = {"read_catalog": "the catalog", "read_activity": "the activity",
            "build_advice": "the plans for the index advice"}[hook]
    document = json.loads(output.read_text(encoding="utf-8"))
    lost = [w for w in document["warnings"] if w.startswith("the connection was lost")]
    assert len(lost) == 1 and f"while reading {step} (" in lost[0] and "the report is partial" in lost[0], lost
    assert f"audit: warning: {lost[0]}" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert document["summary"]["statements"] > 0  # read before the connection was lost
    assert (document["summary"]["tables"] > 0) == (hook != "read_catalog")
    log_text = "\n".join(record.getMessage() for record in caplog.records)
    server_log = postgres.log_file.read_text(encoding="utf-8", errors="replace") if postgres.log_file.exists() else ""
    for text in (result.stdout, result.stderr, output.read_text(encoding="utf-8"), log_text, server_log):
        assert SECRET not in text


def test_a_connection_lost_before_anything_was_read_is_one_line_without_the_password(postgres, safety_db,
                                                                                     monkeypatch):
    real = run_module.connect

    def connect_then_drop(dsn, *args, **kwargs):
        conn = real(dsn, *args, **kwargs)
        terminate_profiler(postgres)
        time.sleep(0.2)
        return conn

    monkeypatch.setattr(run_module, "connect", connect_then_drop)
    result = cli_runner().invoke(app, ["profile", "--dsn", with_password(safety_db)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith("audit: error: profiling postgres@127.0.0.1:") and result.stderr.count("\n") == 1
    assert "terminat" in result.stderr or "closed" in result.stderr, result.stderr
    assert SECRET not in result.stderr
