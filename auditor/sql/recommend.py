"""Index recommendations for a whole workload of access paths.

``recommend(schema, paths, dialect)`` designs one candidate per access path, skips what an
existing index already serves, merges candidates one index can serve, and returns the set of
:class:`Recommendation` objects ordered by score (the summed weight of the access paths each
serves). ``advise()`` returns the same with what was left out and why (paths an existing index
serves, paths with nothing to index, tables whose schema is unknown).

Design of a candidate, per access path (PostgreSQL, SQLite, MySQL):

1. equality columns first: ``=``/``IN`` columns and constant filters. Join columns count as
   equality only for a table the statement does not filter otherwise: then it can only be the
   inner side of the join, where an index on them serves a nested-loop join; a table with its
   own filters is more likely the outer side, and a join column in front of its range would
   spoil the index for it. The order of equality columns does not matter for the path itself;
   those filtered by more access paths of the table come first, so one index serves several
   queries (then by weight, then by first appearance).
2. then ONE range column; when that column is also the first ORDER BY column, the ORDER BY
   columns follow with their directions. Without a range: the ORDER BY columns with their
   directions (mixed directions kept as written). Without either: the GROUP BY columns.
3. expression keys (``lower(email)``) stay expressions, unless not immutable (``now()``, date
   functions of a timestamptz column): those are noted instead. A prefix LIKE is a range, with
   ``text_pattern_ops`` on PostgreSQL.
4. partial index (PostgreSQL, SQLite) when every access path of the table that filters a
   low-cardinality-looking column (status, state, type, kind, flag, ``is_*``, ``has_*``,
   deleted, active, booleans, ``IS NULL``) uses the same constant: ``WHERE status =
   'pending'``, and the column leaves the keys. A boolean or IS NULL filter alone (it likely
   matches most rows) gets no index.
5. ``INCLUDE`` (PostgreSQL) with at most 3 columns, when the selected columns are known.
6. at most 4 keys.

A path is skipped when an existing index serves it (leading-prefix rule, see :func:`serves`), or
when its equality columns contain all the keys of a unique index or the primary key (at most
one row). Unknown tables get nothing; columns that are not in a table whose columns are known
are dropped.

Choosing the set: identical candidates are one; a candidate whose paths a longer candidate
serves (prefix rule) is merged into it; then a candidate is folded into another that serves its
paths once their low-cardinality equality filters are checked on the rows, provided a
selective-looking equality column still leads (a lookup stays a lookup) and the candidate is
not partial. Each recommendation's score is the summed weight of the paths it serves.

Representation of warehouse advice (Redshift and Snowflake have no secondary indexes): the
advice is still a :class:`Recommendation` whose ``index.method`` says what it is:

* ``"sortkey"`` (Redshift): ``index.keys`` are the columns of a COMPOUND SORTKEY, the columns
  the workload filters on most (equality or range, weighted), at most 3.
* ``"distkey"`` (Redshift): ``index.keys`` is the one DISTKEY column, the most frequent join
  column.
* ``"cluster"`` (Snowflake): ``index.keys`` are the clustering key columns (at most 3).
* ``"search optimization"`` (Snowflake): ``index.keys`` are the columns for
  ``ADD SEARCH OPTIMIZATION ON EQUALITY(...)``, used by selective point lookups.

These are the method names the schema catalog uses for the keys a table already has
(``auditor/sql/schema_ddl.py``). ``index.name`` is a stable label (``sortkey_orders``), never
used as an identifier. A key already set with the same leading column suppresses the advice
(search optimization: already on for the whole table or for these columns); a different one is
named in the reasons.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Optional

import sqlglot
from sqlglot import exp

from auditor.sql.model import AccessPath, Index, IndexKey, Recommendation, Schema, Table
from auditor.sql.redundant import (columns_of, describe_keys, index_label, key_text, keys_lead,
                                   method_of, normalize_sql, predicate_conjuncts)

MAX_KEYS = 4
MAX_INCLUDE = 3
MAX_WAREHOUSE_KEYS = 3
NAME_LIMIT = 63  # PostgreSQL's identifier limit in bytes (NAMEDATALEN - 1)
INDEX_DIALECTS = ("postgres", "sqlite", "mysql")
WAREHOUSE_DIALECTS = ("redshift", "snowflake")
WAREHOUSE_METHODS = ("sortkey", "interleaved sortkey", "distkey", "cluster", "search optimization")
PATTERN_OPS = ("text_pattern_ops", "varchar_pattern_ops", "bpchar_pattern_ops")
ORIGIN = "audit"

_LOW_CARDINALITY = re.compile(
    r"^(status|state|type|kind|flag|flags|deleted|active|enabled|disabled|archived|hidden|"
    r"published|visible|removed|processed|pending)$"
    r"|_(status|state|type|kind|flag|role)$"
    r"|^(is|has|can|should)_")
_MAJORITY_STATES = {"active", "enabled", "published", "visible", "done", "completed", "complete", "success",
                    "succeeded", "paid", "closed", "delivered", "shipped", "valid", "approved", "ok"}
_PLAIN_NAME = re.compile(r"^[a-z_][a-z0-9_$]*$")
_WIDE_TYPES = re.compile(r"json|bytea|blob|xml|tsvector|array|\[\]", re.I)
_MYSQL_TEXT = re.compile(r"text|blob", re.I)


@dataclass
class Advice:
    """Everything the recommender decided, for the report and the index script."""

    recommendations: list = field(default_factory=list)  # Recommendation, best first
    served: list = field(default_factory=list)  # (AccessPath, Index): an existing index serves it
    skipped: list = field(default_factory=list)  # (AccessPath, reason): nothing worth indexing
    unknown_tables: list = field(default_factory=list)  # table names without a schema
    dropped_columns: list = field(default_factory=list)  # (table, column): not in the table
    unindexable: list = field(default_factory=list)  # (table, expression, why): cannot be an index key

    @property
    def notes(self) -> list:
        """One line per thing the reader should know: unknown tables, unknown columns."""
        lines = [f"table {name}: schema unknown, no recommendation" for name in self.unknown_tables]
        lines += [f"table {table}: {column} is not one of its declared columns; left out of the indexes"
                  for table, column in self.dropped_columns]
        lines += [f"table {table}: {expr} cannot be an index key ({why})"
                  for table, expr, why in self.unindexable]
        return lines


# ----------------------------------------------------------------------------------------------
# Access paths, cleaned against the table


@dataclass
class _View:
    """An access path restricted to what an index on ``table`` can use."""

    path: AccessPath
    eq: list  # equality and constant-filter keys (or the join keys, see ``inner``), in order
    own_eq: list  # equality and constant-filter keys of the path's own predicates
    joins: list  # join columns of this table
    inner: bool  # no predicate of its own: the join columns are its equality keys
    ranges: list
    prefix_like: set
    order: list  # (expr, desc)
    group: list
    exprs: set  # which keys are expressions
    constants: dict  # column -> normalised literal
    literals: dict  # column -> literal as written
    dropped: list  # unknown columns left out
    unindexable: list = field(default_factory=list)  # (expression, why)


def _norm(expr: str, exprs=()) -> str:
    return normalize_sql(expr) if (expr in exprs or "(" in expr) else expr


def _is_expression(expr: str, path: AccessPath, table: Optional[Table]) -> bool:
    if table is not None and expr in table.columns:
        return False
    return expr in path.expressions or "(" in expr or " " in expr


def _known(expr: str, is_expr: bool, table: Optional[Table]) -> bool:
    if table is None or not table.columns:
        return True
    if not is_expr:
        return expr in table.columns
    cols = columns_of(expr)
    return bool(cols) and all(col in table.columns for col in cols)


def _view(path: AccessPath, table: Optional[Table]) -> _View:
    exprs, dropped, unindexable = set(), [], []

    def keep(expr: str) -> bool:
        is_expr = _is_expression(expr, path, table)
        if is_expr:
            exprs.add(expr)
        if not _known(expr, is_expr, table):
            if expr not in dropped:
                dropped.append(expr)
            return False
        why = _not_immutable(expr, table) if is_expr else ""
        if why:
            if (expr, why) not in unindexable:
                unindexable.append((expr, why))
            return False
        return True

    constants, literals = {}, {}
    for column, literal in path.constants:
        if keep(column) and _valid_literal(literal):
            constants.setdefault(column, normalize_sql(literal))
            literals.setdefault(column, literal.strip())
    eq = []
    for expr in tuple(path.equality) + tuple(constants):
        if expr not in eq and keep(expr):
            eq.append(expr)
    own_eq = list(eq)
    eq_norm = {_norm(e, exprs) for e in eq}
    ranges = [r for r in dict.fromkeys(path.ranges) if keep(r) and _norm(r, exprs) not in eq_norm]
    joins = [j for j in dict.fromkeys(path.joins) if keep(j)]
    inner = not eq and not ranges and bool(joins)
    if inner:  # no filter of its own: the table can only be the inner side of the join
        eq = list(joins)
    order = []
    for expr, desc in path.order_by:
        if not keep(expr):
            break  # an index cannot serve the ORDER BY past an unknown key
        order.append((expr, bool(desc)))
    group = [g for g in dict.fromkeys(path.group_by) if keep(g)]
    return _View(path=path, eq=eq, own_eq=own_eq, joins=joins, inner=inner, ranges=ranges,
                 prefix_like=set(path.prefix_like), order=order, group=group, exprs=exprs,
                 constants=constants, literals=literals, dropped=dropped, unindexable=unindexable)


_VOLATILE = re.compile(r"\b(now|clock_timestamp|statement_timestamp|transaction_timestamp|timeofday|random|"
                       r"nextval|currval|setval|gen_random_uuid|uuid_generate_v[14]|txid_current|uuid|rand|"
                       r"sysdate|curdate|curtime|utc_timestamp|unix_timestamp|datetime|julianday|strftime)\s*\(|"
                       r"\b(current_timestamp|current_date|current_time|localtimestamp|localtime|current_user|"
                       r"session_user)\b", re.I)
_TIME_FUNCTIONS = re.compile(r"\b(date_trunc|date_part|extract|to_char|age|timezone|date|to_date)\s*\(|"
                             r"::\s*(date|time|timestamp)\b|\bas\s+(date|time|timestamp)\b", re.I)
_ZONED = re.compile(r"timestamptz|with time zone", re.I)


def _not_immutable(expr: str, table: Optional[Table]) -> str:
    """Why ``expr`` cannot be an index key (its value depends on more than the row), or ''.

    Index expressions must be IMMUTABLE in PostgreSQL and deterministic in MySQL and SQLite:
    ``now()`` never is, and date/time functions of ``timestamptz`` depend on the session's
    time zone (PostgreSQL rejects ``date_trunc('day', created_at)`` on such a column)."""
    if _VOLATILE.search(expr):
        return "its value changes between calls; index expressions must be immutable"
    if table is not None and _TIME_FUNCTIONS.search(expr):
        zoned = [c for c in columns_of(expr) if _ZONED.search(table.columns.get(c, "") or "")]
        if zoned:
            return (f"it depends on the session time zone ({', '.join(zoned)} is timestamptz); "
                    "index an expression with an explicit zone, e.g. date_trunc('day', "
                    f"{zoned[0]} AT TIME ZONE 'UTC')")
    return ""


def _valid_literal(literal: str) -> bool:
    """A constant a partial-index predicate can hold: a string, number, boolean or NULL (not a
    placeholder for a value interpolated into the SQL text)."""
    if "__audit_hole_" in literal:
        return False
    try:
        node = sqlglot.parse_one(literal, read="postgres")
    except Exception:  # noqa: BLE001
        return False
    while isinstance(node, (exp.Cast, exp.Paren, exp.Neg)):
        node = node.this
    return isinstance(node, (exp.Literal, exp.Boolean, exp.Null))


@lru_cache(maxsize=4096)
def _statement_conjuncts(statement: str) -> frozenset:
    """Normalised texts of the AND-ed parts of every WHERE clause of a statement."""
    if not statement:
        return frozenset()
    try:
        tree = sqlglot.parse_one(statement, read="postgres")
    except Exception:  # noqa: BLE001 - ORM chains and odd SQL: nothing known
        return frozenset()
    if tree is None:
        return frozenset()
    parts = set()
    for where in tree.find_all(exp.Where):
        for conjunct in where.this.flatten() if isinstance(where.this, exp.And) else [where.this]:
            parts.add(normalize_sql(conjunct.sql(dialect="postgres")))
    return frozenset(parts)


def _constant_of(conjunct) -> Optional[tuple]:
    """``(column, normalised literal)`` when the predicate part pins a column to a constant."""
    if isinstance(conjunct, exp.EQ):
        left, right = conjunct.this, conjunct.expression
        if isinstance(right, exp.Column) and not isinstance(left, exp.Column):
            left, right = right, left
        if isinstance(left, exp.Column) and isinstance(right, (exp.Literal, exp.Boolean, exp.Neg)):
            return left.name, normalize_sql(right.sql(dialect="postgres"))
    if isinstance(conjunct, exp.Is) and isinstance(conjunct.this, exp.Column) \
            and isinstance(conjunct.expression, (exp.Null, exp.Boolean)):
        return conjunct.this.name, normalize_sql(conjunct.expression.sql(dialect="postgres"))
    if isinstance(conjunct, exp.Column):
        return conjunct.name, "TRUE"
    if isinstance(conjunct, exp.Not) and isinstance(conjunct.this, exp.Column):
        return conjunct.this.name, "FALSE"
    return None


def _pinned(where: str) -> set:
    """Columns a partial-index predicate pins to one constant."""
    pinned = set()
    for conjunct in predicate_conjuncts(where) or []:
        constant = _constant_of(conjunct)
        if constant:
            pinned.add(constant[0])
    return pinned


def _implies(view: _View, where: str) -> bool:
    """Whether every row the path reads satisfies the partial-index predicate ``where``."""
    conjuncts = predicate_conjuncts(where)
    if not conjuncts:
        return False
    known = _statement_conjuncts(view.path.statement)
    for conjunct in conjuncts:
        constant = _constant_of(conjunct)
        if constant and view.constants.get(constant[0]) == constant[1]:
            continue
        if normalize_sql(conjunct.sql(dialect="postgres")) in known:
            continue
        return False
    return True


def implies(path: AccessPath, where: str, table: Optional[Table] = None) -> bool:
    """Whether ``path`` only reads rows that satisfy the predicate ``where``."""
    return _implies(_view(path, table), where)


# ----------------------------------------------------------------------------------------------
# What a path needs from an index


@dataclass
class _Need:
    eq: list  # equality keys, ordered, uncapped
    tail: list  # IndexKey after the equality keys
    kind: str  # "range" | "range_order" | "order" | "group" | ""
    range_expr: str = ""
    unused_ranges: list = field(default_factory=list)
    unsorted_order: list = field(default_factory=list)  # ORDER BY the index cannot serve


def _need(view: _View, drop: set, rank: dict, dialect: str) -> _Need:
    exprs = view.exprs
    eq = [e for e in view.eq if e not in drop]
    eq.sort(key=lambda e: rank.get(e, (0, 0, view.eq.index(e))))
    eq_norm = {_norm(e, exprs) for e in eq} | set(drop)
    order = [(e, d) for e, d in view.order if _norm(e, exprs) not in eq_norm]
    ranges = [r for r in view.ranges if _norm(r, exprs) not in eq_norm]
    # grouping happens after the join: an index on the inner side cannot deliver groups
    group = [] if view.inner else [g for g in view.group if _norm(g, exprs) not in eq_norm]

    def key(expr, desc=False, opclass=""):
        return IndexKey(expr, desc=desc, opclass=opclass, is_expression=expr in exprs)

    if ranges:
        first = _norm(order[0][0], exprs) if order else None
        chosen = next((r for r in ranges if _norm(r, exprs) == first), ranges[0])
        pattern = chosen in view.prefix_like and dialect == "postgres"
        need = _Need(eq=eq, tail=[], kind="range", range_expr=chosen,
                     unused_ranges=[r for r in ranges if r != chosen])
        if pattern:
            need.tail = [key(chosen, opclass="text_pattern_ops")]
            need.unsorted_order = order
        elif order and _norm(chosen, exprs) == first:
            need.tail = [key(e, d) for e, d in order]
            need.kind = "range_order"
        else:
            need.tail = [key(chosen)]
            need.unsorted_order = order
        return need
    if order:
        return _Need(eq=eq, tail=[key(e, d) for e, d in order], kind="order")
    if group:
        return _Need(eq=eq, tail=[key(g) for g in group], kind="group")
    return _Need(eq=eq, tail=[], kind="")


def _existing(table: Table) -> list:
    """The table's indexes, with the primary key's when the catalog did not list it."""
    indexes = [ix for ix in table.indexes if ix.keys]
    if table.primary_key and not any(ix.primary for ix in indexes):
        indexes.append(Index(table=table.name, keys=tuple(IndexKey(c) for c in table.primary_key),
                             name=f"{table.name}_pkey", unique=True, primary=True, origin="primary key"))
    return sorted(indexes, key=lambda ix: (not ix.primary, not ix.unique, ix.name, ix.line))


def _serves(index: Index, view: _View, rank: dict, dialect: str) -> bool:
    method = method_of(index)
    if method in WAREHOUSE_METHODS or not index.keys:
        return False
    if index.where and not _implies(view, index.where):
        return False
    pinned = _pinned(index.where) if index.where else set()
    need = _need(view, pinned, rank, dialect)
    exprs = view.exprs
    eq_norm = {_norm(e, exprs) for e in need.eq}
    texts = [key_text(k) for k in index.keys]
    if (index.unique or index.primary) and set(texts) <= eq_norm:
        return True  # at most one row
    if view.inner and texts and texts[0] in eq_norm:
        return True  # the inner side of a join probes one join column at a time
    if index.primary and _primary_key_order(view, need, eq_norm, texts):
        return True
    if method == "hash":
        return len(texts) == 1 and eq_norm == set(texts) and not need.tail
    if method != "btree":
        return False
    if not need.eq and not need.tail:
        return bool(index.where) and bool(pinned)
    k = len(need.eq)
    if k >= MAX_KEYS:
        return len(texts) >= MAX_KEYS and set(texts[:MAX_KEYS]) <= eq_norm
    if len(texts) < k or set(texts[:k]) != eq_norm:
        return _narrows_selective(index, view, need, eq_norm, texts)
    rest = index.keys[k:]
    tail = need.tail[:MAX_KEYS - k]
    if not tail:
        return True
    # An index on all the equality columns already narrows the lookup to the rows of one key;
    # a longer index pays off only for a top-N (ORDER BY ... LIMIT) it can stop early on.
    # (Existing indexes only: between candidates, the longer one is what the merge step is for.)
    narrowed = (index.origin != ORIGIN and k >= 1
                and not (need.kind in {"order", "range_order"} and view.path.limit is not None))
    if not rest:
        return narrowed
    if need.kind == "range":
        first = rest[0]
        return narrowed or (key_text(first) == _norm(tail[0].expr, exprs)
                            and (first.opclass.lower() in PATTERN_OPS) == bool(tail[0].opclass))
    if len(rest) < len(tail) or any(key.opclass.lower() in PATTERN_OPS for key in rest[:len(tail)]):
        return narrowed
    if need.kind == "group":
        return narrowed or {key_text(key) for key in rest[:len(tail)]} == {_norm(t.expr, exprs) for t in tail}
    # order / range_order: same keys, directions all as written or all inverted
    flips = set()
    for have, want in zip(rest, tail):
        if key_text(have) != _norm(want.expr, exprs):
            return narrowed
        flips.add(have.desc != want.desc)
    return len(flips) == 1 or narrowed


def _selective(columns: set) -> set:
    """The columns whose names do not mark them as low-cardinality (status, type, is_*...)."""
    return {c for c in columns if not _LOW_CARDINALITY.search(c.lower())}


def _primary_key_order(view: _View, need: _Need, eq_norm: set, texts: list) -> bool:
    """``WHERE status = 'active' ORDER BY id`` without LIMIT: the primary key already gives the order
    and the filter keeps most rows; an index on the primary key's columns again adds nothing."""
    return (not _selective(eq_norm) and need.kind == "order" and view.path.limit is None
            and [key_text(key) for key in need.tail] == texts)


