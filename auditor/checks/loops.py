"""DB101, DB103, DB104, DB105: queries and writes repeated inside loops (also through helpers)."""

from __future__ import annotations

import re

from auditor.checks.base import effective_loops, loop_bound_names, loop_description, make_finding
from auditor.link import CallInfo, Program

_DDL = re.compile(r"^\s*(create|drop|alter|grant|revoke|truncate|vacuum|analyze|reindex|cluster|comment|"
                  r"refresh|pragma|set|reset|lock|attach|detach|discard|kill)\b", re.IGNORECASE)
_SQL_BUILDER = re.compile(r"(^|_)sql$|^sql_", re.IGNORECASE)
STATEMENT_PARAMETERS = {"sql", "query", "statement", "stmt", "command", "ddl", "script"}
_REMEDIATION = {
    "DB101": "Fetch all rows in one statement before the loop ({hint}) and look them up in a dict "
             "keyed by id inside the loop.",
    "DB103": "Load the rows once before the loop with {hint} and index them in a dict by key; or "
             "annotate/prefetch what the loop needs.",
    "DB104": "The statement does not depend on the loop: run `{call}` once before the loop and reuse "
             "the result.",
    "DB105": "Collect the rows in the loop and write them once: {hint}.",
}


def check_queries_in_loops(program: Program) -> list:
    """Report queries that run once per loop iteration."""
    findings = []
    for qualname, infos in program.calls.items():
        function = program.index.functions[qualname]
        writing_loops = _loops_that_write(program, function, infos)
        for info in infos:
            if info.call.loop is None or info.call.leaves_loop:
                continue
            loops = effective_loops(function, info.call.loop)
            if not loops:
                continue
            finding = _query_finding(program, function, info, loops, writing_loops)
            if finding is not None:
                findings.append(finding)
    return findings


def _loops_that_write(program: Program, function, infos: list) -> set:
    """Ids of the loops whose body writes to the database (directly or through helpers)."""
    writing = set()
    for info in infos:
        if info.call.loop is None or program.effect_chain(info, "write") is None:
            continue
        current = info.call.loop
        while current is not None:
            writing.add(current)
            current = function.loops[current].parent
    return writing


def _query_finding(program: Program, function, info: CallInfo, loops: list, writing_loops: set):
    read = program.effect_chain(info, "read")
    write = program.effect_chain(info, "write")
    if read is None and write is None:
        return None
    loop = loops[0]
    call = info.call
    bound = loop_bound_names(function, loops)
    if _runs_a_list_of_statements(program, info, bound):
        return None
    # A read after a write in the same iteration sees new data each time: not loop-invariant.
    invariant = not (set(call.names) & bound) and not any(loop.id in writing_loops for loop in loops)
    chain = read or write
    terminal = program.terminal(info, "read" if read else "write")
    orm = terminal.orm
    through = len(chain) > 1
    if write is not None and read is None:
        rule = "DB105"
    elif invariant:
        rule = "DB104"
    elif orm:
        rule = "DB103"
    else:
        rule = "DB101"
    target = chain[-1]
    where = f"inside `{loop_description(loop)}` (line {loop.line})"
    via = f" through {len(chain) - 1} helper call{'s' if len(chain) > 2 else ''} ending at {target.render()}" \
        if through else ""
    kind = {"DB105": "writes a row", "DB104": "runs the same query", "DB103": "runs an ORM query",
            "DB101": "runs a query"}[rule]
    message = f"`{call.text}()` {kind} on every iteration {where}{via}."
    if info.synthetic:
        message = f"The QuerySet `{call.text}` is evaluated on every iteration {where}."
    hint = _hint(rule, terminal)
    remediation = _REMEDIATION[rule].format(hint=hint, call=call.text)
    depth = len(loops)
    context = {"loop": loop_description(loop), "loop_line": loop.line, "loop_depth": depth,
               "effect": "write" if rule == "DB105" else "read"}
    severity_steps = 1 if depth > 1 else 0
    if terminal.local:
        severity_steps -= 2
        message += " The database is in-process SQLite, so each statement costs no network round trip."
    confidence = None
    if through and any(h.label.startswith(("cur.", "cursor.", "conn.", "session.")) for h in chain[-1:]) \
            and not program.resolver.eval(call.func):
        confidence = "medium"
    items = f"item of `{loop.iter_text}`"
    impact = {
        "DB101": f"One round trip per {items}: N queries where 1 would do.",
        "DB103": f"One ORM query per {items}: N round trips plus N model instantiations where 1 query would do.",
        "DB104": f"N - 1 identical queries: the same result fetched once per {items}.",
        "DB105": f"One write (and in autocommit one transaction) per {items} instead of one batched statement.",
    }[rule]
    if depth > 1:
        impact += f" Nested {depth} loops deep: the count multiplies."
    return make_finding(
        rule, program, function, info.path, call.line, call.col, call.end_line, message, remediation,
        call.excerpt, chain=[f"{info.path}:{loop.line} {loop_description(loop)}"] + [h.render() for h in chain],
        context=context, severity_steps=severity_steps, confidence=confidence, impact=impact,
    )


def _runs_a_list_of_statements(program: Program, info: CallInfo, bound: set) -> bool:
    """``for sql in statements: cursor.execute(sql)``: a script, not one statement per row.

    Exempt are DDL and maintenance statements (``CREATE EXTENSION {ext}`` per extension), a
    loop variable that *is* the statement text, and statements built per item by a ``*_sql``
    helper. A statement with bound parameters per row (``update(t).where(t.c.id == r.id)``)
    is not exempt: it is the same statement run once per row.
    """
    call = info.call
    if _DDL.match(call.sql or ""):
        return True
    if not (set(call.names) & bound):
        return False
    statement_arg = (call.first_arg == "name" and call.arg_count == 1 and not call.sql
                     and call.sql_name in bound)
    built_by_sql_helper = call.first_arg == "call" and call.arg_count == 1 and bool(
        call.args and _SQL_BUILDER.search(_callee_name(call.args[0])))
    if not (statement_arg or built_by_sql_helper):
        return False
    if info.effect in {"read", "write"}:
        return True
    for target in info.targets:
        params = program.index.functions[target].params
        names = [name for name, _ in params if name not in {"self", "cls"}]
        if names and names[0] in STATEMENT_PARAMETERS:
            return True
    return False


def _callee_name(value: tuple) -> str:
    """The last attribute name before the final call of a symbolic value."""
    steps = value[1]
    for step in reversed(steps):
        if step[0] == "attr":
            return step[1]
    return value[0].rsplit(".", 1)[-1]


def _hint(rule: str, terminal: CallInfo) -> str:
    """The batched form to use instead, for the API the query goes through."""
    django = terminal.orm and terminal.detail.startswith("dj")
    if rule == "DB105":
        if django:
            return "`Model.objects.bulk_create(objs)` / `bulk_update(objs, fields)` or one `.update()`"
        if terminal.orm or terminal.detail.startswith("sqlalchemy."):
            return "one `session.execute(update(Model), [{...}, ...])` (executemany) or `insert(Model).values([...])`"
        return "`cursor.executemany(...)`, `psycopg2.extras.execute_values(...)` or one multi-row " \
               "`INSERT ... VALUES` / `UPDATE ... FROM (VALUES ...)`"
    if django:
        return "`Model.objects.filter(pk__in=ids)` or `in_bulk(ids)`"
    if terminal.orm:
        return "`session.scalars(select(Model).where(Model.id.in_(ids)))`"
    return "`WHERE id = ANY(%s)` with the list of ids"
