"""The schema catalog of a repository: DDL, migrations and ORM models merged into one Schema.

Each source is read into a Schema of its own, applying its statements in its own order (so a
``DROP TABLE IF EXISTS users; CREATE TABLE users ...`` script does not drop what a model
declared); the sources are then merged in this order, the first one keeping its origin, path
and line:

1. Django models (``schema_django``)
2. SQLAlchemy declarative models, Core ``Table`` and module-level ``Index`` (``schema_sqlalchemy``)
3. SQL DDL texts: ``.sql`` files and DDL strings in Python (``schema_ddl``), in path order
4. Alembic migrations, ``upgrade()`` only, in revision order (``schema_alembic``)
5. Django migrations' ``RunSQL`` (``schema_django``), in path order

Merging a table that an earlier source declared adds the columns it lacks, fills an empty
primary key, schema or model, and adds the foreign keys and indexes it lacks; an index is the
same as an earlier one when keys (with direction and opclass), predicate, uniqueness and method
are equal, whatever the names.
"""

from __future__ import annotations

import copy
from typing import Optional

from auditor.facts import ModuleFacts
from auditor.orm_models import ModelCatalog
from auditor.sql.model import Schema, Table
from auditor.sql.schema_alembic import alembic_schema
from auditor.sql.schema_ddl import KEY_METHODS, ddl_schema, name_mysql_indexes, natural_key
from auditor.sql.schema_django import django_runsql_schema, django_schema
from auditor.sql.schema_sqlalchemy import sqlalchemy_schema


def build_schema(all_facts: list[ModuleFacts], sql_texts: list[tuple[str, int, str]], dialect: str,
                 models: Optional[ModelCatalog] = None) -> Schema:
    """Every table the repository declares, with its columns, keys and indexes.

    ``all_facts``: the facts of every parsed Python module (those with an error are skipped);
    ``sql_texts``: ``(path, first line, text)`` of every DDL-bearing SQL text; ``dialect``: the
    target database; ``models``: the ORM model catalog when the caller has one already.
    """
    facts = sorted((f for f in all_facts if not f.error), key=lambda f: (natural_key(f.path), f.path))
    if models is None:
        from auditor.catalog import load_catalog
        from auditor.repo_index import RepoIndex
        models = ModelCatalog(RepoIndex.build(facts), load_catalog([], []))
    readers = [
        ("Django models", lambda: django_schema(facts, models, dialect)),
        ("SQLAlchemy models", lambda: sqlalchemy_schema(facts, models.index, dialect)),
        ("SQL DDL", lambda: ddl_schema(list(sql_texts), dialect)),
        ("Alembic migrations", lambda: alembic_schema(facts, dialect)),
        ("Django RunSQL", lambda: django_runsql_schema(facts, dialect)),
    ]
    schema = Schema()
    for label, read in readers:
        try:
            source = read()
        except Exception as exc:  # noqa: BLE001 - one source's bug must not lose the others
            schema.notes.append(("", f"schema from {label} not read: {type(exc).__name__}: {exc}"[:300]))
            continue
        merge_into(schema, source)
    if dialect == "mysql":
        drop_covered_foreign_key_indexes(schema)
        name_mysql_indexes(schema)
    schema.tables = {name: schema.tables[name] for name in sorted(schema.tables)}
    return schema


def index_key(index) -> tuple:
    """What makes two indexes from different sources the same one."""
    return (index.keys, index.where, index.unique, index.method)


def merge_into(target: Schema, source: Schema) -> None:
    """Union ``source`` into ``target`` (``target``'s declarations win; see module docstring)."""
    for name in sorted(source.tables):
        incoming = source.tables[name]
        existing = target.tables.get(name)
        if existing is None:
            target.tables[name] = copy.deepcopy(incoming)
            continue
        _merge_table(existing, incoming)
    for note in source.notes:
        if note not in target.notes:
            target.notes.append(note)


def _merge_table(existing: Table, incoming: Table) -> None:
    for column, type_text in incoming.columns.items():
        if column not in existing.columns or (type_text and not existing.columns[column]):
            existing.columns[column] = type_text
    if not existing.primary_key:
        existing.primary_key = incoming.primary_key
    if not existing.schema:
        existing.schema = incoming.schema
    if not existing.model:
        existing.model = incoming.model
    known_fks = {(fk.columns, fk.ref_table, fk.ref_columns) for fk in existing.foreign_keys}
    for fk in incoming.foreign_keys:
        if (fk.columns, fk.ref_table, fk.ref_columns) not in known_fks:
            existing.foreign_keys.append(copy.deepcopy(fk))
            known_fks.add((fk.columns, fk.ref_table, fk.ref_columns))
    known = {index_key(ix): ix for ix in existing.indexes}
    for index in incoming.indexes:
        same = known.get(index_key(index))
        if same is not None:
            same.primary = same.primary or index.primary
            continue
        added = copy.deepcopy(index)
        added.table = existing.name
        existing.indexes.append(added)


def drop_covered_foreign_key_indexes(schema: Schema) -> None:
    """MySQL: InnoDB drops (or never makes) a foreign key's own index when another index
    leads with the same columns."""
    for name in sorted(schema.tables):
        table = schema.tables[name]
        kept = []
        for index in table.indexes:
            if index.origin == "foreign key" and _covered(index, table):
                continue
            kept.append(index)
        table.indexes = kept


def _covered(index, table: Table) -> bool:
    width = len(index.keys)
    for other in table.indexes:
        if other is index or other.origin == "foreign key" or other.where or other.method in KEY_METHODS:
            continue
        if tuple(k.expr for k in other.keys[:width]) == index.columns:
            return True
    return False
