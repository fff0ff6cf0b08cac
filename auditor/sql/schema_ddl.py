"""The schema catalog from SQL DDL, and the editing primitives every schema source shares.

:func:`apply_ddl` reads one DDL text (a ``.sql`` file, a DDL string found in Python, an Alembic
``op.execute`` or a Django ``RunSQL``) statement by statement with sqlglot and applies each
statement, in order, to a :class:`SchemaEditor`: CREATE TABLE (columns, inline and table
PRIMARY KEY / UNIQUE / REFERENCES / FOREIGN KEY, MySQL ``KEY``/``INDEX``), CREATE [UNIQUE]
INDEX (expressions, DESC, opclasses, USING, INCLUDE, WHERE), ALTER TABLE (ADD COLUMN, ADD
[CONSTRAINT] PRIMARY KEY/UNIQUE/FOREIGN KEY/INDEX, RENAME [COLUMN], DROP COLUMN/CONSTRAINT/INDEX,
Redshift ALTER SORTKEY/DISTKEY, Snowflake CLUSTER BY / DROP CLUSTERING KEY / ADD SEARCH
OPTIMIZATION), ALTER INDEX RENAME, DROP INDEX, DROP TABLE. A statement sqlglot cannot parse is
counted and skipped (one note per text); templated SQL (Jinja ``{{ }}``/``{% %}``) is noted and
not parsed.

Representation conventions (read by the index recommender):

* Names are folded as the database folds unquoted identifiers: lower-case unless quoted (also
  for Snowflake, whose upper-case folding is case-insensitive to the same effect). Tables are
  keyed by their unqualified name; ``Table.schema`` keeps the qualifier.
* Key expressions are sqlglot SQL text with lower-case function names (``lower(email)``,
  ``data ->> 'k'``, outer parentheses dropped): :func:`expression_text`. Partial-index
  predicates are sqlglot SQL text in the dialect (``status = 'pending'``, ``deleted_at IS
  NULL``): :func:`normalize_predicate`. Use the same two functions to compare.
* PRIMARY KEY and UNIQUE constraints create an :class:`Index` (origin ``"primary key"`` /
  ``"unique"``, ``primary=True`` for the key) — except on Redshift and Snowflake, where they are
  informational: ``Table.primary_key`` is set but no index exists.
* Foreign keys are indexed automatically only by MySQL (InnoDB): there, a foreign key whose
  columns are not the leading columns of another index gets an Index of origin
  ``"foreign key"`` (PostgreSQL, SQLite, Redshift and Snowflake do not index foreign keys).
* Redshift and Snowflake have no indexes. Their physical design keys are recorded as Index
  entries whose ``method`` says what they are (keys in declaration order):

  ======================= ============================================================
  ``method``              meaning
  ======================= ============================================================
  ``sortkey``             Redshift compound SORTKEY (prefix-usable, like a b-tree)
  ``interleaved_sortkey`` Redshift INTERLEAVED SORTKEY (any key column alone)
  ``distkey``             Redshift DISTKEY (one column; co-locates joins on it)
  ``cluster``             Snowflake CLUSTER BY clustering key (columns or expressions)
  ``search_optimization`` Snowflake search optimization (keys: the columns named in
                          ``ON EQUALITY(...)`` etc.; none when it covers the whole table)
  ======================= ============================================================

  The spelling matches ``recommend.WAREHOUSE_METHODS``, so an existing key suppresses advice.

  Every other index declared for a Redshift or Snowflake table (by CREATE INDEX, an ORM model
  or a migration) is dropped from the catalog with a note, since it cannot exist there.
"""

from __future__ import annotations

import logging
import re
from dataclasses import replace
from typing import Iterable, Optional

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError

from auditor.sql.model import ForeignKey, Index, IndexKey, Schema, Table

KEY_METHODS = ("sortkey", "interleaved_sortkey", "distkey", "cluster", "search_optimization")
KEYLESS_DIALECTS = ("redshift", "snowflake")  # no indexes; PK/UNIQUE are informational

_TEXT_TYPES = {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR}
_TEMPLATE = re.compile(r"\{\{|\{%|\{#")
_LOG = logging.getLogger("sqlglot")


# ---------------------------------------------------------------------------- names and text
def fold(name: str, quoted: bool = False) -> str:
    """An identifier as the database stores it: lower-case unless it was quoted."""
    return name if quoted else name.lower()


def ident(node: Optional[exp.Expression]) -> str:
    """The folded name of an Identifier / Column / Table / Var node, or ''."""
    if node is None:
        return ""
    if isinstance(node, exp.Identifier):
        return fold(node.this, node.quoted)
    if isinstance(node, (exp.Column, exp.Table)):
        return ident(node.this)
    if isinstance(node, exp.Var):
        return node.this.lower()
    if isinstance(node, exp.Literal) and node.is_string:
        return node.this
    if isinstance(node, exp.Ordered):
        return ident(node.this)
    return ""


def split_qualified(text: str) -> tuple:
    """``'"Sales".orders'`` -> ("Sales", "orders"): (schema, table), folded, quotes removed."""
    parts = re.findall(r'"([^"]*)"|`([^`]*)`|([^."`]+)', text.strip())
    names = []
    for quoted, backticked, plain in parts:
        if quoted or backticked:
            names.append(quoted or backticked)
        elif plain.strip():
            names.append(fold(plain.strip()))
    if not names:
        return "", ""
    return (names[-2] if len(names) > 1 else ""), names[-1]


