"""The index benchmark's workload: the billing_postgres service's own code, with real parameters.

``trace(dsn)`` imports the sample project (``sample_projects/billing_postgres``), points its
connection pool at ``dsn`` through a tracing connection, and calls every function (and the two
Flask routes that run SQL themselves) with the parameters below. Each ``cursor.execute`` is
recorded as a ``Statement``: the SQL text exactly as the code passes it, the parameters, the
statement with the parameters bound (``cursor.mogrify``), and the code location. The pool
rolls back every transaction (``commit`` is a no-op), so the database is left as it was.

The benchmark may run the project's code; ``audit scan`` / ``audit indexes`` never do.

The data (``datagen.sql``): customers 1-10 are the big accounts (15% of orders and events),
the others have about 9 orders each; ids grow with time over two years.
"""

from __future__ import annotations

import hashlib
import sys
import traceback
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
PROJECT = REPO_ROOT / "sample_projects" / "billing_postgres"
SCHEMA_SQL = PROJECT / "schema.sql"
DATAGEN_SQL = Path(__file__).resolve().parent / "datagen.sql"

HOT_CUSTOMER = 3  # a big account: ~3,000 orders, ~25,000 events
CUSTOMER = 4242  # an ordinary customer (USD account 4242, e-mail User4242@Corp.io)
ORDER = 123_456  # an order of last year, with 1 line (123456 % 3 == 0)
INVOICE = 90_000  # a paid invoice with a failed attempt (90000 % 25 == 0)


@dataclass
class Statement:
    """One ``cursor.execute`` of the project's code."""

    call: str  # the workload call that ran it, e.g. "orders.recent_orders(3, 'pending')"
    sql: str  # the SQL text exactly as the code passed it
    params: object  # the parameters as passed (tuple, dict or None)
    bound: str  # the statement with the parameters bound (what EXPLAIN gets)
    location: str  # "billing/orders.py:19 recent_orders"


@dataclass
class Call:
    label: str
    func: str = ""  # "module.function" in the billing package
    args: tuple = ()
    http: str = ""  # instead of func: a GET on the Flask app (routes that run SQL themselves)
    kwargs: dict = field(default_factory=dict)


def calls(now: datetime | None = None) -> list:
    """The workload: one call per statement of the project, in the order of the code."""
    now = now or datetime.now(timezone.utc)
    today = now.date()
    month_start = today.replace(day=1)
    last_month_start = (month_start - timedelta(days=1)).replace(day=1)
    quarter_start = (last_month_start - timedelta(days=40)).replace(day=1)  # three months before month_start
    provider_ref = "ch_" + hashlib.md5(f"{INVOICE}succeeded".encode()).hexdigest()[:24]
    return [
        # customers.py
        Call("get customer by id", "customers.get_customer", (CUSTOMER,)),
        Call("customer by e-mail (any case)", "customers.find_customer_by_email", ("user4242@corp.io",)),
        Call("type-ahead on name", "customers.autocomplete_customers", ("Nakat",)),
        Call("name contains (support search)", "customers.search_customers", ("mesa",)),
        Call("sign-ups of a country, last 7 days", "customers.new_signups", ("DE", now - timedelta(days=7))),
        # accounts.py
        Call("accounts of a customer", "accounts.accounts_for_customer", (CUSTOMER,)),
        # orders.py
        Call("big customer's latest done orders", "orders.recent_orders", (HOT_CUSTOMER, "done")),
        Call("big customer's orders, last quarter", "orders.orders_between",
             (HOT_CUSTOMER, quarter_start, month_start)),
        Call("order with its lines", "orders.order_with_items", (ORDER,)),
        Call("stale pending orders", "orders.stale_pending_orders", (now - timedelta(hours=24),)),
        Call("count pending orders", "orders.count_pending_orders"),
        Call("back-office order list, page 100", "orders.list_orders_page", (100,)),
        # invoices.py
        Call("invoice of an order", "invoices.invoice_for_order", (ORDER,)),
        Call("big customer's open invoices", "invoices.open_invoices", (HOT_CUSTOMER,)),
        Call("overdue invoices (dunning)", "invoices.overdue_invoices"),
        Call("mark an invoice paid", "invoices.mark_paid", (180_000,)),
        # payments.py
        Call("payments of an invoice", "payments.payments_for_invoice", (INVOICE,)),
        Call("webhook de-duplication", "payments.find_by_provider_ref", (provider_ref,)),
        Call("failed payments, last 24 h", "payments.recent_failures", (now - timedelta(hours=24),)),
        Call("big account's receipts last month", "payments.account_received",
             (HOT_CUSTOMER, last_month_start, month_start)),
        # events.py
        Call("record an event", "events.record_event", (CUSTOMER, "login", {"ip": "10.0.0.1"})),
        Call("big customer's key rotations", "events.customer_activity", (HOT_CUSTOMER, "api_key.rotated")),
        Call("events per type, last 24 h", "events.events_per_type", (now - timedelta(hours=24),)),
        # reports.py
        Call("revenue per day, last 30 days", "reports.daily_revenue", (today - timedelta(days=30), today + timedelta(days=1))),
        Call("totals of yesterday (DATE_TRUNC)", "reports.orders_on_day", (today - timedelta(days=1),)),
        Call("revenue per country, last month", "reports.revenue_by_country", (last_month_start, month_start)),
        Call("top SKUs, last 30 days", "reports.top_skus_last_30_days"),
        Call("legacy SKU sales", "reports.legacy_sku_sales"),
        # api.py (the handlers run these statements themselves)
        Call("GET /orders/<id> (SELECT *)", http=f"/orders/{ORDER}"),
        Call("GET /orders?status=pending (f-string)", http="/orders?status=pending"),
    ]


