"""``audit profile --demo``: a throwaway local PostgreSQL with the billing sample project's schema,
generated data and a workload with known problems, profiled, then removed.

The workload sends the sample project's own statements (``sample_projects/billing_postgres``):
an N+1 (the customer of each of 1,500 orders loaded one by one), lookups no index serves
(payments by ``provider_ref``, invoices by ``order_id``, customers by ``lower(email)``), and
the schema's invoice indexes, one redundant and one that no statement uses.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Optional

from auditor.profile.connection import ProfileError
from auditor.profile.live_findings import Thresholds

_PACKAGE_DIR = Path(__file__).resolve().parent.parent
SAMPLE_PROJECT = _PACKAGE_DIR.parent / "sample_projects" / "billing_postgres"
NO_SERVER = ("audit profile --demo needs the PostgreSQL server binaries (initdb, pg_ctl, postgres), which were not "
             "found: install them (Debian/Ubuntu: apt-get install postgresql postgresql-contrib "
             "postgresql-NN-hypopg) or point AUDIT_PG_BINDIR at their directory")

DATA_SQL = """
SELECT setseed(0.42);
SET session_replication_role = replica;
INSERT INTO customers (id, email, name, country, plan, created_at)
SELECT g, 'User' || g || '@' || (ARRAY['Example.com', 'Mail.net', 'Corp.io'])[1 + g % 3], 'Customer ' || g,
       (ARRAY['US', 'GB', 'DE', 'FR', 'NL'])[1 + g % 5], CASE WHEN g % 10 = 0 THEN 'pro' ELSE 'free' END,
       now() - interval '700 days' * (1 - g / 20000.0)
FROM generate_series(1, 20000) AS g;
INSERT INTO accounts (id, customer_id, currency) SELECT id, id, 'USD' FROM customers;
INSERT INTO orders (id, customer_id, account_id, status, total_cents, currency, created_at, updated_at)
SELECT g, c, c, CASE WHEN g > 99000 THEN 'pending' ELSE 'done' END, 500 + (g * 37) % 50000, 'USD',
       now() - interval '700 days' * (1 - g / 100000.0), now()
FROM (SELECT g, 1 + floor(random() * 20000)::int AS c FROM generate_series(1, 100000) AS g) AS s;
INSERT INTO invoices (id, order_id, customer_id, number, status, amount_cents, issued_at, due_at)
SELECT o.id, o.id, o.customer_id, 'INV-' || o.id, CASE WHEN o.id > 98000 THEN 'open' ELSE 'paid' END,
       o.total_cents, o.created_at, o.created_at + interval '30 days'
FROM orders o WHERE o.id % 5 <> 0;
INSERT INTO payments (id, invoice_id, account_id, amount_cents, method, status, provider_ref, created_at)
SELECT i.id, i.id, i.customer_id, i.amount_cents, 'card', 'succeeded', 'ch_' || md5(i.id::text), i.issued_at
FROM invoices i WHERE i.status = 'paid';
SET session_replication_role = DEFAULT;
"""

ORDERS_PAGE = ("SELECT id, customer_id, status, total_cents, created_at FROM orders "
               "ORDER BY created_at DESC LIMIT %s OFFSET %s")
GET_CUSTOMER = "SELECT id, email, name, country, plan, created_at FROM customers WHERE id = %s"
FIND_PAYMENT = "SELECT id, invoice_id, status FROM payments WHERE provider_ref = %s"
INVOICE_FOR_ORDER = "SELECT id, number, status, amount_cents, due_at FROM invoices WHERE order_id = %s"
CUSTOMER_BY_EMAIL = "SELECT id, name, plan FROM customers WHERE lower(email) = lower(%s)"
RECENT_ORDERS = ("SELECT id, status, total_cents, currency, created_at FROM orders "
                 "WHERE customer_id = %s AND status = %s ORDER BY created_at DESC LIMIT %s")
DEMO_THRESHOLDS = Thresholds(hot_min_ms=100.0)  # a two-second workload: PRF101 from 100 ms on


def schema_sql() -> str:
    """The billing sample project's schema (the wheel ships a copy)."""
    for candidate in (_PACKAGE_DIR / "_data" / "demo" / "billing_schema.sql", SAMPLE_PROJECT / "schema.sql"):
        if candidate.is_file():
            return candidate.read_text(encoding="utf-8")
    raise ProfileError("the demo schema (billing_schema.sql) is missing from this installation")


