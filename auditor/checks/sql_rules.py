"""SQL101–SQL107: statement-level problems read off the parsed SQL.

SQL101 non-sargable predicate, SQL102 leading-wildcard LIKE, SQL103 ``SELECT *``, SQL104 deep
OFFSET, SQL105 unbounded result on a request path, SQL106 SQL built by string formatting,
SQL107 a statement the target dialect does not support.
"""

from __future__ import annotations

import re
from typing import Iterator, Optional

from sqlglot import exp

from auditor.checks.base import make_finding
from auditor.facts import Function
from auditor.findings import Finding
from auditor.link import Program
from auditor.sql.access import HOLE_PREFIX, Scope, conjuncts, is_prefix_pattern, statement_scopes
from auditor.sql.statements import Statement
from auditor.sql_strings import HOLE_PATTERN, show_holes

DEEP_OFFSET = 1000
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Between, exp.Like, exp.ILike)
_DATE_FUNCTIONS = {"date_trunc", "date", "trunc", "to_char", "to_date", "cast", "try_cast", "datetrunc",
                   "timestamp_trunc", "strftime", "date_format"}
_PART_FUNCTIONS = {"extract", "year", "month", "day", "date_part", "datepart"}
_CASE_FUNCTIONS = {"lower", "upper"}


def check_sql(program: Program) -> Iterator[Finding]:
    """Every SQL rule over every parsed statement."""
    analysis = program.sql
    if analysis is None:
        return
    for statement in analysis.statements:
        yield from _injection(program, statement)
        tree = statement.parsed.tree
        if tree is None:
            continue
        yield from _dialect_support(program, statement, tree, analysis.dialect)
        scopes = statement_scopes(tree, analysis.schema, analysis.dialect)
        yield from _non_sargable(program, statement, scopes, analysis)
        yield from _leading_wildcards(program, statement, scopes, analysis)
        if statement.origin == "python":
            yield from _select_star(program, statement, tree, scopes)
            yield from _unbounded(program, statement, tree, scopes)
        yield from _deep_offset(program, statement, scopes)


# ------------------------------------------------------------------ shared
def _finding(rule: str, program: Program, statement: Statement, message: str, remediation: str,
             excerpt: str = "", severity_steps: int = 0, confidence: Optional[str] = None,
             context: Optional[dict] = None) -> Finding:
    """A finding at the statement's own line, rated up when a request handler sends it."""
    holder = program.index.functions.get(statement.function) or Function(
        qualname=statement.function, name="", cls="", line=statement.line, end_line=statement.line, is_async=False)
    context = dict(context or {})
    sent_from = [site.render() for site in statement.sites if site.path != statement.path or site.line != statement.line]
    if sent_from:
        context["sent_from"] = sent_from[:10]
    on_request = [site for site in statement.sites if site.request_path]
    if on_request and holder.qualname not in program.handler_paths:
        severity_steps += 1
        context["request_path"] = [site.render() for site in on_request[:5]]
    return make_finding(rule, program, holder, statement.path, statement.line, 0, statement.line, message,
                        remediation, excerpt or _excerpt(statement), context=context,
                        severity_steps=severity_steps, confidence=confidence)


def _excerpt(statement: Statement) -> str:
    holes = statement.sql.holes if statement.sql is not None else None
    return " ".join(show_holes(statement.text, holes).split())[:200]


def _sql(node: exp.Expression, dialect: str) -> str:
    return show_holes(node.sql(dialect=dialect))[:160]


# ------------------------------------------------------------------ SQL101
def _non_sargable(program: Program, statement: Statement, scopes: list, analysis) -> Iterator[Finding]:
    seen = set()
    for scope in scopes:
        for predicate in conjuncts(scope.node.args.get("where")):
            if not isinstance(predicate, _COMPARISONS):
                continue
            wrapped = _wrapped_column(scope, predicate)
            if wrapped is None:
                continue
            side, node = wrapped
            if _has_expression_index(analysis.schema, side.table, side.text) or (side.table, side.text) in seen:
                continue
            seen.add((side.table, side.text))
            yield _finding(
                "SQL101", program, statement,
                f"`{_sql(predicate, analysis.dialect)}` applies `{side.text}` to column `{side.column}` of "
                f"`{side.table}`: an index on `{side.column}` cannot be used, every row is computed",
                _sargable_fix(node, side, predicate, analysis.dialect),
                context={"table": side.table, "column": side.column, "expression": side.text})


