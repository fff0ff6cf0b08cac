"""ASY101 (blocking calls inside async def, also through helpers) and ASY105 (awaiting what is
not awaitable)."""

from __future__ import annotations

import pytest

from tests.conftest import found

HELPER_CHAIN = {
    "app/db.py": """
        def fetch_rows(conn, day):
            cur = conn.cursor()
            cur.execute("SELECT id, total FROM orders WHERE day = %s", (day,))
            return cur.fetchall()
    """,
    "app/reports.py": """
        import psycopg2

        from app.db import fetch_rows


        def daily_totals(day):
            conn = psycopg2.connect("dbname=shop")
            try:
                return fetch_rows(conn, day)
            finally:
                conn.close()
    """,
    "app/api.py": """
        from fastapi import FastAPI

        from app.reports import daily_totals

        app = FastAPI()


        @app.get("/totals/{day}")
        async def totals(day: str):
            rows = daily_totals(day)
            return {"rows": rows}


        @app.get("/totals-sync/{day}")
        def totals_sync(day: str):
            return {"rows": daily_totals(day)}
    """,
}


def test_sync_helper_two_modules_away_is_reported_with_its_chain(scan):
    result = scan(HELPER_CHAIN)
    assert found(result, "ASY101") == [("ASY101", "app/api.py", 10)]
    finding = next(f for f in result.findings if f.rule == "ASY101")
    assert finding.chain == ["app/api.py:10 daily_totals()", "app/reports.py:7 psycopg2.connect()"]
    assert finding.severity == "high"  # medium, raised: an async request handler
    assert "async def totals()" in finding.message and "asyncio.to_thread(daily_totals" in finding.remediation


def test_the_query_deeper_in_the_chain_is_found_when_the_connection_is_given(scan):
    files = dict(HELPER_CHAIN)
    files["app/reports.py"] = """
        from app.db import fetch_rows


        def daily_totals(day, conn=None):
            return fetch_rows(conn, day)
    """
    result = scan(files)
    finding = next(f for f in result.findings if f.rule == "ASY101")
    assert finding.chain == ["app/api.py:10 daily_totals()", "app/reports.py:5 fetch_rows()",
                             "app/db.py:3 cur.execute()"]


@pytest.mark.parametrize("offload", [
    "await asyncio.to_thread(daily_totals, day)",
    "await asyncio.get_running_loop().run_in_executor(None, lambda: daily_totals(day))",
    "await asyncio.get_running_loop().run_in_executor(None, functools.partial(daily_totals, day))",
    "await anyio.to_thread.run_sync(daily_totals, day)",
    "await run_in_threadpool(daily_totals, day)",
])
def test_blocking_work_sent_to_a_thread_is_silent(scan, offload):
    files = dict(HELPER_CHAIN)
    files["app/api.py"] = f"""
        import asyncio
        import functools

        import anyio
        from starlette.concurrency import run_in_threadpool

        from app.reports import daily_totals


        async def totals(day: str):
            return {offload}
    """
    assert found(scan(files), "ASY101") == []


@pytest.mark.parametrize("code,expected", [
    ("conn = psycopg2.connect(DSN)\n    conn.cursor().execute('SELECT 1')", [4, 5]),
    ("conn = pymysql.connect(host='db')\n    conn.cursor().execute('SELECT 1')", [4, 5]),
    ("conn = await asyncpg.connect(DSN)\n    await conn.fetch('SELECT 1')", []),
    ("async with aiosqlite.connect('app.db') as db:\n        await db.execute('SELECT 1')", []),
    ("conn = await psycopg.AsyncConnection.connect(DSN)\n    await conn.execute('SELECT 1')", []),
    ("r = requests.post('https://hooks.internal', json={})", [4]),
    ("r = httpx.get('https://hooks.internal')", [4]),
    ("r = urllib.request.urlopen('https://hooks.internal')", [4]),
    ("subprocess.run(['pg_dump', DSN], check=True)", [4]),
    ("time.sleep(0.5)", [4]),
    ("df = pandas.read_sql('SELECT 1', DSN)", [4]),
    ("await asyncio.sleep(0.5)", []),
])
def test_direct_calls_by_driver(scan, code, expected):
    source = ("import asyncio, subprocess, time, urllib.request\nimport aiosqlite, asyncpg, httpx, pandas, psycopg, "
              "psycopg2, pymysql, requests\nasync def job(DSN):\n    " + code + "\n")
    assert found(scan({"job.py": source}), "ASY101") == [("ASY101", "job.py", line) for line in expected]


