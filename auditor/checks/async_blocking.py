"""ASY101 (a blocking call inside ``async def``, also through sync helpers) and ASY105
(awaiting what is not awaitable: a sync client's result, thread-pool futures)."""

from __future__ import annotations

from typing import Optional

from auditor.checks.base import make_finding
from auditor.link import CallInfo, Hop, Program, in_install_guard

_WHAT = {
    "db": "a synchronous database call",
    "http": "a synchronous HTTP request",
    "redis": "a synchronous Redis command",
    "cache": "a synchronous cache round trip",
    "llm": "a synchronous LLM API call",
    "sleep": "a blocking sleep",
    "process": "a child process it waits for",
    "wait": "a wait on a thread-pool future",
}
_FIX = {
    "db": "use an async driver and await it (asyncpg, psycopg's `AsyncConnection`, SQLAlchemy's "
          "`create_async_engine`/`AsyncSession`, `snowflake.connector.aio`)",
    "http": "use a shared `httpx.AsyncClient` (or aiohttp) and await it",
    "redis": "use `redis.asyncio.Redis` and await its commands",
    "cache": "use the cache's asyncio client, or run the call in a thread",
    "llm": "use the SDK's async client (`AsyncOpenAI`, `AsyncAnthropic`, `.ainvoke()`) and await it",
    "sleep": "`await asyncio.sleep(...)`",
    "process": "use `await asyncio.create_subprocess_exec(...)`",
    "wait": "`await asyncio.wrap_future(future)`",
}
_GATHERERS = {"asyncio.gather", "asyncio.wait", "asyncio.as_completed", "asyncio.wait_for", "asyncio.shield"}


def check_blocking_calls(program: Program) -> list:
    """Report blocking calls on the event loop (ASY101) and awaits of non-awaitables (ASY105)."""
    findings = []
    for qualname, infos in program.calls.items():
        function = program.index.functions[qualname]
        if not function.is_async:
            continue
        for info in infos:
            if info.synthetic or info.call.deferred:
                continue
            if info.call.awaited:
                finding = _awaits_sync(program, function, info)
            else:
                finding = _blocks(program, function, info)
            if finding is not None:
                findings.append(finding)
            finding = _gathers_futures(program, function, info)
            if finding is not None:
                findings.append(finding)
    return findings


def _blocking_chain(program: Program, info: CallInfo) -> tuple:
    """(chain, terminal call, through a memoized function) showing that ``info`` blocks, or Nones.

    A memoized helper still blocks on every cache miss, so its summary counts here."""
    hop = Hop(info.path, info.call.line, f"{info.call.text}()")
    if info.io and not info.io_async:
        return [hop], info, False
    for target in info.targets:
        summary = program.summaries.get(target)
        if summary is not None and "blocks" in summary.chains:
            return [hop] + summary.chains["blocks"], summary.terminal["blocks"], target in program.cached
    return None, None, False


def _blocks(program: Program, function, info: CallInfo):
    """ASY101: a call that blocks the event loop, directly or through sync helpers."""
    if in_install_guard(function, info.call):
        return None  # a one-off install or import fallback, not per-call work
    chain, terminal, memoized = _blocking_chain(program, info)
    if chain is None or terminal.call.sql == ":memory:":
        return None
    call = info.call
    kind = terminal.io
    what = _WHAT.get(kind, "blocking I/O")
    if len(chain) > 1:
        hops = len(chain) - 1
        message = (f"`{call.text}()` is a sync function that makes {what} "
                   f"(`{terminal.call.text}()` at {chain[-1].path}:{chain[-1].line}, through {hops} "
                   f"call{'s' if hops > 1 else ''}); called from `async def {function.name}()` it blocks the "
                   f"event loop: every other request and task waits until it returns.")
    else:
        message = (f"`{call.text}()` is {what} inside `async def {function.name}()`: it blocks the event loop, "
                   f"so every other request and task waits until it returns.")
    if memoized:
        message += f" `{call.text}()` is memoized, so this happens on each cache miss."
    local = terminal.effect == "connect-local" or terminal.local
    if local:
        message += " (SQLite is in-process: usually short, but still file I/O on the loop.)"
    remediation = (f"Make it non-blocking: {_FIX.get(kind, 'use an async client')}; or keep the sync code and run "
                   f"it in a worker thread: `await asyncio.to_thread({_callable_text(call.text)}, ...)` "
                   f"(`anyio.to_thread.run_sync`, `run_in_threadpool`). In FastAPI, a plain `def` endpoint "
                   f"runs in the threadpool instead of on the event loop.")
    return make_finding("ASY101", program, function, info.path, call.line, call.col, call.end_line, message,
                        remediation, call.excerpt, chain=chain, context={"io": kind},
                        severity_steps=-1 if local else 0,
                        impact="The event loop stops for the whole call: with N concurrent requests, each waits "
                               "for the others' blocking calls in turn (latency adds up instead of overlapping).")