def run_workload(conn) -> int:
    """Send the demo workload; returns the number of statements executed."""
    rng = random.Random(7)
    cur = conn.cursor()
    sent = 0
    for page in range(6):  # the back-office list, then the customer of every order, one by one (N+1)
        cur.execute(ORDERS_PAGE, (250, page * 250))
        orders = cur.fetchall()
        sent += 1
        for _, customer_id, *_ in orders:
            cur.execute(GET_CUSTOMER, (customer_id,))
            cur.fetchone()
            sent += 1
    for _ in range(40):
        invoice = rng.randint(1, 98000)
        cur.execute(FIND_PAYMENT, (f"ch_{invoice}",))  # webhook de-duplication: never an index
        cur.fetchone()
        cur.execute(INVOICE_FOR_ORDER, (rng.randint(1, 100000),))
        cur.fetchone()
        cur.execute(CUSTOMER_BY_EMAIL, (f"user{rng.randint(1, 20000)}@example.com",))
        cur.fetchone()
        sent += 3
    for _ in range(20):
        cur.execute(RECENT_ORDERS, (rng.randint(1, 20000), "done", 20))
        cur.fetchall()
        sent += 1
    return sent


def flush_statistics(conn) -> None:
    """Make this session's table and index statistics visible to other sessions now (PostgreSQL 15+
    flushes them when the session next goes idle; older servers send them within half a second)."""
    import time

    cur = conn.cursor()
    cur.execute("SELECT current_setting('server_version_num')::int")
    if cur.fetchone()[0] >= 150000:
        cur.execute("SELECT pg_stat_force_next_flush()")  # flushed before the server reports it is ready
    else:
        time.sleep(1.0)


def run_demo(top: int = 10, repo: Optional[Path] = None, progress=None):
    """Start a cluster, load and run the demo, profile it, remove the cluster: the ProfileReport."""
    from auditor.profile.cluster import PostgresCluster, PostgresUnavailable, find_bindir
    from auditor.profile.run import ProfileOptions, profile

    if find_bindir() is None:
        raise ProfileError(NO_SERVER)
    say = progress or (lambda message: None)
    cluster = PostgresCluster(dbname="billing_demo")
    try:
        say("starting a throwaway PostgreSQL cluster")
        cluster.start()
    except PostgresUnavailable as exc:
        raise ProfileError(f"audit profile --demo: {exc}") from None
    except (RuntimeError, OSError) as exc:
        cluster.stop()
        raise ProfileError(f"audit profile --demo could not start PostgreSQL: {str(exc).strip().splitlines()[0]}") \
            from None
    try:
        conn = cluster.connect(autocommit=True)
        try:
            say(f"loading the billing schema and data (PostgreSQL {cluster.version})")
            cur = conn.cursor()
            cur.execute(schema_sql())
            cur.execute(DATA_SQL)
            cur.execute("VACUUM ANALYZE")
            cur.execute("SELECT pg_stat_statements_reset()")
        finally:
            conn.close()
        conn = cluster.connect(autocommit=True)
        try:
            say("running the workload")
            run_workload(conn)
            flush_statistics(conn)
        finally:
            conn.close()
        if repo is None and SAMPLE_PROJECT.is_dir():
            repo = SAMPLE_PROJECT
        say("profiling")
        report = profile(cluster.dsn, ProfileOptions(top=top, repo=repo, thresholds=DEMO_THRESHOLDS))
        report.notes.insert(0, "demo: a throwaway cluster with the billing_postgres sample schema and a generated "
                               "workload; thresholds scaled down for a two-second workload (PRF101 from 100 ms)")
        return report
    finally:
        cluster.stop()
