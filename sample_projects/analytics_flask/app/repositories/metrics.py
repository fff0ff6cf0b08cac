"""Queries against the events / rollups / invoices tables.

All helpers take an open cursor; callers own the connection and transaction.
Report code uses RealDictCursor, so rows are accessed by column name.
"""


def fetch_event_totals(cur, account_id, days=30):
    cur.execute(
        """
        SELECT count(*) AS events, count(DISTINCT user_id) AS users,
               max(occurred_at) AS last_seen
        FROM events
        WHERE account_id = %s AND occurred_at >= now() - %s * interval '1 day'
        """,
        (account_id, days),
    )
    return cur.fetchone()


def count_active_users(cur, account_id, since):
    cur.execute(
        "SELECT count(DISTINCT user_id) AS active FROM events "
        "WHERE account_id = %s AND occurred_at >= %s",
        (account_id, since),
    )
    return cur.fetchone()["active"]


def revenue_by_account(cur, account_ids):
    cur.execute(
        """
        SELECT account_id, sum(amount_cents) AS cents
        FROM invoices
        WHERE account_id = ANY(%s) AND status = 'paid'
        GROUP BY account_id
        """,
        (list(account_ids),),
    )
    return {row["account_id"]: row["cents"] for row in cur.fetchall()}


def fetch_period_total(cur, account_id, period):
    cur.execute(
        "SELECT total FROM rollups WHERE account_id = %s AND period = %s "
        "ORDER BY bucket DESC LIMIT 1",
        (account_id, period),
    )
    row = cur.fetchone()
    return row["total"] if row else 0
