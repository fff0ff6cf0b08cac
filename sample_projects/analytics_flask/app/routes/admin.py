import logging

import psycopg2
from flask import Blueprint, Response, jsonify, request
from psycopg2.extras import RealDictCursor

from app.db import connect_replica, get_conn, ping_primary
from app.repositories import accounts as accounts_repo
from app.services import reports

log = logging.getLogger(__name__)

bp = Blueprint("admin", __name__, url_prefix="/admin")


@bp.get("/healthz")
def healthz():
    try:
        ok = ping_primary()
    except psycopg2.Error:
        log.exception("primary health check failed")
        ok = False
    return jsonify(status="ok" if ok else "degraded"), (200 if ok else 503)


@bp.get("/replica-lag")
def replica_lag():
    conn = connect_replica()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())")
            lag = cur.fetchone()[0]
    finally:
        conn.close()
    return jsonify(lag_seconds=float(lag) if lag is not None else None)


@bp.get("/accounts")
def recent_accounts():
    limit = min(request.args.get("limit", 50, type=int), 500)
    with get_conn() as conn, conn.cursor(cursor_factory=RealDictCursor) as cur:
        accounts = accounts_repo.list_accounts_with_owners(cur, limit=limit)
    return jsonify(accounts=accounts)


@bp.get("/exports/<int:account_id>/events.csv")
def export_events(account_id):
    since = request.args.get("since", "1970-01-01")
    body = reports.export_events_csv(account_id, since)
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": f"attachment; filename=events_{account_id}.csv"},
    )


@bp.get("/accounts/search")
def search_accounts():
    term = request.args.get("q", "")
    with get_conn() as conn, conn.cursor() as cur:
        cur.execute(
            "SELECT id, name, created_at FROM accounts WHERE name ILIKE %s ORDER BY name LIMIT 20",
            (f"%{term}%",),
        )
        return jsonify(accounts=cur.fetchall())
