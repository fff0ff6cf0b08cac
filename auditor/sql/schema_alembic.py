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
from typing import Optional

from auditor.facts import ModuleFacts
from auditor.repo_index import RepoIndex
from auditor.sql.model import IndexKey, Schema
from auditor.sql.schema_ddl import (
    SchemaEditor,
    apply_ddl,
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

# Where the table name goes among the positional arguments of ``op.<name>`` (``batch_op`` omits it).
_TABLE_POSITION = {"create_index": 1, "create_unique_constraint": 1, "create_primary_key": 1,
                   "create_foreign_key": 1, "drop_constraint": 1, "add_column": 0, "drop_column": 0,
                   "alter_column": 0}


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
    """(function, line) -> table of every ``batch_op.<operation>`` call in the module."""
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
            callee = tree.get("call", "") if isinstance(tree, dict) else ""
            batch_table = batches.get((function, call.get("line", 0), op))
            if not batch_table and not (callee.startswith("alembic.op.") or callee.startswith("op.")
                                        or ".op." in f".{callee}"):
                continue
            editor.path, editor.line = facts.path, call.get("line", 0)
            args, kw = tree_args(tree), tree_kw(tree)
            if batch_table:
                if op in _TABLE_POSITION:
                    args.insert(_TABLE_POSITION[op], batch_table)
                elif op == "drop_index":
                    kw.setdefault("table_name", batch_table)
            try:
                self._operation(editor, facts, op, tree, args, kw)
            except Exception:  # noqa: BLE001 - an odd operation must not lose the others
                editor.schema.notes.append((facts.path, f"line {editor.line}: op.{op}(...) not understood"))

    def _table(self, editor: SchemaEditor, name, schema_kw="schema", kw: Optional[dict] = None):
        text = tree_str(name)
        if not text:
            return None
        schema_name = tree_str((kw or {}).get(schema_kw)) or ""
        return editor.table(text, schema_name)

    def _operation(self, editor: SchemaEditor, facts: ModuleFacts, op: str, tree, args: list, kw: dict) -> None:
        if op == "execute":
            sql = args[0] if args else kw.get("sqltext")
            text = tree_str(sql)
            if text:
                apply_ddl(editor, facts.path, editor.line, text)
        elif op == "create_table":
            name = tree_str(args[0]) if args else None
            if name and name in editor.schema.tables and kw.get("if_not_exists") is True:
                return
            self.core_table(editor, {"call": "Table", "args": [args[0], None] + args[1:], "kw": kw})
        elif op == "drop_table":
            editor.drop_table(tree_str(args[0]) or "")
        elif op == "rename_table":
            editor.rename_table(tree_str(args[0]) or "", tree_str(args[1]) or "")
        elif op == "create_index":
            table = self._table(editor, args[1] if len(args) > 1 else kw.get("table_name"), kw=kw)
            if table is None:
                return
            columns = args[2] if len(args) > 2 else kw.get("columns")
            spec = index_spec({"call": "Index", "args": [args[0]] + tree_list(columns), "kw": kw}, self.dialect)
            if kw.get("if_not_exists") is True and any(ix.name == spec.name for ix in table.indexes):
                return
            self.add_index_spec(editor, table, spec, {})
        elif op == "drop_index":
            name = tree_str(args[0] if args else kw.get("index_name")) or ""
            table = tree_str(args[1] if len(args) > 1 else kw.get("table_name")) or ""
            editor.drop_index(name, table)
        elif op == "add_column":
            table = self._table(editor, args[0], kw=kw)
            spec = column_spec(args[1]) if table is not None and len(args) > 1 else None
            if spec is not None:
                self.add_columns(editor, table, [(spec, editor.line)])
        elif op == "drop_column":
            table = self._table(editor, args[0], kw=kw)
            if table is not None:
                editor.drop_column(table, tree_str(args[1]) or "")
        elif op == "alter_column":
            table = self._table(editor, args[0], kw=kw)
            column = tree_str(args[1]) if len(args) > 1 else None
            if table is None or not column:
                return
            if kw.get("type_") is not None and sa_type(kw["type_"]):
                table.columns[column] = sa_type(kw["type_"])
            new = tree_str(kw.get("new_column_name"))
            if new:
                editor.rename_column(table, column, new)
        elif op in ("create_unique_constraint", "create_primary_key"):
            table = self._table(editor, args[1], kw=kw)
            columns = [tree_str(c) or "" for c in tree_list(args[2] if len(args) > 2 else kw.get("columns"))]
            name = tree_str(args[0]) or ""
            if table is None:
                return
            if op == "create_primary_key":
                editor.set_primary_key(table, columns, name)
            else:
                editor.add_unique(table, tuple(IndexKey(c) for c in columns if c), name)
        elif op == "create_foreign_key":
            table = self._table(editor, args[1], schema_kw="source_schema", kw=kw)
            if table is None or len(args) < 5:
                return
            referent = tree_str(args[2]) or ""
            ref_schema, ref_table = split_qualified(referent) if "." in referent else ("", referent)
            editor.add_foreign_key(table, [tree_str(c) or "" for c in tree_list(args[3])], ref_table,
                                   [tree_str(c) or "" for c in tree_list(args[4])])
        elif op == "drop_constraint":
            table = self._table(editor, args[1], kw=kw)
            if table is not None:
                editor.drop_constraint(table, tree_str(args[0]) or "")


def alembic_schema(all_facts: list, index: Optional[RepoIndex], dialect: str) -> Schema:
    """What the ``upgrade()`` of every Alembic migration creates, applied in revision order."""
    schema = Schema()
    editor = SchemaEditor(schema, dialect, "alembic")
    reader = _AlembicReader(dialect)
    modules = sorted((f for f in all_facts if alembic_module(f)), key=lambda f: (natural_key(f.path), f.path))
    for facts in revision_order(modules):
        reader.apply(editor, facts)
    finish(editor)
    return schema
