"""The schema catalog from Django models (and the ``RunSQL`` of Django migrations).

Every concrete model of ``ModelCatalog.django_models`` makes a table, named ``Meta.db_table``
or ``<app_label>_<model name lower>`` (``app_label``: ``Meta.app_label``, else the package
directory of the models module: ``shop/orders/models.py`` and ``orders/models/order.py`` are
app ``orders``). What Django's schema editor would create is recorded:

* columns: the implicit ``id`` primary key unless a field has ``primary_key=True`` (or
  ``<parent>_ptr_id`` for multi-table inheritance), fields of abstract bases first; ``db_column``
  or the field name, ``<name>_id`` for ForeignKey/OneToOneField; types are PostgreSQL-flavoured
  approximations (``varchar(100)``, ``integer``, ...), '' when unknown;
* indexes: the primary key (origin ``primary key``), ``unique=True`` and OneToOneField
  (``unique``), ForeignKey (``foreign key``, unless ``db_index=False``), ``db_index=True``,
  ``Meta.indexes``, ``Meta.index_together`` (``django``), ``Meta.unique_together`` and
  ``UniqueConstraint`` (``unique``); on PostgreSQL also the ``varchar_pattern_ops`` /
  ``text_pattern_ops`` "_like" index Django adds for indexed or unique text columns;
* ManyToManyField without ``through``: the table ``<table>_<field>`` with ``id``,
  ``<model>_id``, ``<other>_id`` (``from_``/``to_`` prefixes when self-referential), an index on
  each foreign key and a unique index on the pair.

Abstract models make no table; their fields and ``Meta`` indexes/constraints are inherited.
Proxy models make none either. ``managed = False`` models keep their columns and keys, not the
indexes Django would have created.
"""

from __future__ import annotations

import ast
import hashlib
import re
from dataclasses import dataclass, field
from typing import Optional

from auditor.ast_nodes import literal_tree, parse_expression
from auditor.orm_models import ModelCatalog
from auditor.repo_index import RepoIndex, plain_name
from auditor.sql.model import Index, IndexKey, Schema, Table
from auditor.sql.schema_ddl import (
    SchemaEditor,
    apply_ddl,
    expression_text,
    finish,
    natural_key,
    normalize_predicate,
    short_name,
    split_qualified,
    tree_args,
    tree_kw,
    tree_list,
    tree_name,
    tree_str,
    tree_text,
)

_NOT_FIELDS = {"GenericForeignKey", "GenericRelation", "TaggableManager"}
_TYPES = {
    "AutoField": "integer", "BigAutoField": "bigint", "SmallAutoField": "smallint",
    "IntegerField": "integer", "BigIntegerField": "bigint", "SmallIntegerField": "smallint",
    "PositiveIntegerField": "integer", "PositiveBigIntegerField": "bigint",
    "PositiveSmallIntegerField": "smallint", "BooleanField": "boolean", "NullBooleanField": "boolean",
    "TextField": "text", "DateField": "date", "DateTimeField": "timestamp with time zone",
    "TimeField": "time", "DurationField": "interval", "FloatField": "double precision",
    "UUIDField": "uuid", "JSONField": "jsonb", "BinaryField": "bytea",
    "GenericIPAddressField": "inet", "IPAddressField": "inet", "DecimalField": "numeric",
}
_VARCHAR = {"CharField": 0, "SlugField": 50, "EmailField": 254, "URLField": 200, "FileField": 100,
            "ImageField": 100, "FilePathField": 100}
_DEFAULT_INDEXED = {"SlugField"}  # fields that are db_index=True unless told otherwise
_KNOWN_TABLES = {  # models of django.contrib that the repository references but does not define
    "auth.user": "auth_user", "auth.group": "auth_group", "auth.permission": "auth_permission",
    "contenttypes.contenttype": "django_content_type", "sites.site": "django_site",
    "admin.logentry": "django_admin_log", "sessions.session": "django_session",
}
_METHODS = {"GinIndex": "gin", "GistIndex": "gist", "BrinIndex": "brin", "HashIndex": "hash",
            "SpGistIndex": "spgist", "BloomIndex": "bloom", "BTreeIndex": "btree", "Index": "btree"}