# -- tracing ----------------------------------------------------------------------------------

_TRACED_CLASSES: dict = {}


def _traced_cursor_class(base):
    """A subclass of the cursor class ``base`` whose ``execute`` records the statement."""
    cls = _TRACED_CLASSES.get(base)
    if cls is None:
        def execute(self, query, vars=None):
            self.connection.tracer.record(self, query, vars)
            return base.execute(self, query, vars)

        cls = type("Traced" + base.__name__, (base,), {"execute": execute})
        _TRACED_CLASSES[base] = cls
    return cls


class Tracer:
    def __init__(self):
        self.statements: list = []
        self.current_call = ""

    def record(self, cursor, query, params) -> None:
        bound = cursor.mogrify(query, params).decode()
        self.statements.append(Statement(self.current_call, query, params, bound, _code_location()))


def _code_location() -> str:
    """file:line function of the innermost frame in the project's code."""
    for frame in reversed(traceback.extract_stack()):
        path = Path(frame.filename)
        try:
            rel = path.resolve().relative_to(PROJECT)
        except ValueError:
            continue
        return f"{rel.as_posix()}:{frame.lineno} {frame.name}"
    return "?"


def _connection_class(tracer: Tracer):
    import psycopg2.extensions

    class TracingConnection(psycopg2.extensions.connection):
        """Records every statement; never commits (the pool rolls back on putconn)."""

        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            self.tracer = tracer

        def cursor(self, *args, **kwargs):
            base = kwargs.pop("cursor_factory", None) or self.cursor_factory or psycopg2.extensions.cursor
            return super().cursor(*args, cursor_factory=_traced_cursor_class(base), **kwargs)

        def commit(self):
            pass

    return TracingConnection


def _import_project():
    if str(PROJECT) not in sys.path:
        sys.path.insert(0, str(PROJECT))
    import importlib

    return importlib.import_module("billing")


def trace(dsn: str, workload: list | None = None, http: bool = True) -> list:
    """Run the workload against ``dsn``; return the distinct statements (first parameters win).

    ``http=False`` leaves out the calls that go through the Flask app (for environments
    without Flask). Raises ImportError when psycopg2 (or, with ``http``, Flask) is missing.
    """
    import importlib

    _import_project()
    db = importlib.import_module("billing.db")
    client = None
    if http:
        api = importlib.import_module("billing.api")  # needs Flask
    tracer = Tracer()
    db.init_pool(dsn, minconn=1, maxconn=2, connection_factory=_connection_class(tracer))
    try:
        if http:
            client = api.create_app({"TESTING": True}).test_client()
        for call in workload if workload is not None else calls():
            tracer.current_call = call.label
            if call.http and client is None:
                continue
            if call.http:
                response = client.get(call.http)
                if response.status_code != 200:
                    raise RuntimeError(f"GET {call.http} returned {response.status_code}")
            else:
                module, func = call.func.rsplit(".", 1)
                getattr(importlib.import_module("billing." + module), func)(*call.args, **call.kwargs)
    finally:
        db.close_pool()
    seen, distinct = set(), []
    for statement in tracer.statements:
        if statement.sql not in seen:
            seen.add(statement.sql)
            distinct.append(statement)
    return distinct
