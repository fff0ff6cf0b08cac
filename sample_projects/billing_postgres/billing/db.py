"""Connection pool and cursor helpers.

Every query in the service goes through ``get_cursor()``, which borrows a connection from
the process-wide pool, commits on success, rolls back on error and always returns the
connection to the pool.
"""
import logging
from contextlib import contextmanager

from psycopg2.pool import ThreadedConnectionPool

from billing import config

log = logging.getLogger(__name__)

_pool = None


def init_pool(dsn=None, minconn=None, maxconn=None, **connect_kwargs):
    """Create the process-wide pool (once per worker process, after the fork)."""
    global _pool
    if _pool is not None:
        _pool.closeall()
    _pool = ThreadedConnectionPool(
        minconn or config.DB_POOL_MIN,
        maxconn or config.DB_POOL_MAX,
        dsn or config.DATABASE_URL,
        application_name="billing-service",
        options=f"-c statement_timeout={config.STATEMENT_TIMEOUT_MS}",
        **connect_kwargs,
    )
    return _pool


def close_pool():
    global _pool
    if _pool is not None:
        _pool.closeall()
        _pool = None


def pool():
    return _pool


@contextmanager
def get_conn():
    if _pool is None:
        raise RuntimeError("billing.db.init_pool() has not been called")
    conn = _pool.getconn()
    try:
        yield conn
        conn.commit()
    except Exception:
        conn.rollback()
        raise
    finally:
        _pool.putconn(conn)


@contextmanager
def get_cursor():
    with get_conn() as conn:
        with conn.cursor() as cur:
            yield cur
