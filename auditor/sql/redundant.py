"""Redundant indexes: exact duplicates and indexes whose keys lead another index.

``redundant_indexes(schema)`` returns ``(redundant, covering, reason)`` triples. An index is
redundant when another index of the same table answers every lookup it answers:

* an exact duplicate: same keys (text of expression keys compared after normalisation), same
  directions (or all of them inverted: a B-tree is scanned either way), same operator classes,
  same partial predicate, same method;
* a leading prefix: its keys lead the other index's keys, same method (B-tree only), same
  predicate, and its INCLUDE columns are keys or INCLUDE columns of the other.

A unique index (or the primary key) enforces a constraint: it is never redundant, unless
another unique index has exactly the same keys (then one of the two is, never the primary
key). The helpers that compare key and predicate texts live here too; the recommender uses them.
"""

from __future__ import annotations

import re
from functools import lru_cache

import sqlglot
from sqlglot import exp

from auditor.sql.model import Index, IndexKey, Schema

_TEXT_TYPES = {exp.DataType.Type.TEXT, exp.DataType.Type.VARCHAR, exp.DataType.Type.CHAR,
               exp.DataType.Type.NVARCHAR, exp.DataType.Type.NCHAR}
KEY_METHODS = ("sortkey", "interleaved sortkey", "distkey", "cluster", "search optimization")  # not indexes
_SIMPLE_NAME = re.compile(r"^[a-z_][a-z0-9_$]*$")


def _collapse(text: str) -> str:
    return re.sub(r"\s+", " ", text.strip())


def _simplify(node: exp.Expression) -> exp.Expression:
    """Drop what does not change meaning: parentheses, text casts, table qualifiers, quotes."""
    if isinstance(node, exp.Paren):
        return node.this
    if isinstance(node, exp.Cast) and node.to is not None and node.to.this in _TEXT_TYPES:
        return node.this
    if isinstance(node, exp.Column) and node.table:
        return exp.column(node.this)
    if isinstance(node, exp.Identifier):
        name = node.this if node.quoted else node.this.lower()
        if _SIMPLE_NAME.match(name):
            return exp.to_identifier(name, quoted=False)
        return exp.to_identifier(name, quoted=True)
    if isinstance(node, exp.Boolean):
        return exp.Boolean(this=bool(node.this))
    return node


@lru_cache(maxsize=8192)
def _parse(text: str):
    for dialect in ("postgres", None):
        try:
            node = sqlglot.parse_one(text, read=dialect)
        except Exception:  # noqa: BLE001 - any parse failure falls back to the raw text
            continue
        if node is not None:
            return node
    return None


@lru_cache(maxsize=8192)
def _normalized_node(text: str):
    node = _parse(text)
    if node is None:
        return None
    node = node.copy()
    for _ in range(4):
        before = node.sql()
        node = node.transform(_simplify)
        if node.sql() == before:
            break
    return node


@lru_cache(maxsize=8192)
def normalize_sql(text: str) -> str:
    """A canonical text for an expression or predicate: ``(status)::text = 'x'::text`` and
    ``status = 'x'`` give the same string. Unparseable text is only whitespace-collapsed."""
    text = (text or "").strip()
    if not text:
        return ""
    node = _normalized_node(text)
    if node is None:
        return _collapse(text).lower()
    return node.sql(dialect="postgres")


def normalize_key_expr(expr: str, is_expression: bool = True) -> str:
    """The comparable text of an index key: a column name as is, an expression normalised."""
    if not is_expression:
        return expr
    return normalize_sql(expr)


def key_text(key: IndexKey) -> str:
    return normalize_key_expr(key.expr, key.is_expression or "(" in key.expr)


def columns_of(expr: str) -> tuple:
    """The column names an expression reads (``lower(email)`` -> ``("email",)``)."""
    node = _normalized_node(expr)
    if node is None:
        return tuple(dict.fromkeys(re.findall(r"[A-Za-z_][A-Za-z0-9_$]*", expr)))
    if isinstance(node, exp.Column):
        return (node.name,)
    return tuple(dict.fromkeys(col.name for col in node.find_all(exp.Column)))


def predicate_conjuncts(where: str) -> list:
    """The AND-ed parts of a predicate, each as an expression node (None when unparseable)."""
    node = _normalized_node(where) if where else None
    if node is None:
        return None
    if isinstance(node, exp.And):
        return list(node.flatten())
    return [node]


def method_of(index: Index) -> str:
    return (index.method or "btree").lower()


