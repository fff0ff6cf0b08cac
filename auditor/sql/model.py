"""The data the SQL analysis shares: schema catalog, access paths, index recommendations.

Plain dataclasses, no parser objects. Names are SQL identifiers as the database folds them:
unquoted identifiers lower-cased (PostgreSQL, Redshift, MySQL, SQLite), quoted ones kept.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

DIALECTS = ("postgres", "redshift", "snowflake", "mysql", "sqlite")


@dataclass(frozen=True)
class IndexKey:
    """One key of an index: a column, or an expression such as ``lower(email)``."""

    expr: str  # column name, or the expression's SQL text (``lower(email)``)
    desc: bool = False
    opclass: str = ""  # e.g. ``text_pattern_ops`` for prefix LIKE under a non-C collation
    is_expression: bool = False

    @property
    def column(self) -> str:
        """The column name, or '' for an expression key."""
        return "" if self.is_expression else self.expr


@dataclass
class Index:
    """An index that exists in the schema, or one we recommend."""

    table: str
    keys: tuple  # of IndexKey
    name: str = ""
    unique: bool = False
    primary: bool = False  # the primary key's index
    where: str = ""  # partial-index predicate, SQL text
    include: tuple = ()  # covering columns (PostgreSQL INCLUDE)
    method: str = "btree"
    origin: str = ""  # ddl | django | sqlalchemy | alembic | primary key | unique | foreign key
    path: str = ""  # where it is declared
    line: int = 0

    @property
    def columns(self) -> tuple:
        """The key expressions in order (column names or expression texts)."""
        return tuple(key.expr for key in self.keys)


@dataclass
class ForeignKey:
    """``columns`` of the table reference ``ref_columns`` of ``ref_table``."""

    columns: tuple
    ref_table: str
    ref_columns: tuple = ()


@dataclass
class Table:
    """A table of the schema catalog."""

    name: str  # unqualified
    schema: str = ""  # database schema ("public"), or ""
    columns: dict = field(default_factory=dict)  # name -> type text ("" when unknown)
    primary_key: tuple = ()
    indexes: list = field(default_factory=list)  # Index, the primary key's and unique constraints' included
    foreign_keys: list = field(default_factory=list)
    origin: str = ""  # where the table was found first (ddl, django, sqlalchemy, alembic)
    path: str = ""
    line: int = 0
    model: str = ""  # qualified name of the ORM model mapped to it, if any


@dataclass
class Schema:
    """Every table found in DDL, migrations and ORM models."""

    tables: dict = field(default_factory=dict)  # name -> Table
    notes: list = field(default_factory=list)  # (path, message) for DDL that could not be read

    def table(self, name: str) -> Optional[Table]:
        """The table called ``name`` (schema-qualified or not), or None."""
        if name in self.tables:
            return self.tables[name]
        return self.tables.get(name.rsplit(".", 1)[-1])


@dataclass
class Site:
    """A place in the code that sends a statement or builds an ORM query."""

    path: str
    line: int
    function: str  # qualified name of the enclosing function
    excerpt: str = ""
    loop_depth: int = 0  # enclosing loops that repeat per item (0: runs once per call)
    request_path: bool = False  # reachable from a web request handler
    admin_request: bool = False  # reachable only from admin pages (an operator's click)

    @property
    def weight(self) -> float:
        """How hot the site is, relatively: request paths and loops multiply."""
        weight = 1.0
        if self.request_path:
            weight *= 10.0
        weight *= 10.0 ** min(self.loop_depth, 2)
        return weight

    def render(self) -> str:
        """``app/orders.py:42``"""
        return f"{self.path}:{self.line}"


@dataclass
class AccessPath:
    """How one statement or ORM query reads one table.

    Column lists keep the order of first appearance and hold no duplicates. Expression keys
    (``lower(email)``) appear in ``equality``/``ranges`` as their SQL text and are listed in
    ``expressions`` too.
    """

    table: str
    sites: list = field(default_factory=list)  # Site
    equality: tuple = ()  # compared with = or IN (one value list)
    ranges: tuple = ()  # compared with <, <=, >, >=, BETWEEN, or a prefix LIKE
    prefix_like: tuple = ()  # columns matched with LIKE 'abc%' (also in ``ranges``)
    order_by: tuple = ()  # ((expr, desc), ...) on this table's columns only
    limit: Optional[int] = None  # LIMIT n; 0 when the limit is a parameter; None when absent
    group_by: tuple = ()
    joins: tuple = ()  # columns of this table used in join conditions
    expressions: tuple = ()  # expressions over columns used in predicates: ("lower(email)", ...)
    constants: tuple = ()  # ((column, SQL literal), ...) equality with a constant: partial-index candidates
    selected: Optional[tuple] = None  # columns read from this table; None for ``*`` or unknown
    source: str = ""  # sql | django | sqlalchemy
    statement: str = ""  # the normalised SQL (or the ORM chain as written), for the evidence

    @property
    def weight(self) -> float:
        """The summed weight of every site that issues this access."""
        return sum(site.weight for site in self.sites) or 1.0

    def shape(self) -> tuple:
        """What makes two access paths the same for index selection (sites excluded)."""
        return (self.table, self.equality, self.ranges, self.prefix_like, self.order_by, self.group_by,
                self.joins, self.expressions, self.constants, self.selected)


@dataclass
class Recommendation:
    """An index to create (or, for Redshift/Snowflake, a key to set), with what it serves."""

    index: Index
    serves: list = field(default_factory=list)  # AccessPath
    reasons: list = field(default_factory=list)  # one line per design choice
    score: float = 0.0  # evidence: the summed weight of the access paths it serves
    replaces: list = field(default_factory=list)  # existing indexes this one makes redundant
