"""The schema catalog from Alembic migrations.

A migration is a module under a ``versions/`` directory or one that calls ``alembic.op``. Only
the operations inside ``upgrade()`` count (``ModuleFacts.schema_calls`` whose function ends with
``.upgrade``), applied in revision order: the module constants ``revision`` / ``down_revision``
order the scripts topologically (ties and scripts without a revision id by path); a merge
revision (``down_revision`` a tuple, which the facts keep only as an item count) goes after
every script that does not depend on it.

Operations: ``create_table`` (Column / Index / constraint items, as SQLAlchemy's ``Table``),
``create_index`` (``unique``, ``postgresql_where`` / ``sqlite_where``, ``postgresql_using``,
``postgresql_include``, ``postgresql_ops``; ``sa.text("lower(email)")`` keys), ``drop_index``,
``drop_table``, ``rename_table``, ``add_column``, ``drop_column``, ``alter_column``
(``new_column_name``, ``type_``), ``create_unique_constraint``, ``create_primary_key``,
``create_foreign_key``, ``drop_constraint``, and ``execute("CREATE INDEX ...")``, whose SQL goes
to the DDL parser. ``op.f("name")`` is the name. The same operations on ``batch_op`` inside
``with op.batch_alter_table("t") as batch_op:`` apply to ``t``.
"""

from __future__ import annotations

import heapq

from auditor.facts import ModuleFacts
from auditor.sql.model import IndexKey, Schema
from auditor.sql.schema_ddl import (
    SchemaEditor,
    apply_ddl,
    call_name,
    finish,
    natural_key,
    short_name,
    split_qualified,
    tree_args,
    tree_kw,
    tree_list,
    tree_str,
)
from auditor.sql.schema_sqlalchemy import (
    TableDeclarations,
    alembic_module,
    column_spec,
    index_spec,
    sa_type,
)

# Alembic's operation signatures: positional parameters in order (the table one is absent in the
# ``batch_op`` form), so that calls written with keywords read the same as positional ones.
_SIGNATURES = {
    "create_table": ("table_name",),
    "drop_table": ("table_name",),
    "rename_table": ("old_table_name", "new_table_name"),
    "create_index": ("index_name", "table_name", "columns"),
    "drop_index": ("index_name", "table_name"),
    "add_column": ("table_name", "column"),
    "drop_column": ("table_name", "column_name"),
    "alter_column": ("table_name", "column_name"),
    "create_unique_constraint": ("constraint_name", "table_name", "columns"),
    "create_primary_key": ("constraint_name", "table_name", "columns"),
    "create_foreign_key": ("constraint_name", "source_table", "referent_table", "local_cols", "remote_cols"),
    "drop_constraint": ("constraint_name", "table_name"),
    "execute": ("sqltext",),
}


def bind_arguments(op: str, tree, batch_table: str = "") -> dict:
    """The arguments of ``op.<op>(...)`` by parameter name; ``"*"`` holds the extra positional ones
    (``create_table``'s columns). ``batch_table`` fills the table of a ``batch_op`` call."""
    names = list(_SIGNATURES.get(op, ()))
    table_param = next((n for n in names if n in ("table_name", "source_table")), "")
    if batch_table and table_param:
        names.remove(table_param)
    bound = dict(tree_kw(tree))
    args = tree_args(tree)
    for name, value in zip(names, args):
        bound.setdefault(name, value)
    bound["*"] = args[len(names):]
    if batch_table and table_param:
        bound[table_param] = batch_table
    return bound


def revision_order(modules: list) -> list:
    """Migration modules in the order Alembic applies them (see module docstring)."""
    by_revision: dict = {}
    for facts in modules:
        revision = facts.constants.get("revision")
        if isinstance(revision, str) and revision not in by_revision:
            by_revision[revision] = facts
    children: dict = {}
    waiting: dict = {}
    late: set = set()
    for facts in modules:
        down = facts.constants.get("down_revision")
        waiting[facts.path] = 0
        if isinstance(down, str) and down in by_revision and by_revision[down] is not facts:
            children.setdefault(by_revision[down].path, []).append(facts)
            waiting[facts.path] = 1
        elif isinstance(down, int) and not isinstance(down, bool):
            late.add(facts.path)  # a merge revision: its parents are not known
    ready = [(facts.path in late, natural_key(facts.path), facts.path, facts) for facts in modules
             if not waiting[facts.path]]
    heapq.heapify(ready)
    ordered: list = []
    done: set = set()
    while ready:
        _, _, path, facts = heapq.heappop(ready)
        if path in done:
            continue
        done.add(path)
        ordered.append(facts)
        for child in children.get(path, []):
            waiting[child.path] -= 1
            if waiting[child.path] == 0:
                heapq.heappush(ready, (child.path in late, natural_key(child.path), child.path, child))
    leftovers = sorted((f for f in modules if f.path not in done), key=lambda f: natural_key(f.path))
    return ordered + leftovers  # a cycle: path order


def _batch_tables(facts: ModuleFacts) -> dict:
    """(function, line, operation) -> table of every ``batch_op.<operation>`` call in the module."""
    found: dict = {}
    for func in facts.functions:
        for call in func.calls:
            origin, steps = call.func
            for position, step in enumerate(steps[:-1]):
                if step[0] == "attr" and step[1] == "batch_alter_table":
                    following = steps[position + 1]
                    if following[0] == "call" and following[2] and following[2][0][0].startswith("s:"):
                        if position + 2 < len(steps):  # an operation on the batch, not the with itself
                            found[(func.qualname, call.line, steps[-1][1])] = following[2][0][0][2:]
    return found


