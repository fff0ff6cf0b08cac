"""``audit profile`` and ``audit scan --dsn`` on the command line, against the test session's PostgreSQL:
messages (one line, no password), formats, the index script, the code link, the demo."""

from __future__ import annotations

import json
import re

import jsonschema
import pytest

from auditor.cli import app
from auditor.render.json_report import SCHEMA_VERSION
from tests.conftest import REPO_ROOT, write_tree
from tests.test_cli import cli_runner
from tests.test_profile_postgres import BY_REFERENCE, N_PLUS_ONE, shop  # noqa: F401  (module fixture)

SECRET = "Sup3r-Secret-Pw"
REPORT_SCHEMA = json.loads((REPO_ROOT / "reports" / f"report-{SCHEMA_VERSION}.schema.json").read_text(encoding="utf-8"))


def invoke(*args, env=None):
    result = cli_runner().invoke(app, [str(a) for a in args], env=env)
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    return result


def with_user(dsn: str, user: str, password: str) -> str:
    return dsn.replace("postgresql://postgres@", f"postgresql://{user}:{password}@")


@pytest.fixture(scope="module")
def reader(postgres, shop):  # noqa: F811
    """A role with a password (trust authentication lets it in) that may read the statistics."""
    conn = postgres.connect(autocommit=True)
    try:
        conn.cursor().execute("DROP ROLE IF EXISTS audit_secret_reader")
        conn.cursor().execute(f"CREATE ROLE audit_secret_reader LOGIN PASSWORD '{SECRET}' "
                              "IN ROLE pg_read_all_stats, pg_read_all_data")
    finally:
        conn.close()
    return with_user(shop, "audit_secret_reader", SECRET)


def test_no_password_in_any_output(reader, tmp_path):
    outputs = []
    for args in ([], ["--format", "json"], ["--format", "markdown"], ["-o", tmp_path / "report.json"],
                 ["-o", tmp_path / "report.md"], ["-o", tmp_path / "report.txt"],
                 ["--indexes", "-o", tmp_path / "indexes.sql"], ["--indexes"]):
        result = invoke("profile", "--dsn", reader, *args)
        assert result.exit_code == (0 if "--indexes" in args else 1), result.stderr  # 1: the N+1 is high
        outputs += [result.stdout, result.stderr]
    for path in tmp_path.iterdir():
        outputs.append(path.read_text(encoding="utf-8"))
    assert len(outputs) == 16 + 4
    assert all(SECRET not in text for text in outputs)
    assert any("audit_secret_reader@127.0.0.1" in text for text in outputs)
    keyword = reader.replace("postgresql://", "")
    host_part = re.match(r"audit_secret_reader:[^@]+@([^:]+):(\d+)/(\w+)", keyword)
    dsn = (f"host={host_part.group(1)} port={host_part.group(2)} dbname={host_part.group(3)} "
           f"user=audit_secret_reader password={SECRET}")
    result = invoke("profile", "--dsn", dsn, "--format", "json")
    assert result.exit_code == 1 and SECRET not in result.stdout + result.stderr


def test_json_report_has_rankings_findings_and_verified_advice(reader):
    result = invoke("profile", "--dsn", reader, "--format", "json", "--top", "2")
    document = json.loads(result.stdout)
    assert document["schema_version"] == "profile-1.0"
    assert document["session"]["default_transaction_read_only"] == "on"
    # PRF101 needs 1 s of execution time by default: the 60 scans take about that, depending on the machine
    assert [f["rule"] for f in document["findings"] if f["rule"] != "PRF101"] == ["IDX101", "IDX103", "PRF102",
                                                                                   "PRF103"]
    assert document["summary"]["statements"] == 3 and document["summary"]["calls"] == 2061
    assert len(document["rankings"]["total_ms"]) == 2 and len(document["rankings"]["calls"]) == 2
    top_calls = next(s for s in document["statements"] if s["queryid"] == document["rankings"]["calls"][0])
    assert (top_calls["calls"], top_calls["rows_per_call"]) == (2000, 1.0)
    by_reference = next(s for s in document["statements"] if s["query"] == "SELECT id, total FROM books WHERE reference = $1")
    assert by_reference["plan"]["nodes"].endswith("Seq Scan on books")  # why it is slow (maybe under a Gather)
    assert by_reference["plan"]["indexes"] == ["(hypothetical) btree_books_reference_id_total"]
    advice = document["index_advice"]
    assert advice["verified"] is True and advice["totals"]["unplanned"] == 0
    [index] = advice["indexes"]
    assert index["ddl"] == 'CREATE INDEX ON "public"."books" ("reference") INCLUDE ("id", "total")'
    assert index["weighted_cost_after"] < index["weighted_cost_before"] / 100


