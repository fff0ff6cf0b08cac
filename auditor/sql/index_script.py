"""The reviewed index script: ``CREATE INDEX`` statements (or, for Redshift and Snowflake, the
``ALTER TABLE`` key statements) with the reasons and code locations behind each, commented-out
drops of redundant indexes, and a commented-out rollback. Rendered from
``reports/indexes.sql.j2``; identical input gives identical output (no timestamps).

Everything taken from the scanned code (statements, reasons, paths) goes into ``--`` comments
with line breaks removed, so it cannot end a comment. Identifiers are always quoted (PostgreSQL,
SQLite, Redshift: double quotes; MySQL: backticks; Snowflake: only when not a plain name, since
Snowflake folds unquoted names to upper case).
"""

from __future__ import annotations

import re
from typing import Optional

import sqlglot
from sqlglot import exp

from auditor import __version__
from auditor.resources import report_template
from auditor.sql.model import Index, IndexKey, Schema
from auditor.sql.redundant import describe_keys, index_label, method_of

MAX_SITES = 12
STATEMENT_CHARS = 140
_PLAIN = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
_SNOWFLAKE_RESERVED = {"order", "group", "table", "select", "from", "where", "by", "to", "values",
                       "column", "start", "check", "current_date", "current_time", "default",
                       "union", "all", "and", "or", "not", "null", "on", "in", "is", "as"}

_HOW_TO_APPLY = {
    "postgres": [
        "Apply with autocommit, outside a transaction: CREATE INDEX CONCURRENTLY cannot run in a",
        "transaction block (psql -X -v ON_ERROR_STOP=1 -f this.sql; no BEGIN, no --single-transaction).",
        "CONCURRENTLY builds without blocking writes, but scans the table twice and waits for",
        "running transactions. A failed build leaves an INVALID index that IF NOT EXISTS would then",
        "skip: drop it and run the statement again. Check a session statement_timeout does not apply.",
    ],
    "mysql": [
        "InnoDB adds secondary indexes online by default; append ALGORITHM=INPLACE, LOCK=NONE to a",
        "statement to make it fail rather than block writes if it cannot be built online.",
        "MySQL has no CREATE INDEX IF NOT EXISTS: an existing index of the same name fails the statement.",
    ],
    "sqlite": [
        "CREATE INDEX locks the database for writes while it builds; run ANALYZE afterwards so the",
        "query planner knows the new indexes.",
    ],
    "redshift": [
        "Redshift has no indexes: the advice below sets sort keys and distribution keys instead.",
        "ALTER SORTKEY / ALTER DISTKEY rewrite the table in the background; run them off-peak, one",
        "table at a time, and record the current keys (SVV_TABLE_INFO) first: the rollback below",
        "can only return to AUTO.",
    ],
    "snowflake": [
        "Snowflake has no indexes: the advice below sets clustering keys and search optimization.",
        "Both cost credits continuously (automatic reclustering, search-access-path maintenance):",
        "apply only to large tables where pruning is poor, and estimate the cost first.",
    ],
}


def quote_identifier(name: str, dialect: str) -> str:
    """``name`` quoted for ``dialect`` (embedded quote characters doubled)."""
    if dialect == "snowflake":
        if _PLAIN.match(name) and name.lower() not in _SNOWFLAKE_RESERVED:
            return name
        return '"' + name.replace('"', '""') + '"'
    if dialect == "mysql":
        return "`" + name.replace("`", "``") + "`"
    return '"' + name.replace('"', '""') + '"'


def _qualified(schema_name: str, name: str, dialect: str) -> str:
    if schema_name:
        return f"{quote_identifier(schema_name, dialect)}.{quote_identifier(name, dialect)}"
    return quote_identifier(name, dialect)


def _flat(text: str, limit: int = 0) -> str:
    """One comment-safe line: whitespace (line breaks included) collapsed, shortened."""
    text = re.sub(r"\s+", " ", str(text or "")).strip()
    if limit and len(text) > limit:
        text = text[:limit - 1].rstrip() + "…"
    return text


