"""ASY102 (independent sequential awaits) and ASY103 (await in a loop without a loop-carried
dependency)."""

from __future__ import annotations

import pytest

from tests.conftest import found

HTTP = """
import asyncio

import httpx

client = httpx.AsyncClient()
lock = asyncio.Lock()


async def get_json(url):
    return (await client.get(url)).json()


async def handler(uid):
{body}
"""


def _scan_body(scan, body: str):
    source = HTTP.format(body="\n".join("    " + line for line in body.strip().splitlines()))
    return scan({"svc.py": source})


@pytest.mark.parametrize("body,expected", [
    # two independent project coroutines that make HTTP calls: reported at the first
    ("a = await get_json(f'https://a/{uid}')\nb = await get_json(f'https://b/{uid}')\nreturn a, b", [14]),
    # three in a row, one finding
    ("a = await get_json('https://a')\nb = await get_json('https://b')\nc = await client.get('https://c')", [14]),
    # the second uses the first's result
    ("a = await get_json(f'https://a/{uid}')\nb = await get_json(a['next'])\nreturn b", []),
    # a statement between them breaks the sequence
    ("a = await get_json('https://a')\nprint(a)\nb = await get_json('https://b')", []),
    # inside async with lock
    ("async with lock:\n    a = await get_json('https://a')\n    b = await get_json('https://b')", []),
    # a write first: order may matter
    ("await client.post('https://a', json={})\nb = await client.get('https://a')", []),
    # not network I/O
    ("await asyncio.sleep(1)\nawait asyncio.sleep(2)", []),
    # stored into one dict: each store is independent of the other call
    ("out = {}\nout['a'] = await get_json('https://a')\nout['b'] = await get_json('https://b')\nreturn out", [15]),
])
def test_sequential_awaits(scan, body, expected):
    assert found(_scan_body(scan, body), "ASY102") == [("ASY102", "svc.py", line) for line in expected]


def test_sequential_awaits_chain_lists_each_call(scan):
    result = _scan_body(scan, "a = await get_json('https://a')\nb = await get_json('https://b')")
    finding = next(f for f in result.findings if f.rule == "ASY102")
    assert finding.chain == ["svc.py:14 get_json()", "svc.py:10 client.get()",
                             "svc.py:15 get_json()", "svc.py:10 client.get()"]
    assert "asyncio.gather" in finding.remediation


def test_one_connection_or_session_cannot_run_two_queries_at_once(scan):
    result = scan({"db.py": """
        import asyncpg


        async def users(conn, account_id):
            return await conn.fetch("SELECT id FROM users WHERE account_id = $1", account_id)


        async def plans(conn, account_id):
            return await conn.fetch("SELECT id FROM plans WHERE account_id = $1", account_id)


        async def same_connection(pool: asyncpg.Pool, account_id):
            async with pool.acquire() as conn:
                a = await conn.fetch("SELECT 1")
                b = await conn.fetch("SELECT 2")
                c = await users(conn, account_id)
                d = await plans(conn, account_id)
            return a, b, c, d


        async def through_the_pool(pool: asyncpg.Pool, account_id):
            a = await pool.fetch("SELECT 1")
            b = await pool.fetchval("SELECT 2")
            return a, b
    """})
    assert found(result, "ASY102") == [("ASY102", "db.py", 22)]


@pytest.mark.parametrize("body,expected", [
    # independent per-item calls
    ("out = []\nfor u in urls:\n    out.append(await get_json(u))\nreturn out", [16]),
    ("return [await get_json(u) for u in urls]", [14]),
    # cursor carried to the next iteration
    ("after = None\nfor _ in range(pages):\n    page = await get_json(f'https://e?after={after}')\n"
     "    after = page['next']", []),
    # history mutated in place and sent each time
    ("history = []\nfor u in urls:\n    history.append(u)\n    await client.post('https://llm', json=history)", []),
    # stops at the first hit
    ("for u in urls:\n    r = await get_json(u)\n    if r:\n        return r", []),
    # paced
    ("for u in urls:\n    await get_json(u)\n    await asyncio.sleep(1)", []),
    # batches
    ("for batch in urls:\n    await client.post('https://embed', json=batch)", []),
    # a few constants
    ("for region in ('eu', 'us'):\n    await get_json(f'https://{region}')", []),
    # async for over a stream
    ("async for line in stream(urls):\n    await get_json(line)", []),
])
def test_awaits_in_loops(scan, body, expected):
    body = body.replace("urls", "uid").replace("pages", "uid")
    assert found(_scan_body(scan, body), "ASY103") == [("ASY103", "svc.py", line) for line in expected]


def test_database_queries_in_loops_are_left_to_db101(scan):
    result = scan({"db.py": """
        async def totals(conn, ids):
            out = []
            for order_id in ids:
                out.append(await conn.fetchval("SELECT total FROM orders WHERE id = $1", order_id))
            return out
    """})
    assert found(result, "ASY103") == []
    assert found(result, "DB101") == [("DB101", "db.py", 4)]


def test_state_left_on_self_is_a_loop_carried_dependency(scan):
    result = scan({"report.py": """
        import httpx

        client = httpx.AsyncClient()


        class Report:
            def __init__(self):
                self.headers = []

            async def section(self, topic):
                text = (await client.post("https://llm.internal", json={"topic": topic, "seen": self.headers})).text
                self.headers.append(topic)
                return text

            async def fetch(self, topic):
                return (await client.get(f"https://wiki.internal/{topic}")).text

            async def build(self, topics):
                sections = []
                for topic in topics:
                    sections.append(await self.section(topic))
                pages = []
                for topic in topics:
                    pages.append(await self.fetch(topic))
                return sections, pages
    """})
    assert found(result, "ASY103") == [("ASY103", "report.py", 24)]


def test_a_call_named_for_a_change_orders_what_follows(scan):
    files = {"svc.py": HTTP.format(body="    await drop_db(uid)\n    await create_db(uid)")
             + "\n\nasync def drop_db(uid):\n    await client.post(f'https://db/{uid}/drop')\n"
             + "\n\nasync def create_db(uid):\n    await client.post(f'https://db/{uid}/create')\n"}
    assert found(scan(files), "ASY102") == []
    files["svc.py"] = files["svc.py"].replace("drop_db", "fetch_db").replace("create_db", "load_db")
    assert found(scan(files), "ASY102") == [("ASY102", "svc.py", 14)]
