"""Payments reported by the payment provider."""
from billing.db import get_cursor


def payments_for_invoice(invoice_id):
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, amount_cents, method, status, created_at FROM payments "
            "WHERE invoice_id = %s ORDER BY created_at",
            (invoice_id,),
        )
        return cur.fetchall()


def find_by_provider_ref(provider_ref):
    """Webhook de-duplication: has this provider charge been recorded already?"""
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, invoice_id, status FROM payments WHERE provider_ref = %s",
            (provider_ref,),
        )
        return cur.fetchone()


def recent_failures(since):
    """Failed payment attempts since a point in time (alerting)."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, account_id, amount_cents, method, created_at FROM payments "
            "WHERE status = 'failed' AND created_at >= %s ORDER BY created_at DESC",
            (since,),
        )
        return cur.fetchall()


def account_received(account_id, start, end):
    """Money received on an account in a period."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT coalesce(sum(amount_cents), 0) FROM payments "
            "WHERE account_id = %s AND status = 'succeeded' AND created_at >= %s AND created_at < %s",
            (account_id, start, end),
        )
        return cur.fetchone()[0]