def _wrapped_column(scope: Scope, predicate: exp.Expression) -> Optional[tuple]:
    """(Side, node) when one operand is an expression over one column and the other a value."""
    operands = [predicate.this]
    if isinstance(predicate, exp.Between):
        others = [predicate.args.get("low"), predicate.args.get("high")]
    elif isinstance(predicate, exp.In):
        others = list(predicate.expressions) or [predicate.args.get("query")]
    else:
        others = [predicate.expression]
        operands.append(predicate.expression)
        others.append(predicate.this)
    for operand, other in zip(operands, others):
        if operand is None or other is None:
            continue
        side = scope.side(operand)
        if side.kind == "expression" and scope.side(other).kind == "value":
            if isinstance(predicate, (exp.Like, exp.ILike)) and operand is not predicate.this:
                continue
            return side, operand
    return None


def _has_expression_index(schema, table: str, expression: str) -> bool:
    found = schema.table(table) if schema is not None else None
    if found is None:
        return False
    wanted = _normal(expression)
    return any(key.is_expression and _normal(key.expr) == wanted for index in found.indexes for key in index.keys[:1])


def _normal(text: str) -> str:
    return re.sub(r"[\s\"`()]", "", text).lower()


def _sargable_fix(node: exp.Expression, side, predicate: exp.Expression, dialect: str) -> str:
    function = node.this if isinstance(node, exp.Paren) else node
    name = (function.sql_name() if isinstance(function, exp.Func) else "").lower()
    column = side.column
    if isinstance(function, (exp.Add, exp.Sub, exp.Mul, exp.Div)):
        return (f"Move the arithmetic to the value side so that `{column}` stands alone, e.g. "
                f"`{column} + INTERVAL '1 day' > now()` becomes `{column} > now() - INTERVAL '1 day'`.")
    if isinstance(function, exp.Cast) or name in _DATE_FUNCTIONS or isinstance(function, exp.TimestampTrunc):
        return (f"Compare `{column}` itself with a half-open range: `{column} >= :day AND {column} < :day + "
                f"INTERVAL '1 day'` instead of truncating or casting the column; an index on `{column}` then "
                f"serves it.")
    if name in _PART_FUNCTIONS or isinstance(function, exp.Extract):
        return (f"Turn the date part into a range on `{column}` (`{column} >= '2024-01-01' AND {column} < "
                f"'2025-01-01'` for a year), or index the expression.")
    if name in _CASE_FUNCTIONS:
        return (f"Create an expression index `CREATE INDEX ... ON {side.table} (({side.text}))` (PostgreSQL) "
                f"so the lookup can use it, or store the value normalised (or as `citext`) and compare "
                f"`{column}` directly.")
    return (f"Rewrite the predicate so the bare column `{column}` is compared with a value, or create an "
            f"expression index on `({side.text})` that matches it exactly.")


# ------------------------------------------------------------------ SQL102
def _leading_wildcards(program: Program, statement: Statement, scopes: list, analysis) -> Iterator[Finding]:
    ordinals = _placeholder_ordinals(statement.parsed.tree)
    for scope in scopes:
        for like in scope.node.find_all(exp.Like, exp.ILike):
            if _enclosing_scope(like) is not scope.node:
                continue
            side = scope.side(like.this)
            if side.kind not in {"column", "expression"}:
                continue
            prefix = is_prefix_pattern(like.expression)
            if prefix is None and isinstance(like.expression, exp.Placeholder):
                name = like.expression.name
                key = str(ordinals.get(id(like.expression), -1)) if name in {"", "?"} else name
                prefix = False if key in statement.like_params else None
            if prefix is not False:
                continue
            if _has_trigram_index(analysis.schema, side.table, side.column):
                continue
            operator = "ILIKE" if isinstance(like, exp.ILike) else "LIKE"
            yield _finding(
                "SQL102", program, statement,
                f"`{_sql(like, analysis.dialect)}` starts the {operator} pattern with a wildcard: no B-tree "
                f"index on `{side.table}.{side.column}` can be used, every row is read",
                _wildcard_fix(side, analysis.dialect),
                context={"table": side.table, "column": side.column})


