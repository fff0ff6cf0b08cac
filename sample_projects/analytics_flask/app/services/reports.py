import csv
import io
from decimal import Decimal

from psycopg2.extras import RealDictCursor

from app.db import connect_replica, get_conn
from app.repositories import accounts as accounts_repo
from app.repositories import metrics as metrics_repo

EXPORT_COLUMNS = ["id", "user_id", "event_type", "occurred_at", "properties"]


def build_account_overview(account_ids):
    with get_conn() as conn, conn.cursor(cursor_factory=RealDictCursor) as cur:
        accounts = accounts_repo.get_accounts_by_ids(cur, account_ids)
        overview = []
        for acct in accounts:
            summary = accounts_repo.load_account_summary(cur, acct["id"])
            overview.append({"id": acct["id"], "name": acct["name"], **summary})
    return overview


def build_usage_report(account_ids, since):
    with get_conn() as conn, conn.cursor(cursor_factory=RealDictCursor) as cur:
        accounts = accounts_repo.get_accounts_by_ids(cur, account_ids)
        plans = accounts_repo.list_plans(cur)
        active = [metrics_repo.count_active_users(cur, a["id"], since) for a in accounts]

    plans_by_id = {plan["id"]: plan for plan in plans}
    rows = []
    for acct, active_users in zip(accounts, active):
        plan = plans_by_id.get(acct["plan_id"])
        seat_limit = plan["seat_limit"] if plan else None
        utilisation = round(active_users / seat_limit, 3) if seat_limit else None
        rows.append({"account_id": acct["id"], "plan": plan["name"] if plan else None,
                     "active_users": active_users, "seat_utilisation": utilisation})
    return rows


def build_revenue_report(account_ids, currency):
    report = []
    with get_conn() as conn, conn.cursor(cursor_factory=RealDictCursor) as cur:
        revenue = metrics_repo.revenue_by_account(cur, account_ids)
        for account_id in account_ids:
            cur.execute(
                "SELECT rate FROM fx_rates WHERE currency = %s ORDER BY as_of DESC LIMIT 1",
                (currency,),
            )
            fx = cur.fetchone()
            rate = fx["rate"] if fx else Decimal(1)
            cents = revenue.get(account_id) or 0
            amount = float(round(Decimal(cents) * rate / 100, 2))
            report.append({"account_id": account_id, "currency": currency, "revenue": amount})
    return report


def period_totals(account_id):
    totals = {}
    with get_conn() as conn, conn.cursor(cursor_factory=RealDictCursor) as cur:
        for period in ("daily", "weekly", "monthly"):
            totals[period] = metrics_repo.fetch_period_total(cur, account_id, period)
    return totals


def export_events_csv(account_id, since):
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(EXPORT_COLUMNS)

    conn = connect_replica()
    try:
        # named cursor = server-side, so big accounts don't load everything into memory
        with conn.cursor(name=f"export_{account_id}") as cur:
            cur.itersize = 5000
            cur.execute(
                "SELECT id, user_id, event_type, occurred_at, properties FROM events "
                "WHERE account_id = %s AND occurred_at >= %s ORDER BY occurred_at",
                (account_id, since),
            )
            for row in cur:
                writer.writerow(row)
    finally:
        conn.close()
    return buf.getvalue()