def expression_text(node: exp.Expression, dialect: str) -> str:
    """An index key or clustering expression as SQL text: ``lower(email)``, ``data ->> 'k'``."""
    while isinstance(node, exp.Paren):
        node = node.this
    node = _fold_identifiers(node.copy())
    for column in node.find_all(exp.Column):
        column.set("table", None)
    for cast in list(node.find_all(exp.Cast)):  # pg_dump's lower((email)::text) is lower(email)
        operand = cast.this
        while isinstance(operand, exp.Paren):
            operand = operand.this
        if isinstance(operand, exp.Column) and cast.to.this in _TEXT_TYPES and not cast.to.expressions:
            if cast is node:
                node = operand
            else:
                cast.replace(operand)
    try:
        return node.sql(dialect=dialect, normalize_functions="lower")
    except Exception:  # noqa: BLE001 - a generator gap must not lose the index
        return node.sql(normalize_functions="lower")


def normalize_predicate(text: str, dialect: str) -> str:
    """A partial-index predicate re-rendered by sqlglot, so that equal predicates compare equal."""
    text = text.strip()
    if not text:
        return ""
    try:
        with quiet_sqlglot():
            parsed = sqlglot.parse_one(f"SELECT 1 WHERE {text}", read=dialect)
        where = parsed.args.get("where") if parsed is not None else None
        if where is not None:
            return predicate_sql(where.this, dialect)
    except (ParseError, TokenError, ValueError):
        pass
    return " ".join(text.split())


def predicate_sql(node: exp.Expression, dialect: str) -> str:
    """A predicate node as SQL text, without the parentheses that only matter around AND/OR
    (``(a = 1) OR (b IS NULL)`` -> ``a = 1 OR b IS NULL``); unquoted names lower-case."""
    node = _fold_identifiers(node.copy())
    for paren in list(node.find_all(exp.Paren)):
        if not isinstance(paren.this, exp.Connector):
            if paren is node:
                node = paren.this
            else:
                paren.replace(paren.this)
    while isinstance(node, exp.Paren):
        node = node.this
    return node.sql(dialect=dialect)


def _fold_identifiers(node: exp.Expression) -> exp.Expression:
    for identifier in node.find_all(exp.Identifier):
        if not identifier.quoted:
            identifier.set("this", identifier.this.lower())
    return node


def natural_key(text: str) -> tuple:
    """Sort key that orders ``V2__x.sql`` before ``V10__x.sql``."""
    return tuple((0, int(part), "") if part.isdigit() else (1, 0, part)
                 for part in re.split(r"(\d+)", text) if part)


class quiet_sqlglot:
    """Silence sqlglot's "falling back to parsing as a Command" warnings while parsing."""

    def __enter__(self):
        self.level = _LOG.level
        _LOG.setLevel(logging.ERROR)

    def __exit__(self, *exc):
        _LOG.setLevel(self.level)
        return False


# ---------------------------------------------------------------------------- the editor
def index_identity(index: Index) -> tuple:
    """What makes two declared indexes the same index (names aside)."""
    return (index.keys, index.where, index.unique, index.method, index.include)


