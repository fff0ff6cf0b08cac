"""ASY104: sync memoizers on coroutine functions, resolved through imports (not by name)."""

from __future__ import annotations

import pytest

from tests.conftest import found


@pytest.mark.parametrize("imports,decorator,expected", [
    ("from functools import lru_cache", "@lru_cache(maxsize=32)", [5]),
    ("import functools", "@functools.lru_cache", [5]),
    ("import functools as ft", "@ft.cache", [5]),
    ("from cachetools.func import ttl_cache", "@ttl_cache(ttl=60)", [5]),
    ("from cachetools import cached, LRUCache", "@cached(LRUCache(maxsize=8))", [5]),
    ("from async_lru import alru_cache", "@alru_cache(maxsize=32)", []),
    ("from async_lru import alru_cache as lru_cache", "@lru_cache(maxsize=32)", []),
    ("from aiocache import cached", "@cached(ttl=60)", []),
    ("from myapp.caching import lru_cache", "@lru_cache(maxsize=32)", []),
])
def test_memoizer_is_resolved_through_imports(scan, imports, decorator, expected):
    source = f"{imports}\n\n\n{decorator}\nasync def load(key: str) -> str:\n    return key\n"
    assert found(scan({"m.py": source}), "ASY104") == [("ASY104", "m.py", line) for line in expected]


def test_sync_function_with_lru_cache_is_not_asy104(scan):
    result = scan({"m.py": """
        import asyncio
        from functools import lru_cache


        async def _fetch(key):
            return key


        @lru_cache(maxsize=32)
        def fetch(key):
            return asyncio.ensure_future(_fetch(key))
    """})
    assert found(result, "ASY104") == []


def test_finding_names_the_fix(scan):
    result = scan({"m.py": "from functools import cache\n\n\n@cache\nasync def load(key):\n    return key\n"})
    finding = next(f for f in result.findings if f.rule == "ASY104")
    assert "RuntimeError: cannot reuse already awaited coroutine" in finding.message
    assert "alru_cache" in finding.remediation
    assert finding.severity == "high"
