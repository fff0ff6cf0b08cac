"""The SQL side of a scan: statements, schema catalog, access paths with their sites, index advice."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from auditor.checks.base import effective_loops
from auditor.link import Program
from auditor.sql.access import access_paths
from auditor.sql.model import Schema, Site
from auditor.sql.orm_access import chain_access_path
from auditor.sql.recommend import Advice, advise
from auditor.sql.redundant import redundant_indexes
from auditor.sql.schema_build import build_schema
from auditor.sql.statements import collect_statements, ddl_texts
from auditor.sql_files import read_sql_files, unread_sql_notes


@dataclass
class SqlAnalysis:
    """What the SQL rules, the index rules and ``audit indexes`` read."""

    dialect: str
    statements: list = field(default_factory=list)  # Statement
    schema: Schema = field(default_factory=Schema)
    paths: list = field(default_factory=list)  # AccessPath with sites, from SQL and ORM queries
    advice: Advice = field(default_factory=Advice)
    redundant: list = field(default_factory=list)  # (index, covering index, reason)
    notes: list = field(default_factory=list)  # (path, message)


def analyse_sql(program: Program, root: Path, sql_files: list, dialect: str, production_only,
                extra_ddl: tuple = ()) -> SqlAnalysis:
    """Run the SQL analysis; ``production_only(path)`` says whether a site's path counts for the workload
    (test and migration code does not drive index advice). ``extra_ddl`` are ``(path, text)`` of schema
    files outside the scan (the ``schema`` configuration key): read for the schema catalog only."""
    sql_texts = read_sql_files(root, sql_files)
    statements, notes = collect_statements(program, sql_texts, dialect)
    notes = list(notes) + unread_sql_notes(root, sql_files, sql_texts)
    schema = build_schema(program.facts, ddl_texts(program, statements, sql_texts + list(extra_ddl)), dialect,
                          program.resolver.models)
    paths = []
    for statement in statements:
        if statement.parsed.tree is None or statement.origin != "python":
            continue
        sites = [site for site in statement.hot_sites if production_only(site.path)]
        if not sites:
            continue
        for path in access_paths(statement.parsed.tree, schema, dialect):
            path.sites = list(sites)
            paths.append(path)
    for facts in program.facts:
        if not production_only(facts.path):
            continue
        for func in facts.functions:
            for chain in func.queries:
                path = chain_access_path(program, chain, schema)
                if path is None:
                    continue
                path.sites = [Site(facts.path, chain.line, func.qualname, chain.excerpt,
                                   loop_depth=len(effective_loops(func, chain.loop)),
                                   request_path=func.qualname in program.handler_paths)]
                paths.append(path)
    advice = advise(schema, paths, dialect)
    noted = {path for path, _ in notes}  # a file's parse failures are noted once, by the statement collector
    notes = sorted(set(notes) | {(path, message) for path, message in schema.notes if path not in noted})
    return SqlAnalysis(dialect=dialect, statements=statements, schema=schema, paths=paths, advice=advice,
                       redundant=redundant_indexes(schema), notes=notes)