class SchemaEditor:
    """Applies schema changes of one source, in order, to a :class:`Schema`.

    ``origin`` names the source (ddl, django, sqlalchemy, alembic) and becomes the origin of the
    tables and of the indexes it declares; ``path``/``line`` are set by the caller before each
    declaration.
    """

    def __init__(self, schema: Schema, dialect: str, origin: str, path: str = "") -> None:
        self.schema = schema
        self.dialect = dialect
        self.origin = origin
        self.path = path
        self.line = 0
        self.dropped_keyless: dict = {}  # path -> count of indexes that cannot exist (Redshift/Snowflake)

    # --------------------------------------------------------------- tables
    def table(self, name: str, schema_name: str = "", create: bool = True) -> Optional[Table]:
        """The table ``name``; created (with this editor's origin and place) when missing."""
        table = self.schema.tables.get(name)
        if table is None and create and name:
            table = Table(name=name, schema=schema_name, origin=self.origin, path=self.path, line=self.line)
            self.schema.tables[name] = table
        elif table is not None and schema_name and not table.schema:
            table.schema = schema_name
        return table

    def create_table(self, name: str, schema_name: str = "", if_not_exists: bool = False,
                     replace_existing: bool = False) -> Optional[Table]:
        """CREATE TABLE: a new table, or None when IF NOT EXISTS finds one already.

        Without IF NOT EXISTS an existing table is kept and what follows is merged into it (two
        files of one repository often declare the same table); OR REPLACE starts it afresh.
        """
        if name in self.schema.tables:
            if if_not_exists:
                return None
            if replace_existing:
                self.drop_table(name)
        return self.table(name, schema_name)

    def drop_table(self, name: str) -> None:
        self.schema.tables.pop(name, None)

    def rename_table(self, old: str, new: str) -> None:
        table = self.schema.tables.pop(old, None)
        if table is None or not new:
            return
        table.name = new
        for index in table.indexes:
            index.table = new
        self.schema.tables[new] = table
        for other in self.schema.tables.values():
            for fk in other.foreign_keys:
                if fk.ref_table == old:
                    fk.ref_table = new

    def add_column(self, table: Table, name: str, type_text: str = "") -> None:
        if not name:
            return
        if name not in table.columns or (type_text and not table.columns[name]):
            table.columns[name] = type_text

    def drop_column(self, table: Table, name: str) -> None:
        """Drop a column with every index and key that contains it (as the database does)."""
        table.columns.pop(name, None)
        table.indexes = [ix for ix in table.indexes
                         if name not in ix.columns and name not in ix.include]
        if name in table.primary_key:
            table.primary_key = ()
        table.foreign_keys = [fk for fk in table.foreign_keys if name not in fk.columns]

    def rename_column(self, table: Table, old: str, new: str) -> None:
        if not old or not new:
            return
        if old in table.columns:
            table.columns = {(new if col == old else col): typ for col, typ in table.columns.items()}
        for index in table.indexes:
            index.keys = tuple(replace(key, expr=new) if not key.is_expression and key.expr == old else key
                               for key in index.keys)
            index.include = tuple(new if col == old else col for col in index.include)
        table.primary_key = tuple(new if col == old else col for col in table.primary_key)
        for fk in table.foreign_keys:
            fk.columns = tuple(new if col == old else col for col in fk.columns)

    # --------------------------------------------------------------- indexes and keys
    def add_index(self, table: Table, index: Index) -> bool:
        """Add ``index`` unless one of the same name (or an identical unnamed one) exists."""
        index.table = table.name
        index.origin = index.origin or self.origin
        index.path = index.path or self.path
        index.line = index.line or self.line
        if index.method not in KEY_METHODS and self.dialect in KEYLESS_DIALECTS:
            self.dropped_keyless[index.path] = self.dropped_keyless.get(index.path, 0) + 1
            return False
        for existing in table.indexes:
            if index.name and existing.name == index.name:
                return False
            if not index.name and not existing.name and index_identity(existing) == index_identity(index):
                return False
        if not index.keys and index.method != "search_optimization":
            return False
        table.indexes.append(index)
        return True

    def set_primary_key(self, table: Table, columns: Iterable, name: str = "", default_name: bool = True) -> None:
        columns = tuple(c for c in columns if c)
        if not columns:
            return
        table.primary_key = columns
        table.indexes = [ix for ix in table.indexes if not ix.primary]
        if self.dialect in KEYLESS_DIALECTS:
            return
        if not name and default_name and self.dialect == "postgres":
            name = f"{table.name}_pkey"
        self.add_index(table, Index(table=table.name, keys=tuple(IndexKey(c) for c in columns), name=name,
                                    unique=True, primary=True, origin="primary key"))

    def add_unique(self, table: Table, keys: Iterable, name: str = "", where: str = "",
                   include: tuple = (), origin: str = "unique", default_name: bool = True) -> None:
        """A unique constraint; unnamed ones get PostgreSQL's default name unless
        ``default_name`` is False (sources that name constraints their own way)."""
        keys = tuple(keys)
        if not keys or self.dialect in KEYLESS_DIALECTS:
            return
        if not name and default_name and self.dialect == "postgres":
            name = f"{table.name}_{'_'.join(k.expr for k in keys if not k.is_expression) or 'expr'}_key"
        self.add_index(table, Index(table=table.name, keys=keys, name=name, unique=True, where=where,
                                    include=tuple(include), origin=origin))

    def add_foreign_key(self, table: Table, columns: Iterable, ref_table: str, ref_columns: Iterable = (),
                        indexed: bool = False, index_name: str = "", constraint: str = "") -> None:
        """Record a foreign key; ``indexed`` adds the index the source creates for it (Django),
        called ``index_name``.

        MySQL (InnoDB) indexes every foreign key that no index leads with, naming the index after
        the ``constraint`` (or, unnamed, after its first column).
        """
        ref_columns = tuple(c for c in ref_columns if c)
        if not ref_columns and ref_table in self.schema.tables:  # REFERENCES t: its primary key
            ref_columns = self.schema.tables[ref_table].primary_key
        fk = ForeignKey(columns=tuple(c for c in columns if c), ref_table=ref_table, ref_columns=ref_columns)
        if not fk.columns or not ref_table:
            return
        if all((f.columns, f.ref_table, f.ref_columns) != (fk.columns, fk.ref_table, fk.ref_columns)
               for f in table.foreign_keys):
            table.foreign_keys.append(fk)
        if indexed or (self.dialect == "mysql" and not leads_with(table, fk.columns)):
            self.add_index(table, Index(table=table.name, keys=tuple(IndexKey(c) for c in fk.columns),
                                        name=index_name if indexed else constraint, origin="foreign key"))

    def drop_index(self, name: str, table_name: str = "") -> None:
        """DROP INDEX by name (on ``table_name`` if given, else on whichever table has it)."""
        if not name:
            return
        tables = [self.schema.tables[table_name]] if table_name in self.schema.tables else [
            self.schema.tables[key] for key in sorted(self.schema.tables)]
        for table in tables:
            if any(ix.name == name for ix in table.indexes):
                self.drop_constraint(table, name)
                return

    def drop_constraint(self, table: Table, name: str) -> None:
        """DROP CONSTRAINT: the index that enforced it goes with it."""
        for index in table.indexes:
            if index.name == name and index.primary:
                table.primary_key = ()
        table.indexes = [ix for ix in table.indexes if ix.name != name]

    def set_key(self, table: Table, method: str, keys: tuple) -> None:
        """Set a Redshift sort/dist key or a Snowflake clustering key (replacing the old one)."""
        family = "sortkey" if "sortkey" in method else method  # one sort key, compound or interleaved
        table.indexes = [ix for ix in table.indexes
                         if ("sortkey" if "sortkey" in ix.method else ix.method) != family]
        if keys or method == "search_optimization":
            self.add_index(table, Index(table=table.name, keys=tuple(keys), method=method))


