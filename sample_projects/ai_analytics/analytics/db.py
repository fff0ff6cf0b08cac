"""Database access: an asyncpg pool for the API, a psycopg2 pool for jobs, Snowflake for the warehouse."""

import functools

import asyncpg
import snowflake.connector
from psycopg2.pool import ThreadedConnectionPool

from analytics import config

pg_pool = ThreadedConnectionPool(minconn=1, maxconn=8, dsn=config.DATABASE_URL)
_async_pool = None


async def get_pool() -> asyncpg.Pool:
    """The API's asyncpg pool, created on first use."""
    global _async_pool
    if _async_pool is None:
        _async_pool = await asyncpg.create_pool(config.DATABASE_URL, min_size=2, max_size=10)
    return _async_pool


@functools.lru_cache(maxsize=1)
def warehouse() -> snowflake.connector.SnowflakeConnection:
    """One Snowflake connection per process."""
    return snowflake.connector.connect(
        account=config.SNOWFLAKE_ACCOUNT,
        user=config.SNOWFLAKE_USER,
        password=config.SNOWFLAKE_PASSWORD,
        warehouse=config.SNOWFLAKE_WAREHOUSE,
    )