def _narrows_selective(index: Index, view: _View, need: _Need, eq_norm: set, texts: list) -> bool:
    """An existing index that leads with every selective equality column (``customer_id``) serves a
    query that also filters low-cardinality columns (``status = 'open'``), unless it is a top-N."""
    selective = _selective(eq_norm)
    top_n = need.kind in {"order", "range_order"} and view.path.limit is not None
    if index.origin == ORIGIN or not selective or top_n:
        return False
    if selective != eq_norm and set(texts[:len(selective)]) == selective:
        return True
    # An index leading with a foreign key (``device_type_id``) already narrows the lookup to that
    # parent's rows; another equality column on top of it is a refinement we cannot justify without
    # row counts (``audit profile`` can).
    return bool(texts) and texts[0] in selective and texts[0].endswith("_id")


def _eq_rank(views: list) -> dict:
    """Equality keys ordered by how many access paths of the table use them, then weight."""
    count, weight, first = {}, {}, {}
    for view in views:
        for expr in view.eq:
            count[expr] = count.get(expr, 0) + 1
            weight[expr] = weight.get(expr, 0.0) + view.path.weight
            first.setdefault(expr, len(first))
    return {e: (-count[e], -weight[e], first[e]) for e in count}


def serves(index: Index, path: AccessPath, table: Optional[Table] = None, dialect: str = "postgres") -> bool:
    """Whether ``index`` already serves ``path``: its leading keys are exactly the path's
    equality columns (any order among themselves, minus columns its partial predicate pins),
    followed by the range column or the ORDER BY columns (directions as written or all
    inverted) or the GROUP BY columns the path needs. A unique index or primary key whose keys
    are all equality columns of the path serves it (one row). A partial index serves only
    paths that imply its predicate. ``table`` lets unknown columns be dropped first."""
    view = _view(path, table)
    return _serves(index, view, {}, dialect)