def leads_with(table: Table, columns: tuple) -> bool:
    """True when an index of ``table`` starts with ``columns`` (in any order of those)."""
    width = len(columns)
    for index in table.indexes:
        if index.method in KEY_METHODS or index.where:
            continue
        lead = index.columns[:width]
        if len(lead) == width and set(lead) == set(columns):
            return True
    return False


# ---------------------------------------------------------------------------- statements
def is_templated(text: str) -> bool:
    """True for Jinja-templated SQL (dbt models, templated setup scripts)."""
    return bool(_TEMPLATE.search(text))


def split_statements(text: str) -> list:
    """``[(offset, statement)]``: ``text`` cut at semicolons outside quotes, comments and
    dollar-quoted bodies. Statements that hold nothing but comments are left out."""
    out: list = []
    start = 0
    i = 0
    n = len(text)
    while i < n:
        ch = text[i]
        if ch in "'\"`":
            end = i + 1
            while end < n:
                if text[end] == ch:
                    if end + 1 < n and text[end + 1] == ch:  # doubled quote
                        end += 2
                        continue
                    break
                if text[end] == "\\" and ch == "'":
                    end += 1
                end += 1
            i = end + 1
            continue
        if text.startswith("--", i):
            newline = text.find("\n", i)
            i = n if newline < 0 else newline + 1
            continue
        if text.startswith("/*", i):
            close = text.find("*/", i + 2)
            i = n if close < 0 else close + 2
            continue
        if ch == "$":
            match = re.match(r"\$([A-Za-z_][A-Za-z0-9_]*)?\$", text[i:])
            if match:
                tag = match.group(0)
                close = text.find(tag, i + len(tag))
                i = n if close < 0 else close + len(tag)
                continue
        if ch == ";":
            _keep(out, text, start, i)
            if _COPY_FROM_STDIN.match(_strip_comments(text[start:i])):
                end = _COPY_END.search(text, i + 1)  # the data rows end at a line "\."
                i = start = n if end is None else end.end()
                continue
            start = i + 1
        i += 1
    _keep(out, text, start, n)
    return out


def _keep(out: list, text: str, start: int, end: int) -> None:
    chunk = text[start:end]
    body = _strip_comments(chunk)
    if body.strip():
        lead = len(chunk) - len(chunk.lstrip())
        # skip leading comments so the offset points at the statement's first word
        while True:
            rest = chunk[lead:]
            if rest.startswith("--"):
                newline = rest.find("\n")
                lead = len(chunk) if newline < 0 else lead + newline + 1
            elif rest.startswith("/*"):
                close = rest.find("*/")
                lead = len(chunk) if close < 0 else lead + close + 2
            else:
                break
            lead += len(chunk[lead:]) - len(chunk[lead:].lstrip())
        out.append((start + lead, chunk[lead:].strip()))


def _strip_comments(text: str) -> str:
    return re.sub(r"--[^\n]*|/\*.*?\*/", " ", text, flags=re.S)


def apply_ddl(editor: SchemaEditor, path: str, line: int, text: str) -> None:
    """Parse ``text`` (found at ``path``:``line``) in the editor's dialect and apply its DDL.

    Unparseable statements are skipped and counted in one note for the text; templated SQL is
    noted and skipped.
    """
    if is_templated(text):
        editor.schema.notes.append((path, "templated SQL (Jinja) not parsed"))
        return
    failures: list = []
    for offset, statement in split_statements(text):
        stmt_line = line + text.count("\n", 0, offset)
        if not _looks_like_ddl(statement):
            continue
        editor.path, editor.line = path, stmt_line
        error = _apply_statement(editor, statement, stmt_line)
        if error:
            failures.append(error)
    if failures:
        count = len(failures)
        noun = "statement" if count == 1 else "statements"
        editor.schema.notes.append((path, f"{count} {noun} could not be parsed: {failures[0]}"))


_COPY_FROM_STDIN = re.compile(r"^\s*COPY\b[^;]*\bFROM\s+STDIN\b", re.I)
_COPY_END = re.compile(r"^\\\.[ \t]*$", re.M)
_DDL_START = re.compile(r"^\s*(create|alter|drop)\b", re.I)


def _looks_like_ddl(statement: str) -> bool:
    return bool(_DDL_START.match(_strip_comments(statement)))


def _apply_statement(editor: SchemaEditor, statement: str, line: int) -> str:
    """Apply one statement; return an error text when it could not be read, else ''."""
    dialect = editor.dialect
    extras: list = []
    if dialect == "redshift":
        statement, extras = _redshift_keys(statement)
    if dialect == "snowflake" and _snowflake_command(editor, statement):
        return ""
    if _drop_indexes_command(editor, statement):
        return ""
    try:
        with quiet_sqlglot():
            parsed = sqlglot.parse(statement, read=dialect)
    except (ParseError, TokenError) as exc:
        return f"line {line + _error_line(exc) - 1}: {_error_text(exc)}"
    except Exception as exc:  # noqa: BLE001 - sqlglot internals must not end the scan
        return f"line {line}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
    for node in parsed:
        if node is None:
            continue
        if isinstance(node, exp.Command):
            head = f"{node.this} {node.expression or ''}".upper()
            if re.match(r"\s*CREATE\s+(OR\s+REPLACE\s+)?((GLOBAL|LOCAL|TEMP|TEMPORARY|UNLOGGED|TRANSIENT)\s+)*"
                        r"(UNIQUE\s+)?(TABLE|INDEX)\b", head):
                return f"line {line}: unsupported syntax in {' '.join(head.split()[:3])}"
            continue
        try:
            _apply_node(editor, node)
        except Exception as exc:  # noqa: BLE001 - an odd tree must not lose the rest of the file
            return f"line {line}: {type(exc).__name__} reading the statement"
    for method, table_name, keys in extras:
        table = editor.table(table_name)
        if table is not None:
            editor.set_key(table, method, tuple(IndexKey(k) for k in keys))
    return ""