_FUNCTIONS = {"Lower": "lower", "Upper": "upper", "Trim": "trim", "Length": "length",
              "Coalesce": "coalesce", "Abs": "abs", "Round": "round", "MD5": "md5",
              "Concat": "concat", "Left": "left", "Right": "right", "Now": "now"}
_INHERITED_META = ("indexes", "constraints", "unique_together", "index_together")


@dataclass
class _Field:
    name: str
    line: int
    cls: str  # field class short name
    kind: str  # column | fk | o2o | m2m
    args: list
    kw: dict

    @property
    def column(self) -> str:
        explicit = tree_str(self.kw.get("db_column"))
        if explicit:
            return explicit
        return f"{self.name}_id" if self.kind in ("fk", "o2o") else self.name

    def flag(self, name: str, default: bool = False) -> bool:
        value = self.kw.get(name, default)
        return value if isinstance(value, bool) else default


@dataclass
class _Model:
    qualname: str
    name: str
    path: str
    line: int
    module: str
    meta: dict
    app_label: str = ""
    table: str = ""
    schema_name: str = ""
    abstract: bool = False
    proxy: bool = False
    managed: bool = True
    parent: str = ""  # concrete parent model (multi-table inheritance)
    fields: list = field(default_factory=list)  # _Field, inherited ones first

    @property
    def pk(self) -> Optional[_Field]:
        for fld in self.fields:
            if fld.flag("primary_key") and fld.kind != "m2m":
                return fld
        return None


def _field_of(fld) -> Optional[_Field]:
    """The model field a ClassField declares, or None (managers, methods' helpers, constants)."""
    return _field(fld.name, fld.line, fld.value)


def _field(name: str, line: int, tree) -> Optional[_Field]:
    cls = short_name(tree)
    if not cls or cls in _NOT_FIELDS:
        return None
    if "ManyToMany" in cls:
        kind = "m2m"
    elif "OneToOne" in cls:
        kind = "o2o"
    elif "ForeignKey" in cls or cls == "ParentalKey":
        kind = "fk"
    elif cls.endswith("Field"):
        kind = "column"
    else:
        return None
    return _Field(name, line, cls, kind, tree_args(tree), tree_kw(tree))


def app_label_of(path: str, module: str) -> str:
    """The Django app of a models module: the package directory holding it (not ``models``)."""
    dirs = path.split("/")[:-1]
    if dirs and dirs[-1] == "models":
        dirs = dirs[:-1]
    if dirs:
        return dirs[-1]
    return module.split(".")[0]