class _AlembicReader(TableDeclarations):
    def __init__(self, dialect: str) -> None:
        super().__init__(dialect)

    def apply(self, editor: SchemaEditor, facts: ModuleFacts) -> None:
        batches = _batch_tables(facts)
        for call in facts.schema_calls:
            function = call.get("function", "")
            if function.rsplit(".", 1)[-1] != "upgrade":
                continue
            tree = call.get("tree")
            op = short_name(tree)
            callee = call_name(tree)
            batch_table = batches.get((function, call.get("line", 0), op), "")
            if not batch_table and not (callee.startswith("alembic.op.") or callee.startswith("op.")
                                        or ".op." in f".{callee}"):
                continue
            editor.path, editor.line = facts.path, call.get("line", 0)
            try:
                self._operation(editor, facts, op, bind_arguments(op, tree, batch_table))
            except Exception:  # noqa: BLE001 - an odd operation must not lose the others
                editor.schema.notes.append((facts.path, f"line {editor.line}: op.{op}(...) not understood"))

    def _table(self, editor: SchemaEditor, name, schema_name=None):
        text = tree_str(name)
        if not text:
            return None
        return editor.table(text, tree_str(schema_name) or "")

    def _operation(self, editor: SchemaEditor, facts: ModuleFacts, op: str, p: dict) -> None:
        if op == "execute":
            text = tree_str(p.get("sqltext"))
            if text:
                apply_ddl(editor, facts.path, editor.line, text)
        elif op == "create_table":
            name = tree_str(p.get("table_name"))
            if not name or (name in editor.schema.tables and p.get("if_not_exists") is True):
                return
            kw = {k: v for k, v in p.items() if k not in ("*", "table_name")}
            self.core_table(editor, {"call": "Table", "args": [name, None] + p["*"], "kw": kw})
        elif op == "drop_table":
            editor.drop_table(tree_str(p.get("table_name")) or "")
        elif op == "rename_table":
            editor.rename_table(tree_str(p.get("old_table_name")) or "", tree_str(p.get("new_table_name")) or "")
        elif op == "create_index":
            table = self._table(editor, p.get("table_name"), p.get("schema"))
            if table is None:
                return
            kw = {k: v for k, v in p.items() if k not in ("*", "index_name", "table_name", "columns")}
            spec = index_spec({"call": "Index", "args": [p.get("index_name")] + tree_list(p.get("columns")),
                               "kw": kw}, self.dialect)
            if p.get("if_not_exists") is True and any(ix.name == spec.name for ix in table.indexes):
                return
            self.add_index_spec(editor, table, spec, {})
        elif op == "drop_index":
            editor.drop_index(tree_str(p.get("index_name")) or "", tree_str(p.get("table_name")) or "")
        elif op == "add_column":
            table = self._table(editor, p.get("table_name"), p.get("schema"))
            spec = column_spec(p.get("column")) if table is not None else None
            if spec is not None:
                self.add_columns(editor, table, [(spec, editor.line)])
        elif op == "drop_column":
            table = self._table(editor, p.get("table_name"), p.get("schema"))
            if table is not None:
                editor.drop_column(table, tree_str(p.get("column_name")) or "")
        elif op == "alter_column":
            table = self._table(editor, p.get("table_name"), p.get("schema"))
            column = tree_str(p.get("column_name"))
            if table is None or not column:
                return
            type_text = sa_type(p.get("type_")) if p.get("type_") is not None else ""
            if type_text and column in table.columns:
                table.columns[column] = type_text
            new = tree_str(p.get("new_column_name"))
            if new:
                editor.rename_column(table, column, new)
        elif op in ("create_unique_constraint", "create_primary_key"):
            table = self._table(editor, p.get("table_name"), p.get("schema"))
            if table is None:
                return
            columns = [tree_str(c) or "" for c in tree_list(p.get("columns"))]
            name = tree_str(p.get("constraint_name")) or ""
            if op == "create_primary_key":
                editor.set_primary_key(table, columns, name)
            else:
                editor.add_unique(table, tuple(IndexKey(c) for c in columns if c), name)
        elif op == "create_foreign_key":
            table = self._table(editor, p.get("source_table"), p.get("source_schema"))
            referent = tree_str(p.get("referent_table")) or ""
            if table is None or not referent:
                return
            editor.add_foreign_key(table, [tree_str(c) or "" for c in tree_list(p.get("local_cols"))],
                                   split_qualified(referent)[1] if "." in referent else referent,
                                   [tree_str(c) or "" for c in tree_list(p.get("remote_cols"))],
                                   constraint=tree_str(p.get("constraint_name")) or "")
        elif op == "drop_constraint":
            table = self._table(editor, p.get("table_name"), p.get("schema"))
            if table is not None:
                editor.drop_constraint(table, tree_str(p.get("constraint_name")) or "")


def alembic_schema(all_facts: list, dialect: str) -> Schema:
    """What the ``upgrade()`` of every Alembic migration creates, applied in revision order."""
    schema = Schema()
    editor = SchemaEditor(schema, dialect, "alembic")
    reader = _AlembicReader(dialect)
    modules = sorted((f for f in all_facts if alembic_module(f)), key=lambda f: (natural_key(f.path), f.path))
    for facts in revision_order(modules):
        reader.apply(editor, facts)
    finish(editor)
    return schema
