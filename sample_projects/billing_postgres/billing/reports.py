"""Finance and product reports (back office)."""
from billing.db import get_cursor


def daily_revenue(start, end):
    with get_cursor() as cur:
        cur.execute(
            "SELECT date_trunc('day', created_at) AS day, count(*), sum(total_cents) FROM orders "
            "WHERE created_at >= %s AND created_at < %s AND status IN ('paid', 'shipped', 'done') "
            "GROUP BY 1 ORDER BY 1",
            (start, end),
        )
        return cur.fetchall()


def orders_on_day(day):
    """Totals for one calendar day (the finance team's daily check)."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT count(*), sum(total_cents) FROM orders WHERE DATE_TRUNC('day', created_at) = %s",
            (day,),
        )
        return cur.fetchone()


def revenue_by_country(start, end):
    with get_cursor() as cur:
        cur.execute(
            "SELECT c.country, count(*), sum(o.total_cents) "
            "FROM orders o JOIN customers c ON c.id = o.customer_id "
            "WHERE o.created_at >= %s AND o.created_at < %s AND o.status = 'done' "
            "GROUP BY c.country ORDER BY 3 DESC",
            (start, end),
        )
        return cur.fetchall()


def top_skus_last_30_days(limit=10):
    with get_cursor() as cur:
        cur.execute(
            "SELECT i.sku, sum(i.quantity) AS units "
            "FROM order_items i JOIN orders o ON o.id = i.order_id "
            "WHERE o.created_at >= now() - INTERVAL '30 days' "
            "GROUP BY i.sku ORDER BY units DESC LIMIT %s",
            (limit,),
        )
        return cur.fetchall()


def legacy_sku_sales():
    """How much still sells under the pre-2023 LEGACY- SKUs."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT sku, sum(quantity) FROM order_items WHERE sku LIKE 'LEGACY-%' GROUP BY sku ORDER BY sku"
        )
        return cur.fetchall()