# ----------------------------------------------------------------------------------------------
# Candidates


@dataclass
class _Design:
    view: _View
    need: _Need
    keys: tuple
    eq: list  # equality keys kept (capped)
    where: str
    partial: list  # (column, literal)
    capped: list  # keys left out by the cap
    fallback_partial_key: bool = False


def _low_cardinality(column: str, table: Optional[Table], literal: str) -> bool:
    if literal.upper() == "NULL":
        return True  # IS NULL (soft deletes, unprocessed rows): the classic partial index
    if _LOW_CARDINALITY.search(column.lower()):
        return True
    if literal.upper() in ("TRUE", "FALSE"):
        return True
    kind = (table.columns.get(column, "") if table is not None else "") or ""
    return "bool" in kind.lower()


def _partial_columns(views: list, table: Optional[Table], dialect: str) -> dict:
    """column -> literal, for low-cardinality columns every filtering path pins to one constant."""
    if dialect not in ("postgres", "sqlite"):
        return {}
    result = {}
    candidates = []
    for view in views:
        for column in view.constants:
            if column not in candidates:
                candidates.append(column)
    for column in candidates:
        if column in (table.primary_key if table is not None else ()):
            continue
        values, literal, ok = set(), "", True
        for view in views:
            if column not in view.eq:
                continue
            if column not in view.constants:
                ok = False
                break
            values.add(view.constants[column])
            literal = literal or view.literals[column]
        # A partial index pays off for a rare state ('pending'), not for the one most rows are in ('paid').
        if ok and len(values) == 1 and _low_cardinality(column, table, literal) \
                and literal.strip("'").lower() not in _MAJORITY_STATES:
            result[column] = literal
    return result