def test_a_blocking_async_helper_is_reported_once_in_the_helper(scan):
    result = scan({"svc.py": """
        import asyncio

        import requests


        def fetch(url):
            return requests.get(url, timeout=5)


        async def ping(url):
            return fetch(url).status_code


        async def handler(url):
            return await ping(url)


        async def fan_out(urls):
            task = asyncio.create_task(ping(urls[0]))
            return await asyncio.gather(task, *(ping(url) for url in urls[1:]))


        def later(url):
            return lambda: fetch(url)


        async def deferred(url):
            return later(url)
    """})
    assert found(result, "ASY101") == [("ASY101", "svc.py", 11)]


def test_a_memoized_sync_helper_still_blocks_on_each_miss(scan):
    result = scan({"svc.py": """
        from functools import lru_cache

        import requests


        @lru_cache(maxsize=256)
        def exchange_rate(currency):
            return requests.get(f"https://fx.internal/{currency}", timeout=5).json()["rate"]


        async def price(amount, currency):
            return amount * exchange_rate(currency)
    """})
    assert found(result, "ASY101") == [("ASY101", "svc.py", 12)]
    assert "cache miss" in next(f for f in result.findings if f.rule == "ASY101").message


def test_sqlite_on_the_loop_is_rated_lower_and_in_memory_sqlite_is_silent(scan):
    result = scan({"notes.py": """
        import sqlite3


        async def count_notes():
            conn = sqlite3.connect("notes.db")
            return conn.execute("SELECT count(*) FROM notes").fetchone()[0]


        async def scratch():
            return sqlite3.connect(":memory:")
    """})
    assert found(result, "ASY101") == [("ASY101", "notes.py", 5), ("ASY101", "notes.py", 6)]
    assert {f.severity for f in result.findings if f.rule == "ASY101"} == {"low"}


def test_sync_llm_client_in_async_def_blocks_and_async_client_does_not(scan):
    result = scan({"ai.py": """
        from openai import AsyncOpenAI, OpenAI

        sync_client = OpenAI(timeout=30)
        async_client = AsyncOpenAI(timeout=30)


        def summarize(text):
            response = sync_client.chat.completions.create(
                model="gpt-4o-mini", max_tokens=200, messages=[{"role": "user", "content": text}])
            return response.choices[0].message.content


        async def handler(text):
            quick = summarize(text)
            good = await async_client.chat.completions.create(
                model="gpt-4o-mini", max_tokens=200, messages=[{"role": "user", "content": text}])
            return quick, good
    """})
    assert found(result, "ASY101") == [("ASY101", "ai.py", 14)]
    finding = next(f for f in result.findings if f.rule == "ASY101")
    assert finding.chain == ["ai.py:14 summarize()", "ai.py:8 sync_client.chat.completions.create()"]
    assert "LLM" in finding.message and "AsyncOpenAI" in finding.remediation


def test_awaiting_sync_clients_and_thread_pool_futures(scan):
    result = scan({"jobs.py": """
        import asyncio
        from concurrent.futures import ThreadPoolExecutor

        import redis
        from openai import OpenAI

        r = redis.Redis()
        client = OpenAI()
        executor = ThreadPoolExecutor(max_workers=4)


        def work(x):
            return x * 2


        async def run(items):
            await r.setex("last", 60, "x")
            answer = await client.chat.completions.create(model="gpt-4o-mini", max_tokens=5, messages=[])
            one = await executor.submit(work, 1)
            futures = [executor.submit(work, item) for item in items]
            done = await asyncio.gather(*futures)
            both = await asyncio.gather(executor.submit(work, 2), executor.submit(work, 3))
            fine = await asyncio.wrap_future(executor.submit(work, 4))
            also_fine = await asyncio.get_running_loop().run_in_executor(executor, work, 5)
            return answer, one, done, both, fine, also_fine
    """})
    assert found(result, "ASY105") == [("ASY105", "jobs.py", line) for line in (17, 18, 19, 21, 22)]
    assert found(result, "ASY101") == []


def test_awaiting_a_client_typed_only_by_an_annotation_is_not_asy105(scan):
    result = scan({"agent.py": """
        from openai import OpenAI


        class Agent:
            def __init__(self, client: OpenAI):
                self.client = client

            async def act(self, prompt):
                return await self.client.chat.completions.create(model="m", max_tokens=5, messages=[])
    """})
    assert found(result, "ASY105") == []
