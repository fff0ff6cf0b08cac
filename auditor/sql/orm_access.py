"""Access paths from ORM query chains: Django ``filter``/``exclude``/``get``/``order_by`` and slices,
SQLAlchemy ``select(...).where(...)``, ``query(...).filter(...)``/``filter_by``, ``order_by``, ``limit``."""

from __future__ import annotations

from typing import Optional

from auditor.facts import QueryChain
from auditor.sql.model import AccessPath, Schema, Table

_DJANGO_EQUALITY = {"exact", "in", "isnull"}
_DJANGO_RANGE = {"gt", "gte", "lt", "lte", "range"}
_SA_RANGE = {"<", "<=", ">", ">="}
_FIRST_ROW = {"first", "one_or_none", "scalar", "exists", "first_or_404", "get_or_404"}


class _Path:
    """An access path being assembled (ordered, without duplicates)."""

    def __init__(self) -> None:
        self.equality: list = []
        self.ranges: list = []
        self.prefix_like: list = []
        self.order_by: list = []
        self.expressions: list = []
        self.constants: list = []
        self.selected: Optional[list] = None
        self.limit: Optional[int] = None

    def add(self, name: str, item) -> None:
        values = getattr(self, name)
        if item not in values:
            values.append(item)

    def build(self, table: str, source: str, statement: str) -> AccessPath:
        ranges = tuple(c for c in self.ranges if c not in self.equality)
        return AccessPath(table=table, equality=tuple(self.equality), ranges=ranges,
                          prefix_like=tuple(self.prefix_like), order_by=tuple(self.order_by), limit=self.limit,
                          expressions=tuple(self.expressions), constants=tuple(self.constants),
                          selected=tuple(self.selected) if self.selected is not None else None,
                          source=source, statement=statement)


def chain_model(program, chain: QueryChain) -> tuple:
    """``(orm, model qualname)`` of the query a chain builds, or ``("", "")``."""
    base = program.resolver.eval(chain.base)
    if base is not None:
        tag = base[0]
        if tag == "djm":  # a QuerySet from elsewhere (a helper's return value) has filters we cannot see
            return "django", base[1]
        if tag in {"sastmt", "saq"} and base[1]:
            return "sqlalchemy", base[1]
    steps = chain.base[1]
    if steps and steps[-1][0] == "attr" and steps[-1][1] == "query":  # Flask-SQLAlchemy ``Model.query``
        owner = program.resolver.eval((chain.base[0], tuple(steps[:-1])))
        if owner is not None and owner[0] == "class":
            return "sqlalchemy", owner[1]
    return "", ""


def table_for_model(schema: Schema, model: str) -> Optional[Table]:
    """The table the schema maps a model to."""
    for table in schema.tables.values():
        if table.model == model:
            return table
    return None


def chain_access_path(program, chain: QueryChain, schema: Schema) -> Optional[AccessPath]:
    """The access path of one chain, on the model's table, or None when unknown or not a read."""
    if chain.continued or any(kwargs.get("**") for _, _, kwargs in chain.steps):
        return None  # refined later, or filtered by **kwargs: the query is not all here
    orm, model = chain_model(program, chain)
    table = table_for_model(schema, model) if model else None
    if table is None:
        return None
    methods = [step[0] for step in chain.steps]
    if any(m in {"update", "delete", "get_or_create", "update_or_create", "aggregate"} for m in methods) and \
            not any(m in {"filter", "where", "filter_by"} for m in methods):
        return None
    path = _Path()
    columns = _ColumnNames(program, table, model, orm)
    for method, args, kwargs in chain.steps:
        if orm == "django":
            _django_step(path, columns, method, args, kwargs)
        else:
            _sqlalchemy_step(path, columns, method, args, kwargs)
    if chain.limit is not None:
        path.limit = chain.limit
    if path.limit is None and any(m in _FIRST_ROW for m in methods):
        path.limit = 1
        if not path.order_by and orm == "django" and "first" in methods and table.primary_key:
            path.order_by.append((table.primary_key[0], False))
    if not (path.equality or path.ranges or path.order_by):
        return None
    return path.build(table.name, orm, f"{chain.base_text}." + ".".join(m for m in methods))


