"""Every SQL statement of the repository: SQL passed to query APIs in Python, module-level SQL
constants, and ``.sql`` files; each with the code sites that send it and how hot they are."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from auditor.checks.base import effective_loops
from auditor.facts import Call, Function, ModuleFacts, SqlText
from auditor.link import CallInfo, Program
from auditor.limits import FileTimeLimit, file_time_limit, limited_time, time_limit_note
from auditor.sql.model import Site
from auditor.sql.parse import Parsed, parse_statement, split_statements

# Methods that take a statement as their first argument, whatever the receiver resolves to.
SQL_METHODS = {
    "execute", "executemany", "executescript", "execute_async", "exec_driver_sql", "fetch", "fetchrow",
    "fetchval", "fetch_all", "fetch_one", "fetch_val", "iterate", "query", "raw", "sql", "text", "read_sql",
    "read_sql_query", "run_query", "execute_query", "run_sql", "execute_sql", "copy_expert", "prepare",
}


@dataclass
class Statement:
    """One SQL statement: where it is written, its parse, and the sites that send it."""

    text: str
    path: str
    line: int
    origin: str  # python | sql-file
    parsed: Parsed
    sql: Optional[SqlText] = None  # how Python built it (holes), for Python statements
    function: str = ""  # the function whose code holds the SQL text ("" in .sql files)
    sites: list = field(default_factory=list)  # Site, one per call that sends it
    like_params: dict = field(default_factory=dict)  # parameter -> wildcard-first pattern a site passes

    @property
    def hot_sites(self) -> list:
        """The sites, or the statement's own location when nothing is known to send it."""
        return self.sites or [Site(self.path, self.line, self.function)]


def collect_statements(program: Program, sql_texts: list, dialect: str) -> tuple:
    """``(statements, notes)``: every statement, in path/line order, and one note per file with SQL
    that could not be parsed. ``sql_texts`` are the ``.sql`` files from :func:`~auditor.sql_files.read_sql_files`."""
    found: dict = {}
    for facts in program.facts:
        for func in facts.functions:
            for info in program.calls.get(func.qualname, []):
                if info.synthetic:
                    continue
                call = info.call
                located = _statement_of_call(program, facts, info)
                if located is None:
                    continue
                path, line, text, sql = located
                key = (path, line, text)
                statement = found.get(key)
                if statement is None:
                    holder = func.qualname if path == facts.path else ""
                    statement = found[key] = Statement(text=text, path=path, line=line, origin="python",
                                                       parsed=parse_statement(text, dialect), sql=sql,
                                                       function=holder)
                statement.sites.append(_site(program, facts, func, call))
                statement.like_params.update(call.like_params)
        for name, sql in facts.sql_constants.items():  # SQL constants nobody visibly sends
            key = (facts.path, sql.line, sql.text)
            if key not in found and not _is_ddl(sql.text):
                found[key] = Statement(text=sql.text, path=facts.path, line=sql.line, origin="python",
                                       parsed=parse_statement(sql.text, dialect), sql=sql,
                                       function=f"{facts.module}.<module>" if facts.module else "<module>")
    timed_out = []
    limit = file_time_limit()
    for rel, text in sql_texts:
        try:
            with limited_time(limit):  # one huge .sql file must not stall the scan
                parsed = [(line, body, parse_statement(body, dialect))
                          for line, body in split_statements(text, dialect)]
        except FileTimeLimit:
            timed_out.append((rel, time_limit_note(limit)))
            continue
        for line, body, tree in parsed:
            found[(rel, line, body)] = Statement(text=body, path=rel, line=line, origin="sql-file", parsed=tree)
    statements = sorted(found.values(), key=lambda s: (s.path, s.line, s.text))
    return statements, _parse_notes(statements) + timed_out


def _statement_of_call(program: Program, facts: ModuleFacts, info: CallInfo) -> Optional[tuple]:
    """``(path, line, text, SqlText)`` of the statement a classified call sends, or None."""
    call = info.call
    method = call.text.rsplit(".", 1)[-1]
    is_query = info.effect in {"read", "write", "batch"} and not info.orm
    if method not in SQL_METHODS and not is_query:
        return None
    if call.sql_text is not None:
        constant = facts.sql_constants.get(call.sql_name) if call.sql_name else None
        if constant is not None and constant.text == call.sql_text.text:
            return facts.path, constant.line, constant.text, constant
        return facts.path, call.sql_text.line, call.sql_text.text, call.sql_text
    if call.sql_name:
        return _imported_constant(program, facts, call.sql_name)
    return None


def _imported_constant(program: Program, facts: ModuleFacts, name: str) -> Optional[tuple]:
    """``from app.queries import GET_USER`` / ``queries.GET_USER``: the constant's own location."""
    head, _, rest = name.partition(".")
    qualified = facts.imports.get(head)
    if qualified is None:
        return None
    qualified = f"{qualified}.{rest}" if rest else qualified
    module, _, constant = program.index.canonical(qualified).rpartition(".")
    owner = program.index.modules.get(module)
    if owner is None:
        return None
    sql = owner.sql_constants.get(constant)
    if sql is None:
        return None
    return owner.path, sql.line, sql.text, sql


def _site(program: Program, facts: ModuleFacts, func: Function, call: Call) -> Site:
    return Site(path=facts.path, line=call.line, function=func.qualname, excerpt=call.excerpt,
                loop_depth=len(effective_loops(func, call.loop)),
                request_path=func.qualname in program.handler_paths,
                admin_request=func.qualname in program.admin_paths)


def _is_ddl(text: str) -> bool:
    return text.lstrip().split(None, 1)[0].lower() in {"create", "alter", "drop"} if text.strip() else False


def ddl_texts(program: Program, statements: list, sql_texts: list) -> list:
    """``(path, line, text)`` of every text that may declare schema: ``.sql`` files whole, and DDL
    written in Python (executed, or kept in module constants)."""
    texts = [(rel, 1, text) for rel, text in sql_texts]
    seen = set()
    for statement in statements:
        if statement.origin == "python" and _is_ddl(statement.text):
            seen.add((statement.path, statement.line))
            texts.append((statement.path, statement.line, statement.text))
    for facts in program.facts:
        for sql in facts.sql_constants.values():
            if _is_ddl(sql.text) and (facts.path, sql.line) not in seen:
                texts.append((facts.path, sql.line, sql.text))
    return sorted(texts)


def _parse_notes(statements: list) -> list:
    by_path: dict = {}
    for statement in statements:
        if statement.parsed.tree is None and statement.parsed.error:
            by_path.setdefault(statement.path, []).append(statement)
    notes = []
    for path, failed in sorted(by_path.items()):
        templated = [s for s in failed if s.parsed.templated]
        broken = [s for s in failed if not s.parsed.templated]
        if broken:
            first = broken[0]
            count = "1 SQL statement" if len(broken) == 1 else f"{len(broken)} SQL statements"
            notes.append((path, f"{count} could not be parsed (line {first.line}: {first.parsed.error})"))
        if templated:
            count = "1 templated SQL statement" if len(templated) == 1 else f"{len(templated)} templated SQL statements"
            notes.append((path, f"{count} (Jinja/dbt) not analysed (line {templated[0].line})"))
    return notes

