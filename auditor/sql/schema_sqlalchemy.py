"""The schema catalog from SQLAlchemy: declarative models, Core ``Table`` and ``Index``.

Mapped classes are those under a declarative base: a subclass of ``DeclarativeBase`` /
``DeclarativeBaseNoMeta``, of the result of ``declarative_base()`` / ``registry().generate_base()``,
or of Flask-SQLAlchemy's ``db.Model`` (also through repository base classes and imports). A
mapped class makes a table when it has ``__tablename__`` (or ``__table__ = Table(...)``), or,
under ``db.Model``, with Flask-SQLAlchemy's default name (the class name in snake_case) unless
it is a single-table-inheritance child (a mapped parent and no primary key of its own). A
mapped class without a table of its own adds its columns to its parent's table; ``__abstract__``
classes and mixins make no table and lend their columns to their subclasses.

Columns: ``Column(...)``, ``mapped_column(...)``, ``db.Column(...)`` (also inside ``deferred`` /
``column_property``): name = first string argument or the attribute name; ``primary_key``,
``index`` (an index named ``ix_<table>_<column>``), ``unique``, ``ForeignKey("users.id")`` or
``ForeignKey(User.id)``; and annotation-only ``name: Mapped[str]``. ``__table_args__`` (a tuple
of ``Index`` / ``UniqueConstraint`` / ``PrimaryKeyConstraint`` / ``ForeignKeyConstraint`` with an
optional trailing ``{"schema": ...}``, or a dict alone), Core ``Table("name", metadata, ...)`` and
``Index("ix", Model.col, Model.other.desc())`` anywhere in a module (``ModuleFacts.schema_calls``)
are read too. ``Index`` keywords: ``unique``, ``postgresql_where`` / ``sqlite_where``,
``postgresql_using``, ``postgresql_include``, ``postgresql_ops``. Warehouse table options
(``redshift_sortkey``, ``redshift_interleaved_sortkey``, ``redshift_distkey``,
``snowflake_clusterby``) become key entries as ``schema_ddl`` describes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Callable, Optional

import sqlglot

from auditor.facts import ModuleFacts
from auditor.repo_index import RepoIndex, plain_name
from auditor.sql.model import Index, IndexKey, Schema, Table
from auditor.sql.schema_ddl import (
    SchemaEditor,
    call_name,
    finish,
    key_from_node,
    natural_key,
    normalize_predicate,
    quiet_sqlglot,
    short_name,
    tree_args,
    tree_dict,
    tree_kw,
    tree_list,
    tree_name,
    tree_str,
    tree_text,
)

_BASE_CLASSES = {"DeclarativeBase", "DeclarativeBaseNoMeta"}  # subclassing makes a new base
_BASE_FACTORIES = {"declarative_base", "generate_base"}  # their result is a base to map under
_COLUMN_CALLS = {"Column", "mapped_column"}
_WRAPPERS = {"deferred", "column_property"}
_NOT_TYPES = {"ForeignKey", "Sequence", "Identity", "Computed", "CheckConstraint", "FetchedValue",
              "DefaultClause", "text"}
_TYPES = {
    "integer": "integer", "int": "integer", "biginteger": "bigint", "bigint": "bigint",
    "smallinteger": "smallint", "smallint": "smallint", "string": "varchar", "unicode": "varchar",
    "varchar": "varchar", "nvarchar": "varchar", "char": "char", "text": "text", "unicodetext": "text",
    "boolean": "boolean", "datetime": "timestamp", "timestamp": "timestamp", "date": "date",
    "time": "time", "float": "float", "double": "double precision", "real": "real",
    "numeric": "numeric", "decimal": "numeric", "json": "json", "jsonb": "jsonb", "uuid": "uuid",
    "largebinary": "bytea", "binary": "bytea", "interval": "interval", "enum": "varchar",
}
_PY_TYPES = {"int": "integer", "str": "varchar", "bool": "boolean", "float": "float",
             "Decimal": "numeric", "datetime": "timestamp", "date": "date", "time": "time",
             "timedelta": "interval", "dict": "json", "Dict": "json", "UUID": "uuid", "bytes": "bytea"}


# ---------------------------------------------------------------------------- column and index specs
@dataclass
class ColumnSpec:
    """A column as ``Column(...)`` / ``mapped_column(...)`` / ``sa.Column(...)`` declares it."""

    name: str
    type: str = ""
    primary_key: bool = False
    index: bool = False
    unique: bool = False
    references: list = field(default_factory=list)  # ForeignKey targets: "users.id" text or a name tree


def column_spec(tree, attr: str = "") -> Optional[ColumnSpec]:
    """Read a column declaration tree; None when ``tree`` is not one."""
    if short_name(tree) in _WRAPPERS and tree_args(tree):
        tree = tree_args(tree)[0]
    if short_name(tree) not in _COLUMN_CALLS:
        return None
    kw = tree_kw(tree)
    spec = ColumnSpec(name=tree_str(kw.get("name")) or attr)
    args = tree_args(tree)
    if args and isinstance(args[0], str):
        spec.name = args[0]
        args = args[1:]
    for arg in args + [kw.get("type_")]:
        short = short_name(arg) or tree_name(arg).rsplit(".", 1)[-1]
        if short == "ForeignKey":
            target = tree_args(arg)[0] if tree_args(arg) else tree_kw(arg).get("column")
            if target is not None:
                spec.references.append(target)
        elif short and short not in _NOT_TYPES and not spec.type:
            spec.type = sa_type(arg)
    spec.primary_key = kw.get("primary_key") is True
    spec.index = kw.get("index") is True
    spec.unique = kw.get("unique") is True
    return spec if spec.name else None


def sa_type(tree) -> str:
    """``String(50)`` -> ``varchar(50)``; ``DateTime(timezone=True)`` -> ``timestamp with time zone``."""
    short = short_name(tree) or tree_name(tree).rsplit(".", 1)[-1]
    if not short:
        return ""
    base = _TYPES.get(short.lower(), short.lower())
    args = [a for a in tree_args(tree) if isinstance(a, int) and not isinstance(a, bool)]
    if short.upper() == "ARRAY" and tree_args(tree):
        inner = sa_type(tree_args(tree)[0])
        return f"{inner}[]" if inner else ""
    if base == "timestamp" and tree_kw(tree).get("timezone") is True:
        return "timestamp with time zone"
    if base in ("varchar", "char", "numeric") and args:
        return f"{base}({', '.join(str(a) for a in args)})"
    if base == "varchar" and isinstance(tree_kw(tree).get("length"), int):
        return f"varchar({tree_kw(tree)['length']})"
    return base


def annotation_type(text: str) -> str:
    """``Mapped[Optional[str]]`` -> ``varchar``; '' when not a plain Python type."""
    inner = text
    while True:
        match = re.fullmatch(r"\s*(?:[\w.]+\.)?(Mapped|Optional|Annotated)\[(.*)\]\s*", inner)
        if not match:
            break
        inner = match.group(2).split(",")[0] if match.group(1) == "Annotated" else match.group(2)
    inner = re.sub(r"\s*\|\s*None\b|\bNone\s*\|\s*", "", inner).strip()
    return _PY_TYPES.get(inner.rsplit(".", 1)[-1], "")


def _is_mapped_annotation(text: str) -> bool:
    return bool(re.match(r"\s*(?:[\w.]+\.)?Mapped\[", text))


@dataclass
class IndexSpec:
    """An ``Index(...)`` declaration with its column references still unresolved."""

    name: str
    refs: list  # literal trees of the key expressions
    unique: bool = False
    where: str = ""
    method: str = "btree"
    include: tuple = ()
    ops: dict = field(default_factory=dict)  # column -> opclass


def index_spec(tree, dialect: str, has_name: bool = True) -> IndexSpec:
    """Read ``Index("ix", *cols, unique=..., postgresql_where=..., ...)``."""
    args = tree_args(tree)
    name = ""
    if has_name and args:
        name = tree_str(args[0]) or ""
        args = args[1:]
    kw = tree_kw(tree)
    spec = IndexSpec(name=name, refs=args, unique=kw.get("unique") is True)
    where = kw.get("postgresql_where", kw.get("sqlite_where"))
    if where is not None:
        spec.where = predicate_text(where, dialect)
    using = tree_str(kw.get("postgresql_using"))
    if using:
        spec.method = using.lower()
    spec.include = tuple(tree_str(c) or "" for c in tree_list(kw.get("postgresql_include")) if tree_str(c))
    spec.ops = {k: v for k, v in tree_dict(kw.get("postgresql_ops")).items() if isinstance(v, str)}
    return spec


def predicate_text(tree, dialect: str) -> str:
    """A ``postgresql_where`` value as SQL: ``text("...")`` as written; a Python condition
    (``User.active == True``, ``Order.deleted_at.is_(None)``, ``and_(...)``) translated when it
    is made of simple comparisons, else its source text."""
    text = tree_str(tree)
    if text is None:
        text = python_predicate(tree)
    if text is None and isinstance(tree, dict) and "expr" in tree:
        text = str(tree["expr"])
        text = re.sub(r"\.(?:is_not|isnot)\(\s*None\s*\)", " IS NOT NULL", text)
        text = re.sub(r"\.is_\(\s*None\s*\)", " IS NULL", text)
        text = re.sub(r"\b[A-Z]\w*\.(?:c\.)?", "", text)  # Model.column -> column
        text = text.replace("==", "=").replace("!=", "<>")
        text = re.sub(r"\bTrue\b", "TRUE", re.sub(r"\bFalse\b", "FALSE", re.sub(r"\bNone\b", "NULL", text)))
    if text is None:
        return tree_text(tree)
    return normalize_predicate(text, dialect)


_CMP = {"==": "=", "!=": "<>", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


def python_predicate(tree) -> Optional[str]:
    """SQL for a Python condition tree over ``Model.column`` names, or None."""
    if isinstance(tree, dict) and "bool" in tree:
        parts = [python_predicate(a) for a in tree.get("args") or []]
        if not parts or None in parts:
            return None
        return f" {tree['bool'].upper()} ".join(f"({p})" for p in parts)
    if isinstance(tree, dict) and "not" in tree:
        inner = python_predicate(tree["not"])
        return f"NOT ({inner})" if inner is not None else None
    if isinstance(tree, dict) and "cmp" in tree:
        left = _sql_operand(tree["cmp"][0])
        parts = []
        for op, right in tree["cmp"][1]:
            if left is None:
                return None
            if right is None and op in ("==", "is", "!=", "is not"):
                parts.append(f"{left} IS {'NOT ' if op in ('!=', 'is not') else ''}NULL")
            elif op in _CMP and _sql_operand(right) is not None:
                parts.append(f"{left} {_CMP[op]} {_sql_operand(right)}")
            else:
                return None
            left = _sql_operand(right)
        return " AND ".join(parts)
    short = short_name(tree)
    if short in ("and_", "or_"):
        parts = [python_predicate(a) for a in tree_args(tree)]
        if not parts or None in parts:
            return None
        return f" {short[:-1].upper()} ".join(f"({p})" for p in parts)
    if short == "not_" and tree_args(tree):
        inner = python_predicate(tree_args(tree)[0])
        return f"NOT ({inner})" if inner is not None else None
    if short in ("is_", "isnot", "is_not", "in_", "like", "startswith") and "." in tree.get("call", ""):
        column = tree["call"].rsplit(".", 2)[-2]
        args = tree_args(tree)
        if short == "in_" and args and isinstance(args[0], list):
            items = [_sql_operand(a) for a in args[0]]
            return f"{column} IN ({', '.join(items)})" if items and None not in items else None
        if short in ("like", "startswith") and args and isinstance(args[0], str):
            pattern = args[0] + ("%" if short == "startswith" else "")
            return f"{column} LIKE {_sql_operand(pattern)}"
        if args and args[0] is None:
            return f"{column} IS {'' if short == 'is_' else 'NOT '}NULL"
        return None
    if tree_name(tree):
        return _sql_operand(tree)
    return None


def _sql_operand(value) -> Optional[str]:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    name = tree_name(value)
    if name:
        parts = name.split(".")
        if len(parts) >= 3 and parts[-2] == "c":
            return parts[-1]
        return parts[-1]
    return None


def key_of(ref, dialect: str, column_of: Callable[[str], str]) -> tuple:
    """``(table hint, IndexKey)`` of one ``Index`` argument. ``column_of`` maps a name tree's
    qualified name to ``(table, column)``; the hint is '' when the argument names no table."""
    desc = False
    while True:
        short = short_name(ref)
        if short in ("desc", "asc") and "on" in ref:
            desc, ref = short == "desc", ref["on"]
        elif short in ("desc", "asc") and tree_args(ref):
            desc, ref = short == "desc", tree_args(ref)[0]
        elif short in ("desc", "asc") and not tree_args(ref):  # ``User.email.desc()``
            desc, ref = short == "desc", {"name": ref["call"].rsplit(".", 1)[0]}
        else:
            break
    if isinstance(ref, str):
        return "", IndexKey(ref, desc=desc)
    name = tree_name(ref)
    if name:
        table, column = column_of(name)
        return table, IndexKey(column, desc=desc)
    short = short_name(ref)
    if short in ("text", "literal_column") and tree_str(ref):
        text = tree_str(ref)
        try:
            with quiet_sqlglot():
                node = sqlglot.parse_one(f"CREATE INDEX x ON t ({text})", read=dialect)
            columns = node.this.args["params"].args.get("columns") or []
            if len(columns) == 1:
                key = key_from_node(columns[0], dialect)
                return "", IndexKey(key.expr, desc=desc or key.desc, opclass=key.opclass,
                                    is_expression=key.is_expression)
        except Exception:  # noqa: BLE001 - keep the text as written
            pass
        return "", IndexKey(text, desc=desc, is_expression=True)
    if short == "column" and tree_str(ref):
        return "", IndexKey(tree_str(ref), desc=desc)
    if ".func." in f".{call_name(ref)}":  # func.lower(User.email)
        hint = ""
        parts = []
        for arg in tree_args(ref):
            if isinstance(arg, (int, float)) and not isinstance(arg, bool):
                parts.append(str(arg))
                continue
            table, key = key_of(arg, dialect, column_of)
            hint = hint or table
            parts.append(key.expr)
        return hint, IndexKey(f"{short.lower()}({', '.join(parts)})", desc=desc, is_expression=True)
    return "", IndexKey(str(ref.get("expr", ref)) if isinstance(ref, dict) else str(ref), desc=desc,
                        is_expression=True)


# ---------------------------------------------------------------------------- values and bases
def resolve_value(value, index: RepoIndex, depth: int = 0) -> tuple:
    """A symbolic value with repository globals replaced by what they were assigned."""
    origin, steps = value
    steps = tuple(s for s in steps if s[0] != "as")
    if depth > 8 or not origin.startswith("g:"):
        return origin, steps
    name = index.canonical(origin[2:])
    assigned = index.globals.get(name) or index.globals.get(index.reexported(name))
    if assigned is None:
        return origin, steps
    inner_origin, inner_steps = resolve_value(assigned, index, depth + 1)
    return inner_origin, tuple(inner_steps) + steps


def _root_kind(value) -> str:
    """"base" for DeclarativeBase (subclasses are bases), "mapped" for a base to map under
    (declarative_base(), db.Model), "flask" for Flask-SQLAlchemy's db.Model, else ''."""
    origin, steps = value
    head = origin[2:] if origin.startswith("g:") else ""
    last = head.rsplit(".", 1)[-1]
    attrs = [s[1] for s in steps if s[0] == "attr"]
    if not steps and last in _BASE_CLASSES and head.startswith("sqlalchemy"):
        return "base"
    if head.startswith("flask_sqlalchemy") and attrs[-1:] == ["Model"]:
        return "flask"
    if head.startswith("sqlalchemy") and (last in _BASE_FACTORIES or "generate_base" in attrs):
        return "mapped"
    return ""