def _expression_sql(expr: str, dialect: str) -> Optional[str]:
    """An expression key as written (PostgreSQL matches expression indexes to queries by their
    tree, so the text must stay what the queries use), or None when it is not one expression."""
    try:
        node = sqlglot.parse_one(expr, read="postgres")
    except Exception:  # noqa: BLE001
        return None
    if node is None or isinstance(node, (exp.Query, exp.DDL, exp.DML, exp.Command)):
        return None
    text = _flat(expr)
    if any(token in text for token in (";", "--", "/*")) or (dialect == "mysql" and '"' in text):
        return node.sql(dialect=dialect, identify=True)
    return text


def _key_sql(key: IndexKey, dialect: str) -> Optional[str]:
    if key.is_expression:
        inner = _expression_sql(key.expr, dialect)
        if inner is None:
            return None
        text = f"({inner})"
    else:
        text = quote_identifier(key.expr, dialect)
    if key.opclass and dialect == "postgres":
        if not _PLAIN.match(key.opclass):
            return None
        text += f" {key.opclass}"
    if key.desc:
        text += " DESC"
    return text


def _predicate_sql(where: str, dialect: str) -> Optional[str]:
    try:
        node = sqlglot.parse_one(where, read="postgres")
    except Exception:  # noqa: BLE001
        return None
    if node is None or isinstance(node, (exp.Query, exp.DDL, exp.DML, exp.Command)):
        return None
    return node.sql(dialect=dialect, identify=dialect != "snowflake")


def _table_of(index: Index, schema: Schema, dialect: str = ""):
    """``(schema name, table name)``; SQLite's schemas are attached databases, never used."""
    table = schema.table(index.table)
    if table is None:
        return "", index.table
    return ("" if dialect == "sqlite" else table.schema), table.name


def _drop_sql(index: Index, schema: Schema, dialect: str) -> str:
    schema_name, table = _table_of(index, schema, dialect)
    if dialect == "postgres":
        return f"DROP INDEX CONCURRENTLY IF EXISTS {_qualified(schema_name, index.name, dialect)};"
    if dialect == "mysql":
        return f"DROP INDEX {quote_identifier(index.name, dialect)} ON {_qualified(schema_name, table, dialect)};"
    return f"DROP INDEX IF EXISTS {_qualified(schema_name, index.name, dialect)};"


def create_index_sql(index: Index, schema: Schema, dialect: str) -> Optional[str]:
    """The ``CREATE INDEX`` statement for ``index`` in ``dialect`` (PostgreSQL, MySQL, SQLite),
    or None when a key or the predicate cannot be rendered safely."""
    schema_name, table = _table_of(index, schema, dialect)
    keys = [_key_sql(key, dialect) for key in index.keys]
    if not keys or any(k is None for k in keys):
        return None
    columns = ", ".join(keys)
    name = quote_identifier(index.name, dialect)
    using = "" if method_of(index) == "btree" else f" USING {method_of(index)}"
    if dialect == "postgres":
        text = (f"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} ON "
                f"{_qualified(schema_name, table, dialect)}{using} ({columns})")
        if index.include:
            text += " INCLUDE (" + ", ".join(quote_identifier(c, dialect) for c in index.include) + ")"
    elif dialect == "mysql":
        text = f"CREATE INDEX {name} ON {_qualified(schema_name, table, dialect)} ({columns})"
    else:  # sqlite: the schema qualifies the index name, never the table
        text = (f"CREATE INDEX IF NOT EXISTS {_qualified(schema_name, index.name, dialect)} ON "
                f"{quote_identifier(table, dialect)} ({columns})")
    if index.where and dialect in ("postgres", "sqlite"):
        predicate = _predicate_sql(index.where, dialect)
        if predicate is None:
            return None
        text += f" WHERE {predicate}"
    return text + ";"