def _quote_plain(name: str) -> str:
    if _PLAIN_NAME.match(name):
        return name
    return '"' + name.replace('"', '""') + '"'


def _pin_sql(column: str, literal: str) -> str:
    return f"{column} IS NULL" if literal.upper() == "NULL" else f"{column} = {literal}"


def _design(view: _View, rank: dict, partial: dict, dialect: str) -> Optional[_Design]:
    pinned = [(c, partial[c]) for c in sorted(partial) if c in view.constants]
    need = _need(view, {c for c, _ in pinned}, rank, dialect)
    eq, tail = list(need.eq), list(need.tail)
    # Booleans and IS NULL (is_active, deleted_at IS NULL) usually match most rows: as the only
    # filter they select too much for an index; a status string ('pending') usually does not.
    # A status that names the settled state most rows end in ('active', 'paid', 'done') is broad too.
    broad = not pinned or all(lit.upper() in ("TRUE", "FALSE", "NULL") or lit.strip("'").lower() in _MAJORITY_STATES
                              for _, lit in pinned)
    fallback = False
    if eq and not tail and all(_LOW_CARDINALITY.search(e.lower()) for e in eq):
        return None  # a B-tree on a status alone selects a large share of the table
    if not eq and not tail:
        if broad:
            return None
        eq = [c for c, _ in pinned]  # a partial index still needs a key: the pinned column
        fallback = True
    if not eq and broad and need.kind == "group":
        return None  # an aggregate over (most of) the table: the index would be read in full
    if not eq and broad and need.kind == "order" and view.path.limit is None:
        return None  # a sort of (most of) the table without LIMIT: a sequential scan and a sort win
    keys = [IndexKey(e, is_expression=e in view.exprs) for e in eq]
    capped = []
    if len(keys) > MAX_KEYS:
        capped = [k.expr for k in keys[MAX_KEYS:]]
        keys = keys[:MAX_KEYS]
    room = MAX_KEYS - len(keys)
    capped += [k.expr for k in tail[room:]]
    keys += tail[:room]
    where = " AND ".join(_pin_sql(_quote_plain(c), lit) for c, lit in pinned)
    return _Design(view=view, need=need, keys=tuple(keys), eq=eq[:MAX_KEYS], where=where,
                   partial=pinned, capped=capped, fallback_partial_key=fallback)


