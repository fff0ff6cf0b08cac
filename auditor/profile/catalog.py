"""The live catalog: tables, columns, indexes and foreign keys as the static schema model
(:class:`auditor.sql.model.Schema`), plus the usage statistics the health checks read.

Only user schemas are read (not ``pg_catalog``, ``information_schema``, ``pg_toast``). Table
names are kept unqualified when they are unique across schemas (as the static side names
them), else ``schema.table``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from auditor.sql.model import ForeignKey, Index, IndexKey, Schema, Table

_USER_SCHEMAS = "n.nspname NOT IN ('pg_catalog', 'information_schema') AND n.nspname NOT LIKE 'pg_toast%' " \
                "AND n.nspname NOT LIKE 'pg_temp%'"


@dataclass
class TableStats:
    """Usage of one table since the statistics were last reset."""

    name: str
    schema: str
    rows: int  # reltuples (the planner's estimate), n_live_tup for a table never analysed
    bytes: int
    seq_scan: int
    seq_tup_read: int
    idx_scan: int
    heap_blks_read: int = 0
    heap_blks_hit: int = 0
    writes: int = 0  # inserts + updates + deletes


@dataclass
class IndexStats:
    """Usage of one index."""

    name: str
    table: str
    schema: str
    idx_scan: int
    bytes: int
    unique: bool
    primary: bool
    constraint: str  # the constraint it backs (p, u, x), or ''
    valid: bool
    definition: str


@dataclass
class LiveCatalog:
    schema: Schema = field(default_factory=Schema)
    tables: dict = field(default_factory=dict)  # table key -> TableStats
    indexes: list = field(default_factory=list)  # IndexStats
    stats_reset: str = ""  # when the database's statistics were last reset ('' when never)


def _key(schema_name: str, table: str, ambiguous: set) -> str:
    return f"{schema_name}.{table}" if table in ambiguous else table


def read_catalog(conn) -> LiveCatalog:
    """Read the schema and statistics of the connected database."""
    cur = conn.cursor()
    cur.execute(f"""
        SELECT n.nspname, c.relname, c.oid, coalesce(s.n_live_tup, 0), c.reltuples::bigint,
               pg_total_relation_size(c.oid), coalesce(s.seq_scan, 0), coalesce(s.seq_tup_read, 0),
               coalesce(s.idx_scan, 0), coalesce(io.heap_blks_read, 0), coalesce(io.heap_blks_hit, 0),
               coalesce(s.n_tup_ins + s.n_tup_upd + s.n_tup_del, 0)
        FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
        LEFT JOIN pg_stat_user_tables s ON s.relid = c.oid
        LEFT JOIN pg_statio_user_tables io ON io.relid = c.oid
        WHERE c.relkind IN ('r', 'p') AND {_USER_SCHEMAS}
        ORDER BY n.nspname, c.relname""")
    rows = cur.fetchall()
    counts: dict = {}
    for row in rows:
        counts[row[1]] = counts.get(row[1], 0) + 1
    ambiguous = {name for name, count in counts.items() if count > 1}
    catalog = LiveCatalog()
    by_oid = {}
    for nsp, rel, oid, live, reltuples, size, seq, seq_read, idx, blks_read, blks_hit, writes in rows:
        key = _key(nsp, rel, ambiguous)
        table = Table(name=rel if key == rel else key, schema=nsp, origin="database", path="")
        catalog.schema.tables[key] = table
        by_oid[oid] = (key, table)
        rows_estimate = int(reltuples) if reltuples is not None and reltuples >= 0 else int(live or 0)
        catalog.tables[key] = TableStats(key, nsp, rows_estimate, int(size), int(seq), int(seq_read),
                                         int(idx), int(blks_read), int(blks_hit), int(writes))
    if not by_oid:
        return catalog
    oids = list(by_oid)
    cur.execute("""
        SELECT a.attrelid, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod)
        FROM pg_attribute a WHERE a.attrelid = ANY(%s) AND a.attnum > 0 AND NOT a.attisdropped
        ORDER BY a.attrelid, a.attnum""", (oids,))
    attnames: dict = {}
    for oid, attnum, column, type_text in cur.fetchall():
        by_oid[oid][1].columns[column] = type_text
        attnames[(oid, attnum)] = column
    _read_indexes(cur, by_oid, attnames, catalog)
    _read_foreign_keys(cur, by_oid, catalog)
    cur.execute("SELECT coalesce(stats_reset::text, '') FROM pg_stat_database WHERE datname = current_database()")
    row = cur.fetchone()
    catalog.stats_reset = row[0] if row else ""
    return catalog


def _read_indexes(cur, by_oid: dict, attnames: dict, catalog: LiveCatalog) -> None:
    cur.execute("""
        SELECT x.indrelid, i.relname, x.indisunique, x.indisprimary, x.indnkeyatts, x.indnatts,
               x.indkey::int[], x.indoption::int[], am.amname, coalesce(pg_get_expr(x.indpred, x.indrelid), ''),
               coalesce(s.idx_scan, 0), pg_relation_size(i.oid), coalesce(con.contype::text, ''), x.indisvalid,
               pg_get_indexdef(i.oid), i.oid
        FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_am am ON am.oid = i.relam
        LEFT JOIN pg_stat_user_indexes s ON s.indexrelid = x.indexrelid
        LEFT JOIN pg_constraint con ON con.conindid = x.indexrelid AND con.contype IN ('p', 'u', 'x')
        WHERE x.indrelid = ANY(%s)
        ORDER BY x.indrelid, i.relname""", (list(by_oid),))
    for (relid, name, unique, primary, nkey, natts, indkey, indoption, method, predicate, scans, size,
         contype, valid, definition, index_oid) in cur.fetchall():
        key, table = by_oid[relid]
        keys, include = [], []
        for position in range(natts):
            attnum = indkey[position]
            if attnum == 0:
                cur.execute("SELECT pg_get_indexdef(%s, %s, true)", (index_oid, position + 1))
                text, is_expression = cur.fetchone()[0], True
            else:
                text = attnames[(relid, attnum)]
                is_expression = False
            if position < nkey:
                option = indoption[position] if indoption and position < len(indoption) else 0
                keys.append(IndexKey(text, desc=bool(option & 1), is_expression=is_expression,
                                     opclass=_opclass(definition, position)))
            else:
                include.append(text)
        index = Index(table=table.name, keys=tuple(keys), name=name, unique=bool(unique), primary=bool(primary),
                      where=predicate, include=tuple(include), method=method, origin="database")
        table.indexes.append(index)
        if primary:
            table.primary_key = index.columns
        catalog.indexes.append(IndexStats(name, key, table.schema, int(scans), int(size), bool(unique),
                                          bool(primary), contype, bool(valid), definition))


def _opclass(definition: str, position: int) -> str:
    """The operator class of key ``position`` when the definition names a pattern-ops class."""
    for opclass in ("text_pattern_ops", "varchar_pattern_ops", "bpchar_pattern_ops"):
        if opclass in definition:
            inside = definition[definition.find("(") + 1: definition.rfind(")")]
            parts = [p.strip() for p in inside.split(",")]
            if position < len(parts) and opclass in parts[position]:
                return opclass
    return ""


def _read_foreign_keys(cur, by_oid: dict, catalog: LiveCatalog) -> None:
    cur.execute("""
        SELECT con.conrelid, con.confrelid, con.conname,
               ARRAY(SELECT a.attname FROM unnest(con.conkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.n ORDER BY k.o),
               ARRAY(SELECT a.attname FROM unnest(con.confkey) WITH ORDINALITY k(n, o)
                     JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.n ORDER BY k.o)
        FROM pg_constraint con WHERE con.contype = 'f' AND con.conrelid = ANY(%s)
        ORDER BY con.conrelid, con.conname""", (list(by_oid),))
    for relid, ref_relid, _name, columns, ref_columns in cur.fetchall():
        _, table = by_oid[relid]
        ref = by_oid.get(ref_relid)
        ref_name = ref[1].name if ref else str(ref_relid)
        table.foreign_keys.append(ForeignKey(tuple(columns), ref_name, tuple(ref_columns)))
