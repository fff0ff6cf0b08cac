#!/usr/bin/env python3
"""Index-quality benchmark: workload EXPLAIN cost without indexes, with naive indexes, with ours.

In one run, against a private throwaway PostgreSQL cluster (auditor/profile/cluster.py):

1. load ``sample_projects/billing_postgres/schema.sql`` and ``benchmarks/workload/datagen.sql``
   (about 1.2 million rows), ``VACUUM ANALYZE``;
2. run the sample project's own functions with realistic parameters through a tracing cursor
   (``benchmarks/workload/workload.py``): 30 statements, each exactly as the code has it;
3. for each configuration, create its indexes, ``ANALYZE``, and sum the top-level
   ``Total Cost`` of ``EXPLAIN (FORMAT JSON)`` of every statement (parameters bound); then drop
   the indexes again:

   (a) none      the schema as it is (primary keys, unique constraints, its two indexes);
   (b) naive     one single-column btree per column in any WHERE clause of the workload
                 (found with sqlglot), unless an existing index already starts with it;
   (c) ours      the script written by ``audit indexes sample_projects/billing_postgres
                 --dialect postgres -o FILE``, every statement executed in autocommit mode;
   (d) profile   (``--profile``) the script written by ``audit profile --dsn DSN --indexes -o FILE``
                 right after the traced run: advice from pg_stat_statements, verified with HypoPG;
                 and ``profile+repo``: the same with ``--repo`` the sample project (the code's text of
                 each statement keeps the constants that pg_stat_statements replaces with $n);
   (e) reference (``--reference``) a hand-picked set, to show what is reachable.

Targets: ours <= 30% of the no-index cost, fewer indexes than naive, lower cost than naive.
Exit code 0, or with ``--check`` 1 when a target fails (or ours is unavailable); 2 when the
benchmark itself cannot run (no PostgreSQL, no psycopg2/Flask/sqlglot).
"""

from __future__ import annotations

import argparse
import json
import shlex
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO_ROOT = HERE.parent
sys.path.insert(0, str(REPO_ROOT))
sys.path.insert(0, str(HERE / "workload"))

import workload  # noqa: E402  (benchmarks/workload/workload.py)

TARGET_RATIO = 0.30

# A hand-picked index set for the workload (--reference): what a careful DBA would add after
# reading the code. Not the optimum; a yardstick for "ours".
REFERENCE_INDEXES = [
    "CREATE INDEX ref_customers_lower_email ON customers (lower(email))",
    "CREATE INDEX ref_customers_name_pattern ON customers (name text_pattern_ops)",
    "CREATE INDEX ref_orders_customer_status_created ON orders (customer_id, status, created_at)",
    "CREATE INDEX ref_orders_customer_created ON orders (customer_id, created_at)",
    "CREATE INDEX ref_orders_created ON orders (created_at)",
    "CREATE INDEX ref_orders_pending_created ON orders (created_at) WHERE status = 'pending'",
    "CREATE INDEX ref_order_items_order ON order_items (order_id)",
    "CREATE INDEX ref_order_items_sku_pattern ON order_items (sku text_pattern_ops)",
    "CREATE INDEX ref_invoices_order ON invoices (order_id)",
    "CREATE INDEX ref_invoices_open_due ON invoices (due_at) WHERE status = 'open'",
    "CREATE INDEX ref_payments_invoice ON payments (invoice_id)",
    "CREATE INDEX ref_payments_provider_ref ON payments (provider_ref)",
    "CREATE INDEX ref_payments_account_created ON payments (account_id, created_at)",
    "CREATE INDEX ref_payments_failed_created ON payments (created_at) WHERE status = 'failed'",
    "CREATE INDEX ref_events_customer_type_created ON events (customer_id, type, created_at)",
    "CREATE INDEX ref_events_created ON events (created_at)",
]


# -- SQL helpers ------------------------------------------------------------------------------

def split_sql(text: str) -> list:
    """Split a script into statements (quotes, dollar quotes and comments respected).

    psql meta-commands (a line starting with a backslash, e.g. ``\\set ON_ERROR_STOP on``)
    are not SQL and are left out.
    """
    statements, buf, i, n = [], [], 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "\\" and (i == 0 or text[i - 1] == "\n") and not "".join(buf).strip():
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if text.startswith("--", i):
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            buf.append("\n")
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            i = n if end < 0 else end + 2
            buf.append(" ")
            continue
        if ch in ("'", '"'):
            j = i + 1
            while j < n:
                if text[j] == ch:
                    if j + 1 < n and text[j + 1] == ch:
                        j += 2
                        continue
                    break
                j += 1
            buf.append(text[i:j + 1])
            i = j + 1
            continue
        if ch == "$":
            j = i + 1
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            if j < n and text[j] == "$":
                tag = text[i:j + 1]
                end = text.find(tag, j + 1)
                end = n if end < 0 else end + len(tag)
                buf.append(text[i:end])
                i = end
                continue
        if ch == ";":
            statements.append("".join(buf).strip())
            buf = []
            i += 1
            continue
        buf.append(ch)
        i += 1
    statements.append("".join(buf).strip())
    return [s for s in statements if s]


