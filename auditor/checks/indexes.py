"""IDX101 missing index (with its DDL and the queries it serves), IDX102 redundant index."""

from __future__ import annotations

from typing import Iterator

from auditor.checks.base import make_finding
from auditor.facts import Function
from auditor.findings import Finding
from auditor.link import Program
from auditor.sql.index_script import create_index_sql
from auditor.sql.recommend import INDEX_DIALECTS
from auditor.sql.redundant import describe_keys


def check_indexes(program: Program) -> Iterator[Finding]:
    """IDX101 for every recommended index, IDX102 for every redundant one."""
    analysis = program.sql
    if analysis is None:
        return
    if analysis.dialect in INDEX_DIALECTS:
        for recommendation in analysis.advice.recommendations:
            yield _missing_index(program, recommendation, analysis)
    by_declaration: dict = {}
    for index, covering, reason in analysis.redundant:
        if not _framework_managed(analysis.schema, index):
            by_declaration.setdefault((index.path, index.line), []).append((index, covering, reason))
    for entries in by_declaration.values():
        yield _redundant_index(program, entries)


def _framework_managed(schema, index) -> bool:
    """Django's own indexes on the implicit table of a ManyToManyField: nothing in the code to change."""
    table = schema.table(index.table)
    return table is not None and table.origin == "django" and not table.model and index.origin == "foreign key"


def _missing_index(program: Program, recommendation, analysis) -> Finding:
    index = recommendation.index
    sites = sorted({(site.path, site.line): site for path in recommendation.serves for site in path.sites}.values(),
                   key=lambda s: (-s.weight, s.path, s.line))
    hottest = sites[0]
    function = program.index.functions.get(hottest.function) or _placeholder(hottest.function, hottest.line)
    statement = create_index_sql(index, analysis.schema, analysis.dialect) or ""
    queries = len(recommendation.serves)
    served = "1 query" if queries == 1 else f"{queries} queries"
    where = f" WHERE {index.where}" if index.where else ""
    message = (f"no index serves `{index.table}` ({describe_keys(index.keys)}{where}) for {served}: "
               f"{recommendation.reasons[0] if recommendation.reasons else 'each is a scan of the table'}")
    remediation = f"Review and create the index (the `audit indexes` script has it with its rollback): `{statement}`"
    if recommendation.reasons[1:]:
        remediation += " Why: " + "; ".join(recommendation.reasons[1:]) + "."
    return make_finding(
        "IDX101", program, function, hottest.path, hottest.line, 0, hottest.line, message, remediation,
        hottest.excerpt, raise_on_request=False,
        context={"table": index.table, "index": index.name, "ddl": statement,
                 "serves": [site.render() for site in sites[:20]], "reasons": list(recommendation.reasons),
                 "replaces": [r.name for r in recommendation.replaces]})


def _redundant_index(program: Program, entries: list) -> Finding:
    """One finding per declaration: a field of an abstract model declares an index in every table."""
    index, covering, reason = entries[0]
    function = _placeholder("", index.line)
    if len(entries) == 1:
        message = (f"index {index.name or '(unnamed)'} on `{index.table}` ({describe_keys(index.keys)}) is "
                   f"redundant: {reason}")
    else:
        tables = ", ".join(f"`{i.table}`" for i, _, _ in entries[:5]) + (" …" if len(entries) > 5 else "")
        message = (f"{len(entries)} indexes declared here ({describe_keys(index.keys)} on {tables}) are "
                   f"redundant: in each table, {reason}")
    names = " ".join(f"DROP INDEX CONCURRENTLY IF EXISTS {i.name};" for i, _, _ in entries[:3])
    return make_finding(
        "IDX102", program, function, index.path, index.line, 0, index.line, message,
        f"Drop it after checking it is unused in production (`pg_stat_user_indexes.idx_scan`): `{names}` — "
        f"{covering.name or 'the covering index'} serves the same lookups, and every extra index slows down "
        f"writes and takes memory. {_how_to_drop(index.origin)}",
        "", context={"tables": [i.table for i, _, _ in entries], "indexes": [i.name for i, _, _ in entries],
                     "covered_by": [c.name for _, c, _ in entries], "origin": index.origin})


def _how_to_drop(origin: str) -> str:
    if origin in {"django", "foreign key"}:
        return "In Django, set `db_index=False` on the field (or remove the entry from `Meta.indexes`) and make a migration."
    if origin == "sqlalchemy":
        return "In SQLAlchemy, remove `index=True` or the `Index(...)`, and add a migration that drops it."
    if origin == "alembic":
        return "Add a migration with `op.drop_index(...)`."
    return ""


def _placeholder(qualname: str, line: int) -> Function:
    return Function(qualname=qualname, name="", cls="", line=line, end_line=line, is_async=False)
