"""Invoices: issuing, dunning, statements."""
from billing.db import get_cursor


def invoice_for_order(order_id):
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, number, status, amount_cents, due_at FROM invoices WHERE order_id = %s",
            (order_id,),
        )
        return cur.fetchone()


def open_invoices(customer_id):
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, number, amount_cents, due_at FROM invoices "
            "WHERE customer_id = %s AND status = 'open' ORDER BY due_at",
            (customer_id,),
        )
        return cur.fetchall()


def overdue_invoices(limit=200):
    """Dunning run: open invoices past their due date, oldest first."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, customer_id, number, amount_cents, due_at FROM invoices "
            "WHERE status = 'open' AND due_at < now() ORDER BY due_at LIMIT %s",
            (limit,),
        )
        return cur.fetchall()


def mark_paid(invoice_id):
    with get_cursor() as cur:
        cur.execute(
            "UPDATE invoices SET status = 'paid', paid_at = now() WHERE id = %s AND status = 'open'",
            (invoice_id,),
        )
        return cur.rowcount == 1
