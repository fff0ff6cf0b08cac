"""The activity feed / audit trail."""
from psycopg2.extras import Json

from billing.db import get_cursor

EVENTS_TABLE = "events"


def record_event(customer_id, event_type, payload):
    with get_cursor() as cur:
        cur.execute(
            "INSERT INTO events (customer_id, type, payload) VALUES (%s, %s, %s) RETURNING id",
            (customer_id, event_type, Json(payload)),
        )
        return cur.fetchone()[0]


def customer_activity(customer_id, event_type, limit=50):
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, type, payload, created_at FROM events "
            "WHERE customer_id = %s AND type = %s ORDER BY created_at DESC LIMIT %s",
            (customer_id, event_type, limit),
        )
        return cur.fetchall()


def events_per_type(since):
    """Ops dashboard: event volume by type since a point in time."""
    with get_cursor() as cur:
        cur.execute(
            f"SELECT type, count(*) FROM {EVENTS_TABLE} WHERE created_at >= %s GROUP BY type ORDER BY 2 DESC",
            (since,),
        )
        return cur.fetchall()