def _error_line(exc: Exception) -> int:
    errors = getattr(exc, "errors", None) or []
    if errors and errors[0].get("line"):
        return int(errors[0]["line"])
    return 1


def _error_text(exc: Exception) -> str:
    errors = getattr(exc, "errors", None) or []
    if errors and errors[0].get("description"):
        return str(errors[0]["description"]).splitlines()[0]
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc))
    return (text.splitlines() or [type(exc).__name__])[0]


# ---------------------------------------------------------------------------- node handlers
def _apply_node(editor: SchemaEditor, node: exp.Expression) -> None:
    if isinstance(node, exp.Create):
        kind = (node.args.get("kind") or "").upper()
        if kind == "TABLE":
            _create_table(editor, node)
        elif kind == "INDEX":
            _create_index(editor, node)
    elif isinstance(node, exp.Alter):
        kind = (node.args.get("kind") or "").upper()
        if kind == "TABLE":
            _alter_table(editor, node)
        elif kind == "INDEX":
            _alter_index(editor, node)
    elif isinstance(node, exp.Drop):
        kind = (node.args.get("kind") or "").upper()
        if kind == "TABLE":
            for table in node.args.get("expressions") or node.args.get("tables") or []:
                editor.drop_table(ident(table))
        elif kind == "INDEX":
            on = node.args.get("cluster")
            table_name = ident(on.this) if isinstance(on, exp.OnProperty) else ""
            for index in node.args.get("expressions") or node.args.get("tables") or []:
                editor.drop_index(ident(index), table_name)


def _table_ref(node: Optional[exp.Expression]) -> tuple:
    """(schema, name) of a Table node."""
    if isinstance(node, exp.Schema):
        node = node.this
    if not isinstance(node, exp.Table):
        return "", ident(node)
    db = node.args.get("db")
    return (ident(db) if db is not None else ""), ident(node.this)


def _create_table(editor: SchemaEditor, node: exp.Create) -> None:
    target = node.this
    schema_name, name = _table_ref(target)
    if not name:
        return
    table = editor.create_table(name, schema_name, if_not_exists=bool(node.args.get("exists")),
                                replace_existing=bool(node.args.get("replace")))
    if table is None:
        return
    if isinstance(target, exp.Schema):
        for item in target.expressions:
            _table_element(editor, table, item)
    properties = node.args.get("properties")
    for prop in (properties.expressions if properties is not None else []):
        _table_property(editor, table, prop)


def _table_property(editor: SchemaEditor, table: Table, prop: exp.Expression) -> None:
    if isinstance(prop, exp.DistKeyProperty):
        column = ident(prop.this)
        if column:
            editor.set_key(table, "distkey", (IndexKey(column),))
    elif isinstance(prop, exp.SortKeyProperty):
        items = prop.this if isinstance(prop.this, list) else [prop.this]
        editor.set_key(table, "sortkey", tuple(IndexKey(ident(i)) for i in items if ident(i)))
    elif isinstance(prop, (exp.ClusterProperty, exp.Cluster)):
        editor.set_key(table, "cluster", tuple(key_from_node(e, editor.dialect) for e in prop.expressions))


def _table_element(editor: SchemaEditor, table: Table, item: exp.Expression) -> None:
    if isinstance(item, exp.ColumnDef):
        _column_def(editor, table, item)
    elif isinstance(item, exp.Constraint):
        name = ident(item.this)
        for inner in item.expressions:
            _table_constraint(editor, table, inner, name)
    else:
        _table_constraint(editor, table, item, "")


def _column_def(editor: SchemaEditor, table: Table, item: exp.ColumnDef) -> None:
    column = ident(item.this)
    kind = item.args.get("kind")
    type_text = kind.sql(dialect=editor.dialect).lower() if kind is not None else ""
    editor.add_column(table, column, type_text)
    for constraint in item.args.get("constraints") or []:
        kind_node = constraint.args.get("kind") if isinstance(constraint, exp.ColumnConstraint) else constraint
        name = ident(constraint.this) if isinstance(constraint, exp.ColumnConstraint) else ""
        if isinstance(kind_node, exp.PrimaryKeyColumnConstraint):
            editor.set_primary_key(table, (column,), name)
        elif isinstance(kind_node, exp.UniqueColumnConstraint):
            editor.add_unique(table, (IndexKey(column),), name)
        elif isinstance(kind_node, exp.Reference):
            _, ref_table, ref_cols = _reference(kind_node)
            editor.add_foreign_key(table, (column,), ref_table, ref_cols)


def _reference(node: exp.Reference) -> tuple:
    target = node.this
    cols: tuple = ()
    if isinstance(target, exp.Schema):
        cols = tuple(ident(e) for e in target.expressions)
    schema_name, name = _table_ref(target)
    return schema_name, name, cols


