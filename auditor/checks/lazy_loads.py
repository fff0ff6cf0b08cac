"""DB102: ORM relation loaded lazily once per row of a loop."""

from __future__ import annotations

from auditor.checks.base import effective_loops, loop_description, make_finding
from auditor.link import Program

# Methods of a related manager that are answered from a prefetch cache.
_CACHED_METHODS = {"all", "count", "exists", "__iter__"}


def check_lazy_loads(program: Program) -> list:
    """Report relation accesses on loop variables that the loop's query did not load."""
    findings = []
    resolver = program.resolver
    for qualname, function in program.index.functions.items():
        if not function.accesses:
            continue
        facts = program.index.function_module[qualname]
        iterated = {}
        for loop in function.loops:
            if loop.iter_val is None or len(loop.targets) != 1:
                continue
            source = resolver.eval(loop.iter_val)
            if source and source[0] == "loaded":
                source = source[1]  # ``for o in list(qs)``: the same rows, fetched up front
            if source and source[0] in {"djqs", "djrel", "sares", "saq", "list"}:
                iterated[loop.id] = source
        reported = set()
        for access in sorted(function.accesses, key=lambda a: (a.line, a.method == "")):
            source = iterated.get(access.loop)
            if source is None or (access.loop, access.attr) in reported:
                continue
            loop = function.loops[access.loop]
            if not effective_loops(function, loop.id):
                continue
            item = resolver.apply(source, ("iter", "", ()), 0)
            if not item or item[0] not in {"djobj", "saobj"}:
                continue
            relation = resolver.models.relation(item[1], access.attr)
            if relation is None or not _lazy(relation, source, access):
                continue
            reported.add((access.loop, access.attr))
            model = item[1].rsplit(".", 1)[-1]
            fix = _fix(relation, model)
            message = (f"`{access.name}.{access.attr}` loads the {relation.target.rsplit('.', 1)[-1]} "
                       f"relation of each {model} with its own query inside "
                       f"`{loop_description(loop)}` (line {loop.line}); the loop's query does not load it.")
            # SQLAlchemy looks a many-to-one up in the session's identity map first: one query per
            # distinct target, which is N only when the targets differ.
            identity_map = relation.orm == "sqlalchemy" and relation.kind == "forward"
            if identity_map:
                message += " (SQLAlchemy asks the identity map first: one query per distinct target.)"
            findings.append(make_finding(
                "DB102", program, function, facts.path, access.line, 0, access.line, message, fix,
                access.excerpt,
                chain=[f"{facts.path}:{loop.line} {loop_description(loop)}",
                       f"{facts.path}:{access.line} {access.name}.{access.attr}",
                       f"{relation.path}:{relation.line} {model}.{access.attr} ({relation.orm} relation)"],
                context={"loop": loop_description(loop), "loop_line": loop.line,
                         "relation": f"{model}.{access.attr}", "orm": relation.orm},
                confidence="low" if identity_map else None,
                impact=f"One extra query per {model} row of `{loop.iter_text}` (N+1 in total).",
            ))
    return findings


def _lazy(relation, source: tuple, access) -> bool:
    """Does reading ``access`` on an item of ``source`` query the database?"""
    attr = relation.attr
    if relation.orm == "sqlalchemy":
        options = source[2] if len(source) > 2 and isinstance(source[2], tuple) else ()
        return not relation.eager and attr not in options
    if source[0] != "djqs":
        return True
    select, prefetch = source[2], source[3]
    covered_by_select = "*" in select and relation.kind == "forward"
    covered_by_select = covered_by_select or any(p == attr or p.startswith(attr + "__") for p in select)
    covered_by_prefetch = any(p == attr or p.startswith(attr + "__") for p in prefetch)
    if relation.kind == "forward":
        if access.method:
            return False  # ``order.customer.save()`` etc.: the access itself is reported
        return not (covered_by_select or covered_by_prefetch)
    if not access.method:
        return False  # the manager object itself runs nothing
    if covered_by_prefetch and access.method in _CACHED_METHODS:
        return False
    return True


def _fix(relation, model: str) -> str:
    if relation.orm == "sqlalchemy":
        return (f"Add `.options(selectinload({model}.{relation.attr}))` to the statement the loop "
                f"iterates (or `joinedload` for a many-to-one), or declare the relationship "
                f"`lazy=\"selectin\"` if every caller needs it.")
    if relation.kind == "forward":
        return f"Add `.select_related(\"{relation.attr}\")` to the QuerySet the loop iterates."
    return (f"Add `.prefetch_related(\"{relation.attr}\")` to the QuerySet the loop iterates; filter "
            f"with a `Prefetch(\"{relation.attr}\", queryset=...)` object instead of `.filter()` "
            f"inside the loop.")
