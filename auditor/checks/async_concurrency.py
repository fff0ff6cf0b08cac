"""ASY102 (independent awaits run one after another) and ASY103 (an await per loop iteration
with no loop-carried dependency): network waits that could overlap but are serialized."""

from __future__ import annotations

import re
from typing import Optional

from auditor.checks.base import effective_loops, loop_description, loop_subtree, make_finding
from auditor.facts import Function
from auditor.link import CallInfo, Hop, Program

# I/O worth running concurrently: database, HTTP and LLM round trips (Redis and caches are
# better batched: mget, pipelines); a repository function counts when its summary shows one.
# In loops, database queries are DB101's (one query for all items beats N concurrent ones).
_SEQUENCE_KINDS, _SEQUENCE_EFFECTS = {"db", "http", "llm"}, ("llm", "io", "read", "write")
_LOOP_KINDS, _LOOP_EFFECTS = {"http", "llm"}, ("llm", "io")
_MUTATORS = {"append", "extend", "insert", "update", "add", "setdefault", "appendleft", "put", "put_nowait",
             "__setitem__", "pop", "remove", "clear"}
_PACING = {"asyncio.sleep", "anyio.sleep", "trio.sleep"}
_BATCH_WORDS = ("batch", "chunk", "page")
_SERIALIZING_WORDS = ("lock", "semaphore", "sem", "mutex", "transaction", "begin", "limiter")
_WRITE_METHODS = {"post", "put", "patch", "delete"}
# A project function named like this changes something: what follows it may depend on that.
_MUTATING_VERBS = ("create", "drop", "delete", "insert", "update", "upsert", "set", "write", "save", "put", "post",
                   "remove", "upload", "send", "publish", "migrate", "init", "setup", "reset", "clear", "register")
# SQL that changes data or schema (DML and DDL): what follows may read what it made.
_CHANGING_SQL = re.compile(r"^\s*(?:/\*.*?\*/\s*|--[^\n]*\n\s*)*(?:insert|update|delete|merge|upsert|replace|create|"
                           r"alter|drop|truncate|grant|revoke|comment|copy|call|do)\b", re.IGNORECASE | re.DOTALL)
# Names that hold one connection, session or transaction: calls sharing one cannot overlap.
_SHARED_HANDLES = {"conn", "connection", "db", "session", "db_session", "tx", "transaction", "cur", "cursor",
                   "uow"}


def check_serialized_awaits(program: Program) -> list:
    """Report sequential independent awaits (ASY102) and awaits in loops (ASY103)."""
    findings = []
    for qualname, infos in program.calls.items():
        function = program.index.functions[qualname]
        if not function.is_async:
            continue
        findings.extend(_sequential_awaits(program, function, infos))
        findings.extend(_awaits_in_loops(program, function, infos))
    return findings


def _io_chain(program: Program, info: CallInfo, kinds: set, effects: tuple) -> Optional[list]:
    """The chain showing that an awaited call is a network round trip of ``kinds`` (directly) or
    ``effects`` (through a repository function), or None."""
    # An awaited database call is async (psycopg 3 and SQLAlchemy share sync and async types).
    if info.io in kinds and (info.io_async or info.io == "db"):
        return [Hop(info.path, info.call.line, f"{info.call.text}()")]
    if info.io:
        return None  # a sync call awaited (ASY105), Redis/cache, sleep...
    for effect in effects:
        chain = program.effect_chain(info, effect)
        if chain is not None:
            return chain
    return None


# ---------------------------------------------------------------- ASY102
def _sequential_awaits(program: Program, function: Function, infos: list) -> list:
    by_statement: dict = {}
    for info in infos:
        if info.call.awaited and info.call.stmt and not info.call.deferred:
            by_statement.setdefault(tuple(info.call.stmt), []).append(info)
    steps = []  # (statement, info, chain) of statements that are a single awaited I/O call
    for statement, awaited in sorted(by_statement.items()):
        if len(awaited) != 1 or awaited[0].call.role not in {"assign", "store", "expr"} \
                or awaited[0].call.loop is not None:
            continue
        chain = _io_chain(program, awaited[0], _SEQUENCE_KINDS, _SEQUENCE_EFFECTS)
        if chain is not None and not _serialized_block(function, statement[0]):
            steps.append((statement, awaited[0], chain))
    findings = []
    run: list = []
    for step in steps + [None]:
        if step is not None and run and _continues(program, run, step):
            run.append(step)
            continue
        if len(run) >= 2:
            findings.append(_sequential_finding(program, function, run))
        run = [step] if step is not None else []
    return findings


