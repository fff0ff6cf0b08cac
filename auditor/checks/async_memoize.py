"""ASY104: a sync memoizer (``functools.lru_cache``, ``cache``, ``cachetools.cached``...) on an
``async def``: it caches the coroutine object, and the second await of it raises."""

from __future__ import annotations

from auditor.checks.base import make_finding
from auditor.checks.caches import cache_catalog, decorator_name
from auditor.link import Hop, Program


def check_async_memoizers(program: Program) -> list:
    """Report sync memoizers wrapping coroutine functions."""
    memoizers = set(cache_catalog().get("sync_memoizers") or [])
    findings = []
    for qualname, function in program.index.functions.items():
        if not function.is_async:
            continue
        for text, value in function.decorators:
            name = decorator_name(program, value)
            if name not in memoizers:
                continue
            path = program.index.function_module[qualname].path
            short = name.rsplit(".", 1)[-1]
            message = (f"`@{text}` on `async def {function.name}()` caches the coroutine object, not its result: "
                       f"the first caller awaits it, and every later call with the same arguments gets the same, "
                       f"already awaited coroutine and raises `RuntimeError: cannot reuse already awaited "
                       f"coroutine`.")
            remediation = ("Use an asyncio-aware memoizer that caches the awaited result: "
                           "`from async_lru import alru_cache` then `@alru_cache(maxsize=...)`, or "
                           "`aiocache.cached(ttl=...)`; or cache the result (or an `asyncio.Task`) in a bounded "
                           "`cachetools.TTLCache` yourself.")
            if short == "cached_property":
                remediation = ("Cache the awaited value instead: compute it once in an async initialiser, or store "
                               "an `asyncio.Task` (`asyncio.ensure_future(...)`) and await that.")
            findings.append(make_finding(
                "ASY104", program, function, path, function.line, 0, function.line, message, remediation,
                _excerpt(program, qualname), chain=[Hop(path, function.line, f"@{text} async def {function.name}()")],
                context={"decorator": name},
                impact="Every repeated call with the same arguments fails at run time."))
    return findings


def _excerpt(program: Program, qualname: str) -> str:
    function = program.index.functions[qualname]
    return f"async def {function.name}(...)"
