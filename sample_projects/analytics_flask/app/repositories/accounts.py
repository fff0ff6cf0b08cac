from app.repositories import metrics as metrics_repo


def get_accounts_by_ids(cur, account_ids):
    cur.execute(
        "SELECT id, name, plan_id, currency, created_at FROM accounts "
        "WHERE id = ANY(%s) ORDER BY name",
        (list(account_ids),),
    )
    return cur.fetchall()


def list_plans(cur):
    cur.execute("SELECT id, name, seat_limit FROM plans")
    return cur.fetchall()


def get_retention_days(cur, account_id):
    cur.execute(
        "SELECT retention_days FROM account_settings WHERE account_id = %s",
        (account_id,),
    )
    row = cur.fetchone()
    return row[0] if row else None


def load_account_summary(cur, account_id):
    totals = metrics_repo.fetch_event_totals(cur, account_id)
    return {
        "events_30d": totals["events"],
        "users_30d": totals["users"],
        "last_seen": totals["last_seen"].isoformat() if totals["last_seen"] else None,
    }


def list_accounts_with_owners(cur, limit=50):
    cur.execute(
        "SELECT id, name, owner_id, created_at FROM accounts "
        "ORDER BY created_at DESC LIMIT %s",
        (limit,),
    )
    accounts = cur.fetchall()
    for account in accounts:
        cur.execute(
            "SELECT email, full_name FROM users WHERE id = %s", (account["owner_id"],)
        )
        owner = cur.fetchone()
        account["owner_email"] = owner["email"] if owner else None
        account["owner_name"] = owner["full_name"] if owner else None
    return accounts