class _DjangoReader:
    def __init__(self, models: ModelCatalog, all_facts: list, dialect: str) -> None:
        self.index: RepoIndex = models.index
        self.dialect = dialect
        self.model_bases = set(models.catalog.django.get("model_bases") or [])
        self.candidates = set(models.django_models)
        self._django: dict = {}
        self.names = sorted(q for q in models.django_models if q in self.index.classes and self._is_django(q, ()))
        self.infos: dict = {}
        self.user_model = ""
        for facts in all_facts:
            value = facts.constants.get("AUTH_USER_MODEL")
            if isinstance(value, str) and "." in value:
                self.user_model = value
        for qualname in self.names:
            self._info(qualname, ())

    # ------------------------------------------------------------------ model info
    def _is_django(self, qualname: str, seen: tuple) -> bool:
        """A model whose bases lead to Django's, not only to a repository class that happens to be
        called ``Model`` (a SQLAlchemy abstract base in ``app/models.py`` is ``app.models.Model``)."""
        if qualname in self._django:
            return self._django[qualname]
        if qualname in seen:
            return False
        found = False
        for base in self.index.classes[qualname].bases:
            name = self.index.canonical(plain_name(base))
            if name in self.index.classes:
                found = name in self.candidates and self._is_django(name, seen + (qualname,))
            else:
                found = name in self.model_bases or name.endswith("models.Model")
            if found:
                break
        self._django[qualname] = found
        return found

    def _info(self, qualname: str, seen: tuple) -> Optional[_Model]:
        if qualname in self.infos:
            return self.infos[qualname]
        if qualname in seen or qualname not in self.index.classes:
            return None
        klass = self.index.classes[qualname]
        facts = self.index.class_module[qualname]
        meta = dict(klass.meta_trees)
        info = _Model(qualname, klass.name, facts.path, klass.line, facts.module, meta)
        info.abstract = meta.get("abstract") is True
        info.proxy = meta.get("proxy") is True
        info.managed = meta.get("managed") is not False
        inherited: list = []
        for base in klass.bases:
            base_name = self.index.reexported(self.index.canonical(plain_name(base)))
            if base_name not in self.index.classes or base_name not in self.names:
                continue
            parent = self._info(base_name, seen + (qualname,))
            if parent is None:
                continue
            if parent.abstract:
                inherited.extend(parent.fields)
                for key in _INHERITED_META:
                    if key in parent.meta and key not in meta:
                        meta[key] = parent.meta[key]
            elif not info.parent:
                info.parent = parent.qualname if not parent.proxy else parent.parent or parent.qualname
        own = [f for f in (_field_of(fld) for fld in klass.fields) if f is not None]
        own_names = {f.name for f in own}
        info.fields = [f for f in inherited if f.name not in own_names] + own
        label = tree_str(meta.get("app_label"))
        info.app_label = label or app_label_of(facts.path, facts.module)
        db_table = tree_str(meta.get("db_table"))
        if db_table:
            info.schema_name, info.table = split_qualified(db_table)
            if not info.table:
                info.table = db_table
        else:
            info.table = f"{info.app_label}_{klass.name.lower()}"
        self.infos[qualname] = info
        return info

    def _resolve(self, ref, owner: _Model) -> tuple:
        """(table, pk column, model info or None) of a relation's target."""
        target = self._target(ref, owner)
        if isinstance(target, _Model):
            while target.proxy and target.parent in self.infos:
                target = self.infos[target.parent]
            return target.table, self._pk_column(target), target
        return target, "id", None

    def _target(self, ref, owner: _Model):
        text = tree_str(ref)
        name = tree_name(ref)
        if name.endswith("AUTH_USER_MODEL"):
            text = self.user_model or "auth.User"
        if text is not None:
            if text == "self":
                return owner
            app, _, model = text.rpartition(".")
            found = self._by_name(model, app, owner)
            if found is not None:
                return found
            label = (app or owner.app_label).lower()
            return _KNOWN_TABLES.get(f"{label}.{model.lower()}", f"{label}_{model.lower()}")
        if name:
            qualname = self.index.reexported(self.index.canonical(name))
            if qualname in self.infos:
                return self.infos[qualname]
            found = self._by_name(qualname.rsplit(".", 1)[-1], "", owner)
            if found is not None:
                return found
            parts = qualname.split(".")
            label = parts[-3] if len(parts) >= 3 and parts[-2] == "models" else (parts[-2] if len(parts) > 1 else "")
            model = parts[-1].lower()
            return _KNOWN_TABLES.get(f"{label}.{model}", f"{label}_{model}" if label else model)
        return ""

    def _by_name(self, model: str, app: str, owner: _Model) -> Optional[_Model]:
        candidates = [self.infos[q] for q in self.index.classes_by_name.get(model, []) if q in self.infos]
        candidates = [c for c in candidates if not c.abstract]
        if app:
            candidates = [c for c in candidates if c.app_label == app] or candidates
        same_module = [c for c in candidates if c.module == owner.module]
        same_app = [c for c in candidates if c.app_label == owner.app_label]
        ranked = same_module or same_app or candidates
        return sorted(ranked, key=lambda c: c.qualname)[0] if ranked else None

    def _pk_column(self, info: _Model) -> str:
        pk = info.pk
        if pk is not None:
            return pk.column
        if info.parent in self.infos:
            return f"{self.infos[info.parent].name.lower()}_ptr_id"
        return "id"

    def _column_type(self, fld: _Field) -> str:
        if fld.cls in _VARCHAR:
            length = fld.kw.get("max_length", _VARCHAR[fld.cls])
            return f"varchar({length})" if isinstance(length, int) and length else "varchar"
        if fld.cls == "DecimalField":
            digits, places = fld.kw.get("max_digits"), fld.kw.get("decimal_places")
            if isinstance(digits, int) and isinstance(places, int):
                return f"numeric({digits}, {places})"
        if fld.cls == "ArrayField" and fld.args:
            inner = _field("", 0, fld.args[0])
            inner_type = self._column_type(inner) if inner is not None else ""
            return f"{inner_type}[]" if inner_type else ""
        if fld.cls.endswith("AutoField") and fld.cls not in _TYPES:
            return "integer"
        return _TYPES.get(fld.cls, "")

    # ------------------------------------------------------------------ tables
    def build(self, schema: Schema) -> None:
        editor = SchemaEditor(schema, self.dialect, "django")
        infos = [self.infos[q] for q in self.names if q in self.infos]
        for info in sorted(infos, key=lambda m: (natural_key(m.path), m.path, m.line, m.qualname)):
            if not info.abstract and not info.proxy:
                try:
                    self._table(editor, info)
                except Exception as exc:  # noqa: BLE001 - an odd model must not lose the others
                    schema.notes.append((info.path, f"line {info.line}: model {info.name} not read "
                                                    f"({type(exc).__name__})"))
        finish(editor)

    def _table(self, editor: SchemaEditor, info: _Model) -> None:
        editor.path, editor.line = info.path, info.line
        table = editor.table(info.table, info.schema_name)
        table.model = table.model or info.qualname
        columns = {f.name: f.column for f in info.fields if f.kind != "m2m"}
        pk = info.pk
        if pk is None:
            if info.parent in self.infos:
                parent = self.infos[info.parent]
                pk_column = f"{parent.name.lower()}_ptr_id"
                editor.add_column(table, pk_column, "")
                editor.set_primary_key(table, (pk_column,))
                editor.add_foreign_key(table, (pk_column,), parent.table, (self._pk_column(parent),))
            else:
                editor.add_column(table, "id", "")
                editor.set_primary_key(table, ("id",))
        for fld in info.fields:
            if fld.kind == "m2m":
                continue
            editor.line = fld.line
            type_text = self._column_type(fld)
            ref_model = None
            if fld.kind in ("fk", "o2o"):
                ref = fld.args[0] if fld.args else fld.kw.get("to")
                ref_table, ref_column, ref_model = self._resolve(ref, info)
                to_field = tree_str(fld.kw.get("to_field"))
                if to_field and ref_model is not None:
                    ref_column = next((f.column for f in ref_model.fields if f.name == to_field), to_field)
                if ref_model is not None and not type_text:
                    target_pk = ref_model.pk
                    type_text = self._column_type(target_pk) if target_pk is not None else ""
            editor.add_column(table, fld.column, type_text)
            self._field_indexes(editor, table, info, fld, type_text)
            if fld.kind in ("fk", "o2o") and ref_table:
                unique = fld.kind == "o2o" or fld.flag("unique") or fld.flag("primary_key")
                indexed = fld.flag("db_index", True) and not unique and info.managed
                editor.add_foreign_key(table, (fld.column,), ref_table, (ref_column,), indexed=indexed,
                                       index_name=self.index_name(table.name, [fld.column]))
        self._meta_indexes(editor, table, info, columns)
        for fld in info.fields:
            if fld.kind == "m2m" and fld.kw.get("through") is None:
                self._through_table(editor, info, fld)

    def _field_indexes(self, editor: SchemaEditor, table: Table, info: _Model, fld: _Field, type_text: str) -> None:
        column = fld.column
        primary = fld.flag("primary_key")
        unique = primary or fld.flag("unique") or fld.kind == "o2o"
        db_index = fld.flag("db_index", fld.cls in _DEFAULT_INDEXED or fld.kind == "fk")
        if primary:
            editor.set_primary_key(table, (column,))
        elif unique:
            editor.add_unique(table, (IndexKey(column),))
        elif db_index and fld.kind != "fk" and info.managed:
            editor.add_index(table, Index(table=table.name, keys=(IndexKey(column),),
                                          name=self.index_name(table.name, [column])))
        if (self.dialect == "postgres" and info.managed and (db_index or unique)
                and (type_text.startswith("varchar") or type_text == "text")):
            opclass = "varchar_pattern_ops" if type_text.startswith("varchar") else "text_pattern_ops"
            editor.add_index(table, Index(table=table.name, keys=(IndexKey(column, opclass=opclass),),
                                          name=self.index_name(table.name, [column], "_like")))

    def _meta_indexes(self, editor: SchemaEditor, table: Table, info: _Model, columns: dict) -> None:
        meta = info.meta
        editor.line = info.line
        for group in _groups(meta.get("unique_together")):
            keys = tuple(IndexKey(columns.get(f, f)) for f in group)
            editor.add_unique(table, keys, self.index_name(table.name, [k.expr for k in keys], "_uniq"))
        if info.managed:
            for group in _groups(meta.get("index_together")):
                keys = tuple(IndexKey(columns.get(f, f)) for f in group)
                editor.add_index(table, Index(table=table.name, keys=keys,
                                              name=self.index_name(table.name, [k.expr for k in keys], "_idx")))
            for tree in tree_list(meta.get("indexes")):
                index = self._index(tree, table, info, columns)
                if index is not None:
                    editor.add_index(table, index)
        for tree in tree_list(meta.get("constraints")):
            if short_name(tree) != "UniqueConstraint":
                continue
            index = self._index(tree, table, info, columns)
            if index is not None:
                editor.add_unique(table, index.keys, index.name, where=index.where, include=index.include,
                                  default_name=False)

    def _index(self, tree, table: Table, info: _Model, columns: dict) -> Optional[Index]:
        cls = short_name(tree)
        if not cls:
            return None
        kw = tree_kw(tree)
        opclasses = [tree_str(o) or "" for o in tree_list(kw.get("opclasses"))]
        keys = []
        for position, name in enumerate(tree_list(kw.get("fields"))):
            if not isinstance(name, str):
                continue
            desc = name.startswith("-")
            name = name.lstrip("-")
            opclass = opclasses[position] if position < len(opclasses) else ""
            keys.append(IndexKey(columns.get(name, name), desc=desc, opclass=opclass))
        for expression in tree_args(tree):
            keys.append(self._expression_key(expression, columns))
        if not keys:
            return None
        name = _placeholders(tree_str(kw.get("name")) or "", info)
        if not name and tree_list(kw.get("fields")) and not tree_args(tree):
            name = _auto_index_name(table.name, [(k.expr, k.desc) for k in keys], _SUFFIXES.get(cls, "idx"))
        condition = kw.get("condition")
        where = self.condition(condition, columns) if condition is not None else ""
        include = tuple(columns.get(c, c) for c in (tree_str(i) for i in tree_list(kw.get("include"))) if c)
        return Index(table=table.name, keys=tuple(keys), name=name, where=where, include=include,
                     method=_METHODS.get(cls, "btree"))

    def index_name(self, table: str, columns: list, suffix: str = "") -> str:
        """The name Django's schema editor gives an index it creates (``_create_index_name``)."""
        return django_index_name(table, columns, suffix, _MAX_NAME.get(self.dialect, 63))

    def _expression_key(self, tree, columns: dict) -> IndexKey:
        desc = False
        opclass = ""
        while True:
            cls = short_name(tree)
            if cls in ("desc", "asc") and "on" in tree:
                desc = cls == "desc"
                tree = tree["on"]
            elif cls == "OrderBy" and tree_args(tree):
                desc = tree_kw(tree).get("descending") is True
                tree = tree_args(tree)[0]
            elif cls == "OpClass" and tree_args(tree):
                opclass = tree_str(tree_kw(tree).get("name")) or ""
                tree = tree_args(tree)[0]
            else:
                break
        text = self._sql(tree, columns, top=True)
        if text is None:
            return IndexKey(tree_text(tree), desc=desc, opclass=opclass, is_expression=True)
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", text):
            return IndexKey(text, desc=desc, opclass=opclass)
        try:
            import sqlglot
            text = expression_text(sqlglot.parse_one(text, read=self.dialect), self.dialect)
        except Exception:  # noqa: BLE001 - keep the raw text
            pass
        return IndexKey(text, desc=desc, opclass=opclass, is_expression=True)

    def _sql(self, tree, columns: dict, top: bool = False) -> Optional[str]:
        """A Django expression (``Lower("email")``, ``F("x")``) as SQL text, or None."""
        if isinstance(tree, str):
            return columns.get(tree, tree)
        cls = short_name(tree)
        args = tree_args(tree)
        if cls == "F" and args and isinstance(args[0], str):
            return columns.get(args[0], args[0])
        if cls == "Value" and args:
            return _sql_literal(args[0])
        if cls == "KeyTextTransform" and len(args) == 2 and isinstance(args[0], str):
            inner = self._sql(args[1], columns)
            return f"{inner} ->> {_sql_literal(args[0])}" if inner else None
        if cls == "Cast" and args:
            inner = self._sql(args[0], columns)
            target = _field("", 0, tree_kw(tree).get("output_field"))
            type_text = self._column_type(target) if target is not None else ""
            return f"CAST({inner} AS {type_text})" if inner and type_text else None
        if cls in _FUNCTIONS:
            parts = [self._sql(a, columns) for a in args]
            if any(p is None for p in parts):
                return None
            return f"{_FUNCTIONS[cls]}({', '.join(parts)})"
        return None

    def condition(self, tree, columns: dict) -> str:
        """A ``Q(...)`` condition as a SQL predicate (``status = 'pending'``), or its Python text."""
        text = self._q(tree, columns)
        if text is None:
            return tree_text(tree)
        return normalize_predicate(text, self.dialect)

    def _q(self, tree, columns: dict) -> Optional[str]:
        if isinstance(tree, dict) and "bool" in tree:  # ``Q(...) | Q(...)``
            parts = [self._q(arg, columns) for arg in tree.get("args") or []]
            if not parts or None in parts:
                return None
            return f" {tree['bool'].upper()} ".join(f"({p})" for p in parts)
        if isinstance(tree, dict) and "not" in tree:  # ``~Q(...)``
            inner = self._q(tree["not"], columns)
            return f"NOT ({inner})" if inner is not None else None
        if isinstance(tree, dict) and "expr" in tree:  # ``Q(...) & ~Q(...)``: read the source again
            node = parse_expression(str(tree["expr"]))
            return self._q_source(node, columns) if node is not None else None
        if short_name(tree) != "Q":
            return None
        parts = []
        for arg in tree_args(tree):
            if isinstance(arg, list) and len(arg) == 2 and isinstance(arg[0], str):
                part = self._lookup(arg[0], arg[1], columns)
            else:
                part = self._q(arg, columns)
            if part is None:
                return None
            parts.append(part)
        for key, value in tree_kw(tree).items():
            if key.startswith("_"):
                return None
            part = self._lookup(key, value, columns)
            if part is None:
                return None
            parts.append(part)
        if not parts:
            return None
        return " AND ".join(f"({p})" if " OR " in p else p for p in parts)

    def _q_source(self, node: ast.expr, columns: dict) -> Optional[str]:
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.BitAnd, ast.BitOr)):
            left, right = self._q_source(node.left, columns), self._q_source(node.right, columns)
            if left is None or right is None:
                return None
            return f"({left}) {'AND' if isinstance(node.op, ast.BitAnd) else 'OR'} ({right})"
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Invert):
            inner = self._q_source(node.operand, columns)
            return f"NOT ({inner})" if inner is not None else None
        if isinstance(node, ast.Call):
            return self._q(literal_tree(node, lambda name: name), columns)
        return None

    def _lookup(self, key: str, value, columns: dict) -> Optional[str]:
        name, _, lookup = key.partition("__")
        if "__" in lookup:
            return None
        column = columns.get(name, name)
        if lookup in ("", "exact"):
            if value is None:
                return f"{column} IS NULL"
            literal = self._value(value, columns)
            return f"{column} = {literal}" if literal is not None else None
        if lookup == "isnull" and isinstance(value, bool):
            return f"{column} IS NULL" if value else f"{column} IS NOT NULL"
        operators = {"gt": ">", "gte": ">=", "lt": "<", "lte": "<="}
        if lookup in operators:
            literal = self._value(value, columns)
            return f"{column} {operators[lookup]} {literal}" if literal is not None else None
        if lookup == "in" and isinstance(value, list):
            items = [self._value(v, columns) for v in value]
            return f"{column} IN ({', '.join(items)})" if items and None not in items else None
        patterns = {"startswith": "{}%", "endswith": "%{}", "contains": "%{}%"}
        if lookup in patterns and isinstance(value, str):
            return f"{column} LIKE {_sql_literal(patterns[lookup].format(value))}"
        return None

    def _value(self, value, columns: dict) -> Optional[str]:
        if short_name(value) == "F":
            return self._sql(value, columns)
        if short_name(value) == "Value" and tree_args(value):
            value = tree_args(value)[0]
        return _sql_literal(value)

    def _through_table(self, editor: SchemaEditor, info: _Model, fld: _Field) -> None:
        ref = fld.args[0] if fld.args else fld.kw.get("to")
        ref_table, ref_column, ref_model = self._resolve(ref, info)
        if not ref_table:
            return
        other = (ref_model.name if ref_model is not None else ref_table.rsplit("_", 1)[-1]).lower()
        own = info.name.lower()
        if other == own:
            own_column, other_column = f"from_{own}_id", f"to_{other}_id"
        else:
            own_column, other_column = f"{own}_id", f"{other}_id"
        name = tree_str(fld.kw.get("db_table")) or f"{info.table}_{fld.name}"
        schema_name, name = split_qualified(name) if "." in name or '"' in name else ("", name)
        editor.line = fld.line
        table = editor.table(name, schema_name or info.schema_name)
        editor.add_column(table, "id", "")
        editor.add_column(table, own_column, "")
        editor.add_column(table, other_column, "")
        editor.set_primary_key(table, ("id",))
        editor.add_foreign_key(table, (own_column,), info.table, (self._pk_column(info),), indexed=True,
                               index_name=self.index_name(name, [own_column]))
        editor.add_foreign_key(table, (other_column,), ref_table, (ref_column,), indexed=True,
                               index_name=self.index_name(name, [other_column]))
        editor.add_unique(table, (IndexKey(own_column), IndexKey(other_column)),
                          self.index_name(name, [own_column, other_column], "_uniq"))