def _table_constraint(editor: SchemaEditor, table: Table, node: exp.Expression, name: str) -> None:
    dialect = editor.dialect
    if isinstance(node, exp.PrimaryKey):
        editor.set_primary_key(table, [ident(e) for e in node.expressions], name)
    elif isinstance(node, exp.UniqueColumnConstraint):
        target = node.this
        exprs = target.expressions if isinstance(target, exp.Schema) else ([target] if target is not None else [])
        if isinstance(target, exp.Schema) and target.this is not None and not name:
            name = ident(target.this)  # MySQL UNIQUE KEY name (cols)
        keys = tuple(key_from_node(e, dialect) for e in exprs)
        editor.add_unique(table, keys, name, include=_include(node))
    elif isinstance(node, exp.ForeignKey):
        reference = node.args.get("reference")
        if isinstance(reference, exp.Reference):
            _, ref_table, ref_cols = _reference(reference)
            editor.add_foreign_key(table, [ident(e) for e in node.expressions], ref_table, ref_cols,
                                   constraint=name)
    elif isinstance(node, exp.IndexColumnConstraint):  # MySQL KEY / INDEX / FULLTEXT KEY
        keys = tuple(key_from_node(e, dialect, table) for e in node.expressions)
        kind = (node.args.get("kind") or "").lower()
        method = kind if kind in ("fulltext", "spatial") else "btree"
        editor.add_index(table, Index(table=table.name, keys=keys, name=ident(node.this) or name, method=method))


def _include(node: exp.Expression) -> tuple:
    params = node.args.get("include")
    if isinstance(params, exp.IndexParameters):
        return tuple(ident(e) for e in params.args.get("include") or [])
    return ()


def key_from_node(node: exp.Expression, dialect: str, table: Optional[Table] = None) -> IndexKey:
    """An index key from an Ordered / Column / Identifier / expression node."""
    desc = False
    if isinstance(node, exp.Ordered):
        desc = bool(node.args.get("desc"))
        node = node.this
    opclass = ""
    if isinstance(node, exp.Opclass):
        opclass = ident(node.expression) or node.expression.sql(dialect=dialect)
        node = node.this
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, (exp.Column, exp.Identifier)):
        return IndexKey(ident(node), desc=desc, opclass=opclass)
    if (  # MySQL prefix index ``name(10)``: the column, whose first characters are indexed
        dialect == "mysql" and isinstance(node, exp.Anonymous) and len(node.expressions) == 1
        and isinstance(node.expressions[0], exp.Literal) and not node.expressions[0].is_string
    ):
        return IndexKey(fold(str(node.this)), desc=desc, opclass=opclass)
    return IndexKey(expression_text(node, dialect), desc=desc, opclass=opclass, is_expression=True)


def name_mysql_indexes(schema: Schema) -> None:
    """Give unnamed indexes the names MySQL gives them: PRIMARY, else the first column
    (``code``, then ``code_2``...; ``functional_index`` for an expression)."""
    for key in sorted(schema.tables):
        table = schema.tables[key]
        taken = {ix.name for ix in table.indexes if ix.name}
        for index in table.indexes:
            if index.name or index.method in KEY_METHODS or not index.keys:
                continue
            if index.primary:
                index.name = "PRIMARY"
                continue
            first = index.keys[0]
            base = "functional_index" if first.is_expression else first.expr
            name, number = base, 2
            while name in taken:
                name, number = f"{base}_{number}", number + 1
            index.name = name
            taken.add(name)


def _default_index_name(editor: SchemaEditor, table: str, keys: tuple) -> str:
    if editor.dialect != "postgres":
        return ""
    cols = "_".join(k.expr for k in keys if not k.is_expression) or "expr"
    return f"{table}_{cols}_idx"


def _create_index(editor: SchemaEditor, node: exp.Create) -> None:
    index_node = node.this
    if not isinstance(index_node, exp.Index):
        return
    schema_name, table_name = _table_ref(index_node.args.get("table"))
    if not table_name:
        return
    table = editor.table(table_name, schema_name)
    params = index_node.args.get("params")
    columns = params.args.get("columns") if params is not None else None
    columns = columns or index_node.args.get("expressions") or []
    keys = tuple(key_from_node(c, editor.dialect, table) for c in columns)
    name = ident(index_node.this) or _default_index_name(editor, table_name, keys)
    if node.args.get("exists") and name and any(ix.name == name for ix in table.indexes):
        return
    using = params.args.get("using") if params is not None else None
    method = (ident(using) or using.sql().lower()) if using is not None else "btree"
    where = params.args.get("where") if params is not None else None
    include = params.args.get("include") if params is not None else None
    editor.add_index(table, Index(
        table=table.name, keys=keys, name=name, unique=bool(node.args.get("unique")),
        where=predicate_sql(where.this, editor.dialect) if isinstance(where, exp.Where) else "",
        include=tuple(ident(e) for e in include or []), method=method or "btree"))