def candidate_for(path: AccessPath, table: Optional[Table] = None, dialect: str = "postgres") -> Optional[Index]:
    """The index designed for ``path`` alone (no INCLUDE, no name), or None when it has nothing
    an index can use. Existing indexes are not consulted; see :func:`serves`."""
    view = _view(path, table)
    rank = _eq_rank([view])
    design = _design(view, rank, _partial_columns([view], table, dialect), dialect)
    if design is None:
        return None
    return Index(table=table.name if table is not None else path.table, keys=design.keys,
                 where=design.where, origin=ORIGIN)


def _signature(keys, where: str) -> tuple:
    return tuple((key_text(k), k.desc, k.opclass) for k in keys), normalize_sql(where)


@dataclass
class _Group:
    designs: list  # _Design of the paths that produced these keys
    keys: tuple
    where: str
    absorbed: list = field(default_factory=list)  # _Design served by these keys, merged in
    loose: list = field(default_factory=list)  # _View served without its low-cardinality filters

    @property
    def views(self) -> list:
        return [d.view for d in self.designs + self.absorbed]

    @property
    def weight(self) -> float:
        return sum(v.path.weight for v in self.views)


# ----------------------------------------------------------------------------------------------
# Names


def _sanitize(text: str) -> str:
    return re.sub(r"_+", "_", re.sub(r"[^a-z0-9]+", "_", text.lower())).strip("_") or "expr"


def truncate_name(name: str, limit: int = NAME_LIMIT) -> str:
    """``name`` if it fits ``limit`` bytes, else its start and a stable 8-hex-digit hash."""
    if len(name.encode("utf-8")) <= limit:
        return name
    digest = hashlib.sha1(name.encode("utf-8")).hexdigest()[:8]
    head = name.encode("utf-8")[:limit - 9].decode("utf-8", "ignore").rstrip("_")
    return f"{head}_{digest}"


def index_name(table: str, keys, suffix: str = "") -> str:
    """``ix_<table>_<key>_<key>...<suffix>``, sanitised, at most 63 bytes."""
    parts = [_sanitize(table)] + [_sanitize(k.expr) for k in keys]
    return truncate_name("ix_" + "_".join(parts) + suffix)


def _assign_names(indexes: list, taken: set) -> None:
    order = sorted(indexes, key=lambda ix: (ix.table, index_name(ix.table, ix.keys), ix.where,
                                            describe_keys(ix.keys), ix.include))
    for ix in order:
        suffixes = [""]
        has_desc = any(k.desc for k in ix.keys)
        if has_desc:
            suffixes.append("_desc")
        if ix.where:
            suffixes.append("_partial")
        if has_desc and ix.where:
            suffixes.append("_desc_partial")
        suffixes += [f"_{n}" for n in range(2, 1000)]
        for suffix in suffixes:
            name = index_name(ix.table, ix.keys, suffix)
            if name.lower() not in taken:
                break
        ix.name = name
        taken.add(name.lower())


# ----------------------------------------------------------------------------------------------
# Reasons


def _queries(n: int) -> str:
    return f"{n} query" if n == 1 else f"{n} queries"


def _order_text(order) -> str:
    return ", ".join(f"{e} DESC" if d else e for e, d in order)