def explain_cost(cur, sql: str) -> tuple:
    """(top-level Total Cost, names of the indexes the plan uses)."""
    cur.execute("EXPLAIN (FORMAT JSON) " + sql)
    plan = cur.fetchone()[0][0]["Plan"]
    used, stack = set(), [plan]
    while stack:
        node = stack.pop()
        if node.get("Index Name"):
            used.add(node["Index Name"])
        stack.extend(node.get("Plans", ()))
    return float(plan["Total Cost"]), sorted(used)


def execution_ms(cur, sql: str, repeat: int = 3) -> float:
    """Fastest ``Execution Time`` of ``EXPLAIN ANALYZE`` over ``repeat`` runs, rolled back."""
    best = float("inf")
    for _ in range(repeat):
        cur.execute("BEGIN")
        try:
            cur.execute("EXPLAIN (ANALYZE, FORMAT JSON) " + sql)
            best = min(best, float(cur.fetchone()[0][0]["Execution Time"]))
        finally:
            cur.execute("ROLLBACK")
    return best


def user_indexes(cur) -> dict:
    """name -> definition of every index in the public schema."""
    cur.execute("SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public'")
    return dict(cur.fetchall())


def leading_columns(cur) -> set:
    """(table, column) pairs that are the first key of an existing index."""
    cur.execute(
        """
        SELECT t.relname, a.attname
        FROM pg_index x
        JOIN pg_class t ON t.oid = x.indrelid
        JOIN pg_namespace s ON s.oid = t.relnamespace AND s.nspname = 'public'
        JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
        WHERE x.indkey[0] <> 0
        """
    )
    return set(cur.fetchall())


def table_columns(cur) -> dict:
    cur.execute(
        "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public'"
    )
    columns: dict = {}
    for table, column in cur.fetchall():
        columns.setdefault(table, set()).add(column)
    return columns


def where_columns(sql: str, columns: dict) -> set:
    """(table, column) of every column referenced in a WHERE clause of ``sql`` (sqlglot)."""
    import sqlglot
    from sqlglot import exp

    found = set()
    tree = sqlglot.parse_one(sql, read="postgres")
    for where in tree.find_all(exp.Where):
        scope = where.parent
        tables = {}
        for table in scope.find_all(exp.Table):
            tables[table.alias_or_name] = table.name
        for col in where.find_all(exp.Column):
            if col.table:
                table = tables.get(col.table, col.table)
            else:
                owners = [t for t in set(tables.values()) if col.name in columns.get(t, ())]
                if len(owners) != 1:
                    continue
                table = owners[0]
            if col.name in columns.get(table, ()):
                found.add((table, col.name))
    return found


# -- configurations ---------------------------------------------------------------------------

class Bench:
    def __init__(self, cluster, statements, analyze=False):
        self.cluster = cluster
        self.statements = statements
        self.analyze = analyze
        self.conn = cluster.connect(autocommit=True)
        self.cur = self.conn.cursor()
        self.baseline = user_indexes(self.cur)

    def drop_added(self) -> None:
        for name in sorted(set(user_indexes(self.cur)) - set(self.baseline)):
            self.cur.execute(f'DROP INDEX IF EXISTS "{name}"')

    def measure(self, label: str, ddl: list) -> dict:
        """Create ``ddl`` (autocommit, one by one), ANALYZE, EXPLAIN the workload, drop again."""
        self.drop_added()
        errors, started = [], time.monotonic()
        for statement in ddl:
            try:
                self.cur.execute(statement)
            except Exception as exc:  # psycopg2.Error; report and go on
                errors.append({"statement": statement, "error": str(exc).strip().splitlines()[0]})
        build_s = time.monotonic() - started
        self.cur.execute("RESET ALL")  # a script's SET lock_timeout etc. must not leak into the next run
        self.cur.execute("ANALYZE")
        created = {
            name: definition for name, definition in user_indexes(self.cur).items() if name not in self.baseline
        }
        costs, used, times = [], [], []
        for statement in self.statements:
            cost, indexes = explain_cost(self.cur, statement.bound)
            costs.append(cost)
            used.append(indexes)
            if self.analyze:
                times.append(execution_ms(self.cur, statement.bound))
        self.drop_added()
        return {
            "label": label,
            "indexes": created,
            "index_count": len(created),
            "errors": errors,
            "build_seconds": round(build_s, 2),
            "costs": costs,
            "used": used,
            "total": sum(costs),
            "execution_ms": times,
            "total_ms": sum(times),
        }