def _alter_table(editor: SchemaEditor, node: exp.Alter) -> None:
    schema_name, name = _table_ref(node.this)
    if not name:
        return
    table = editor.table(name, schema_name)
    dialect = editor.dialect
    for action in node.args.get("actions") or []:
        if isinstance(action, exp.ColumnDef):
            _column_def(editor, table, action)
        elif isinstance(action, exp.AddConstraint):
            for item in action.expressions:
                _table_element(editor, table, item)
        elif isinstance(action, exp.AlterRename):
            _, new = _table_ref(action.this)
            editor.rename_table(table.name, new)
            table = editor.table(new) or table
        elif isinstance(action, exp.RenameColumn):
            editor.rename_column(table, ident(action.this), ident(action.args.get("to")))
        elif isinstance(action, exp.Drop):
            kind = (action.args.get("kind") or "").upper()
            for target in action.args.get("expressions") or action.args.get("tables") or []:
                if kind == "COLUMN":
                    editor.drop_column(table, ident(target))
                elif kind == "CONSTRAINT":
                    editor.drop_constraint(table, ident(target))
                elif kind in ("INDEX", "KEY"):
                    editor.drop_index(ident(target), table.name)
        elif isinstance(action, (exp.ClusterProperty, exp.Cluster)):
            editor.set_key(table, "cluster", tuple(key_from_node(e, dialect) for e in action.expressions))
        elif isinstance(action, exp.AlterSortKey):
            keys = tuple(IndexKey(ident(e)) for e in action.expressions or [] if ident(e))
            method = "interleaved_sortkey" if action.args.get("compound") is False else "sortkey"
            editor.set_key(table, method, keys)
        elif isinstance(action, exp.AlterDistStyle):
            column = ident(action.this) if isinstance(action.this, (exp.Column, exp.Identifier)) else ""
            editor.set_key(table, "distkey", (IndexKey(column),) if column else ())
        elif isinstance(action, exp.Command) and "CLUSTERING KEY" in (action.expression or "").upper():
            editor.set_key(table, "cluster", ())


def _alter_index(editor: SchemaEditor, node: exp.Alter) -> None:
    old = ident(node.this.this if isinstance(node.this, exp.Table) else node.this)
    for action in node.args.get("actions") or []:
        if isinstance(action, exp.AlterRename):
            new = ident(action.this)
            for key in sorted(editor.schema.tables):
                for index in editor.schema.tables[key].indexes:
                    if index.name == old:
                        index.name = new
                        return


# ---------------------------------------------------------------------------- dialect quirks
_MULTI_DROP = re.compile(
    r"^\s*DROP\s+INDEX\s+(?:CONCURRENTLY\s+)?(?:IF\s+EXISTS\s+)?(?P<names>[^;]+?)\s*(?:CASCADE|RESTRICT)?\s*$",
    re.I | re.S)


def _drop_indexes_command(editor: SchemaEditor, statement: str) -> bool:
    """``DROP INDEX a, b`` (PostgreSQL drops several at once; sqlglot reads one)."""
    match = _MULTI_DROP.match(_strip_comments(statement))
    if not match or "," not in match.group("names") or re.search(r"\bON\b", match.group("names"), re.I):
        return False
    for part in match.group("names").split(","):
        editor.drop_index(split_qualified(part)[1])
    return True


_SEARCH_OPT = re.compile(
    r"^\s*ALTER\s+TABLE\s+(?:IF\s+EXISTS\s+)?(?P<table>[\w.\"$]+)\s+(?P<verb>ADD|DROP)\s+SEARCH\s+OPTIMIZATION"
    r"(?:\s+ON\s+(?P<on>.*))?$", re.I | re.S)


def _snowflake_command(editor: SchemaEditor, statement: str) -> bool:
    """Snowflake ``ALTER TABLE t ADD|DROP SEARCH OPTIMIZATION [ON EQUALITY(a, b), ...]``."""
    match = _SEARCH_OPT.match(_strip_comments(statement))
    if not match:
        return False
    schema_name, name = split_qualified(match.group("table"))
    table = editor.table(name, schema_name)
    if match.group("verb").upper() == "DROP":
        table.indexes = [ix for ix in table.indexes if ix.method != "search_optimization"]
        return True
    columns: list = []
    for inner in re.findall(r"\w+\s*\(([^)]*)\)", match.group("on") or ""):
        for part in inner.split(","):
            column = split_qualified(part)[1] if part.strip() and part.strip() != "*" else ""
            if column and column not in columns:
                columns.append(column)
    existing = [ix for ix in table.indexes if ix.method == "search_optimization"]
    keys = tuple(existing[0].keys) if existing else ()
    keys += tuple(IndexKey(c) for c in columns if IndexKey(c) not in keys)
    table.indexes = [ix for ix in table.indexes if ix.method != "search_optimization"]
    editor.add_index(table, Index(table=table.name, keys=keys, method="search_optimization"))
    return True


_RS_TABLE = re.compile(r"^\s*CREATE\s+(?:(?:LOCAL\s+)?(?:TEMP|TEMPORARY)\s+)?TABLE\s+(?:IF\s+NOT\s+EXISTS\s+)?"
                       r"(?P<name>[\w.\"$#]+)\s*\(", re.I)
_RS_INTERLEAVED = re.compile(r"\bINTERLEAVED\s+SORTKEY\s*\(([^)]*)\)", re.I)
_RS_AUTO = re.compile(r"\b(?:SORTKEY|DISTSTYLE)\s+AUTO\b", re.I)
_RS_COLUMN_KEY = re.compile(r"\b(SORTKEY|DISTKEY)\b(?!\s*\()", re.I)


