"""HTTP API (Flask). Run: flask --app "billing.api:create_app()" run"""
from datetime import date, datetime, timedelta, timezone

from flask import Blueprint, Flask, abort, jsonify, request
from psycopg2.extras import RealDictCursor

from billing import accounts, customers, db, events, invoices, orders, payments, reports
from billing.db import get_conn, get_cursor

bp = Blueprint("api", __name__)

ORDER_STATES = ("pending", "paid", "shipped", "done", "cancelled", "failed")


def _date_arg(name, default):
    value = request.args.get(name)
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        abort(400, description=f"{name} must be YYYY-MM-DD")


@bp.get("/customers/<int:customer_id>")
def customer_detail(customer_id):
    row = customers.get_customer(customer_id)
    if row is None:
        abort(404)
    return jsonify(customer=row, accounts=accounts.accounts_for_customer(customer_id))


@bp.get("/customers/lookup")
def customer_lookup():
    row = customers.find_customer_by_email(request.args["email"])
    if row is None:
        abort(404)
    return jsonify(id=row[0], name=row[1], plan=row[2])


@bp.get("/customers/autocomplete")
def customer_autocomplete():
    return jsonify(customers.autocomplete_customers(request.args.get("q", "")))


@bp.get("/customers/search")
def customer_search():
    return jsonify(customers.search_customers(request.args.get("q", "")))


@bp.get("/customers/<int:customer_id>/orders")
def customer_orders(customer_id):
    status = request.args.get("status", "done")
    if status not in ORDER_STATES:
        abort(400)
    return jsonify(orders.recent_orders(customer_id, status))


@bp.get("/customers/<int:customer_id>/statement")
def customer_statement(customer_id):
    today = date.today()
    start = _date_arg("start", today.replace(day=1))
    end = _date_arg("end", today + timedelta(days=1))
    return jsonify(
        orders=orders.orders_between(customer_id, start, end),
        open_invoices=invoices.open_invoices(customer_id),
    )


@bp.get("/customers/<int:customer_id>/activity")
def customer_activity(customer_id):
    return jsonify(events.customer_activity(customer_id, request.args.get("type", "login")))


@bp.get("/orders/<int:order_id>")
def order_detail(order_id):
    with get_conn() as conn:
        with conn.cursor(cursor_factory=RealDictCursor) as cur:
            cur.execute("SELECT * FROM orders WHERE id = %s", (order_id,))
            order = cur.fetchone()
    if order is None:
        abort(404)
    return jsonify(order=order, invoice=invoices.invoice_for_order(order_id))


@bp.get("/orders/<int:order_id>/items")
def order_items(order_id):
    return jsonify(orders.order_with_items(order_id))


@bp.get("/orders")
def orders_by_status():
    status = request.args.get("status", "pending")
    with get_cursor() as cur:
        cur.execute(
            f"SELECT id, customer_id, total_cents, created_at FROM orders "
            f"WHERE status = '{status}' ORDER BY created_at DESC LIMIT 100"
        )
        return jsonify(cur.fetchall())


@bp.get("/accounts/<int:account_id>/received")
def account_received(account_id):
    today = date.today()
    start = _date_arg("start", today.replace(day=1))
    end = _date_arg("end", today + timedelta(days=1))
    return jsonify(received_cents=payments.account_received(account_id, start, end))


@bp.get("/invoices/<int:invoice_id>/payments")
def invoice_payments(invoice_id):
    return jsonify(payments.payments_for_invoice(invoice_id))


@bp.post("/webhooks/payments")
def payment_webhook():
    body = request.get_json(force=True)
    if payments.find_by_provider_ref(body["provider_ref"]) is not None:
        return jsonify(duplicate=True)
    invoice = invoices.invoice_for_order(body["order_id"])
    if invoice is None:
        abort(404)
    invoices.mark_paid(invoice[0])
    events.record_event(body.get("customer_id"), "invoice.paid", {"invoice_id": invoice[0]})
    return jsonify(duplicate=False), 202


@bp.get("/admin/orders")
def admin_orders():
    page = request.args.get("page", 0, type=int)
    return jsonify(orders.list_orders_page(page))


@bp.get("/admin/orders/pending")
def admin_pending_orders():
    cutoff = datetime.now(timezone.utc) - timedelta(hours=24)
    return jsonify(count=orders.count_pending_orders(), stale=orders.stale_pending_orders(cutoff))


@bp.get("/admin/invoices/overdue")
def admin_overdue_invoices():
    return jsonify(invoices.overdue_invoices())


@bp.get("/admin/payments/failures")
def admin_payment_failures():
    since = datetime.now(timezone.utc) - timedelta(hours=request.args.get("hours", 24, type=int))
    return jsonify(payments.recent_failures(since))


@bp.get("/admin/reports/daily")
def admin_daily_report():
    day = _date_arg("day", date.today() - timedelta(days=1))
    count, total = reports.orders_on_day(day)
    return jsonify(day=day.isoformat(), orders=count, total_cents=total)


@bp.get("/admin/reports/revenue")
def admin_revenue():
    today = date.today()
    start = _date_arg("start", today - timedelta(days=30))
    end = _date_arg("end", today + timedelta(days=1))
    return jsonify(
        days=reports.daily_revenue(start, end),
        countries=reports.revenue_by_country(start, end),
        top_skus=reports.top_skus_last_30_days(),
    )


@bp.get("/admin/reports/signups")
def admin_signups():
    since = _date_arg("since", date.today() - timedelta(days=7))
    return jsonify(customers.new_signups(request.args.get("country", "US"), since))


def create_app(test_config=None):
    app = Flask(__name__)
    app.config.from_mapping(test_config or {})
    if db.pool() is None:
        db.init_pool(app.config.get("DATABASE_URL"))
    app.register_blueprint(bp)
    return app
