"""Database access helpers.

Request code should use ``get_conn()``, which borrows a connection from the
process-wide pool created in ``create_app``.
"""
import logging
from contextlib import contextmanager

import psycopg2
from flask import current_app

log = logging.getLogger(__name__)


@contextmanager
def get_conn():
    pool = current_app.extensions["pg_pool"]
    conn = pool.getconn()
    try:
        yield conn
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    finally:
        pool.putconn(conn)


def connect_replica():
    """Open a dedicated connection to the read replica.

    Exports can hold a cursor open for a long time, so they get their own
    connection instead of tying up a pool slot. Caller must close it.
    """
    return psycopg2.connect(
        current_app.config["REPLICA_DATABASE_URL"],
        application_name="analytics-replica",
        connect_timeout=5,
    )


def ping_primary(timeout=2):
    """Cheap liveness probe that bypasses the pool on purpose."""
    conn = psycopg2.connect(current_app.config["DATABASE_URL"], connect_timeout=timeout)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone() == (1,)
    finally:
        conn.close()