@dataclass
class _Class:
    qualname: str
    name: str
    path: str
    line: int
    module: str
    kind: str = ""  # declarative base kind: base | mapped | flask | mixin
    abstract: bool = False
    table: str = ""
    schema_name: str = ""
    table_tree: object = None  # ``__table__ = Table(...)``
    parent: str = ""  # mapped repository parent
    columns: list = field(default_factory=list)  # (attr, ColumnSpec, line)
    table_args: object = None
    has_own_pk: bool = False


def snake_case(name: str) -> str:
    """Flask-SQLAlchemy's default table name: ``UserProfile`` -> ``user_profile``."""
    return re.sub(r"((?<=[a-z0-9])[A-Z]|(?!^)[A-Z](?=[a-z]))", r"_\1", name).lower().lstrip("_")


class TableDeclarations:
    """Reads SQLAlchemy table declarations (``Column``, ``Index``, constraints, ``Table``) into
    a :class:`SchemaEditor`. ``column_of`` resolves ``Model.attr`` names; the base knows no
    models and takes the last name as the column."""

    def __init__(self, dialect: str) -> None:
        self.dialect = dialect

    def column_of(self, name: str) -> tuple:
        return "", name.rsplit(".", 1)[-1]

    def reference(self, target) -> tuple:
        """(schema, table, column) of a ForeignKey target."""
        text = tree_str(target)
        if text:
            parts = text.split(".")
            if len(parts) >= 2:
                return (parts[-3] if len(parts) > 2 else ""), parts[-2], parts[-1]
            return "", "", ""
        name = tree_name(target)
        if name:
            table, column = self.column_of(name)
            return "", table, column
        return "", "", ""

    def add_columns(self, editor: SchemaEditor, table: Table, specs: list, items: list = (),
                    columns: Optional[dict] = None) -> None:
        """Declare ``[(ColumnSpec, line)]`` and table ``items`` the way ``CREATE TABLE`` reads:
        columns, the primary key, then each column's index/unique/foreign key, then the items."""
        columns = columns if columns is not None else {spec.name: spec.name for spec, _ in specs}
        start = editor.line  # the table's declaration: the line of its items
        for spec, line in specs:
            editor.line = line or editor.line
            editor.add_column(table, spec.name, spec.type)
        pk = [(spec.name, line) for spec, line in specs if spec.primary_key]
        if pk:
            editor.line = pk[0][1] or editor.line
            editor.set_primary_key(table, [name for name, _ in pk])
        editor.line = start
        for item in items:
            if short_name(item) == "PrimaryKeyConstraint":
                self.table_item(editor, table, item, columns)
        for spec, line in specs:
            editor.line = line or start
            self.column_constraints(editor, table, spec)
        editor.line = start
        for item in items:
            if short_name(item) != "PrimaryKeyConstraint":
                self.table_item(editor, table, item, columns)

    def column_constraints(self, editor: SchemaEditor, table: Table, spec: ColumnSpec) -> None:
        """A column's ``index=True`` (``ix_<table>_<column>``), ``unique=True`` and ``ForeignKey``."""
        if spec.unique and not spec.primary_key:
            if spec.index:
                editor.add_index(table, Index(table=table.name, keys=(IndexKey(spec.name),), unique=True,
                                              name=f"ix_{table.name}_{spec.name}"))
            else:
                editor.add_unique(table, (IndexKey(spec.name),))
        elif spec.index:
            editor.add_index(table, Index(table=table.name, keys=(IndexKey(spec.name),),
                                          name=f"ix_{table.name}_{spec.name}"))
        for target in spec.references:
            _, ref_table, ref_column = self.reference(target)
            editor.add_foreign_key(table, (spec.name,), ref_table, (ref_column,))

    def table_item(self, editor: SchemaEditor, table: Table, item, columns: dict) -> None:
        """One ``__table_args__`` / ``Table(...)`` item: Index, UniqueConstraint, PrimaryKeyConstraint,
        ForeignKeyConstraint."""
        short = short_name(item)
        if short == "Index":
            spec = index_spec(item, self.dialect)
            self.add_index_spec(editor, table, spec, columns)
        elif short in ("UniqueConstraint", "PrimaryKeyConstraint"):
            keys = [key_of(ref, self.dialect, self.column_of)[1] for ref in tree_args(item)]
            keys = [IndexKey(columns.get(k.expr, k.expr)) for k in keys]
            name = tree_str(tree_kw(item).get("name")) or ""
            if short == "UniqueConstraint":
                editor.add_unique(table, keys, name)
            else:
                editor.set_primary_key(table, [k.expr for k in keys], name)
        elif short == "ForeignKeyConstraint" and len(tree_args(item)) >= 2:
            local, remote = tree_list(tree_args(item)[0]), tree_list(tree_args(item)[1])
            local_columns = [columns.get(c, c) if isinstance(c, str) else self.column_of(tree_name(c))[1]
                             for c in local]
            targets = [self.reference(r) for r in remote]
            if targets and targets[0][1]:
                editor.add_foreign_key(table, local_columns, targets[0][1], [t[2] for t in targets])

    def add_index_spec(self, editor: SchemaEditor, table: Table, spec: IndexSpec, columns: dict) -> None:
        keys = []
        for ref in spec.refs:
            _, key = key_of(ref, self.dialect, self.column_of)
            if not key.is_expression:
                opclass = spec.ops.get(key.expr, "")
                key = IndexKey(columns.get(key.expr, key.expr), desc=key.desc, opclass=opclass)
            keys.append(key)
        editor.add_index(table, Index(table=table.name, keys=tuple(keys), name=spec.name, unique=spec.unique,
                                      where=spec.where, include=spec.include, method=spec.method))

    def core_table(self, editor: SchemaEditor, tree) -> Optional[Table]:
        """``Table("name", metadata, Column(...), Index(...), ..., schema="x")``."""
        args = tree_args(tree)
        name = tree_str(args[0]) if args else None
        if not name:
            return None
        schema_name = tree_str(tree_kw(tree).get("schema")) or ""
        table = editor.table(name, schema_name)
        specs = [(spec, editor.line) for spec in (column_spec(item) for item in args[1:]) if spec is not None]
        self.add_columns(editor, table, specs, [item for item in args[1:] if column_spec(item) is None])
        self.warehouse_keys(editor, table, tree_kw(tree), {})
        return table

    def warehouse_keys(self, editor: SchemaEditor, table: Table, options: dict, columns: dict) -> None:
        """sqlalchemy-redshift's ``redshift_sortkey`` / ``redshift_interleaved_sortkey`` /
        ``redshift_distkey`` and snowflake-sqlalchemy's ``snowflake_clusterby`` table options."""
        for option, method in (("redshift_sortkey", "sortkey"), ("redshift_interleaved_sortkey", "interleaved_sortkey"),
                               ("redshift_distkey", "distkey"), ("snowflake_clusterby", "cluster")):
            if option not in options:
                continue
            names = []
            for ref in tree_list(options[option]):
                _, key = key_of(ref, self.dialect, self.column_of)
                names.append(IndexKey(columns.get(key.expr, key.expr), is_expression=key.is_expression))
            editor.set_key(table, method, tuple(names))