_MAX_NAME = {"postgres": 63, "mysql": 64, "sqlite": 200}
_SUFFIXES = {"Index": "idx", "BTreeIndex": "btree", "GinIndex": "gin", "GistIndex": "gist", "HashIndex": "hash",
             "BrinIndex": "brin", "SpGistIndex": "spgist", "BloomIndex": "bloom"}


def _digest(*parts: str, length: int) -> str:
    digest = hashlib.md5(usedforsecurity=False)
    for part in parts:
        digest.update(part.encode())
    return digest.hexdigest()[:length]


def django_index_name(table: str, columns: list, suffix: str = "", max_length: int = 63) -> str:
    """``BaseDatabaseSchemaEditor._create_index_name``: ``polls_choice_question_id_c5b4b260``."""
    hash_suffix = f"{_digest(table, *columns, length=8)}{suffix}"
    name = f"{table}_{'_'.join(columns)}_{hash_suffix}"
    if len(name) <= max_length:
        return name
    if len(hash_suffix) > max_length / 3:
        hash_suffix = hash_suffix[: max_length // 3]
    other = (max_length - len(hash_suffix)) // 2 - 1
    name = f"{table[:other]}_{'_'.join(columns)[:other]}_{hash_suffix}"
    if name[0] == "_" or name[0].isdigit():
        name = f"D{name[:-1]}"
    return name


def _auto_index_name(table: str, keys: list, suffix: str) -> str:
    """``Index.set_name_with_model``: the name of a ``Meta.indexes`` entry given without one."""
    ordered = [f"-{column}" if desc else column for column, desc in keys]
    name = f"{table[:11]}_{keys[0][0][:7]}_{_digest(table, *ordered, suffix, length=6)}_{suffix}"
    if name[0] == "_" or name[0].isdigit():
        name = f"D{name[1:]}"
    return name


def _groups(tree) -> list:
    """``unique_together``: ("a", "b") or (("a", "b"), ("c", "d")) -> [["a", "b"], ...]."""
    items = tree_list(tree)
    if items and all(isinstance(i, str) for i in items):
        return [items]
    return [[f for f in group if isinstance(f, str)] for group in items if isinstance(group, list)]


def _placeholders(name: str, info: _Model) -> str:
    return name.replace("%(app_label)s", info.app_label.lower()).replace("%(class)s", info.name.lower())


def _sql_literal(value) -> Optional[str]:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if value is None:
        return "NULL"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return None


def django_schema(all_facts: list, models: ModelCatalog, dialect: str) -> Schema:
    """The tables, keys and indexes that the repository's Django models declare."""
    schema = Schema()
    _DjangoReader(models, all_facts, dialect).build(schema)
    return schema


# ---------------------------------------------------------------------------- RunSQL
def _runsql_texts(tree) -> list:
    """The forward SQL texts of ``RunSQL(sql, reverse_sql)``: a string, a list of strings, or a
    list of ``(sql, params)`` pairs."""
    sql = tree_args(tree)[0] if tree_args(tree) else tree_kw(tree).get("sql")
    texts = []
    for item in tree_list(sql):
        if isinstance(item, list) and item:
            item = item[0]
        text = tree_str(item)
        if text:
            texts.append(text)
    return texts


def django_runsql_schema(all_facts: list, dialect: str) -> Schema:
    """What ``migrations.RunSQL(...)`` DDL in Django migrations creates, in path order."""
    schema = Schema()
    editor = SchemaEditor(schema, dialect, "django")
    for facts in sorted(all_facts, key=lambda f: (natural_key(f.path), f.path)):
        found: list = []
        for klass in facts.classes:
            for fld in klass.fields:
                if fld.name == "operations":
                    found.extend((fld.line, op) for op in tree_list(fld.value) if short_name(op) == "RunSQL")
        for call in facts.schema_calls:
            if short_name(call.get("tree")) == "RunSQL":
                found.append((call.get("line", 0), call["tree"]))
        for line, tree in sorted(found, key=lambda item: item[0]):
            for text in _runsql_texts(tree):
                apply_ddl(editor, facts.path, line, text)
    finish(editor)
    return schema
