"""Access paths from parsed SQL: per table, the columns a statement filters, joins, sorts and
groups on, and the shape of each predicate (column vs value) that the SQL rules read too."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from sqlglot import exp

from auditor.sql.model import AccessPath, Schema
from auditor.sql_strings import show_holes, starts_with_wildcard

HOLE_PREFIX = "__audit_hole_"
_RANGE_OPS = (exp.GT, exp.GTE, exp.LT, exp.LTE)


@dataclass
class Side:
    """One side of a comparison."""

    kind: str  # column | expression | value | other
    table: str = ""
    column: str = ""  # the column (for an expression: the column inside it)
    text: str = ""  # SQL text of the expression (or of the value)
    constant: bool = False  # a literal (not a parameter or a computed value)


class Scope:
    """The tables one SELECT/UPDATE/DELETE reads, by alias, and column resolution against them."""

    def __init__(self, node: exp.Expression, schema: Optional[Schema], ctes: set, dialect: str) -> None:
        self.node = node
        self.schema = schema
        self.dialect = dialect
        self.aliases: dict = {}  # alias or name -> table name
        for table in _own_tables(node):
            name = table.name.lower() if not _quoted(table) else table.name
            if not name or name in ctes or name.startswith(HOLE_PREFIX):
                continue
            self.aliases[(table.alias or table.name).lower()] = name
            self.aliases.setdefault(name, name)

    @property
    def tables(self) -> list:
        """The real tables of the scope, in order of first appearance."""
        return list(dict.fromkeys(self.aliases.values()))

    def resolve(self, column: exp.Column) -> str:
        """The table a column belongs to, or ''."""
        if column.name.startswith(HOLE_PREFIX):
            return ""
        qualifier = column.table.lower() if column.table else ""
        if qualifier:
            return self.aliases.get(qualifier, "")
        tables = self.tables
        if len(tables) == 1:
            return tables[0]
        if self.schema is not None:
            owners = [t for t in tables if (found := self.schema.table(t)) and column.name.lower() in found.columns]
            if len(owners) == 1:
                return owners[0]
        return ""

    def side(self, node: exp.Expression) -> Side:
        """Classify a comparison operand: a bare column, an expression over one column, or a value."""
        node = _unwrap(node)
        if isinstance(node, exp.Column):
            if node.name.startswith(HOLE_PREFIX):
                return Side("value", text=node.sql(dialect=self.dialect))
            table = self.resolve(node)
            return Side("column", table, node.name.lower(), node.name.lower()) if table else Side("other")
        if node.find(exp.Select):
            return Side("value", text="(subquery)")
        columns = [c for c in node.find_all(exp.Column) if not c.name.startswith(HOLE_PREFIX)]
        if not columns:
            constant = isinstance(node, (exp.Literal, exp.Boolean, exp.Null)) or (
                isinstance(node, exp.Neg) and isinstance(node.this, exp.Literal))
            if constant and HOLE_PREFIX in node.sql():
                constant = False  # ``'{status}'`` in an f-string: a value from the program, not a constant
            return Side("value", text=node.sql(dialect=self.dialect), constant=constant)
        tables = {self.resolve(c) for c in columns}
        if len(tables) == 1 and "" not in tables and len({c.name.lower() for c in columns}) == 1:
            return Side("expression", tables.pop(), columns[0].name.lower(),
                        _expression_text(node, self.dialect))
        return Side("other")


def _own_tables(node: exp.Expression) -> list:
    """Tables in the FROM/JOIN (or UPDATE/DELETE target) of this statement, not of subqueries."""
    found = []
    if isinstance(node, exp.Select):
        sources = [node.args.get("from_") or node.args.get("from")] + list(node.args.get("joins") or [])
        for source in sources:
            if source is not None and isinstance(source.this, exp.Table):
                found.append(source.this)
    elif isinstance(node, (exp.Update, exp.Delete)):
        if isinstance(node.this, exp.Table):
            found.append(node.this)
    return found


def _quoted(table: exp.Table) -> bool:
    identifier = table.this
    return isinstance(identifier, exp.Identifier) and bool(identifier.args.get("quoted"))


def _unwrap(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _expression_text(node: exp.Expression, dialect: str) -> str:
    """``lower(email)``: lower-case function names, unqualified columns (the index key form)."""
    copy = node.copy()
    for column in copy.find_all(exp.Column):
        column.set("table", None)
    return copy.sql(dialect=dialect, normalize_functions="lower")


def conjuncts(where: Optional[exp.Expression]) -> list:
    """The AND-ed predicates of a WHERE/ON condition (ORs stay whole)."""
    if where is None:
        return []
    node = where.this if isinstance(where, exp.Where) else where
    out = []
    stack = [node]
    while stack:
        current = _unwrap(stack.pop())
        if isinstance(current, exp.And):
            stack.append(current.expression)
            stack.append(current.this)
        else:
            out.append(current)
    return out


def is_prefix_pattern(pattern: exp.Expression) -> Optional[bool]:
    """True for ``'abc%'``/``? || '%'``, False for a leading wildcard, None when unknown."""
    pattern = _unwrap(pattern)
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        return not starts_with_wildcard(pattern.this)
    if isinstance(pattern, (exp.DPipe, exp.Concat)):
        first = pattern
        while isinstance(first, exp.DPipe):
            first = first.this
        if isinstance(first, exp.Concat):
            first = first.expressions[0] if first.expressions else first
        if isinstance(first, exp.Literal) and first.is_string:
            return not starts_with_wildcard(first.this)
        return True  # starts with the user's value: a prefix search
    return None


def statement_scopes(tree: exp.Expression, schema: Optional[Schema], dialect: str) -> list:
    """A :class:`Scope` for every SELECT, UPDATE and DELETE in a statement, outermost first."""
    ctes = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    nodes = [n for n in tree.walk() if isinstance(n, (exp.Select, exp.Update, exp.Delete))]
    return [Scope(node, schema, ctes, dialect) for node in nodes]


def access_paths(tree: exp.Expression, schema: Optional[Schema], dialect: str) -> list:
    """One :class:`AccessPath` per table per SELECT/UPDATE/DELETE of the statement (no sites yet)."""
    paths = []
    for scope in statement_scopes(tree, schema, dialect):
        paths.extend(_scope_paths(scope))
    return paths


class _Collector:
    """Accumulates one table's access path (ordered, without duplicates)."""

    def __init__(self, table: str) -> None:
        self.table = table
        self.lists: dict = {name: [] for name in ("equality", "ranges", "prefix_like", "order_by", "group_by",
                                                  "joins", "expressions", "constants")}
        self.star = False
        self.columns: list = []

    def add(self, name: str, item) -> None:
        if item not in self.lists[name]:
            self.lists[name].append(item)

    def path(self, limit: Optional[int], statement: str) -> AccessPath:
        lists = {k: tuple(v) for k, v in self.lists.items()}
        # a column both compared for equality and ranged is an equality column
        lists["ranges"] = tuple(c for c in lists["ranges"] if c not in lists["equality"])
        return AccessPath(table=self.table, limit=limit, statement=statement, source="sql",
                          selected=None if self.star else tuple(dict.fromkeys(self.columns)), **lists)


