"""Dependency checks behind the probe endpoints."""

from analytics.db import pg_pool
from analytics.llm_helpers import llm_reachable, ping_llm


def database_ok() -> bool:
    conn = pg_pool.getconn()
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
            return cur.fetchone()[0] == 1
    finally:
        pg_pool.putconn(conn)


def check_dependencies() -> dict:
    """Database and model, for the liveness probe."""
    return {"database": database_ok(), "llm": ping_llm()}


def check_readiness() -> dict:
    """Database and model API, without a billed call."""
    return {"database": database_ok(), "llm": llm_reachable()}