def describe_keys(keys) -> str:
    """``customer_id, created_at DESC, lower(email)``"""
    parts = []
    for key in keys:
        text = key.expr
        if key.opclass:
            text += f" {key.opclass}"
        if key.desc:
            text += " DESC"
        parts.append(text)
    return ", ".join(parts)


def index_label(index: Index) -> str:
    """The index's name, or what it is when it has none (``the primary key of orders``)."""
    if index.name:
        return index.name
    if index.primary:
        return f"the primary key of {index.table}"
    kind = "unique index" if index.unique else "index"
    return f"an unnamed {kind} on {index.table}"


def keys_lead(short, long) -> str:
    """``"same"`` or ``"inverted"`` when ``short`` keys lead ``long`` keys (texts and opclasses
    equal, directions all equal or all inverted), else ``""``."""
    if len(short) > len(long) or not short:
        return ""
    flips = set()
    for a, b in zip(short, long):
        if key_text(a) != key_text(b) or a.opclass.lower() != b.opclass.lower():
            return ""
        flips.add(a.desc != b.desc)
    if flips == {False}:
        return "same"
    if flips == {True}:
        return "inverted"
    return ""


def _covered(a: Index, b: Index) -> str:
    """How ``b`` answers every lookup of ``a``: ``"duplicate"``, ``"reverse"``, ``"prefix"``,
    ``"include"``, or ``""`` when it does not."""
    if method_of(a) != method_of(b) or normalize_sql(a.where) != normalize_sql(b.where):
        return ""
    lead = keys_lead(a.keys, b.keys)
    if not lead:
        return ""
    same_keys = len(a.keys) == len(b.keys)
    if not same_keys and method_of(a) != "btree":
        return ""
    if a.unique or a.primary:
        if not (same_keys and (b.unique or b.primary)):
            return ""
    b_cols = {key_text(k) for k in b.keys} | set(b.include)
    if not set(a.include) <= b_cols:
        return ""
    if same_keys:
        if set(a.include) == set(b.include):
            return "duplicate" if lead == "same" else "reverse"
        return "include"
    return "prefix"


def _rank(index: Index) -> tuple:
    """Which of two equivalent indexes to keep: primary key, then unique, then by name."""
    return (not index.primary, not index.unique, not index.name, index.name, index.line, index.path)


def _reason(a: Index, b: Index, how: str) -> str:
    """Why ``a`` is redundant, with ``a`` as the implied subject (``duplicates t_a_idx: …``)."""
    lb = index_label(b)
    where = f" WHERE {a.where}" if a.where else ""
    if how == "duplicate":
        if a.unique or a.primary:
            return (f"enforces the same uniqueness as {lb} ({describe_keys(a.keys)}){where}; "
                    "drop the constraint, not only the index")
        return f"duplicates {lb}: same keys ({describe_keys(a.keys)}){where}"
    if how == "reverse":
        return f"is {lb} ({describe_keys(b.keys)}) in reverse order: a B-tree is scanned in both directions"
    if how == "include":
        return f"has the same keys as {lb} ({describe_keys(b.keys)}), which also holds its INCLUDE columns"
    return f"its keys lead {lb} ({describe_keys(b.keys)}){where}, which serves the same lookups"


def redundant_indexes(schema: Schema) -> list:
    """``[(redundant index, the index that covers it, one-line reason)]``, ordered by table and
    index name. Each redundant index is listed once, with a covering index that is not itself
    redundant."""
    result = []
    for table_name in sorted(schema.tables):
        table = schema.tables[table_name]
        indexes = sorted((ix for ix in table.indexes if ix.keys and method_of(ix) not in KEY_METHODS), key=_rank)
        covers = {}
        for i, a in enumerate(indexes):
            for j, b in enumerate(indexes):
                if i == j:
                    continue
                how = _covered(a, b)
                if not how:
                    continue
                if _covered(b, a) and j > i:
                    continue  # mutual (same definition): the lower-ranked one is the redundant one
                covers.setdefault(i, []).append((j, how))
        for i in sorted(covers, key=lambda k: (indexes[k].name, _rank(indexes[k]))):
            options = [(j, how) for j, how in covers[i] if j not in covers]
            if not options:  # cannot happen (coverage is transitive), kept for safety
                options = covers[i]
            j, how = min(options, key=lambda o: (len(indexes[o[0]].keys), o[0]))
            result.append((indexes[i], indexes[j], _reason(indexes[i], indexes[j], how)))
    return result