def _continues(program: Program, run: list, step: tuple) -> bool:
    """Is ``step`` the next statement after the run, independent of every call in it?"""
    statement, info, _ = step
    last_statement = run[-1][0]
    if statement[0] != last_statement[0] or statement[1] != last_statement[1] + 1:
        return False
    names = set(info.call.names)
    for _, earlier, _ in run:
        if names & set(earlier.call.assigned):
            return False  # uses an earlier result
        if _writes(program, earlier):
            return False  # a write first: the order may matter
        if _same_handle(program, earlier, info):
            return False
        if "self" in names and _mutates_self(program, earlier):
            return False  # state the earlier call leaves on ``self`` may be read by the next
    return True


def _writes(program: Program, info: CallInfo) -> bool:
    """A write (directly, through helpers, given DML/DDL text, or a project function named for one)."""
    if info.effect == "write" or program.effect_chain(info, "write") is not None:
        return True
    statement = info.call.sql or (info.call.sql_text.text if info.call.sql_text else "")
    if _CHANGING_SQL.match(statement):
        return True  # ``await db.execute_query(create_table_sql)``: later statements may need the table
    if info.targets:
        name = info.call.text.rpartition(".")[2].lstrip("_").lower()
        return name.startswith(_MUTATING_VERBS)
    return info.io == "http" and info.detail.rpartition(".")[2] in _WRITE_METHODS


def _mutates_self(program: Program, info: CallInfo) -> bool:
    """Does the method ``info`` calls on ``self`` change ``self``'s state (``self.x = ...``,
    ``self.items.append(...)``, ``self.cache[k] = ...``)? Then a loop over it, or the next call,
    may read what it left behind."""
    if not info.call.text.startswith("self."):
        return False
    for target in info.targets:
        function = program.index.functions.get(target)
        if function is None:
            continue
        if any(container.startswith("self.") for container, _, _ in function.item_stores):
            return True
        for call in function.calls:
            receiver, _, method = call.text.rpartition(".")
            if "self" in call.assigned or (receiver.startswith("self.") and method in _MUTATORS):
                return True
    return False


def _same_handle(program: Program, first: CallInfo, second: CallInfo) -> bool:
    """Both calls go through one connection/session/transaction (receiver or argument)."""
    shared = set(first.call.names) & set(second.call.names)
    if shared & _SHARED_HANDLES:
        return True
    if first.io == "db" and second.io == "db" and "Pool" not in first.detail:
        return first.call.text.rpartition(".")[0] == second.call.text.rpartition(".")[0]
    handles = [_handle_args(program, info) for info in (first, second)]
    return bool(handles[0] & handles[1])


def _handle_args(program: Program, info: CallInfo) -> set:
    """Arguments that evaluate to a database connection or session, as values."""
    found = set()
    for value in info.call.args:
        evaluated = program.resolver.eval(value)
        if evaluated and evaluated[0] == "cat" and (program.catalog.is_connection(evaluated[1])
                                                    or "Session" in evaluated[1]):
            found.add(value)
    return found


def _serialized_block(function: Function, block: int) -> bool:
    """Inside ``async with lock:`` / ``async with conn.transaction():`` (or a sync ``with``)."""
    while block >= 0:
        parent, _, header = function.blocks[block]
        if header.startswith(("with ", "async with ")) \
                and any(word in header.lower() for word in _SERIALIZING_WORDS):
            return True
        block = parent
    return False