def _reasons(group: _Group, table: Table, rank: dict, dialect: str, include: tuple,
             include_views: list) -> list:
    main = max(group.designs, key=lambda d: (len(d.keys), d.view.path.weight))
    views = group.views
    n = len(views)
    lines = []
    eq = [k.expr for k in group.keys[:len(main.eq)]]
    if eq:
        if main.fallback_partial_key:
            lines.append(f"key {', '.join(eq)}: the queries filter on nothing else ({_queries(n)})")
        else:
            lines.append(f"equality on {', '.join(eq)} first ({_queries(n)})")
        counts = [-rank.get(e, (0,))[0] for e in eq]
        if len(eq) > 1 and len(set(counts)) > 1:
            lines.append("equality columns ordered by how many queries of "
                         f"{table.name} filter them: "
                         + ", ".join(f"{e} {c}" for e, c in zip(eq, counts)))
        joins = [e for e in eq if any(v.inner and e in v.joins for v in views)]
        if joins:
            lines.append(f"{', '.join(joins)}: join column{'s' if len(joins) > 1 else ''}; "
                         "the index serves the inner side of a nested-loop join")
    expressions = [k.expr for k in group.keys if k.is_expression]
    if expressions:
        lines.append(f"expression key {', '.join(expressions)}: the queries filter on the expression, "
                     "which an index on the bare column cannot serve")
        if dialect == "mysql":
            lines.append("functional key part: needs MySQL 8.0.13 or later")
    tail = list(group.keys[len(main.eq):])
    need = main.need
    if tail:
        shown = describe_keys([IndexKey(k.expr, k.desc, "", k.is_expression) for k in tail])
        with_order = [v for v in views if v.path.order_by]
        limit_view = next((v for v in with_order if v.path.limit is not None), None)
        limit = ""
        if limit_view is not None:  # 0 stands for a LIMIT whose value is a parameter
            limit = f" LIMIT {limit_view.path.limit or '?'}"
        if need.kind == "range" and tail[0].opclass:
            lines.append(f"then {tail[0].expr}: the prefix LIKE on {tail[0].expr} is a range scan")
        elif need.kind == "range":
            lines.append(f"then {shown}: the range filter on {need.range_expr} (one range column; "
                         "keys after it could not be searched)")
        elif need.kind == "range_order":
            lines.append(f"then {shown}: serves the range on {need.range_expr} and ORDER BY "
                         f"{_order_text(main.view.order)}{limit} without a sort")
        elif need.kind == "order":
            lines.append(f"then {shown}: serves ORDER BY {_order_text(main.view.order)}{limit} "
                         "without a sort")
            if len({k.desc for k in tail}) > 1:
                lines.append("mixed ASC/DESC directions kept as written (a backward scan serves "
                             "only the fully inverted order)")
        elif need.kind == "group":
            lines.append(f"then {shown}: rows arrive grouped for GROUP BY {', '.join(main.view.group)} "
                         "without a sort")
        if need.unused_ranges:
            lines.append(f"{', '.join(need.unused_ranges)} also compared by range: checked on the "
                         "index entries, not searched (only one range column can be)")
        if need.unsorted_order and need.unsorted_order[0][0] == need.range_expr:
            lines.append(f"ORDER BY {_order_text(need.unsorted_order)} still needs a sort: a text_pattern_ops "
                         "index does not return rows in the collation's order")
        elif need.unsorted_order:
            lines.append(f"ORDER BY {_order_text(need.unsorted_order)} still needs a sort: the range on "
                         f"{need.range_expr} comes first")
    for key in group.keys:
        if key.opclass in PATTERN_OPS:
            lines.append(f"text_pattern_ops: prefix LIKE on {key.expr} under a non-C collation (not needed "
                         "if the database collation is C; this index does not serve ORDER BY or < > "
                         f"on {key.expr})")
    if dialect == "sqlite" and any(v.prefix_like for v in views):
        lines.append("SQLite uses an index for LIKE 'abc%' only with PRAGMA case_sensitive_like = ON "
                     "or a COLLATE NOCASE column")
    if dialect == "mysql":
        text_cols = [k.expr for k in group.keys
                     if not k.is_expression and _MYSQL_TEXT.search(table.columns.get(k.expr, "") or "")]
        if text_cols:
            lines.append(f"MySQL needs a prefix length for TEXT/BLOB key columns ({', '.join(text_cols)}): "
                         "e.g. name(191)")
    if main.partial:
        predicate = " AND ".join(_pin_sql(c, lit) for c, lit in main.partial)
        lines.append(f"partial: every query that filters {', '.join(c for c, _ in main.partial)} uses "
                     f"{predicate}; the index holds only those rows")
    if include:
        lines.append(f"INCLUDE ({', '.join(include)}): index-only scan for "
                     f"{_queries(len(include_views))} reading only these columns")
    if main.capped:
        lines.append(f"capped at {MAX_KEYS} keys: {', '.join(main.capped)} left out")
    if group.loose:
        filters = sorted({e for v in group.loose for e in v.eq if _looks_low_cardinality(e, table)
                          and e not in {k.expr for k in group.keys}})
        lines.append(f"also serves {_queries(len(group.loose))} that filter{'s' if len(group.loose) == 1 else ''} "
                     f"{', '.join(filters)} too: low-cardinality, checked on the rows the index finds rather "
                     "than worth a second index")
    if group.absorbed or len(group.designs) > 1:
        others = len(views) - 1
        lines.append(f"one index for {_queries(len(views))}: "
                     + (f"{others} others use" if others > 1 else "the other uses")
                     + " the same keys or a leading part of them")
    return lines


# ----------------------------------------------------------------------------------------------
# The workload


def unknown_tables(schema: Schema, paths: list) -> list:
    """Names of the tables the paths read that the schema does not know, sorted."""
    return sorted({p.table for p in paths if schema.table(p.table) is None})