def naive_ddl(cur, statements) -> list:
    columns = table_columns(cur)
    leading = leading_columns(cur)
    wanted = set()
    for statement in statements:
        wanted |= where_columns(statement.bound, columns)
    return [
        f"CREATE INDEX naive_{table}_{column} ON {table} ({column})"
        for table, column in sorted(wanted - leading)
    ]


def run_audit_profile(audit_cmd: list, tmp: Path, dsn: str, timeout: float, repo: bool = False) -> tuple:
    """(statements, report, message): the index script of ``audit profile --indexes`` (advice from
    pg_stat_statements, verified with HypoPG; with ``repo``, ``--repo`` the sample project) and its
    JSON report, or [] / {} and why not."""
    script, report = tmp / f"profile-{repo}.sql", tmp / f"profile-{repo}.json"
    extra = ["--repo", str(workload.PROJECT)] if repo else []
    runs = (["profile", "--dsn", dsn, "--indexes", "-o", str(script)] + extra,
            ["profile", "--dsn", dsn, "-o", str(report)] + extra)
    for args in runs:
        shown = " ".join(shlex.quote(c) for c in audit_cmd + args[:1] + ["--dsn", "DSN"] + args[3:])
        try:
            result = subprocess.run(audit_cmd + args, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [], {}, f"`{shown}` could not run: {exc}"
        if result.returncode != 0:
            return [], {}, f"`{shown}` exited with {result.returncode}: {(result.stderr or result.stdout).strip()[-800:]}"
    document = json.loads(report.read_text(encoding="utf-8"))
    return split_sql(script.read_text(encoding="utf-8")), document, "`audit profile --dsn DSN --indexes` exited with 0"


def run_audit_indexes(audit_cmd: list, out: Path, dsn: str | None, timeout: float) -> tuple:
    """(statements, message): the script's statements, or [] and why not."""
    cmd = audit_cmd + ["indexes", str(workload.PROJECT), "--dialect", "postgres", "-o", str(out)]
    if dsn:
        cmd += ["--dsn", dsn]
    shown = " ".join(shlex.quote(c) for c in cmd)
    try:
        result = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True, timeout=timeout)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return [], f"`{shown}` could not run: {exc}"
    if not out.is_file():
        tail = (result.stderr or result.stdout).strip()[-800:]
        return [], f"`{shown}` exited with {result.returncode} and wrote no script:\n{tail}"
    text = out.read_text(encoding="utf-8")
    statements = split_sql(text)
    if result.returncode not in (0, 1):
        return statements, f"`{shown}` exited with {result.returncode} (script used anyway)"
    return statements, f"`{shown}` exited with {result.returncode}"


# -- output ---------------------------------------------------------------------------------------

def fmt_cost(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:,.2f}"


def print_summary(results: list, base_total: float, analyze: bool) -> None:
    print()
    extra = f" {'exec ms':>9} {'ratio':>7}" if analyze else ""
    print(f"{'configuration':<12} {'indexes':>7} {'total cost':>14} {'ratio':>7}{extra}  build s")
    base_ms = results[0]["total_ms"] or 1.0
    for r in results:
        if r is None:
            continue
        extra = f" {r['total_ms']:>9.1f} {r['total_ms'] / base_ms:>6.1%}" if analyze else ""
        print(f"{r['label']:<12} {r['index_count']:>7} {fmt_cost(r['total']):>14} "
              f"{r['total'] / base_total:>6.1%}{extra}  {r['build_seconds']:>6}")