def _placeholder_ordinals(tree: exp.Expression) -> dict:
    """id() of each positional placeholder (``%s``/``?``) -> its position among the parameters."""
    ordinals = {}
    for node in tree.walk(bfs=False):
        if isinstance(node, exp.Placeholder) and node.name in {"", "?"}:
            ordinals[id(node)] = len(ordinals)
    return ordinals


def _enclosing_scope(node: exp.Expression) -> Optional[exp.Expression]:
    current = node.parent
    while current is not None and not isinstance(current, (exp.Select, exp.Update, exp.Delete)):
        current = current.parent
    return current


def _has_trigram_index(schema, table: str, column: str) -> bool:
    found = schema.table(table) if schema is not None else None
    if found is None:
        return False
    return any(index.method in {"gin", "gist"} and any(key.expr == column for key in index.keys)
               for index in found.indexes)


def _wildcard_fix(side, dialect: str) -> str:
    if dialect == "postgres":
        return (f"If a substring search is really needed, add a trigram index: `CREATE EXTENSION IF NOT EXISTS "
                f"pg_trgm; CREATE INDEX CONCURRENTLY ... ON {side.table} USING gin ({side.column} gin_trgm_ops)`; "
                f"for word search use full-text search (`tsvector` + GIN). If users search by prefix, drop the "
                f"leading `%`.")
    return ("Search by prefix (drop the leading wildcard) so an index can be used, or move substring search to a "
            "full-text index or search service.")


# ------------------------------------------------------------------ SQL103
def _select_star(program: Program, statement: Statement, tree: exp.Expression, scopes: list) -> Iterator[Finding]:
    if not isinstance(tree, (exp.Select, exp.Union)) or not scopes:
        return
    outer = tree if isinstance(tree, exp.Select) else None
    if outer is None:
        return
    stars = [e for e in outer.expressions
             if isinstance(e, exp.Star) or (isinstance(e, exp.Column) and isinstance(e.this, exp.Star))]
    tables = scopes[0].tables if scopes[0].node is outer else []
    if not stars or not tables:
        return
    yield _finding(
        "SQL103", program, statement,
        f"`SELECT *` from `{'`, `'.join(tables)}` fetches every column, including ones added later",
        "Name the columns the code uses. Fewer columns mean less I/O and network transfer, make index-only scans "
        "possible, and keep the code working when columns are added, reordered or dropped.",
        context={"tables": tables})


# ------------------------------------------------------------------ SQL104
def _deep_offset(program: Program, statement: Statement, scopes: list) -> Iterator[Finding]:
    for scope in scopes:
        offset = scope.node.args.get("offset")
        if offset is None:
            continue
        value = offset.args.get("expression") or offset.this
        if isinstance(value, exp.Literal) and not value.is_string:
            try:
                rows = int(value.this)
            except ValueError:
                continue
            if rows < DEEP_OFFSET:
                continue
            message = f"OFFSET {rows} reads and throws away {rows:,} rows before returning any"
        elif any(site.request_path or site.admin_request for site in statement.sites):
            message = ("OFFSET from a request parameter: each page reads and discards every row of the pages "
                       "before it, so deep pages get slower and slower")
        else:
            continue
        order = scope.node.args.get("order")
        keys = ", ".join(o.this.sql() for o in order.expressions) if order is not None else "a unique key"
        yield _finding(
            "SQL104", program, statement, message,
            f"Use keyset (seek) pagination: remember the last row's `{keys}` and ask for `WHERE ({keys}) > "
            f"(:last) ORDER BY {keys} LIMIT :n`, with an index on those columns.",
            confidence=None if isinstance(value, exp.Literal) else "medium")
        return


# ------------------------------------------------------------------ SQL105
def _unbounded(program: Program, statement: Statement, tree: exp.Expression, scopes: list) -> Iterator[Finding]:
    if not isinstance(tree, exp.Select) or not scopes or scopes[0].node is not tree:
        return
    handlers = [site for site in statement.sites if site.request_path]
    if not handlers or not scopes[0].tables:
        return
    if any(tree.args.get(key) is not None for key in ("where", "limit", "group", "having", "distinct", "fetch")):
        return
    if tree.expressions and all(_is_aggregate(e) for e in tree.expressions):
        return
    tables = scopes[0].tables
    yield _finding(
        "SQL105", program, statement,
        f"reads every row of `{'`, `'.join(tables)}` (no WHERE, no LIMIT) on a request path: the response grows "
        f"with the table",
        "Bound the result: filter to what the page needs, paginate with `LIMIT` (keyset pagination for deep "
        "pages), or aggregate in SQL. If the table is a small, fixed lookup list, cache it instead of reading it "
        "on every request.",
        context={"tables": tables, "handlers": [site.render() for site in handlers[:5]]})