def _include_for(keys: tuple, views: list, table: Table, pinned: set) -> tuple:
    """INCLUDE columns that make an index-only scan possible, and the paths that gain it."""
    key_columns = {k.expr for k in keys if not k.is_expression}
    extras, users = [], []
    for view in views:
        selected = view.path.selected
        if selected is None:
            continue
        used = list(selected)
        for expr in view.eq + view.ranges + [e for e, _ in view.order] + view.group:
            used += list(columns_of(expr)) if expr in view.exprs else [expr]
        used = [c for c in dict.fromkeys(used) if c not in pinned or c in selected]
        if table.columns and any(c not in table.columns for c in used):
            continue
        mine = [c for c in used if c not in key_columns]
        if not mine:
            continue  # already index-only without INCLUDE
        users.append(view)
        for column in mine:
            if column not in extras:
                extras.append(column)
    if not extras or len(extras) > MAX_INCLUDE:
        return (), []
    if any(_WIDE_TYPES.search(table.columns.get(c, "") or "") for c in extras):
        return (), []
    return tuple(extras), users


def _replaces(new: Index, existing: list) -> list:
    result = []
    new_cols = {key_text(k) for k in new.keys} | set(new.include)
    for ix in existing:
        if ix.unique or ix.primary or method_of(ix) != "btree":
            continue
        if normalize_sql(ix.where) != normalize_sql(new.where):
            continue
        if keys_lead(ix.keys, new.keys) and set(ix.include) <= new_cols:
            result.append(ix)
    return result


def _looks_low_cardinality(column: str, table: Table) -> bool:
    return bool(_LOW_CARDINALITY.search(column.lower())) or "bool" in (table.columns.get(column, "") or "").lower()


def _without_low_cardinality(view: _View, table: Table) -> Optional[_View]:
    """The path without its low-cardinality equality filters (status, type, flags), when a
    selective-looking equality column remains, so that the lookup stays a lookup."""
    low = [e for e in view.eq if e not in view.exprs and _looks_low_cardinality(e, table)]
    rest = [e for e in view.eq if e not in low]
    if not low or not rest:
        return None
    return replace(view, eq=rest)


def _merge_loosely(kept: list, table: Table, rank: dict, dialect: str) -> list:
    """Fold a candidate into another one that serves its paths once their low-cardinality
    equality filters are checked on the rows instead of searched: (customer_id, created_at)
    serves ``customer_id = ? AND status = ? ORDER BY created_at DESC LIMIT 10`` well enough that
    (status, customer_id, created_at) is not worth a second index. The lightest candidates go
    first; a candidate whose paths keep no selective equality column is never folded."""
    kept = list(kept)
    while True:
        for group in sorted(kept, key=lambda g: (g.weight, len(g.keys), describe_keys(g.keys), g.where)):
            if group.where:
                continue  # a partial index was chosen for its constant filter: keep it
            best = None
            for other in kept:
                if other is group:
                    continue
                probe = Index(table=table.name, keys=other.keys, where=other.where, origin=ORIGIN)
                loose, ok = [], True
                for view in group.views:
                    if _serves(probe, view, rank, dialect):
                        continue
                    relaxed = _without_low_cardinality(view, table)
                    if relaxed is None or not _serves(probe, relaxed, rank, dialect):
                        ok = False
                        break
                    loose.append(view)
                if ok and (best is None or other.weight > best[0].weight):
                    best = (other, loose)
            if best is not None:
                target, loose = best
                target.absorbed += group.designs + group.absorbed
                target.loose += group.loose + [v for v in loose if v not in group.loose]
                kept.remove(group)
                break
        else:
            return kept


def _index_advice(table: Table, views: list, dialect: str, advice: Advice) -> list:
    existing = _existing(table)
    rank = _eq_rank(views)
    partial = _partial_columns(views, table, dialect)
    groups = {}
    for view in views:
        server = next((ix for ix in existing if _serves(ix, view, rank, dialect)), None)
        if server is not None:
            advice.served.append((view.path, server))
            continue
        design = _design(view, rank, partial, dialect)
        if design is None:
            advice.skipped.append((view.path, "no equality, range or sort an index could serve"))
            continue
        signature = _signature(design.keys, design.where)
        if signature in groups:
            groups[signature].designs.append(design)
        else:
            groups[signature] = _Group(designs=[design], keys=design.keys, where=design.where)
    ordered = sorted(groups.values(), key=lambda g: (-len(g.keys), -g.weight, describe_keys(g.keys), g.where))
    kept = []
    for group in ordered:
        targets = []
        for other in kept:
            probe_other = Index(table=table.name, keys=other.keys, where=other.where, origin=ORIGIN)
            if all(_serves(probe_other, v, rank, dialect) for v in group.views):
                targets.append(other)
        if targets:
            target = max(targets, key=lambda g: g.weight)
            target.absorbed += group.designs
        else:
            kept.append(group)
    kept = _merge_loosely(kept, table, rank, dialect)
    recommendations = []
    for group in kept:
        include, include_views = ((), [])
        if dialect == "postgres":
            pinned = _pinned(group.where) if group.where else set()
            include, include_views = _include_for(group.keys, group.views, table, pinned)
        index = Index(table=table.name, keys=group.keys, where=group.where, include=include,
                      origin=ORIGIN)
        rec = Recommendation(index=index, serves=[v.path for v in group.views],
                             reasons=_reasons(group, table, rank, dialect, include, include_views),
                             score=group.weight, replaces=_replaces(index, existing))
        recommendations.append(rec)
    return recommendations


def _column_scores(views: list, kinds: tuple) -> list:
    """Plain columns ranked by the weight of the paths that use them as ``kinds``."""
    score, ranged, first = {}, set(), {}
    for view in views:
        used = []
        if "eq" in kinds:
            used += [e for e in view.own_eq if e not in view.exprs]
        if "range" in kinds:
            used += [r for r in view.ranges if r not in view.exprs]
            ranged.update(r for r in view.ranges if r not in view.exprs)
        if "join" in kinds:
            used += [j for j in view.joins if j not in view.exprs]
        for column in dict.fromkeys(used):
            score[column] = score.get(column, 0.0) + view.path.weight
            first.setdefault(column, len(first))
    return sorted(score, key=lambda c: (-score[c], c not in ranged, first[c]))


def _filter_columns(view: _View) -> set:
    """Plain columns the path filters on (equality or range), join columns excluded."""
    return (set(view.own_eq) | set(view.ranges)) - view.exprs