def test_markdown_report(reader):
    result = invoke("profile", "--dsn", reader, "--format", "markdown")
    text = result.stdout
    assert text.startswith("# audit profile: audit_secret_reader@127.0.0.1:")
    assert "## Top statements by total time" in text and "## Index advice (verified with HypoPG)" in text
    assert "`SELECT id, total FROM books WHERE reference = $1` | " in text
    assert "### P1 high PRF102 N+1 signature in the workload (very many calls, one row each): statement " in text
    assert '- `CREATE INDEX ON "public"."books" ("reference") INCLUDE ("id", "total")`: weighted cost ' in text


def test_index_script_carries_the_measured_figures(reader, tmp_path):
    out = tmp_path / "indexes.sql"
    result = invoke("profile", "--dsn", reader, "--indexes", "-o", out)
    assert result.exit_code == 0
    assert result.stderr == f"audit: wrote {out} (1 indexes)\n"
    text = out.read_text(encoding="utf-8")
    assert text.startswith("-- Index script generated by audit ")
    assert "from the live workload (pg_stat_statements, HypoPG) of audit_secret_reader@127.0.0.1:" in text
    assert ('CREATE INDEX CONCURRENTLY IF NOT EXISTS "ix_books_reference" ON "public"."books" ("reference") '
            'INCLUDE ("id", "total");') in text
    measured = re.search(r"-- measured:\n--   weighted cost \(calls x cost\) of the statements it serves: "
                         r"([\d,.]+) -> ([\d,.]+) \(-(\d+\.\d)%\)", text)
    assert measured, text
    before, after = (float(measured.group(i).replace(",", "")) for i in (1, 2))
    assert after < before / 100
    assert re.search(r"--   statement -?\d+ \(60 calls, [\d,]+ ms\): cost [\d,.]+ -> [\d,.]+", text)
    assert '-- DROP INDEX CONCURRENTLY IF EXISTS "public"."ix_books_reference";' in text


def test_repo_links_hot_statements_to_file_and_line(shop, tmp_path):  # noqa: F811
    write_tree(tmp_path, {"shop/books.py": f'''
        def authors_of(cur, books):
            out = []
            for book in books:
                cur.execute("{N_PLUS_ONE}", (book.author_id,))
                out.append(cur.fetchone())
            return out


        def by_reference(cur, reference):
            cur.execute(
                "{BY_REFERENCE}",
                (reference,),
            )
            return cur.fetchone()
        '''})
    result = invoke("profile", "--dsn", shop, "--repo", tmp_path, "--format", "json")
    document = json.loads(result.stdout)
    code = {s["query"]: s["code"] for s in document["statements"]}
    assert code["SELECT id, name FROM authors WHERE id = $1"] == ["shop/books.py:4"]
    assert code["SELECT id, total FROM books WHERE reference = $1"] == ["shop/books.py:10"]
    n1 = next(f for f in document["findings"] if f["rule"] == "PRF102")
    assert n1["message"].endswith("; sent from shop/books.py:4")
    terminal = invoke("profile", "--dsn", shop, "--repo", tmp_path).stdout
    assert "↳ shop/books.py:4" in terminal and "↳ shop/books.py:10" in terminal


def test_wrong_port_is_one_clear_line(postgres):
    from auditor.profile.cluster import free_port

    port = free_port()
    result = invoke("profile", "--dsn", f"postgresql://bob:{SECRET}@127.0.0.1:{port}/shop")
    assert result.exit_code == 2
    assert result.stderr == f"audit: error: cannot connect to bob@127.0.0.1:{port}/shop: server unreachable " \
                            "(connection refused)\n"
    assert result.stdout == ""