def _is_aggregate(node: exp.Expression) -> bool:
    inner = node.this if isinstance(node, exp.Alias) else node
    return isinstance(inner, exp.AggFunc) or (isinstance(inner, exp.Literal))


# ------------------------------------------------------------------ SQL106
def _injection(program: Program, statement: Statement) -> Iterator[Finding]:
    sql = statement.sql
    if sql is None or not sql.built:
        return
    positions = _hole_positions(statement)
    inputs = [(number, source) for number, (kind, source) in enumerate(sql.holes, start=1) if kind == "input"]
    how = {"fstring": "an f-string", "percent": "`%` formatting", "format": "`.format()`",
           "concat": "string concatenation"}.get(sql.built, "string formatting")
    if inputs:
        values = [source for number, source in inputs if positions.get(number, "value") == "value"]
        if values:
            yield _finding(
                "SQL106", program, statement,
                f"SQL built with {how} puts `{'`, `'.join(values[:3])}` into the statement text: a value containing "
                f"a quote changes the query (SQL injection), and every distinct value is a new statement to plan",
                "Pass values as query parameters (`cur.execute(\"... WHERE id = %s\", (value,))`, `:name` with "
                "SQLAlchemy `text()`); for identifiers use `psycopg2.sql.Identifier` or check them against an "
                "allow-list.",
                context={"interpolated": [source for _, source in inputs], "built_with": sql.built})
            return
        names = [source for _, source in inputs]
        yield _finding(
            "SQL106", program, statement,
            f"SQL built with {how} puts `{'`, `'.join(names[:3])}` into the statement as an identifier (table or "
            f"column name): safe only if it can never come from user input",
            "Check the identifier against an allow-list of known names, or compose it with "
            "`psycopg2.sql.Identifier` / SQLAlchemy `quoted_name`; keep values as parameters.",
            severity_steps=-1, confidence="medium",
            context={"interpolated": names, "built_with": sql.built})
        return
    if any(kind == "const" for kind, _ in sql.holes) or not sql.holes:
        yield _finding(
            "SQL106", program, statement,
            f"SQL built with {how} from constants only: not injectable today, but the pattern invites the next edit "
            f"to interpolate a value",
            "Keep constant parts as literal SQL text, and use parameters for values and `psycopg2.sql.Identifier` "
            "for names, so that formatting never becomes the way values get into SQL.",
            severity_steps=-2, confidence="high", context={"built_with": sql.built})


def _hole_positions(statement: Statement) -> dict:
    """Hole number -> "identifier" (a table/column name) or "value" (data spliced into the SQL)."""
    tree = statement.parsed.tree
    positions: dict = {}
    if tree is None:
        return positions
    for node in tree.walk():
        if isinstance(node, exp.Literal) and node.is_string:
            for number in HOLE_PATTERN.findall(node.this):
                positions[int(number)] = "value"
        elif isinstance(node, exp.Identifier) and node.this.startswith(HOLE_PREFIX):
            match = HOLE_PATTERN.search(node.this)
            if match:
                positions.setdefault(int(match.group(1)), _identifier_role(node))
    return positions


def _identifier_role(identifier: exp.Identifier) -> str:
    parent = identifier.parent
    if isinstance(parent, exp.Table):
        return "identifier"
    if isinstance(parent, exp.Column):
        holder = parent.parent
        if isinstance(holder, (exp.Select, exp.Ordered, exp.Group, exp.Alias)) or holder is None:
            return "identifier"
        if isinstance(holder, (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.In, exp.Like, exp.ILike,
                               exp.Between)) and parent is holder.this:
            other = holder.args.get("expression")
            if other is not None and not isinstance(other, exp.Column):
                return "identifier"  # ``{col} = %s``: the hole names the column
        return "value"
    return "identifier"