class _SQLAlchemyReader(TableDeclarations):
    def __init__(self, all_facts: list, index: RepoIndex, dialect: str) -> None:
        super().__init__(dialect)
        self.facts = all_facts
        self.index = index
        self.classes: dict = {}
        self._kinds: dict = {}
        for qualname in sorted(index.classes):
            self._class(qualname, ())
        self.mapped = {q: c for q, c in self.classes.items() if c.kind in ("mapped", "flask")}
        self._tables()

    # ------------------------------------------------------------------ classes
    def _bases(self, qualname: str) -> list:
        klass = self.index.classes[qualname]
        out = []
        for base in klass.bases:
            name = self.index.reexported(self.index.canonical(plain_name(base)))
            out.append((name if name in self.index.classes else "", resolve_value(base, self.index)))
        return out

    def _class(self, qualname: str, seen: tuple) -> Optional[_Class]:
        if qualname in self.classes:
            return self.classes[qualname]
        if qualname in seen or qualname not in self.index.classes:
            return None
        klass = self.index.classes[qualname]
        facts = self.index.class_module[qualname]
        info = _Class(qualname, klass.name, facts.path, klass.line, facts.module)
        inherited: list = []
        for repo_base, value in self._bases(qualname):
            if repo_base:
                parent = self._class(repo_base, seen + (qualname,))
                if parent is None:
                    continue
                if parent.kind == "base":
                    info.kind = info.kind or "mapped"
                    inherited.extend(parent.columns)
                elif parent.kind in ("mapped", "flask"):
                    info.kind = info.kind or parent.kind
                    if parent.abstract or not (parent.table or parent.parent):
                        inherited.extend(parent.columns)
                        info.table_args = info.table_args or parent.table_args
                        if parent.parent:
                            info.parent = info.parent or parent.parent
                    else:
                        info.parent = info.parent or repo_base
                else:  # a mixin
                    inherited.extend(parent.columns)
                    info.table_args = info.table_args or parent.table_args
                    if parent.table and not info.table:
                        info.table = parent.table  # a mixin's ``__tablename__`` constant
                continue
            root = _root_kind(value)
            if root == "base":
                info.kind = "base"
            elif root:
                info.kind = info.kind or root
        own: list = []
        for fld in klass.fields:
            if fld.name == "__tablename__":
                name = tree_str(fld.value)
                if name:
                    info.table = name
            elif fld.name == "__abstract__":
                info.abstract = fld.value is True
            elif fld.name == "__table_args__":
                info.table_args = fld.value
            elif fld.name == "__table__" and short_name(fld.value) == "Table":
                info.table_tree = fld.value
            else:
                spec = self._field_column(fld)
                if spec is not None:
                    own.append((fld.name, spec, fld.line))
        own_names = {attr for attr, _, _ in own}
        info.columns = [c for c in inherited if c[0] not in own_names] + own
        info.has_own_pk = any(spec.primary_key for _, spec, _ in own)
        if info.kind in ("mapped", "flask") and not info.table and not info.table_tree and not info.abstract:
            if self.index.method_of(qualname, "__tablename__"):
                info.table = klass.name.lower()  # ``@declared_attr def __tablename__``: the usual lower-case name
            elif info.kind == "flask" and (not info.parent or info.has_own_pk):
                info.table = snake_case(klass.name)
        if not info.kind and not info.columns and not info.table:
            info.kind = ""
        elif not info.kind:
            info.kind = "mixin"
        self.classes[qualname] = info
        return info

    def _field_column(self, fld) -> Optional[ColumnSpec]:
        if fld.value is None:
            if not _is_mapped_annotation(fld.annotation_text) or fld.annotation_many:
                return None
            target = fld.annotation.rsplit(".", 1)[-1]
            if target and target in self.index.classes_by_name and target not in _PY_TYPES:
                return None
            if re.search(r"[\"']", fld.annotation_text):
                return None  # a forward reference to a class: a relationship
            return ColumnSpec(name=fld.name, type=annotation_type(fld.annotation_text))
        spec = column_spec(fld.value, fld.name)
        if spec is not None and not spec.type and fld.annotation_text:
            spec.type = annotation_type(fld.annotation_text)
        return spec

    # ------------------------------------------------------------------ name resolution
    def _tables(self) -> None:
        """Every mapped class's table and attribute -> column map."""
        self.table_of: dict = {}  # class qualname -> table name
        self.attr_columns: dict = {}  # class qualname -> {attr: column}
        for qualname, info in sorted(self.mapped.items()):
            if info.abstract:
                continue
            table = info.table
            if info.table_tree is not None:
                table = tree_str(tree_args(info.table_tree)[0]) if tree_args(info.table_tree) else ""
            if not table and info.parent:
                table = self._parent_table(info)
            if table:
                self.table_of[qualname] = table
            self.attr_columns[qualname] = {attr: spec.name for attr, spec, _ in info.columns}

    def _parent_table(self, info: _Class) -> str:
        seen = set()
        while info.parent and info.parent not in seen:
            seen.add(info.parent)
            parent = self.classes.get(info.parent)
            if parent is None:
                return ""
            if parent.table:
                return parent.table
            if parent.table_tree is not None and tree_args(parent.table_tree):
                return tree_str(tree_args(parent.table_tree)[0]) or ""
            info = parent
        return ""

    def column_of(self, name: str) -> tuple:
        """``app.models.User.email`` -> ("users", "email"); ``app.models.t.c.id`` -> ("things", "id")."""
        name = self.index.canonical(name)
        if ".c." in name:
            owner, _, column = name.partition(".c.")
            owner = owner.removesuffix(".__table__")
            table = self.table_of.get(owner) or self._core_table_name(owner)
            return table, column.split(".")[0]
        owner, _, attr = name.rpartition(".")
        owner = self.index.reexported(owner)
        if owner in self.mapped:
            return self.table_of.get(owner, ""), self.attr_columns.get(owner, {}).get(attr, attr)
        return "", attr

    def _core_table_name(self, qualname: str) -> str:
        value = self.index.globals.get(qualname) or self.index.globals.get(self.index.reexported(qualname))
        if value is None:
            return ""
        origin, steps = value
        if not origin.endswith(".Table") or not steps or steps[0][0] != "call" or not steps[0][2]:
            return ""
        first = steps[0][2][0]
        return first[0][2:] if first[0].startswith("s:") else ""

    # ------------------------------------------------------------------ building
    def build(self, schema: Schema) -> None:
        editor = SchemaEditor(schema, self.dialect, "sqlalchemy")
        for info in sorted(self.mapped.values(), key=lambda c: (natural_key(c.path), c.path, c.line, c.qualname)):
            qualname = info.qualname
            if info.abstract:
                continue
            if info.table_tree is not None:
                editor.path, editor.line = info.path, info.line
                table = self.core_table(editor, info.table_tree)
                if table is not None:
                    table.model = table.model or qualname
                continue
            name = self.table_of.get(qualname)
            if not name:
                continue
            try:
                self._mapped_table(editor, info, name)
            except Exception as exc:  # noqa: BLE001 - an odd model must not lose the others
                schema.notes.append((info.path, f"line {info.line}: model {info.name} not read "
                                                f"({type(exc).__name__})"))
        for facts in self.facts:
            if alembic_module(facts):
                continue
            for call in facts.schema_calls:
                editor.path, editor.line = facts.path, call.get("line", 0)
                tree = call.get("tree")
                try:
                    if short_name(tree) == "Table":
                        self.core_table(editor, tree)
                    elif short_name(tree) == "Index":
                        self._module_index(editor, tree)
                except Exception as exc:  # noqa: BLE001 - an odd declaration must not lose the others
                    schema.notes.append((facts.path, f"line {editor.line}: {short_name(tree)}(...) not read "
                                                     f"({type(exc).__name__})"))
        finish(editor)

    def _mapped_table(self, editor: SchemaEditor, info: _Class, name: str) -> None:
        own_table = bool(info.table)
        table_args = info.table_args
        options = tree_dict(table_args)
        items = [] if options else tree_list(table_args)
        if items and tree_dict(items[-1]):
            options = tree_dict(items[-1])
            items = items[:-1]
        schema_name = tree_str(options.get("schema")) or ""
        editor.path, editor.line = info.path, info.line
        table = editor.table(name, schema_name)
        if own_table:  # a single-table-inheritance child's table is its parent's
            table.model = table.model or info.qualname
        columns = {attr: spec.name for attr, spec, _ in info.columns}
        self.add_columns(editor, table, [(spec, line) for _, spec, line in info.columns], items, columns)
        editor.line = info.line
        self.warehouse_keys(editor, table, options, columns)

    def _module_index(self, editor: SchemaEditor, tree) -> None:
        """``Index("ix", User.email, User.created.desc())`` outside a table: bound by its columns."""
        spec = index_spec(tree, self.dialect)
        table_name = ""
        for ref in spec.refs:
            hint, _ = key_of(ref, self.dialect, self.column_of)
            table_name = table_name or hint
        if not table_name:
            return
        table = editor.table(table_name)
        self.add_index_spec(editor, table, spec, {})


def alembic_module(facts: ModuleFacts) -> bool:
    """A migration script: under a ``versions/`` directory, or calling ``alembic.op``."""
    if "versions" in facts.path.split("/")[:-1]:
        return True
    return any(str((call.get("tree") or {}).get("call", "")).startswith("alembic.op.")
               for call in facts.schema_calls if isinstance(call.get("tree"), dict))


def sqlalchemy_schema(all_facts: list, index: RepoIndex, dialect: str) -> Schema:
    """The tables, keys and indexes that SQLAlchemy models, ``Table`` and ``Index`` declare."""
    schema = Schema()
    facts = sorted(all_facts, key=lambda f: (natural_key(f.path), f.path))
    _SQLAlchemyReader(facts, index, dialect).build(schema)
    return schema