def drop_index_sql(index: Index, schema: Schema, dialect: str) -> str:
    """The ``DROP INDEX`` statement for ``index`` (CONCURRENTLY IF EXISTS on PostgreSQL)."""
    return _drop_sql(index, schema, dialect)


_create_sql = create_index_sql  # the name auditor/checks/indexes.py imports


def key_change_sql(index: Index, schema: Schema, dialect: str) -> tuple:
    """``(statement, rollback)`` for Redshift/Snowflake key advice (``index.method`` sortkey,
    distkey, cluster, search optimization), or ``(None, None)``."""
    schema_name, table = _table_of(index, schema, dialect)
    target = _qualified(schema_name, table, dialect)
    columns = ", ".join(quote_identifier(k.expr, dialect) for k in index.keys)
    method = method_of(index)
    if method == "sortkey":
        return (f"ALTER TABLE {target} ALTER COMPOUND SORTKEY ({columns});",
                f"ALTER TABLE {target} ALTER SORTKEY AUTO;")
    if method == "distkey":
        return (f"ALTER TABLE {target} ALTER DISTKEY {columns};",
                f"ALTER TABLE {target} ALTER DISTSTYLE AUTO;")
    if method == "cluster":
        return (f"ALTER TABLE {target} CLUSTER BY ({columns});",
                f"ALTER TABLE {target} DROP CLUSTERING KEY;")
    if method in ("search optimization", "search_optimization"):
        return (f"ALTER TABLE {target} ADD SEARCH OPTIMIZATION ON EQUALITY({columns});",
                f"ALTER TABLE {target} DROP SEARCH OPTIMIZATION ON EQUALITY({columns});")
    return None, None


_TITLES = {
    "sortkey": "compound sort key",
    "distkey": "distribution key",
    "cluster": "clustering key",
    "search optimization": "search optimization",
}


def _served_lines(rec) -> list:
    lines, seen = [], set()
    for path in rec.serves:
        statement = _flat(path.statement, STATEMENT_CHARS)
        sites = path.sites or [None]
        for site in sites:
            where = site.render() if site is not None else "(no code location)"
            if site is not None and site.function:
                where += f" in {site.function}"
            line = _flat(f"{where}: {statement}" if statement else where)
            if line not in seen:
                seen.add(line)
                lines.append(line)
    if len(lines) > MAX_SITES:
        lines = lines[:MAX_SITES] + [f"… and {len(lines) - MAX_SITES} more"]
    return lines


def _item(rec, schema: Schema, dialect: str) -> dict:
    index = rec.index
    schema_name, table = _table_of(index, schema, dialect)
    shown_table = f"{schema_name}.{table}" if schema_name else table
    method = method_of(index)
    item = {
        "name": index.name,
        "table": shown_table,
        "columns": _flat(describe_keys(index.keys)),
        "include": ", ".join(index.include),
        "where": _flat(index.where),
        "title": _TITLES.get(method, "index"),
        "score": f"{rec.score:g}",
        "paths": len(rec.serves),
        "reasons": [_flat(r) for r in rec.reasons],
        "sites": _served_lines(rec),
        "replaces": [],
        "statement": None,
        "rollback": None,
        "problem": "",
    }
    if dialect in ("redshift", "snowflake"):
        statement, rollback = key_change_sql(index, schema, dialect)
        if statement is None:
            item["problem"] = f"no {dialect} statement for method {method}"
        item["statement"], item["rollback"] = statement, rollback
        return item
    statement = create_index_sql(index, schema, dialect)
    if statement is None:
        item["problem"] = "could not render this index as SQL safely: create it by hand"
    else:
        item["statement"] = statement
        item["rollback"] = _drop_sql(index, schema, dialect)
    for old in rec.replaces:
        if old.unique or old.primary:
            continue
        item["replaces"].append({
            "label": _flat(index_label(old)),
            "columns": _flat(describe_keys(old.keys)),
            "drop": _drop_sql(old, schema, dialect) if old.name else "",
            "declared": _declared(old),
        })
    return item