def _callable_text(text: str) -> str:
    return text if text.replace(".", "").replace("_", "").isalnum() else "fn"


def _awaits_sync(program: Program, function, info: CallInfo):
    """ASY105: ``await`` on the result of a sync client's call (raises TypeError at run time)."""
    call = info.call
    returned = _returned_type(program, info)
    if returned and program.catalog.type_value(returned, "awaitable", True) is False:
        message = (f"`await {call.text}(...)` awaits a `concurrent.futures.Future`, which is not awaitable: "
                   f"it raises `TypeError` at run time.")
        remediation = ("Use `await loop.run_in_executor(executor, fn, ...)` or `await asyncio.to_thread(fn, ...)`, "
                       "or wrap the future: `await asyncio.wrap_future(future)`.")
        return _asy105(program, function, info, message, remediation)
    if not info.io or info.io_async:
        return None
    if _from_parameter(program, call.func):
        return None  # typed by an annotation or a parameter name: the object passed in may be async
    if info.io == "db" and info.detail not in program.catalog.factories:
        return None  # psycopg 3's sync and async connections share a catalog type: not decidable here
    kind = info.io
    message = (f"`await {call.text}(...)`: `{call.text}` is {_WHAT.get(kind, 'a synchronous call')}, so it has "
               f"already blocked the event loop and returned a plain value; awaiting that raises `TypeError` "
               f"(\"object ... can't be used in 'await' expression\").")
    remediation = f"Switch to the async client: {_FIX.get(kind, 'use an async client')}; or `await asyncio.to_thread(...)`."
    return _asy105(program, function, info, message, remediation)


def _from_parameter(program: Program, value: tuple, depth: int = 0) -> bool:
    """Does the receiver come from a parameter (``def __init__(self, client: OpenAI)``), through
    ``self`` attributes and globals?"""
    origin, steps = value
    if origin.startswith("p:"):
        return True
    if depth > 4:
        return False
    if origin.startswith("self:") and steps and steps[0][0] == "attr":
        klass = program.index.classes.get(program.index.canonical(origin[5:]))
        attribute = klass.attrs.get(steps[0][1]) if klass is not None else None
        return attribute is not None and _from_parameter(program, attribute, depth + 1)
    if origin.startswith("g:"):
        stored = program.index.globals.get(program.index.canonical(origin[2:]))
        return stored is not None and _from_parameter(program, stored, depth + 1)
    return False


def _gathers_futures(program: Program, function, info: CallInfo):
    """ASY105: ``asyncio.gather(*futures)`` over ``executor.submit(...)`` futures."""
    callee = program.resolver.eval(info.call.func)
    if not callee or callee[0] != "name" or callee[1] not in _GATHERERS:
        return None
    for value in list(info.call.args) + list(info.call.star_args):
        evaluated = program.resolver.eval(value)
        while evaluated and evaluated[0] == "list":
            evaluated = evaluated[1]
        if evaluated and evaluated[0] == "cat" and \
                program.catalog.type_value(evaluated[1], "awaitable", True) is False:
            message = (f"`{info.call.text}()` is given `concurrent.futures.Future` objects (from "
                       f"`executor.submit`), which asyncio cannot await: it raises `TypeError` at run time.")
            remediation = ("Schedule the work on the loop instead: `await asyncio.gather(*(loop.run_in_executor("
                           "executor, fn, x) for x in items))` or `asyncio.to_thread(fn, x)`; or wrap each future "
                           "with `asyncio.wrap_future`.")
            return _asy105(program, function, info, message, remediation)
    return None


def _returned_type(program: Program, info: CallInfo) -> Optional[str]:
    """The catalog type a call returns (``executor.submit(...)`` -> Future), if known."""
    origin, steps = info.call.func
    evaluated = program.resolver.eval((origin, tuple(steps) + (("call", "", info.call.args),)))
    return evaluated[1] if evaluated and evaluated[0] == "cat" else None


def _asy105(program: Program, function, info: CallInfo, message: str, remediation: str):
    call = info.call
    return make_finding("ASY105", program, function, info.path, call.line, call.col, call.end_line, message,
                        remediation, call.excerpt, chain=[Hop(info.path, call.line, f"await {call.text}()")],
                        impact="A TypeError on every call of this code path.")
