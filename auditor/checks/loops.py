"""DB101, DB103, DB104, DB105: queries and writes repeated inside loops (also through helpers)."""

from __future__ import annotations

from auditor.checks.base import effective_loops, loop_bound_names, loop_description, make_finding
from auditor.link import CallInfo, Program

STATEMENT_PARAMETERS = {"sql", "query", "statement", "stmt", "command", "ddl", "script"}
_REMEDIATION = {
    "DB101": "Fetch all rows in one statement before the loop ({hint}) and look them up in a dict "
             "keyed by id inside the loop.",
    "DB103": "Load the rows once before the loop with an `__in` / `.in_()` filter ({hint}) and index "
             "them in a dict; or annotate/prefetch what the loop needs.",
    "DB104": "The statement does not depend on the loop: run `{call}` once before the loop and reuse "
             "the result.",
    "DB105": "Collect the rows in the loop and write them once: {hint}.",
}


def check_queries_in_loops(program: Program) -> list:
    """Report queries that run once per loop iteration."""
    findings = []
    for qualname, infos in program.calls.items():
        function = program.index.functions[qualname]
        for info in infos:
            loops = effective_loops(function, info.call.loop)
            if not loops:
                continue
            finding = _query_finding(program, function, info, loops)
            if finding is not None:
                findings.append(finding)
    return findings


def _query_finding(program: Program, function, info: CallInfo, loops: list):
    read = program.effect_chain(info, "read")
    write = program.effect_chain(info, "write")
    if read is None and write is None:
        return None
    loop = loops[0]
    call = info.call
    bound = loop_bound_names(function, loops)
    if _runs_a_list_of_statements(program, info, bound):
        return None
    invariant = not (set(call.names) & bound)
    chain = read or write
    orm = program.effect_is_orm(info, "read" if read else "write")
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
    hint = _hint(rule, orm, program, info)
    remediation = _REMEDIATION[rule].format(hint=hint, call=call.text)
    depth = len(loops)
    context = {"loop": loop_description(loop), "loop_line": loop.line, "loop_depth": depth,
               "effect": "write" if rule == "DB105" else "read"}
    confidence = None
    if through and any(h.label.startswith(("cur.", "cursor.", "conn.", "session.")) for h in chain[-1:]) \
            and not program.resolver.eval(call.func):
        confidence = "medium"
    return make_finding(
        rule, program, function, info.path, call.line, call.col, call.end_line, message, remediation,
        call.excerpt, chain=[f"{info.path}:{loop.line} {loop_description(loop)}"] + [h.render() for h in chain],
        context=context, severity_steps=1 if depth > 1 else 0, confidence=confidence,
    )


def _runs_a_list_of_statements(program: Program, info: CallInfo, bound: set) -> bool:
    """``for sql in statements: cursor.execute(sql)``: a script, not one statement per row.

    The statement itself changes with the loop and carries no parameters: each iteration runs
    a different statement (DDL, migrations), which no batching or IN-list can merge.
    """
    call = info.call
    if call.first_arg not in {"name", "call"} or call.arg_count != 1 or call.sql:
        return False
    if not (set(call.names) & bound):
        return False
    if call.args:
        statement = program.resolver.eval(call.args[0])
        if statement and statement[0] == "sastmt":
            return False  # ``update(User).where(User.id == uid)``: one statement shape per row
    if info.effect in {"read", "write"}:
        return True
    for target in info.targets:
        params = program.index.functions[target].params
        names = [name for name, _ in params if name not in {"self", "cls"}]
        if names and names[0] in STATEMENT_PARAMETERS:
            return True
    return False


def _hint(rule: str, orm: bool, program: Program, info: CallInfo) -> str:
    if rule == "DB105":
        if orm:
            return "`Model.objects.bulk_create(objs)` / `bulk_update(objs, fields)` or one `.update()`"
        return "`cursor.executemany(...)`, `psycopg2.extras.execute_values(...)` or one multi-row " \
               "`INSERT ... VALUES` / `UPDATE ... FROM (VALUES ...)`"
    if orm:
        return "`Model.objects.filter(pk__in=ids)` / `select(Model).where(Model.id.in_(ids))`"
    return "`WHERE id = ANY(%s)` with the list of ids"