class _ColumnNames:
    """Maps ORM attribute and lookup names to the table's column names."""

    def __init__(self, program, table: Table, model: str, orm: str) -> None:
        self.table = table
        self.attributes: dict = {}
        klass = program.index.classes.get(model)
        for fld in (klass.fields if klass else []):
            value = fld.value if isinstance(fld.value, dict) else {}
            args = value.get("args") or []
            kwargs = value.get("kw") or {}
            if orm == "django" and isinstance(kwargs.get("db_column"), str):
                self.attributes[fld.name] = kwargs["db_column"]
            elif orm == "sqlalchemy" and args and isinstance(args[0], str):
                self.attributes[fld.name] = args[0]

    def column(self, name: str) -> str:
        """The column for an attribute (``customer`` -> ``customer_id``; ``pk`` -> the primary key)."""
        columns = self.table.columns
        if name == "pk":
            return self.table.primary_key[0] if self.table.primary_key else "id"
        if name in self.attributes:
            return self.attributes[name]
        if not columns or name in columns:
            return name
        if f"{name}_id" in columns:
            return f"{name}_id"
        return ""


def _django_step(path: _Path, columns: _ColumnNames, method: str, args: list, kwargs: dict) -> None:
    if method in {"filter", "get"}:
        for lookup, value in kwargs.items():
            _django_lookup(path, columns, lookup, value)
        for arg in args:  # filter(Q(a=1, b=2))
            if isinstance(arg, dict) and str(arg.get("call", "")).endswith(".Q"):
                for lookup, value in (arg.get("kw") or {}).items():
                    _django_lookup(path, columns, lookup, value)
    elif method == "order_by":
        for arg in args:
            if isinstance(arg, str) and arg and arg != "?" and "__" not in arg:
                column = columns.column(arg.lstrip("-"))
                if column:
                    path.add("order_by", (column, arg.startswith("-")))
    elif method in {"latest", "earliest"}:
        for arg in args[:1]:
            if isinstance(arg, str):
                column = columns.column(arg.lstrip("-"))
                if column:
                    path.add("order_by", (column, (method == "latest") != arg.startswith("-")))
        path.limit = 1
    elif method in {"values", "values_list", "only"}:
        names = [columns.column(a) for a in args if isinstance(a, str) and "__" not in a]
        if names and all(names):
            path.selected = names


def _django_lookup(path: _Path, columns: _ColumnNames, lookup: str, value) -> None:
    parts = lookup.split("__")
    operator = parts[-1] if len(parts) > 1 else "exact"
    field_parts = parts[:-1] if len(parts) > 1 else parts
    if len(field_parts) == 2 and field_parts[1] in {"id", "pk"}:
        field_parts = [field_parts[0]]  # customer__id is customer_id
    if len(field_parts) != 1:
        return  # a lookup across a relation: a join, not this table's column
    column = columns.column(field_parts[0])
    if not column or _is_expression(value):
        return  # ``stock__lt=F("reorder_level")`` compares two columns: no index range
    if operator in _DJANGO_EQUALITY:
        path.add("equality", column)
        if operator == "exact" and _is_constant(value):
            path.add("constants", (column, _sql_literal(value)))
    elif operator in _DJANGO_RANGE:
        path.add("ranges", column)
    elif operator == "startswith":
        path.add("ranges", column)
        path.add("prefix_like", column)


def _sqlalchemy_step(path: _Path, columns: _ColumnNames, method: str, args: list, kwargs: dict) -> None:
    if method == "filter_by":
        for name, value in kwargs.items():
            column = columns.column(name)
            if column:
                path.add("equality", column)
                if _is_constant(value):
                    path.add("constants", (column, _sql_literal(value)))
    elif method in {"filter", "where"}:
        for arg in args:
            _sqlalchemy_predicate(path, columns, arg)
    elif method == "order_by":
        for arg in args:
            key = _sa_order_key(columns, arg)
            if key is None:
                path.order_by.clear()
                break
            path.add("order_by", key)
    elif method == "limit" and args:
        path.limit = args[0] if isinstance(args[0], int) and not isinstance(args[0], bool) else 0


