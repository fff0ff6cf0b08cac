"""Metric reads from PostgreSQL for the dashboard (asyncpg)."""

import asyncpg


async def fetch_usage(pool: asyncpg.Pool, account_id: int) -> list:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT day, active_users FROM usage_daily WHERE account_id = $1 ORDER BY day DESC LIMIT 30",
            account_id,
        )


async def fetch_revenue(pool: asyncpg.Pool, account_id: int) -> list:
    async with pool.acquire() as conn:
        return await conn.fetch(
            "SELECT month, net_revenue FROM revenue_monthly WHERE account_id = $1 ORDER BY month DESC LIMIT 12",
            account_id,
        )


async def fetch_plan(pool: asyncpg.Pool, account_id: int) -> str:
    async with pool.acquire() as conn:
        return await conn.fetchval("SELECT plan FROM accounts WHERE id = $1", account_id)