def _scope_paths(scope: Scope) -> list:
    node = scope.node
    collectors = {table: _Collector(table) for table in scope.tables}
    if not collectors:
        return []
    for predicate in conjuncts(node.args.get("where")):
        _predicate(scope, predicate, collectors)
    for join in node.args.get("joins") or []:
        for predicate in conjuncts(join.args.get("on")):
            _predicate(scope, predicate, collectors)
        for using in join.args.get("using") or []:
            for collector in collectors.values():
                collector.add("joins", using.name.lower())
    order = node.args.get("order")
    if order is not None:
        keys = []
        for ordered in order.expressions:
            side = scope.side(ordered.this) if isinstance(ordered, exp.Ordered) else Side("other")
            if side.kind != "column":
                keys = []
                break
            keys.append((side.table, side.column, bool(ordered.args.get("desc"))))
        if keys and len({table for table, _, _ in keys}) == 1:
            for _, column, desc in keys:
                collectors[keys[0][0]].add("order_by", (column, desc))
    group = node.args.get("group")
    if group is not None:
        for expression in group.expressions:
            side = scope.side(expression)
            if side.kind == "column":
                collectors[side.table].add("group_by", side.column)
    _selected_columns(scope, collectors)
    limit = _limit(node)
    statement = show_holes(node.sql(dialect=scope.dialect))[:300]
    return [collector.path(limit, statement) for collector in collectors.values()]


