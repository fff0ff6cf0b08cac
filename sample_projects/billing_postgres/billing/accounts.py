"""Customer accounts (one per currency)."""
from billing.db import get_cursor


def accounts_for_customer(customer_id):
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, currency, balance_cents, status FROM accounts WHERE customer_id = %s ORDER BY currency",
            (customer_id,),
        )
        return cur.fetchall()