def _redshift_keys(statement: str) -> tuple:
    """Take out what sqlglot cannot read in a Redshift CREATE TABLE: column-level SORTKEY /
    DISTKEY, INTERLEAVED SORTKEY (...), SORTKEY AUTO. Returns the statement and
    ``[(method, table, columns)]`` to apply after it."""
    match = _RS_TABLE.match(statement)
    if not match:
        return statement, []
    table = split_qualified(match.group("name"))[1]
    extras: list = []
    open_at = match.end() - 1
    close_at = _matching_paren(statement, open_at)
    if close_at < 0:
        return statement, []
    body = statement[open_at + 1:close_at]
    tail = statement[close_at + 1:]
    sort_columns: list = []
    dist_column = ""
    pieces = []
    for piece in _split_top_level(body):
        found = _RS_COLUMN_KEY.findall(piece)
        if found and not re.match(r"\s*(PRIMARY|UNIQUE|FOREIGN|CONSTRAINT|CHECK)\b", piece, re.I):
            column = split_qualified(piece.strip().split()[0])[1]
            for word in found:
                if word.upper() == "SORTKEY":
                    sort_columns.append(column)
                else:
                    dist_column = column
            piece = _RS_COLUMN_KEY.sub("", piece)
        pieces.append(piece)
    interleaved = _RS_INTERLEAVED.search(tail)
    if interleaved:
        extras.append(("interleaved_sortkey", table,
                       [split_qualified(c)[1] for c in interleaved.group(1).split(",") if c.strip()]))
        tail = _RS_INTERLEAVED.sub("", tail)
    tail = _RS_AUTO.sub("", tail)
    if sort_columns:
        extras.append(("sortkey", table, sort_columns))
    if dist_column:
        extras.append(("distkey", table, [dist_column]))
    return statement[:open_at + 1] + ",".join(pieces) + ")" + tail, extras


def _matching_paren(text: str, open_at: int) -> int:
    depth = 0
    quote = ""
    for i in range(open_at, len(text)):
        ch = text[i]
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
            if depth == 0:
                return i
    return -1


def _split_top_level(body: str) -> list:
    parts: list = []
    depth = 0
    quote = ""
    start = 0
    for i, ch in enumerate(body):
        if quote:
            if ch == quote:
                quote = ""
            continue
        if ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(body[start:i])
            start = i + 1
    parts.append(body[start:])
    return parts


# ---------------------------------------------------------------------------- a DDL-only schema
def ddl_schema(sql_texts: list, dialect: str, origin: str = "ddl") -> Schema:
    """The schema that ``[(path, first line, SQL text)]`` declares, applied in path order."""
    schema = Schema()
    editor = SchemaEditor(schema, dialect, origin)
    for path, line, text in sorted(sql_texts, key=lambda item: (natural_key(item[0]), item[1])):
        apply_ddl(editor, path, line, text)
    finish(editor)
    return schema


def finish(editor: SchemaEditor) -> None:
    """Add the notes the editor owes (indexes that cannot exist on Redshift/Snowflake)."""
    for path in sorted(editor.dropped_keyless):
        count = editor.dropped_keyless[path]
        noun = "index" if count == 1 else "indexes"
        editor.schema.notes.append(
            (path, f"{count} {noun} ignored: {editor.dialect} has no indexes (sort, dist and clustering keys instead)"))
    editor.dropped_keyless.clear()


# ---------------------------------------------------------------------------- literal trees
# Helpers over ``ast_nodes.literal_tree`` values, shared by the ORM and migration sources.
def call_name(tree) -> str:
    """The qualified callee of a call tree (``django.db.models.ForeignKey``), or ''."""
    return tree.get("call", "") if isinstance(tree, dict) and "args" in tree else ""


def short_name(tree) -> str:
    """The callee's last name (``ForeignKey``), or ''."""
    return call_name(tree).rsplit(".", 1)[-1]


def tree_args(tree) -> list:
    return list(tree.get("args") or []) if call_name(tree) else []


def tree_kw(tree) -> dict:
    return dict(tree.get("kw") or {}) if call_name(tree) else {}


_STRING_WRAPPERS = {"f", "text", "literal_column", "quoted_name", "conv", "column", "_"}


def tree_str(tree) -> Optional[str]:
    """A string constant, also through ``op.f("x")``, ``sa.text("x")``, ``quoted_name("x")``."""
    if isinstance(tree, str):
        return tree
    if short_name(tree) in _STRING_WRAPPERS:
        args = tree_args(tree)
        return tree_str(args[0]) if args else None
    return None


def tree_list(tree) -> list:
    """A list/tuple literal as a list; a single value as a one-item list; None as []."""
    if tree is None:
        return []
    return list(tree) if isinstance(tree, list) else [tree]


def tree_dict(tree) -> dict:
    """A dict literal with constant keys as a dict, else {}."""
    if isinstance(tree, dict) and "dict" in tree:
        return {k: v for k, v in tree["dict"] if isinstance(k, str)}
    return {}


def tree_name(tree) -> str:
    """The qualified name of a name tree (``{"name": "app.models.User.id"}``), or ''."""
    return tree.get("name", "") if isinstance(tree, dict) and set(tree) == {"name"} else ""


def tree_text(tree) -> str:
    """A literal tree rendered back as (approximate) Python source, for messages."""
    if isinstance(tree, str):
        return repr(tree)
    if isinstance(tree, list):
        return "[" + ", ".join(tree_text(t) for t in tree) + "]"
    if isinstance(tree, dict):
        if "call" in tree and "args" in tree:
            parts = [tree_text(a) for a in tree.get("args") or []]
            parts += [f"{k}={tree_text(v)}" for k, v in (tree.get("kw") or {}).items()]
            head = tree["call"].rsplit(".", 1)[-1]
            if "on" in tree:
                head = f"{tree_text(tree['on'])}.{head}"
            return f"{head}({', '.join(parts)})"
        if "dict" in tree:
            return "{" + ", ".join(f"{tree_text(k)}: {tree_text(v)}" for k, v in tree["dict"]) + "}"
        if "name" in tree:
            return tree["name"].rsplit(".", 1)[-1]
        if "expr" in tree:
            return str(tree["expr"])
    return repr(tree)