def _predicate(scope: Scope, predicate: exp.Expression, collectors: dict) -> None:
    if isinstance(predicate, (exp.EQ, exp.In, exp.Is, exp.NullSafeEQ)) or isinstance(predicate, _RANGE_OPS):
        left = scope.side(predicate.this)
        if isinstance(predicate, exp.In):
            right = Side("value", text="(list)")
        else:
            right = scope.side(predicate.expression)
        if right.kind in {"column", "expression"} and left.kind == "value" and not isinstance(predicate, exp.In):
            left, right = right, left
        if left.kind == "column" and right.kind == "column" and left.table != right.table:
            collectors[left.table].add("joins", left.column)
            collectors[right.table].add("joins", right.column)
            return
        if right.kind != "value" or left.kind not in {"column", "expression"}:
            return
        collector = collectors[left.table]
        key = left.column if left.kind == "column" else left.text
        if left.kind == "expression":
            collector.add("expressions", left.text)
        if isinstance(predicate, _RANGE_OPS):
            collector.add("ranges", key)
        else:
            collector.add("equality", key)
            if right.constant and left.kind == "column" and isinstance(predicate, (exp.EQ, exp.Is)):
                collector.add("constants", (left.column, right.text))
        return
    if isinstance(predicate, exp.Between):
        left = scope.side(predicate.this)
        if left.kind in {"column", "expression"}:
            collector = collectors[left.table]
            key = left.column if left.kind == "column" else left.text
            if left.kind == "expression":
                collector.add("expressions", left.text)
            collector.add("ranges", key)
        return
    if isinstance(predicate, exp.Like):
        left = scope.side(predicate.this)
        if left.kind == "column" and is_prefix_pattern(predicate.expression):
            collectors[left.table].add("ranges", left.column)
            collectors[left.table].add("prefix_like", left.column)


def _selected_columns(scope: Scope, collectors: dict) -> None:
    """Every column each table contributes to the statement; ``*`` makes it unknown."""
    node = scope.node
    for expression in node.expressions if isinstance(node, exp.Select) else []:
        if isinstance(expression, exp.Star):
            for collector in collectors.values():
                collector.star = True
        elif isinstance(expression, exp.Column) and isinstance(expression.this, exp.Star):
            table = scope.aliases.get(expression.table.lower(), "")
            if table in collectors:
                collectors[table].star = True
    for column in _own_columns(node):
        table = scope.resolve(column)
        if table in collectors:
            collectors[table].columns.append(column.name.lower())


def _own_columns(node: exp.Expression) -> list:
    """Columns of this scope, not of nested SELECTs."""
    out = []
    stack = list(node.iter_expressions())
    while stack:
        current = stack.pop()
        if isinstance(current, (exp.Select, exp.Subquery)):
            continue
        if isinstance(current, exp.Column) and not isinstance(current.this, exp.Star):
            out.append(current)
        stack.extend(current.iter_expressions())
    return sorted(out, key=lambda c: c.name)


def _limit(node: exp.Expression) -> Optional[int]:
    limit = node.args.get("limit")
    if limit is None:
        return None
    value = limit.args.get("expression") or limit.this
    if isinstance(value, exp.Literal) and not value.is_string:
        try:
            return int(value.this)
        except ValueError:
            return 0
    return 0