def _sqlalchemy_predicate(path: _Path, columns: _ColumnNames, tree) -> None:
    if not isinstance(tree, dict):
        return
    if tree.get("bool") == "and" or str(tree.get("call", "")).endswith("and_"):
        for inner in tree.get("args") or []:
            _sqlalchemy_predicate(path, columns, inner)
        return
    if "cmp" in tree:
        left, comparisons = tree["cmp"]
        if len(comparisons) != 1:
            return
        operator, right = comparisons[0]
        column = _sa_column(columns, left)
        expression = _sa_expression(columns, left)
        if right is not None and _sa_column(columns, right):
            return  # column = column: a join condition
        key = column or expression
        if not key:
            return
        if expression:
            path.add("expressions", expression)
        if operator in {"==", "is"}:
            path.add("equality", key)
            if column and operator == "==" and _is_constant(right):
                path.add("constants", (column, _sql_literal(right)))
        elif operator in _SA_RANGE:
            path.add("ranges", key)
        return
    call = str(tree.get("call", ""))
    owner, _, method = call.rpartition(".")
    column = _sa_column(columns, {"name": owner}) if owner else ""
    if not column:
        return
    arguments = tree.get("args") or []
    if method in {"in_", "is_"}:
        path.add("equality", column)
    elif method == "between":
        path.add("ranges", column)
    elif method in {"like", "startswith"} and arguments and isinstance(arguments[0], str):
        if method == "startswith" or not arguments[0].startswith(("%", "_")):
            path.add("ranges", column)
            path.add("prefix_like", column)


def _sa_column(columns: _ColumnNames, tree) -> str:
    """``{"name": "app.models.Order.status"}`` -> ``status`` when ``Order`` is this table's model."""
    if not isinstance(tree, dict) or "name" not in tree:
        return ""
    owner, _, attribute = str(tree["name"]).rpartition(".")
    if not owner or not columns.table.model or owner.rsplit(".", 1)[-1] != columns.table.model.rsplit(".", 1)[-1]:
        return ""
    return columns.column(attribute)


def _sa_expression(columns: _ColumnNames, tree) -> str:
    """``func.lower(User.email)`` -> ``lower(email)``."""
    if not isinstance(tree, dict) or "call" not in tree:
        return ""
    call = str(tree["call"])
    if ".func." not in f".{call}" or len(tree.get("args") or []) != 1:
        return ""
    column = _sa_column(columns, tree["args"][0])
    return f"{call.rsplit('.', 1)[-1].lower()}({column})" if column else ""


def _sa_order_key(columns: _ColumnNames, tree) -> Optional[tuple]:
    if isinstance(tree, dict) and "name" in tree:
        column = _sa_column(columns, tree)
        return (column, False) if column else None
    if isinstance(tree, dict) and "call" in tree:
        call = str(tree["call"])
        owner, _, method = call.rpartition(".")
        if method in {"desc", "asc"} and owner and not (tree.get("args") or []):
            column = _sa_column(columns, {"name": owner})
            return (column, method == "desc") if column else None
        if method in {"desc", "asc"} and tree.get("args"):
            column = _sa_column(columns, tree["args"][0])
            return (column, method == "desc") if column else None
    return None


def _is_expression(value) -> bool:
    """An ``F()``/``Func()`` expression over columns (not a value from the program)."""
    return isinstance(value, dict) and str(value.get("call", "")).rsplit(".", 1)[-1] in {
        "F", "Func", "Lower", "Upper", "Coalesce", "ExpressionWrapper", "OuterRef"}


def _is_constant(value) -> bool:
    return isinstance(value, (str, int, float, bool)) or value is None


def _sql_literal(value) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