def print_per_query(statements, results: list, analyze: bool) -> None:
    present = [r for r in results if r is not None]
    print()
    print("per statement: EXPLAIN total cost" + (" | EXPLAIN ANALYZE execution ms (best of 3)" if analyze else ""))
    header = f"{'#':>2} {'statement':<44}" + "".join(f" {r['label']:>10}" for r in present)
    if analyze:
        header += " |" + "".join(f" {r['label']:>9}" for r in present)
    print(header)
    for i, statement in enumerate(statements):
        loc = statement.location.split()[0].replace("billing/", "")
        line = f"{i + 1:>2} {(loc + ' ' + statement.call)[:44]:<44}"
        line += "".join(f" {fmt_cost(r['costs'][i]):>10}" for r in present)
        if analyze:
            line += " |" + "".join(f" {r['execution_ms'][i]:>9.2f}" for r in present)
        print(line)
    for r in present[1:]:
        print(f"\nindexes used by the plans with {r['label']}:")
        for i, statement in enumerate(statements):
            if r["used"][i]:
                print(f"  {i + 1:>2} {', '.join(r['used'][i])}")
        unused = sorted(set(r["indexes"]) - {name for names in r["used"] for name in names})
        if unused:
            print(f"  never used: {', '.join(unused)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-v", "--verbose", action="store_true", help="per-query costs and the indexes each plan uses")
    parser.add_argument("--reference", action="store_true", help="also measure the hand-picked reference set")
    parser.add_argument("--analyze", action="store_true",
                        help="also time every statement with EXPLAIN ANALYZE (best of 3, rolled back)")
    parser.add_argument("--audit-cmd", default=f"{shlex.quote(sys.executable)} -m auditor",
                        help="how to run the CLI (split with shlex; default: this python -m auditor)")
    parser.add_argument("--audit-dsn", action="store_true",
                        help="pass the benchmark database to `audit indexes --dsn` (live catalog, pg_stat_statements)")
    parser.add_argument("--profile", action="store_true",
                        help="also measure `audit profile --dsn --indexes` (advice from pg_stat_statements of the "
                             "traced run, verified with HypoPG), without and with --repo the sample project")
    parser.add_argument("--script", type=Path, help="use this index script as 'ours' instead of running audit")
    parser.add_argument("--timeout", type=float, default=300, help="seconds allowed for `audit indexes`")
    parser.add_argument("--json", type=Path, help="also write every figure as JSON")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target fails or ours is unavailable")
    parser.add_argument("--keep", action="store_true", help="keep the loaded cluster until Ctrl-C (prints its DSN)")
    args = parser.parse_args(argv)

    try:
        import psycopg2  # noqa: F401
        import sqlglot  # noqa: F401
        import flask  # noqa: F401
    except ImportError as exc:
        print(f"bench_indexes: {exc.name} is missing: pip install psycopg2-binary sqlglot flask", file=sys.stderr)
        return 2
    from auditor.profile.cluster import PostgresCluster, PostgresUnavailable

    started = time.monotonic()
    cluster = PostgresCluster(dbname="billing_bench", extensions=("pg_stat_statements", "hypopg"))
    try:
        cluster.start()
    except PostgresUnavailable as exc:
        print(f"bench_indexes: {exc}", file=sys.stderr)
        return 2
    try:
        return _run(args, cluster, started)
    finally:
        if args.keep and cluster.running:
            print(f"\ncluster kept at {cluster.dsn} (Ctrl-C or SIGTERM stops and deletes it)", flush=True)
            signal.signal(signal.SIGTERM, _interrupt)
            signal.signal(signal.SIGINT, _interrupt)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        cluster.stop()


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def _run(args, cluster, started) -> int:
    print(f"PostgreSQL {cluster.version} ({cluster.bindir}), collation {cluster.locale}, "
          f"hypopg {'yes' if cluster.has_hypopg else 'no'}")
    conn = cluster.connect(autocommit=True)
    cur = conn.cursor()
    t0 = time.monotonic()
    cur.execute(workload.SCHEMA_SQL.read_text(encoding="utf-8"))
    cur.execute(workload.DATAGEN_SQL.read_text(encoding="utf-8"))
    cur.execute("VACUUM ANALYZE")
    cur.execute(
        "SELECT sum(n_live_tup)::bigint, count(*) FROM pg_stat_user_tables WHERE schemaname = 'public'"
    )
    rows, tables = cur.fetchone()
    print(f"loaded {rows:,} rows in {tables} tables in {time.monotonic() - t0:.1f} s")

    if cluster.has_pg_stat_statements:
        cur.execute("SELECT pg_stat_statements_reset()")  # --audit-dsn sees the workload only
    statements = workload.trace(cluster.dsn)
    print(f"workload: {len(statements)} statements traced from {workload.PROJECT.relative_to(REPO_ROOT)}")
    cur.execute("VACUUM ANALYZE")

    # Ours is generated before any EXPLAIN runs, so that pg_stat_statements holds the workload.
    ddl, ours_note = None, ""
    with tempfile.TemporaryDirectory(prefix="bench-indexes-") as tmp:
        if args.script:
            ddl, ours_note = split_sql(args.script.read_text(encoding="utf-8")), f"script {args.script}"
        else:
            ddl, ours_note = run_audit_indexes(
                shlex.split(args.audit_cmd), Path(tmp) / "indexes.sql",
                cluster.dsn if args.audit_dsn else None, args.timeout,
            )
            if not ddl and not Path(tmp, "indexes.sql").is_file():
                ddl = None
        profiles = []  # (label, statements or None, JSON report, note)
        for label, repo in (("profile", False), ("profile+repo", True)) if args.profile else ():
            profile_ddl, profile_doc, profile_note = run_audit_profile(
                shlex.split(args.audit_cmd), Path(tmp), cluster.dsn, args.timeout, repo)
            profiles.append((label, profile_ddl if profile_doc else None, profile_doc, profile_note))

    bench = Bench(cluster, statements, analyze=args.analyze)
    results = [bench.measure("none", [])]
    naive = naive_ddl(cur, statements)
    results.append(bench.measure("naive", naive))
    ours = None
    if ddl is not None:
        ours = bench.measure("ours", ddl)
        ours["statements"] = ddl
    results.append(ours)
    profiled = []
    for label, profile_ddl, _, _ in profiles:
        measured = bench.measure(label, profile_ddl) if profile_ddl is not None else None
        if measured is not None:
            measured["statements"] = profile_ddl
            results.append(measured)
        profiled.append(measured)
    if args.reference:
        results.append(bench.measure("reference", REFERENCE_INDEXES))

    base_total = results[0]["total"]
    print_summary(results, base_total, args.analyze)
    if ours is None:
        print(f"\nours: NOT AVAILABLE: {ours_note}")
    else:
        print(f"\nours: {ours_note}; {len(ours['statements'])} statements executed")
        for error in ours["errors"]:
            print(f"  FAILED: {error['statement'][:120]}\n          {error['error']}")
    for (label, _, profile_doc, profile_note), measured in zip(profiles, profiled):
        if measured is None:
            print(f"\n{label}: NOT AVAILABLE: {profile_note}")
            continue
        totals = (profile_doc.get("index_advice") or {}).get("totals", {})
        print(f"\n{label}: {profile_note}; {len(measured['statements'])} statements executed; "
              f"pg_stat_statements: {profile_doc['summary']['statements']} statements, "
              f"{totals.get('planned', 0)} planned ({totals.get('rewritten', 0)} only after rewriting typed "
              f"literals or untyped parameters), {totals.get('unplanned', 0)} could not be planned")
        for error in measured["errors"]:
            print(f"  FAILED: {error['statement'][:120]}\n          {error['error']}")
    if args.verbose:
        print_per_query(statements, results, args.analyze)
        for r in results[1:]:
            if r is not None and r["indexes"]:
                print(f"\n{r['label']} indexes:")
                for definition in sorted(r["indexes"].values()):
                    print(f"  {definition}")

    checks = []
    naive_r = results[1]
    if ours is not None:
        checks = [
            (f"ours <= {TARGET_RATIO:.0%} of the no-index cost", ours["total"] <= TARGET_RATIO * base_total,
             f"{ours['total'] / base_total:.1%}"),
            ("ours has fewer indexes than naive", ours["index_count"] < naive_r["index_count"],
             f"{ours['index_count']} vs {naive_r['index_count']}"),
            ("ours costs less than naive", ours["total"] < naive_r["total"],
             f"{fmt_cost(ours['total'])} vs {fmt_cost(naive_r['total'])}"),
        ]
    print("\ntargets:")
    if not checks:
        print("  n/a: ours is not available")
    for text, ok, detail in checks:
        print(f"  {'PASS' if ok else 'FAIL'}  {text} ({detail})")
    elapsed = time.monotonic() - started
    print(f"\n{elapsed:.0f} s in total")

    if args.json:
        payload = {
            "postgres": cluster.version,
            "collation": cluster.locale,
            "rows": rows,
            "statements": [
                {"call": s.call, "location": s.location, "sql": s.sql, "bound": s.bound} for s in statements
            ],
            "configurations": [r for r in results if r is not None],
            "ours_note": ours_note,
            "profiles": [{"label": label, "note": note, "advice": (document or {}).get("index_advice")}
                         for label, _, document, note in profiles],
            "targets": [{"target": t, "pass": ok, "detail": d} for t, ok, d in checks],
            "seconds": round(elapsed, 1),
        }
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(payload, indent=2, default=str) + "\n", encoding="utf-8")
    if args.check and (not checks or not all(ok for _, ok, _ in checks)):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