def _sequential_finding(program: Program, function: Function, run: list):
    first = run[0][1]
    calls = ", ".join(f"`{info.call.text}()` (line {info.call.line})" for _, info, _ in run)
    llm = sum(1 for _, info, chain in run if info.io == "llm" or program.effect_chain(info, "llm") is not None)
    message = (f"{len(run)} independent awaits run one after another: {calls}. None uses another's result, so "
               f"the function waits for the sum of their latencies instead of the longest one.")
    chain = []
    for _, info, io_chain in run:
        chain.extend(io_chain)
    return make_finding(
        "ASY102", program, function, first.path, first.call.line, first.call.col, run[-1][1].call.end_line, message,
        "Run them concurrently: `a, b = await asyncio.gather(f(...), g(...))`, or an `asyncio.TaskGroup` "
        "(Python 3.11+) with `tg.create_task(...)` per call. Calls on one database connection or session cannot "
        "overlap: give each its own connection from the pool. Against a rate-limited API, bound the concurrency "
        "with an `asyncio.Semaphore`.",
        first.call.excerpt, chain=chain, context={"awaits": len(run)},
        severity_steps=1 if llm >= 3 else 0,
        impact=f"Latency is the sum of {len(run)} round trips where the slowest one would do.")


# ---------------------------------------------------------------- ASY103
def _awaits_in_loops(program: Program, function: Function, infos: list) -> list:
    reported: set = set()
    findings = []
    for info in infos:
        call = info.call
        if not call.awaited or call.loop is None or call.leaves_loop or call.deferred:
            continue
        loops = effective_loops(function, call.loop)
        if not loops or loops[0].id in reported:
            continue
        loop = loops[0]
        if loop.is_async or loop.exits or _batched(loop):
            continue
        chain = _io_chain(program, info, _LOOP_KINDS, _LOOP_EFFECTS)
        if chain is None:
            continue
        inside = loop_subtree(function, loop.id)
        loop_infos = [other for other in infos if other.call.loop in inside]
        if _paced(program, loop_infos) or set(call.names) & _carried(function, loop, inside, loop_infos, call.line):
            continue
        if _mutates_self(program, info):
            continue  # each iteration leaves state on ``self`` for the next
        if any(program.effect_chain(other, "write") is not None for other in loop_infos):
            continue  # each iteration writes to the database: a later one may read what an earlier wrote
        reported.add(loop.id)
        findings.append(_loop_finding(program, function, info, loop, chain))
    return findings


def _batched(loop) -> bool:
    text = " ".join([loop.iter_text.lower()] + [target.lower() for target in loop.targets])
    return any(word in text for word in _BATCH_WORDS)


def _paced(program: Program, loop_infos: list) -> bool:
    """``await asyncio.sleep(...)`` in the body: deliberate pacing (rate limits)."""
    for info in loop_infos:
        if info.call.text.rpartition(".")[2] == "sleep":
            callee = program.resolver.eval(info.call.func)
            if callee and callee[0] == "name" and callee[1] in _PACING:
                return True
    return False


def _carried(function: Function, loop, inside: set, loop_infos: list, line: int) -> set:
    """Names an iteration leaves for the next: assigned at or after ``line`` in the loop, or
    mutated in place anywhere in it (``history.append(...)``)."""
    carried = set()
    for loop_id in inside:
        for name, stored_line in function.loops[loop_id].stores:
            if stored_line >= line:
                carried.add(name)
    for info in loop_infos:
        receiver, _, method = info.call.text.rpartition(".")
        if receiver and method in _MUTATORS:
            carried.add(receiver.split(".")[0])
    return carried


def _loop_finding(program: Program, function: Function, info: CallInfo, loop, chain: list):
    call = info.call
    message = (f"`await {call.text}()` runs once per item of `{loop_description(loop)}` (line {loop.line}), each "
               f"waiting for the previous one to finish, though no iteration uses another's result: the loop "
               f"takes N round trips of latency instead of about one.")
    return make_finding(
        "ASY103", program, function, info.path, call.line, call.col, call.end_line, message,
        "Start the calls together: `results = await asyncio.gather(*(f(x) for x in items))` (or an "
        "`asyncio.TaskGroup`), with an `asyncio.Semaphore` around each call to bound the concurrency for "
        "rate-limited APIs. A semaphore acquired inside a sequential loop creates no concurrency.",
        call.excerpt, chain=[Hop(info.path, loop.line, loop_description(loop))] + chain,
        context={"loop": loop_description(loop), "loop_line": loop.line},
        impact="Latency grows linearly with the number of items: N sequential round trips.")