def _warehouse_rec(table: Table, method: str, columns: list, views: list, reasons: list) -> Optional[Recommendation]:
    keys = tuple(IndexKey(c) for c in columns)
    current = [ix for ix in table.indexes if method_of(ix) == method
               or (method == "sortkey" and method_of(ix) == "interleaved sortkey")]
    for ix in current:
        have = [key_text(k) for k in ix.keys]
        if method == "search optimization" and (not have or set(columns) <= set(have)):
            return None
        if method_of(ix) == method and have and have[0] == columns[0]:
            return None  # same key, or the same leading column (which does most of the pruning)
    reasons = list(reasons)
    for ix in current:
        kind = "INTERLEAVED SORTKEY" if method_of(ix) == "interleaved sortkey" else method.upper()
        reasons.append(f"the table's current {kind} is ({describe_keys(ix.keys)})")
    users = [v for v in views if set(columns) & _filter_columns(v)]
    index = Index(table=table.name, keys=keys, name=f"{_sanitize(method)}_{_sanitize(table.name)}",
                  method=method, origin=ORIGIN)
    return Recommendation(index=index, serves=[v.path for v in users], reasons=reasons,
                          score=sum(v.path.weight for v in users))


def _warehouse_advice(table: Table, views: list, dialect: str) -> list:
    recs = []
    filters = _column_scores(views, ("eq", "range"))[:MAX_WAREHOUSE_KEYS]
    joins = _column_scores(views, ("join",))[:1]
    if dialect == "redshift":
        if filters:
            recs.append(_warehouse_rec(table, "sortkey", filters, views, [
                f"COMPOUND SORTKEY ({', '.join(filters)}): the columns the queries filter on most "
                "(equality or range); zone maps skip blocks outside the filtered values",
                "only the leading sort key column prunes well on its own: it comes first",
                "Redshift has no secondary indexes; ALTER SORTKEY re-sorts the table in the background "
                "(check SVV_TABLE_INFO.sortkey1 and whether AUTO sort keys already apply)",
            ]))
        if joins:
            rec = _warehouse_rec(table, "distkey", joins, views, [
                f"DISTKEY {joins[0]}: the most frequent join column; rows that join on it are co-located "
                "when the other table is distributed on the same key",
                "choose it only if the column has many distinct, evenly spread values (skew slows every "
                "query); ALTER DISTKEY redistributes the whole table",
            ])
            if rec is not None:
                rec.serves = [v.path for v in views if joins[0] in v.joins]
                rec.score = sum(v.path.weight for v in views if joins[0] in v.joins)
            recs.append(rec)
    else:
        if filters:
            recs.append(_warehouse_rec(table, "cluster", filters, views, [
                f"CLUSTER BY ({', '.join(filters)}): the columns the queries filter on most; pruning "
                "skips micro-partitions outside the filtered values",
                "worth it only on large tables (many micro-partitions, typically terabytes): table sizes "
                "are unknown statically, check SYSTEM$CLUSTERING_INFORMATION first",
                "automatic reclustering consumes credits continuously on tables that change often",
            ]))
        lookups = [v for v in views if v.eq and not v.ranges and not v.group]
        point = _column_scores(lookups, ("eq",))[:MAX_KEYS]
        if point:
            rec = _warehouse_rec(table, "search optimization", point, views, [
                f"SEARCH OPTIMIZATION ON EQUALITY({', '.join(point)}): selective point lookups "
                f"({_queries(len(lookups))})",
                "Enterprise Edition feature; its search access paths cost storage and compute credits "
                "to build and maintain: estimate with SYSTEM$ESTIMATE_SEARCH_OPTIMIZATION_COSTS",
            ])
            if rec is not None:
                users = [v for v in lookups if set(point) & set(v.eq)]
                rec.serves = [v.path for v in users]
                rec.score = sum(v.path.weight for v in users)
            recs.append(rec)
    return [r for r in recs if r is not None]


def advise(schema: Schema, paths: list, dialect: str = "postgres") -> Advice:
    """The recommendations for the workload, and what was left out and why."""
    dialect = (dialect or "postgres").lower()
    advice = Advice(unknown_tables=unknown_tables(schema, paths))
    by_table = {}
    for path in paths:
        table = schema.table(path.table)
        if table is not None:
            by_table.setdefault(table.name, (table, []))[1].append(path)
    recommendations = []
    for name in sorted(by_table):
        table, table_paths = by_table[name]
        views = [_view(p, table) for p in table_paths]
        for view in views:
            for column in view.dropped:
                if (table.name, column) not in advice.dropped_columns:
                    advice.dropped_columns.append((table.name, column))
            for expr, why in view.unindexable:
                if (table.name, expr, why) not in advice.unindexable:
                    advice.unindexable.append((table.name, expr, why))
        if dialect in WAREHOUSE_DIALECTS:
            recommendations += _warehouse_advice(table, views, dialect)
        else:
            recommendations += _index_advice(table, views, dialect, advice)
    if dialect not in WAREHOUSE_DIALECTS:
        taken = {ix.name.lower() for t in schema.tables.values() for ix in t.indexes if ix.name}
        _assign_names([r.index for r in recommendations], taken)
    recommendations.sort(key=lambda r: (-r.score, r.index.table, r.index.name))
    claimed = set()
    for rec in recommendations:  # an index made redundant is suggested for dropping once
        rec.replaces = [ix for ix in rec.replaces if id(ix) not in claimed]
        claimed.update(id(ix) for ix in rec.replaces)
        rec.reasons += [f"makes {index_label(old)} ({describe_keys(old.keys)}) redundant: its keys lead "
                        "this index" for old in rec.replaces]
    advice.recommendations = recommendations
    return advice


def recommend(schema: Schema, paths: list, dialect: str = "postgres") -> list:
    """The indexes (or, for Redshift/Snowflake, keys) to create for ``paths``, best first."""
    return advise(schema, paths, dialect).recommendations