# ------------------------------------------------------------------ SQL107
_UNSUPPORTED = {
    "redshift": [
        (lambda t: isinstance(t, exp.Create) and str(t.args.get("kind", "")).upper() == "INDEX",
         "Amazon Redshift has no indexes: CREATE INDEX fails",
         "Define a SORTKEY (columns used in range filters and joins) and a DISTKEY (the most frequent join "
         "column) on the table instead; `audit indexes --dialect redshift` suggests them."),
        (lambda t: t.find(exp.OnConflict) is not None,
         "Redshift does not support INSERT ... ON CONFLICT",
         "Use MERGE, or stage the rows and DELETE + INSERT in one transaction."),
        (lambda t: t.find(exp.Returning) is not None,
         "Redshift does not support RETURNING",
         "Read the generated values back with a SELECT on a natural key, or use an IDENTITY column and MERGE."),
    ],
    "snowflake": [
        (lambda t: isinstance(t, exp.Create) and str(t.args.get("kind", "")).upper() == "INDEX",
         "Snowflake standard tables have no indexes: CREATE INDEX fails",
         "Use a clustering key (`ALTER TABLE ... CLUSTER BY (...)`) for large tables filtered on a few columns, or "
         "search optimization for selective point lookups; both cost credits, measure first."),
        (lambda t: t.find(exp.OnConflict) is not None,
         "Snowflake does not support INSERT ... ON CONFLICT",
         "Use MERGE INTO ... WHEN MATCHED THEN UPDATE WHEN NOT MATCHED THEN INSERT."),
        (lambda t: t.find(exp.Returning) is not None,
         "Snowflake does not support RETURNING",
         "Query the inserted rows back by key, or use a sequence and pass the ids in."),
    ],
    "mysql": [
        (lambda t: t.find(exp.ILike) is not None,
         "MySQL has no ILIKE",
         "Use LIKE: MySQL's default collations already compare case-insensitively."),
        (lambda t: any(d.args.get("on") is not None for d in t.find_all(exp.Distinct)),
         "MySQL does not support DISTINCT ON",
         "Use a window function (ROW_NUMBER() OVER (PARTITION BY ... ORDER BY ...)) and keep row 1."),
        (lambda t: any(str(j.args.get("side", "")).upper() == "FULL" for j in t.find_all(exp.Join)),
         "MySQL does not support FULL OUTER JOIN",
         "Emulate it with a LEFT JOIN UNION a RIGHT JOIN."),
        (lambda t: t.find(exp.Returning) is not None,
         "MySQL does not support RETURNING",
         "Read LAST_INSERT_ID() or query the rows back by key."),
        (lambda t: isinstance(t, exp.Create) and bool(t.args.get("concurrently")),
         "MySQL has no CREATE INDEX CONCURRENTLY",
         "Use `ALTER TABLE ... ADD INDEX ..., ALGORITHM=INPLACE, LOCK=NONE`."),
    ],
    "sqlite": [
        (lambda t: t.find(exp.ILike) is not None,
         "SQLite has no ILIKE",
         "Use LIKE, which is case-insensitive for ASCII in SQLite."),
        (lambda t: any(d.args.get("on") is not None for d in t.find_all(exp.Distinct)),
         "SQLite does not support DISTINCT ON",
         "Use a window function (ROW_NUMBER() OVER (PARTITION BY ...)) and keep row 1."),
        (lambda t: isinstance(t, exp.Create) and bool(t.args.get("concurrently")),
         "SQLite has no CREATE INDEX CONCURRENTLY",
         "Drop CONCURRENTLY: SQLite builds the index in the writing transaction."),
    ],
    "postgres": [
        (lambda t: any(c.args.get("duplicate") for c in t.find_all(exp.OnConflict)),
         "PostgreSQL does not support ON DUPLICATE KEY UPDATE (MySQL syntax)",
         "Use INSERT ... ON CONFLICT (key) DO UPDATE SET ..."),
    ],
}


def _dialect_support(program: Program, statement: Statement, tree: exp.Expression, dialect: str) -> Iterator[Finding]:
    for applies, message, fix in _UNSUPPORTED.get(dialect, []):
        try:
            hit = applies(tree)
        except (AttributeError, TypeError):
            hit = False
        if hit:
            yield _finding("SQL107", program, statement, f"{message} (target dialect: {dialect})", fix,
                           context={"dialect": dialect})
