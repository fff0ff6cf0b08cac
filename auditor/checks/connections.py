"""DB201, DB202, DB203: unpooled connections, connections not closed, connections in loops."""

from __future__ import annotations

from auditor.checks.base import effective_loops, loop_description, make_finding
from auditor.extract import MODULE_SCOPE
from auditor.link import CallInfo, Program, is_cached_function, stored_in_global


def check_connections(program: Program) -> list:
    """Report connection lifecycle problems."""
    findings = []
    for qualname, infos in program.calls.items():
        function = program.index.functions[qualname]
        in_loop_lines = set()
        for info in infos:
            if info.call.loop is None or info.call.leaves_loop:
                continue
            chain = program.effect_chain(info, "connect")
            loops = effective_loops(function, info.call.loop) if chain is not None else None
            if loops:
                in_loop_lines.add(info.call.line)
                findings.append(_connect_in_loop(program, function, info, loops[0], chain))
        for info in infos:
            if info.effect in {"connect", "engine"} and info.call.line not in in_loop_lines:
                finding = _unpooled(program, function, info)
                if finding is not None:
                    findings.append(finding)
            finding = _not_closed(program, function, info)
            if finding is not None:
                findings.append(finding)
    return findings


def _connect_in_loop(program: Program, function, info: CallInfo, loop, chain):
    call = info.call
    via = f" (through {chain[-1].render()})" if len(chain) > 1 else ""
    message = (f"`{call.text}()` opens a new database connection on every iteration of "
               f"`{loop_description(loop)}` (line {loop.line}){via}: a TCP and auth handshake per item.")
    remediation = ("Open one connection (or check one out of a pool) before the loop and reuse it for "
                   "every item; if items need separate transactions, use `conn.transaction()` / "
                   "savepoints on the same connection.")
    return make_finding("DB203", program, function, info.path, call.line, call.col, call.end_line,
                        message, remediation, call.excerpt,
                        impact=(f"A connection handshake (TCP, TLS and authentication round trips) and "
                                f"a new server session per item of `{loop.iter_text}`."),
                        chain=[f"{info.path}:{loop.line} {loop_description(loop)}"] + [h.render() for h in chain],
                        context={"loop": loop_description(loop), "loop_line": loop.line})


def _unpooled(program: Program, function, info: CallInfo):
    """DB201: a connection (or engine) created per call of a function used per request."""
    if function.name == MODULE_SCOPE or is_cached_function(function):
        return None
    call = info.call
    if stored_in_global(function, call):
        return None
    callers = program.callers.get(function.qualname, set())
    if function.name == "__init__" and function.cls:
        callers = callers | program.callers.get(function.cls, set())
    if "poolclass" in call.keywords:
        return None  # an explicit pool class (NullPool for a migration, say) is a decision
    reachable = function.qualname in program.handler_paths
    summary = program.summaries.get(function.qualname)
    factory = summary is not None and summary.returns_connection
    if not reachable and len(callers) < 2:
        return None
    engine = info.effect == "engine"
    what = "a SQLAlchemy engine (and a new connection pool)" if engine else "a new, unpooled connection"
    why = "it runs for every request that reaches it" if reachable else \
        f"it is called from {len(callers)} places, each paying a new connection"
    message = f"`{call.text}()` in `{function.name}()` creates {what} on every call; {why}."
    if engine:
        remediation = ("Create the engine once at module level (or in the app factory) and share it; "
                       "`create_engine` already pools connections.")
    else:
        remediation = ("Create a pool once at start-up (`psycopg2.pool.ThreadedConnectionPool`, "
                       "`psycopg_pool.ConnectionPool`, `asyncpg.create_pool`, or SQLAlchemy's engine) and "
                       "check connections out of it per request; or put PgBouncer in front.")
    chain = [hop.render() for hop in program.handler_paths.get(function.qualname, [])]
    chain.append(f"{info.path}:{call.line} {call.text}()")
    # Off the request path, a factory's callers decide how often it runs (a connection per batch
    # job to an external source is often by design): report it, rated low.
    confidence = None if reachable else ("low" if factory else "medium")
    return make_finding("DB201", program, function, info.path, call.line, call.col, call.end_line,
                        message, remediation, call.excerpt, chain=chain,
                        context={"callers": sorted(callers)},
                        severity_steps=-1 if factory and not reachable else 0, confidence=confidence,
                        impact=("A connection handshake (TCP, TLS and authentication round trips) per call; "
                                "under load, one server connection per concurrent call until max_connections "
                                "is reached."))


def _opens_fresh_connection(program: Program, info: CallInfo) -> tuple:
    """(is it a new connection or a pool checkout, the catalog type) for a call site."""
    if info.effect in {"connect", "connect-local"}:
        entry = program.catalog.factories.get(info.detail) or {}
        return True, entry.get("returns", "")
    if info.effect == "checkout" and info.call.role in {"assign", "with"}:
        type_name, _, method = info.detail.rpartition(".")
        entry = program.catalog.method(type_name, method) or {}
        return True, entry.get("returns", "")
    for target in info.targets:
        summary = program.summaries.get(target)
        if summary and summary.returns_connection:
            returned = program.resolver.returns(target)
            return True, returned[1] if returned else ""
    return False, ""


def _not_closed(program: Program, function, info: CallInfo):
    """DB202: a connection this function opens and owns is not closed on every path."""
    fresh, type_name = _opens_fresh_connection(program, info)
    if not fresh or function.name == MODULE_SCOPE:
        return None
    call = info.call
    name = call.bound_to
    if call.sql == ":memory:":
        return None  # an in-memory SQLite database holds no server resource
    checkout = info.effect == "checkout"
    closes = [in_finally for closed_name, in_finally in function.closed if name and closed_name == name]
    if call.role == "with":
        if program.catalog.flag(type_name, "closes_on_with") or any(closes):
            return None
        problem = (f"`with {call.text}(...) as {name or 'conn'}:` only commits or rolls back on exit; "
                   f"{type_name.split('.')[0]} does not close the connection, so it stays open.")
    elif call.role == "assign" and name:
        if name in function.escaped or any(closes):
            return None
        if closes:
            problem = (f"`{name}` is released only on the success path: an exception between "
                       f"`{call.text}()` and the release leaks the connection.")
        elif checkout:
            problem = (f"`{name}` is checked out of the pool by `{call.text}()` and never returned in "
                       f"`{function.name}()`: each call holds a pool slot until the pool runs dry.")
        else:
            problem = f"`{name}` from `{call.text}()` is never closed in `{function.name}()`."
    else:
        return None
    remediation = ("Close it on every path: `with contextlib.closing(psycopg2.connect(...)) as conn:`, "
                   "or `try: ... finally: conn.close()`; better, take the connection from a pool.")
    if program.catalog.flag(type_name, "closes_on_with"):
        remediation = f"Use `with {call.text}(...) as {name or 'conn'}:` (it closes on exit), or close it in `finally`."
    impact = ("Each leaked checkout holds a pool slot until garbage collection; the pool runs dry under load."
              if checkout else
              "Each leaked connection holds a server session and its memory until the client is garbage "
              "collected or the server times it out.")
    return make_finding("DB202", program, function, info.path, call.line, call.col, call.end_line,
                        problem, remediation, call.excerpt, impact=impact,
                        chain=[f"{info.path}:{call.line} {call.text}()"],
                        context={"connection_type": type_name})