@pytest.fixture
def password_role(postgres):
    """A role that must give its password (scram-sha-256 from 127.0.0.1; everyone else: trust)."""
    hba = postgres.data_dir / "pg_hba.conf"
    original = hba.read_text(encoding="utf-8")
    conn = postgres.connect(autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("DROP ROLE IF EXISTS audit_pw_reader")
        cur.execute("CREATE ROLE audit_pw_reader LOGIN PASSWORD 'right-password'")
        with open(hba, "w", encoding="utf-8") as handle:  # keeps the file's owner
            handle.write("host all audit_pw_reader 127.0.0.1/32 scram-sha-256\n" + original)
        cur.execute("SELECT pg_reload_conf()")
        yield f"127.0.0.1:{postgres.port}"
    finally:
        with open(hba, "w", encoding="utf-8") as handle:
            handle.write(original)
        conn.cursor().execute("SELECT pg_reload_conf()")
        conn.close()


def test_bad_password_is_one_clear_line(password_role):
    result = invoke("profile", "--dsn", f"postgresql://audit_pw_reader:{SECRET}@{password_role}/postgres")
    assert result.exit_code == 2
    assert result.stderr == (f"audit: error: cannot connect to audit_pw_reader@{password_role}/postgres: "
                             "authentication failed (wrong user name or password)\n")
    host, port = password_role.split(":")
    result = invoke("profile", "--dsn", f"host={host} port={port} user=audit_pw_reader password='{SECRET}' dbname=x")
    assert result.exit_code == 2 and SECRET not in result.stderr and "authentication failed" in result.stderr
    result = invoke("profile", "--dsn", f"postgresql://audit_pw_reader:right-password@{password_role}/postgres")
    assert result.exit_code == 0, result.stderr  # the right password gets in (and is not printed either)
    assert "right-password" not in result.stdout + result.stderr


def test_missing_pg_stat_statements_says_how_and_profiles_the_catalog(postgres):
    dsn = postgres.create_database("profile_no_pgss")
    conn = postgres.connect("profile_no_pgss", autocommit=True)
    try:
        conn.cursor().execute("CREATE TABLE t (id int PRIMARY KEY, v int); CREATE INDEX t_v_idx ON t (v)")
    finally:
        conn.close()
    result = invoke("profile", "--dsn", dsn, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ("audit: warning: pg_stat_statements is not available in this database: add it to "
                             "shared_preload_libraries (postgresql.conf, then restart) and run CREATE EXTENSION "
                             "pg_stat_statements; profiling the catalog only\n")
    document = json.loads(result.stdout)
    assert document["workload_available"] is False and document["index_advice"] is None
    assert [(f["rule"], f["function"]) for f in document["findings"]] == [("IDX103", "index public.t_v_idx")]


def test_without_hypopg_the_advice_is_unverified_and_says_so(postgres):
    dsn = postgres.create_database("profile_no_hypopg", extensions=("pg_stat_statements",))
    conn = postgres.connect("profile_no_hypopg", autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("CREATE TABLE t (id int PRIMARY KEY, ref text NOT NULL)")
        cur.execute("INSERT INTO t SELECT g, 'r' || g FROM generate_series(1, 20000) g")
        cur.execute("ANALYZE t")
        for i in range(5):
            cur.execute("SELECT id FROM t WHERE ref = %s", (f"r{i}",))
    finally:
        conn.close()
    result = invoke("profile", "--dsn", dsn, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ("audit: warning: HypoPG is not installed in this database: the index advice is not "
                             "verified (an administrator can run CREATE EXTENSION hypopg; it only creates "
                             "hypothetical, session-local indexes)\n")
    document = json.loads(result.stdout)
    advice = document["index_advice"]
    assert advice["verified"] is False
    assert [i["ddl"] for i in advice["indexes"]] == ['CREATE INDEX ON "public"."t" ("ref") INCLUDE ("id")']
    [finding] = [f for f in document["findings"] if f["rule"] == "IDX101"]
    assert finding["confidence"] == "medium" and "not verified: HypoPG is not installed" in finding["message"]


def test_insufficient_privileges_reports_what_could_be_read(postgres, shop):  # noqa: F811
    conn = postgres.connect(autocommit=True)
    try:
        conn.cursor().execute("DROP ROLE IF EXISTS audit_plain_reader; CREATE ROLE audit_plain_reader LOGIN")
    finally:
        conn.close()
    result = invoke("profile", "--dsn", with_user(shop, "audit_plain_reader", "x").replace(":x@", "@"),
                    "--format", "json")
    assert result.exit_code == 0
    lines = result.stderr.splitlines()
    assert lines[0].startswith("audit: warning: ") and lines[0].endswith(
        " statements of other users are hidden (<insufficient privilege>): GRANT pg_read_all_stats TO "
        "audit_plain_reader; the report covers this user's statements only")
    assert int(lines[0].split()[2]) >= 3
    document = json.loads(result.stdout)
    assert document["summary"]["hidden_statements"] >= 3
    assert document["summary"]["tables"] == 2  # the catalog is still read
    assert ("IDX103", "index public.books_total_idx") in [(f["rule"], f["function"]) for f in document["findings"]]


def test_profile_without_a_dsn_is_a_usage_error():
    env = {key: "" for key in ("AUDIT_DSN", "DATABASE_URL")}
    result = invoke("profile", env=env)
    assert result.exit_code == 2
    assert result.stderr == ("audit: error: no database to profile: pass --dsn (or set AUDIT_DSN or DATABASE_URL), "
                             "or try --demo\n")


def test_dsn_from_the_environment(shop):  # noqa: F811
    result = invoke("profile", "--format", "json", env={"AUDIT_DSN": "", "DATABASE_URL": shop})
    assert result.exit_code == 1 and json.loads(result.stdout)["database"] == "profile_shop"


def test_demo_without_server_binaries_is_one_line(tmp_path):
    result = invoke("profile", "--demo", env={"AUDIT_PG_BINDIR": str(tmp_path)})
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("audit: error: audit profile --demo needs the PostgreSQL server binaries")


def test_demo_profiles_a_throwaway_cluster(postgres, monkeypatch):
    import tempfile
    from pathlib import Path

    made = []
    mkdtemp = tempfile.mkdtemp

    def recording_mkdtemp(*args, **kwargs):
        made.append(mkdtemp(*args, **kwargs))
        return made[-1]

    monkeypatch.setattr(tempfile, "mkdtemp", recording_mkdtemp)
    result = invoke("profile", "--demo", "--format", "json")
    clusters = [path for path in made if Path(path).name.startswith("audit-pg-")]
    assert len(clusters) == 1 and not Path(clusters[0]).exists()  # the demo's cluster is gone
    assert result.exit_code == 1, result.stderr  # the N+1 (PRF102) is high
    document = json.loads(result.stdout)
    assert document["database"] == "billing_demo"
    rules = {(f["rule"], f["function"]) for f in document["findings"]}
    assert ("IDX102", "index public.invoices_customer_id_idx") in rules
    assert ("IDX103", "index public.invoices_customer_id_issued_at_idx") in rules
    assert {rule for rule, _ in rules} >= {"PRF102", "IDX101", "IDX102", "IDX103"}
    n1 = next(f for f in document["findings"] if f["rule"] == "PRF102")
    assert n1["message"].endswith("sent from billing/customers.py:7")
    chosen = {i["ddl"] for i in document["index_advice"]["indexes"]}
    assert 'CREATE INDEX ON "public"."payments" ("provider_ref") INCLUDE ("id", "invoice_id", "status")' in chosen
    assert 'CREATE INDEX ON "public"."customers" ((lower(email)))' in chosen


def test_scan_dsn_raises_the_priority_of_hot_statements(postgres):
    project = REPO_ROOT / "sample_projects" / "billing_postgres"
    dsn = postgres.create_database("profile_billing_scan", extensions=("pg_stat_statements",))
    conn = postgres.connect("profile_billing_scan", autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute((project / "schema.sql").read_text(encoding="utf-8"))
        cur.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)")
        for i in range(300):
            cur.execute("SELECT id, name, plan FROM customers WHERE lower(email) = lower(%s)", (f"u{i}@x.io",))
    finally:
        conn.close()
    plain = json.loads(invoke("scan", project, "--format", "json", "--fail-on", "none").stdout)
    live = invoke("scan", project, "--format", "json", "--fail-on", "none", "--dsn", dsn)
    assert live.exit_code == 0, live.stderr
    live_doc = json.loads(live.stdout)
    jsonschema.Draft202012Validator(REPORT_SCHEMA).validate(live_doc)
    assert live.stderr == "audit: live workload: 1 statements in pg_stat_statements; 2 findings send one of them\n"
    before = {(f["rule"], f["path"], f["line"]): f for f in plain["findings"]}
    after = {(f["rule"], f["path"], f["line"]): f for f in live_doc["findings"]}
    assert set(before) == set(after)
    changed = sorted(key for key in after if "workload" in after[key]["context"])
    assert changed == [("IDX101", "billing/customers.py", 17), ("SQL101", "billing/customers.py", 18)]
    for key in changed:
        workload = after[key]["context"]["workload"]
        assert workload["calls"] == 300 and workload["rows_per_call"] == 0.0 and workload["total_ms"] > 0
        assert workload["mean_ms"] == pytest.approx(workload["total_ms"] / 300, abs=1e-3)
        # the only statement of the workload: 100% of its time, two severity levels up
        assert workload["raised_from"] == before[key]["severity"]
        assert SEVERITIES.index(after[key]["severity"]) == max(SEVERITIES.index(before[key]["severity"]) - 2, 0)
    for key in set(after) - set(changed):
        assert after[key]["severity"] == before[key]["severity"] and after[key]["priority"] == before[key]["priority"]


SEVERITIES = ["critical", "high", "medium", "low", "info"]


def test_scan_dsn_unreachable_is_a_warning_and_the_scan_goes_on(tmp_path):
    from auditor.profile.cluster import free_port

    write_tree(tmp_path, {"app.py": "def f(cur):\n    cur.execute('SELECT 1')\n"})
    port = free_port()
    result = invoke("scan", tmp_path, "--format", "json", "--dsn", f"postgresql://u:{SECRET}@127.0.0.1:{port}/d")
    assert result.exit_code == 0
    assert result.stderr == (f"audit: warning: cannot connect to u@127.0.0.1:{port}/d: server unreachable "
                             "(connection refused); findings are not ranked by the live workload\n")
    assert SECRET not in result.stdout


def test_scan_dsn_raises_a_db101_whose_query_is_hot(postgres, tmp_path):
    write_tree(tmp_path, {"app/jobs.py": '''
        def totals(cur, customer_ids):
            out = []
            for customer_id in customer_ids:
                cur.execute("SELECT sum(total) FROM ledger WHERE customer_id = %s", (customer_id,))
                out.append(cur.fetchone()[0])
            return out
        '''})
    plain = json.loads(invoke("scan", tmp_path, "--format", "json", "--fail-on", "none").stdout)
    assert [(f["rule"], f["path"], f["line"], f["severity"]) for f in plain["findings"]] == [
        ("DB101", "app/jobs.py", 4, "high")]
    dsn = postgres.create_database("profile_db101", extensions=("pg_stat_statements",))
    conn = postgres.connect("profile_db101", autocommit=True)
    try:
        cur = conn.cursor()
        cur.execute("CREATE TABLE ledger (id int PRIMARY KEY, customer_id int, total int)")
        cur.execute("SELECT pg_stat_statements_reset(0, (SELECT oid FROM pg_database WHERE datname = current_database()), 0)")
        for customer_id in range(25):
            cur.execute("SELECT sum(total) FROM ledger WHERE customer_id = %s", (customer_id,))
    finally:
        conn.close()
    live = json.loads(invoke("scan", tmp_path, "--format", "json", "--fail-on", "none", "--dsn", dsn).stdout)
    [finding] = live["findings"]
    assert (finding["rule"], finding["severity"], finding["priority"]) == ("DB101", "critical", "P0")
    assert finding["context"]["workload"]["calls"] == 25
    assert finding["context"]["workload"]["raised_from"] == "high"


def test_pg_stat_statements_created_but_not_preloaded():
    from auditor.profile.cluster import PostgresCluster, find_bindir

    if find_bindir() is None:
        pytest.skip("no PostgreSQL server binaries")
    with PostgresCluster(dbname="no_preload", extensions=("pg_stat_statements",),
                         settings={"shared_preload_libraries": "''"}) as cluster:
        assert cluster.has_pg_stat_statements  # CREATE EXTENSION works; reading the view does not
        result = invoke("profile", "--dsn", cluster.dsn, "--format", "json")
    assert result.exit_code == 0
    assert result.stderr == ("audit: warning: pg_stat_statements is installed but not loaded: add it to "
                             "shared_preload_libraries (postgresql.conf) and restart the server; profiling the "
                             "catalog only\n")
    assert json.loads(result.stdout)["workload_available"] is False