def _redundant_item(entry, schema: Schema, dialect: str) -> dict:
    index, cover, reason = entry
    drop = ""
    if index.name and not index.primary:
        drop = _drop_sql(index, schema, dialect)
    constraint = ""
    if index.unique or index.primary:
        schema_name, table = _table_of(index, schema, dialect)
        constraint = (f"backs a constraint: ALTER TABLE {_qualified(schema_name, table, dialect)} "
                      f"DROP CONSTRAINT {quote_identifier(index.name, dialect) if index.name else '<name>'}; "
                      "instead (check nothing references it)")
        drop = ""
    return {"label": _flat(index_label(index)), "columns": _flat(describe_keys(index.keys)),
            "reason": _flat(reason), "drop": drop, "constraint": constraint, "declared": _declared(index)}


def _declared(index: Index) -> str:
    """Where an index declared by a model or migration must be removed, so it is not recreated."""
    if index.origin not in ("django", "sqlalchemy", "alembic") or not index.path:
        return ""
    where = f"{index.path}:{index.line}" if index.line else index.path
    return _flat(f"declared by {index.origin} at {where}: remove it there too, or the next migration "
                 "recreates it" if index.origin != "alembic" else
                 f"created by the Alembic migration {where}: drop it in a new migration")


STATIC_ORIGIN = "a static analysis"
STATIC_REVIEW = ("Review every statement before running it: the advice comes from the code, not from the",
                 "table sizes or the data distribution.")


def render_index_script(recommendations, schema: Schema, dialect: str = "postgres", *,
                        notes=(), redundant=(), source: str = "", paths=None,
                        access_paths: Optional[int] = None, origin: str = STATIC_ORIGIN,
                        review: tuple = STATIC_REVIEW, measured: Optional[dict] = None) -> str:
    """The SQL script for ``recommendations`` in ``dialect``.

    ``notes`` are printed in the header (unknown tables, …); ``redundant`` holds
    ``(index, covering index, reason)`` triples (see ``redundant_indexes``), printed as
    commented-out drops; ``source`` names what was scanned. ``paths`` (the analysed access
    paths) gives the header's counts; without it, ``access_paths`` or the paths the
    recommendations serve are counted. ``origin`` and ``review`` replace the header's account of
    where the advice comes from (the live profiler's), ``measured`` maps ``id(recommendation)``
    to comment lines with its measured figures."""
    dialect = (dialect or "postgres").lower()
    items = [_item(rec, schema, dialect) for rec in recommendations]
    for rec, item in zip(recommendations, items):
        item["measured"] = [_flat(line) for line in (measured or {}).get(id(rec), [])]
    analysed = list(paths) if paths is not None else [p for rec in recommendations for p in rec.serves]
    if access_paths is None:
        access_paths = len({id(p) for p in analysed})
    tables = {schema.table(p.table).name for p in analysed if schema.table(p.table) is not None}
    warehouse = dialect in ("redshift", "snowflake")
    template = report_template("indexes.sql.j2")
    text = template.render(
        version=__version__,
        dialect=dialect,
        source=_flat(source),
        origin=_flat(origin),
        review=[_flat(line) for line in review],
        tables=len(tables),
        catalog=len(schema.tables),
        access_paths=access_paths,
        count=len([i for i in items if i["statement"]]),
        warehouse=warehouse,
        noun="key changes" if warehouse else "indexes",
        how_to_apply=_HOW_TO_APPLY.get(dialect, []),
        notes=[_flat(n) for n in notes],
        items=items,
        redundant=[] if warehouse else [_redundant_item(e, schema, dialect) for e in redundant],
    )
    return text.rstrip("\n") + "\n"
