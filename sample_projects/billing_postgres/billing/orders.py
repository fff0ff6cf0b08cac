"""Orders and order lines."""
from billing import config
from billing.db import get_cursor


def recent_orders(customer_id, status, limit=20):
    """The customer's latest orders in one state (order history tabs in the portal)."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, status, total_cents, currency, created_at FROM orders "
            "WHERE customer_id = %s AND status = %s ORDER BY created_at DESC LIMIT %s",
            (customer_id, status, limit),
        )
        return cur.fetchall()


def orders_between(customer_id, start, end):
    """Orders of a customer in a period (statements, CSV downloads)."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, status, total_cents, created_at FROM orders "
            "WHERE customer_id = %s AND created_at >= %s AND created_at < %s "
            "ORDER BY created_at",
            (customer_id, start, end),
        )
        return cur.fetchall()


def order_with_items(order_id):
    with get_cursor() as cur:
        cur.execute(
            "SELECT o.id, o.status, o.total_cents, i.sku, i.quantity, i.unit_cents "
            "FROM orders o JOIN order_items i ON i.order_id = o.id "
            "WHERE o.id = %s ORDER BY i.id",
            (order_id,),
        )
        return cur.fetchall()


def stale_pending_orders(older_than, limit=100):
    """Orders stuck in 'pending' (the payment never came back); the reaper cancels them."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, customer_id, total_cents, created_at FROM orders "
            "WHERE status = 'pending' AND created_at < %s ORDER BY created_at LIMIT %s",
            (older_than, limit),
        )
        return cur.fetchall()


def count_pending_orders():
    with get_cursor() as cur:
        cur.execute("SELECT count(*) FROM orders WHERE status = 'pending'")
        return cur.fetchone()[0]


def list_orders_page(page):
    """Back-office order list, newest first, page by page."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, customer_id, status, total_cents, created_at FROM orders "
            "ORDER BY created_at DESC LIMIT %s OFFSET %s",
            (config.PAGE_SIZE, page * config.PAGE_SIZE),
        )
        return cur.fetchall()
