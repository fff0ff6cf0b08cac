import logging
from datetime import datetime, timedelta, timezone

from psycopg2.extras import Json

from app.db import get_conn
from app.repositories import accounts as accounts_repo

log = logging.getLogger(__name__)

INSERT_EVENT_SQL = """
    INSERT INTO events (account_id, user_id, event_type, properties, occurred_at)
    VALUES (%s, %s, %s, %s, %s)
"""


class InvalidEvent(ValueError):
    pass


def _parse_timestamp(value):
    if value is None:
        return datetime.now(timezone.utc)
    try:
        ts = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError as exc:
        raise InvalidEvent(f"bad timestamp: {value!r}") from exc
    return ts if ts.tzinfo else ts.replace(tzinfo=timezone.utc)


def _validate_event(event):
    if not isinstance(event, dict):
        raise InvalidEvent("event must be an object")
    if not event.get("type"):
        raise InvalidEvent("event.type is required")


def ingest_batch(account_id, events):
    """Insert a batch of raw events. Returns the number of events accepted."""
    rows = []
    now = datetime.now(timezone.utc)
    with get_conn() as conn, conn.cursor() as cur:
        for event in events:
            _validate_event(event)
            occurred_at = _parse_timestamp(event.get("timestamp"))
            retention_days = accounts_repo.get_retention_days(cur, account_id)
            if retention_days and occurred_at < now - timedelta(days=retention_days):
                # older than the account keeps data for; drop silently
                continue
            props = Json(event.get("properties") or {})
            rows.append((account_id, event.get("user_id"), event["type"], props, occurred_at))
        if rows:
            cur.executemany(INSERT_EVENT_SQL, rows)
    log.info("account %s: accepted %d/%d events", account_id, len(rows), len(events))
    return len(rows)


def apply_corrections(account_id, corrections):
    """Re-label events after a tracking-plan change. Returns rows updated."""
    updated = 0
    with get_conn() as conn, conn.cursor() as cur:
        for correction in corrections:
            cur.execute(
                "UPDATE events SET event_type = %s WHERE id = %s AND account_id = %s",
                (correction["event_type"], correction["event_id"], account_id),
            )
            updated += cur.rowcount
    return updated
