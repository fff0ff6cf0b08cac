"""The index recommender on hand-built schemas and access paths."""

from __future__ import annotations

from auditor.sql.model import AccessPath, Index, IndexKey, Schema, Site, Table
from auditor.sql.recommend import advise, candidate_for, index_name, recommend, serves, truncate_name
from auditor.sql.redundant import describe_keys

COLUMNS = ["id", "customer_id", "region", "status", "created_at", "total", "name", "email", "note",
           "a", "b", "c", "d", "e"]


def table(name="orders", columns=COLUMNS, indexes=(), pk=("id",), schema="public", types=None):
    t = Table(name=name, schema=schema, columns={c: (types or {}).get(c, "") for c in columns},
              primary_key=pk)
    if pk:
        t.indexes.append(Index(name, tuple(IndexKey(c) for c in pk), name=f"{name}_pkey", unique=True,
                               primary=True, origin="primary key"))
    t.indexes += list(indexes)
    return t


def schema_of(*tables):
    return Schema(tables={t.name: t for t in tables})


def ix(*keys, name="", table="orders", unique=False, where="", method="btree", include=()):
    parsed = []
    for key in keys:
        desc = key.endswith(" DESC")
        expr = key[:-5] if desc else key
        parsed.append(IndexKey(expr, desc=desc, is_expression="(" in expr))
    return Index(table, tuple(parsed), name=name or f"{table}_{'_'.join(k.expr for k in parsed)}_idx",
                 unique=unique, where=where, method=method, include=tuple(include))


_line = iter(range(1, 10_000))


def path(table_name="orders", request=False, loops=0, **kwargs):
    site = Site(path="app/orders.py", line=next(_line), function="app.orders.view",
                request_path=request, loop_depth=loops)
    return AccessPath(table=table_name, sites=[site], **kwargs)


def shapes(recs):
    """``[(keys, where, include)]`` of the recommendations, in their order."""
    return [(describe_keys(r.index.keys), r.index.where, r.index.include) for r in recs]


# --- key design -------------------------------------------------------------------------------


def test_equality_first_shared_columns_lead_and_one_index_serves_both():
    paths = [path(equality=("customer_id", "region")), path(equality=("region",))]
    recs = recommend(schema_of(table()), paths)
    assert shapes(recs) == [("region, customer_id", "", ())]
    assert recs[0].serves == paths
    assert recs[0].reasons[0] == "equality on region, customer_id first (2 queries)"
    assert recs[0].index.name == "ix_orders_region_customer_id"


def test_range_after_equality():
    recs = recommend(schema_of(table()), [path(equality=("customer_id",), ranges=("created_at",))])
    assert shapes(recs) == [("customer_id, created_at", "", ())]
    assert recs[0].reasons[:2] == [
        "equality on customer_id first (1 query)",
        "then created_at: the range filter on created_at (one range column; keys after it could not be searched)",
    ]


def test_order_by_desc_with_limit_keeps_the_direction():
    recs = recommend(schema_of(table()), [path(equality=("customer_id",), order_by=(("created_at", True),),
                                               limit=20)])
    assert shapes(recs) == [("customer_id, created_at DESC", "", ())]
    assert recs[0].reasons[1] == "then created_at DESC: serves ORDER BY created_at DESC LIMIT 20 without a sort"
    assert recs[0].index.name == "ix_orders_customer_id_created_at"


def test_mixed_directions_kept_as_written():
    recs = recommend(schema_of(table()), [path(equality=("customer_id",),
                                               order_by=(("created_at", False), ("id", True)), limit=5)])
    assert shapes(recs) == [("customer_id, created_at, id DESC", "", ())]
    assert any(r.startswith("mixed ASC/DESC directions kept as written") for r in recs[0].reasons)


def test_range_on_the_first_order_column_serves_the_sort_too():
    recs = recommend(schema_of(table()), [path(equality=("customer_id",), ranges=("created_at",),
                                               order_by=(("created_at", True), ("id", True)), limit=50)])
    assert shapes(recs) == [("customer_id, created_at DESC, id DESC", "", ())]
    assert recs[0].reasons[1] == ("then created_at DESC, id DESC: serves the range on created_at and "
                                  "ORDER BY created_at DESC, id DESC LIMIT 50 without a sort")


def test_range_wins_over_a_different_order_column_and_says_the_sort_remains():
    recs = recommend(schema_of(table()), [path(equality=("customer_id",), ranges=("created_at", "total"),
                                               order_by=(("name", False),))])
    assert shapes(recs) == [("customer_id, created_at", "", ())]
    assert "total also compared by range: checked on the index entries, not searched (only one range column can be)" \
        in recs[0].reasons
    assert "ORDER BY name still needs a sort: the range on created_at comes first" in recs[0].reasons


def test_order_by_on_an_equality_column_is_ignored():
    recs = recommend(schema_of(table()), [path(equality=("customer_id",),
                                               order_by=(("customer_id", False), ("created_at", False)), limit=1)])
    assert shapes(recs) == [("customer_id, created_at", "", ())]


def test_group_by_after_equality():
    recs = recommend(schema_of(table()), [path(equality=("customer_id",), group_by=("status", "region"))])
    assert shapes(recs) == [("customer_id, status, region", "", ())]
    assert recs[0].reasons[1] == "then status, region: rows arrive grouped for GROUP BY status, region without a sort"


def test_join_columns_count_as_equality():
    recs = recommend(schema_of(table()), [path(joins=("customer_id",))])
    assert shapes(recs) == [("customer_id", "", ())]
    assert "customer_id: join column; the index serves the inner side of a nested-loop join" in recs[0].reasons


def test_keys_capped_at_four():
    recs = recommend(schema_of(table()), [path(equality=("a", "b", "c", "d", "e"), order_by=(("id", False),))])
    assert shapes(recs) == [("a, b, c, d", "", ())]
    assert "capped at 4 keys: e, id left out" in recs[0].reasons


def test_no_predicate_order_by_without_limit_is_not_indexed():
    advice = advise(schema_of(table()), [path(order_by=(("created_at", False),))])
    assert advice.recommendations == []
    assert [reason for _, reason in advice.skipped] == ["no equality, range or sort an index could serve"]
    with_limit = recommend(schema_of(table()), [path(order_by=(("created_at", True),), limit=10)])
    assert shapes(with_limit) == [("created_at DESC", "", ())]


# --- existing indexes ---------------------------------------------------------------------------


def test_existing_composite_serves_a_filter_on_its_leading_column():
    existing = ix("customer_id", "created_at")
    advice = advise(schema_of(table(indexes=[existing])), [path(equality=("customer_id",))])
    assert advice.recommendations == []
    assert [index.name for _, index in advice.served] == ["orders_customer_id_created_at_idx"]


def test_existing_index_scanned_backwards_serves_order_by_desc():
    existing = ix("customer_id", "created_at")
    paths = [path(equality=("customer_id",), order_by=(("created_at", True),), limit=20)]
    assert recommend(schema_of(table(indexes=[existing])), paths) == []


def test_mixed_directions_need_matching_or_fully_inverted_keys():
    existing = ix("customer_id", "created_at DESC", "id")
    schema = schema_of(table(indexes=[existing]))
    inverted = path(equality=("customer_id",), order_by=(("created_at", False), ("id", True)), limit=10)
    assert serves(existing, inverted)
    assert recommend(schema, [inverted]) == []
    mismatched = path(equality=("customer_id",), order_by=(("created_at", True), ("id", True)), limit=10)
    assert not serves(existing, mismatched)
    assert shapes(recommend(schema, [mismatched])) == [("customer_id, created_at DESC, id DESC", "", ())]


def test_equality_columns_match_in_any_order():
    existing = ix("region", "customer_id", "created_at")
    assert serves(existing, path(equality=("customer_id", "region"), ranges=("created_at",)))
    assert not serves(existing, path(equality=("customer_id",), ranges=("created_at",)))


def test_primary_key_lookup_gives_nothing():
    advice = advise(schema_of(table()), [path(equality=("id",)), path(equality=("id", "status"),
                                                                   order_by=(("created_at", False),))])
    assert advice.recommendations == []
    assert [index.name for _, index in advice.served] == ["orders_pkey", "orders_pkey"]


def test_primary_key_without_an_index_object_still_serves():
    t = table()
    t.indexes = []
    assert recommend(schema_of(t), [path(equality=("id",))]) == []


def test_unique_column_lookup_gives_nothing():
    unique = ix("email", name="orders_email_key", unique=True)
    assert recommend(schema_of(table(indexes=[unique])), [path(equality=("email",))]) == []


def test_existing_partial_index_serves_only_paths_that_imply_its_predicate():
    partial = ix("customer_id", where="status = 'pending'", name="orders_pending_idx")
    schema = schema_of(table(indexes=[partial]))
    pending = path(equality=("customer_id", "status"), constants=(("status", "'pending'"),))
    done = path(equality=("customer_id", "status"), constants=(("status", "'done'"),))
    anything = path(equality=("customer_id",))
    assert serves(partial, pending)
    assert not serves(partial, done)
    assert not serves(partial, anything)
    by_statement = path(equality=("customer_id",),
                        statement="SELECT id FROM orders o WHERE o.customer_id = %s AND o.status = 'pending'")
    assert serves(partial, by_statement)
    assert recommend(schema, [pending]) == []


def test_pattern_ops_and_plain_indexes_serve_different_ranges():
    plain = ix("name")
    pattern = Index("orders", (IndexKey("name", opclass="text_pattern_ops"),), name="orders_name_pattern")
    like = path(ranges=("name",), prefix_like=("name",))
    compare = path(ranges=("name",))
    assert not serves(plain, like) and serves(pattern, like)
    assert serves(plain, compare) and not serves(pattern, compare)
    assert serves(plain, like, dialect="mysql")


def test_hash_and_gin_indexes():
    assert serves(ix("customer_id", method="hash"), path(equality=("customer_id",)))
    assert not serves(ix("customer_id", method="hash"), path(equality=("customer_id",), ranges=("total",)))
    assert not serves(ix("customer_id", method="gin"), path(equality=("customer_id",)))


# --- merging and scoring --------------------------------------------------------------------------


def test_prefix_candidates_merge_into_one_index():
    short = path(equality=("customer_id",))
    long = path(equality=("customer_id",), ranges=("created_at",), request=True)
    recs = recommend(schema_of(table()), [short, long])
    assert shapes(recs) == [("customer_id, created_at", "", ())]
    assert recs[0].serves == [long, short]
    assert recs[0].score == 11.0
    assert "one index for 2 queries: the other uses the same keys or a leading part of them" in recs[0].reasons


def test_no_merge_that_would_turn_a_lookup_into_a_scan():
    lookup = path(equality=("customer_id", "region"))
    ranged = path(equality=("customer_id",), ranges=("created_at",))
    recs = recommend(schema_of(table()), [lookup, ranged])
    assert sorted(shapes(recs)) == [("customer_id, created_at", "", ()), ("customer_id, region", "", ())]


def test_order_by_score_then_table_then_name():
    t2 = table(name="customers", columns=["id", "email", "region"])
    paths = [path(equality=("region",)),
             path(table_name="customers", equality=("region",), loops=1),
             path(equality=("customer_id",), request=True)]
    recs = recommend(schema_of(table(), t2), paths)
    assert [(r.index.name, r.score) for r in recs] == [
        ("ix_customers_region", 10.0), ("ix_orders_customer_id", 10.0), ("ix_orders_region", 1.0)]


def test_no_index_on_a_status_alone_nor_a_partial_index_for_the_state_most_rows_are_in():
    assert recommend(schema_of(table()), [path(equality=("status",), request=True)]) == []
    settled = path(equality=("customer_id", "status"), constants=(("status", "'paid'"),))
    assert [r.index.where for r in recommend(schema_of(table()), [settled])] == [""]


def test_replaces_a_plain_prefix_index_but_never_a_unique_one():
    plain = ix("customer_id", name="orders_customer_id_idx")
    unique = ix("created_at", name="orders_created_at_key", unique=True)
    schema = schema_of(table(indexes=[plain, unique]))
    recs = recommend(schema, [path(equality=("customer_id",), order_by=(("created_at", True),), limit=20),
                              path(ranges=("created_at",), order_by=(("created_at", False), ("id", False)),
                                   limit=10)])
    assert shapes(recs) == [("created_at, id", "", ()), ("customer_id, created_at DESC", "", ())]
    assert recs[0].replaces == []
    assert [old.name for old in recs[1].replaces] == ["orders_customer_id_idx"]
    assert recs[1].reasons[-1] == ("makes orders_customer_id_idx (customer_id) redundant: its keys lead "
                                   "this index")


def test_same_input_same_output_and_input_order_does_not_change_the_set():
    paths = [path(equality=("customer_id",), order_by=(("created_at", True),), limit=20),
             path(equality=("region", "status"), constants=(("status", "'open'"),)),
             path(equality=("lower(email)",), expressions=("lower(email)",)),
             path(ranges=("name",), prefix_like=("name",))]
    schema = schema_of(table())
    first = recommend(schema, paths)
    assert shapes(first) == shapes(recommend(schema, paths))
    assert [r.reasons for r in first] == [r.reasons for r in recommend(schema, paths)]
    reversed_recs = recommend(schema, list(reversed(paths)))
    assert sorted((r.index.name, describe_keys(r.index.keys)) for r in reversed_recs) == \
        sorted((r.index.name, describe_keys(r.index.keys)) for r in first)


# --- partial, covering, expression, pattern --------------------------------------------------------


def test_partial_index_for_a_hot_constant_status():
    jobs = table(name="jobs", columns=["id", "customer_id", "status", "created_at"])
    paths = [path("jobs", equality=("customer_id", "status"), constants=(("status", "'pending'"),)),
             path("jobs", equality=("status",), constants=(("status", "'pending'"),),
                  order_by=(("created_at", False),), limit=10)]
    recs = recommend(schema_of(jobs), paths)
    assert shapes(recs) == [("created_at", "status = 'pending'", ()), ("customer_id", "status = 'pending'", ())]
    assert [r.index.name for r in recs] == ["ix_jobs_created_at", "ix_jobs_customer_id"]
    assert ("partial: every query that filters status uses status = 'pending'; the index holds only those rows"
            in recs[0].reasons)


def test_partial_index_only_on_the_status_alone_keeps_a_key():
    recs = recommend(schema_of(table()), [path(equality=("status",), constants=(("status", "'pending'"),))])
    assert shapes(recs) == [("status", "status = 'pending'", ())]


def test_no_partial_when_the_constant_varies_or_a_parameter_is_used():
    schema = schema_of(table())
    varies = [path(equality=("customer_id", "status"), constants=(("status", "'pending'"),)),
              path(equality=("customer_id", "status"), constants=(("status", "'done'"),))]
    assert shapes(recommend(schema, varies)) == [("customer_id, status", "", ())]
    parameter = [path(equality=("customer_id", "status"), constants=(("status", "'pending'"),)),
                 path(equality=("status",))]
    assert shapes(recommend(schema, parameter)) == [("status, customer_id", "", ())]


def test_no_partial_for_a_high_cardinality_column_or_on_mysql():
    schema = schema_of(table())
    tenant = [path(equality=("customer_id", "region"), constants=(("region", "'eu'"),))]
    assert shapes(recommend(schema, tenant)) == [("customer_id, region", "", ())]
    flag = [path(equality=("customer_id", "status"), constants=(("status", "'pending'"),))]
    assert shapes(recommend(schema, flag, "mysql")) == [("customer_id, status", "", ())]
    assert shapes(recommend(schema, flag, "sqlite")) == [("customer_id", "status = 'pending'", ())]


def test_boolean_constant_makes_a_partial_index():
    t = table(columns=["id", "customer_id", "archived_at", "paid"], types={"paid": "boolean"})
    recs = recommend(schema_of(t), [path(equality=("customer_id", "paid"), constants=(("paid", "TRUE"),))])
    assert shapes(recs) == [("customer_id", "paid = TRUE", ())]


def test_include_for_index_only_scans_on_postgres_only():
    report = path(equality=("customer_id",), selected=("customer_id", "total"))
    recs = recommend(schema_of(table()), [report])
    assert shapes(recs) == [("customer_id", "", ("total",))]
    assert "INCLUDE (total): index-only scan for 1 query reading only these columns" in recs[0].reasons
    assert shapes(recommend(schema_of(table()), [report], "mysql")) == [("customer_id", "", ())]
    assert shapes(recommend(schema_of(table()), [report], "sqlite")) == [("customer_id", "", ())]


def test_no_include_when_selected_is_unknown_or_wide():
    assert shapes(recommend(schema_of(table()), [path(equality=("customer_id",))])) == [("customer_id", "", ())]
    wide = path(equality=("customer_id",), selected=("total", "name", "email", "note"))
    assert shapes(recommend(schema_of(table()), [wide])) == [("customer_id", "", ())]


def test_expression_key():
    recs = recommend(schema_of(table()), [path(equality=("lower(email)",), expressions=("lower(email)",))])
    assert [(k.expr, k.is_expression) for k in recs[0].index.keys] == [("lower(email)", True)]
    assert recs[0].index.name == "ix_orders_lower_email"
    assert recs[0].reasons[1] == ("expression key lower(email): the queries filter on the expression, which an "
                                  "index on the bare column cannot serve")


def test_expression_on_an_unknown_column_is_dropped():
    advice = advise(schema_of(table()), [path(equality=("lower(nickname)",), expressions=("lower(nickname)",))])
    assert advice.recommendations == []
    assert advice.dropped_columns == [("orders", "lower(nickname)")]


def test_prefix_like_gets_text_pattern_ops_on_postgres():
    like = path(ranges=("name",), prefix_like=("name",))
    recs = recommend(schema_of(table()), [like])
    assert [(k.expr, k.opclass) for k in recs[0].index.keys] == [("name", "text_pattern_ops")]
    assert any(r.startswith("text_pattern_ops: prefix LIKE on name under a non-C collation") for r in recs[0].reasons)
    mysql = recommend(schema_of(table()), [like], "mysql")
    assert [(k.expr, k.opclass) for k in mysql[0].index.keys] == [("name", "")]
    sqlite = recommend(schema_of(table()), [like], "sqlite")
    assert any("case_sensitive_like" in r for r in sqlite[0].reasons)


# --- unknown tables and columns, names ---------------------------------------------------------------


def test_unknown_table_gets_nothing_and_a_note():
    advice = advise(schema_of(table()), [path("widgets", equality=("a",)), path("widgets", equality=("b",))])
    assert advice.recommendations == []
    assert advice.unknown_tables == ["widgets"]
    assert advice.notes == ["table widgets: schema unknown, no recommendation"]


def test_unknown_columns_are_dropped_from_candidates():
    advice = advise(schema_of(table()), [path(equality=("customer_id", "bogus"))])
    assert shapes(advice.recommendations) == [("customer_id", "", ())]
    assert advice.notes == ["table orders: bogus is not one of its declared columns; left out of the indexes"]


def test_table_without_known_columns_keeps_every_column():
    t = Table(name="events", columns={})
    assert shapes(recommend(schema_of(t), [path("events", equality=("kind_id",))])) == [("kind_id", "", ())]


def test_schema_qualified_table_names_resolve():
    assert shapes(recommend(schema_of(table()), [path("public.orders", equality=("region",))])) == \
        [("region", "", ())]


def test_names_truncated_to_63_bytes_with_a_stable_hash():
    long_table = "t" * 40
    long_cols = ["customer_reference_number", "created_at_timestamp_utc"]
    name = index_name(long_table, [IndexKey(c) for c in long_cols])
    assert len(name.encode()) == 63
    assert name == truncate_name("ix_" + long_table + "_" + "_".join(long_cols))
    assert name.startswith("ix_tttttttttttttttttttttttttttttttttttttttt_customer")
    assert name != index_name(long_table, [IndexKey(c) for c in reversed(long_cols)])
    t = table(name=long_table, columns=["id"] + long_cols)
    recs = recommend(schema_of(t), [path(long_table, equality=tuple(long_cols))])
    assert recs[0].index.name == name
    assert truncate_name("ix_short") == "ix_short"


def test_name_collisions_get_a_suffix():
    taken = ix("customer_id", name="ix_orders_customer_id", method="gin")
    recs = recommend(schema_of(table(indexes=[taken])), [path(equality=("customer_id",))])
    assert recs[0].index.name == "ix_orders_customer_id_2"
    desc_taken = ix("created_at", name="ix_orders_created_at", method="brin")
    recs = recommend(schema_of(table(indexes=[desc_taken])), [path(order_by=(("created_at", True),), limit=5)])
    assert recs[0].index.name == "ix_orders_created_at_desc"


# --- public helpers ---------------------------------------------------------------------------------


def test_candidate_for_a_single_path():
    candidate = candidate_for(path(equality=("customer_id", "status"), constants=(("status", "'pending'"),),
                                   order_by=(("created_at", True),), limit=20), table())
    assert describe_keys(candidate.keys) == "customer_id, created_at DESC"
    assert candidate.where == "status = 'pending'"
    assert candidate_for(path(selected=("id",))) is None


# --- warehouses -------------------------------------------------------------------------------------


def test_redshift_gets_sort_and_dist_keys_not_indexes():
    paths = [path(equality=("customer_id",), ranges=("created_at",), request=True),
             path(ranges=("created_at",)),
             path(joins=("customer_id",)), path(joins=("customer_id",)), path(joins=("region",))]
    recs = recommend(schema_of(table()), paths, "redshift")
    assert [(r.index.method, describe_keys(r.index.keys)) for r in recs] == [
        ("sortkey", "created_at, customer_id"), ("distkey", "customer_id")]
    assert recs[0].score == 11.0 and recs[1].score == 2.0
    assert recs[0].reasons[0].startswith("COMPOUND SORTKEY (created_at, customer_id)")
    assert recs[1].reasons[0].startswith("DISTKEY customer_id: the most frequent join column")


def test_snowflake_gets_clustering_and_search_optimization():
    paths = [path(ranges=("created_at",), loops=1), path(equality=("email",)), path(equality=("email",))]
    recs = recommend(schema_of(table()), paths, "snowflake")
    assert [(r.index.method, describe_keys(r.index.keys), r.score) for r in recs] == [
        ("cluster", "created_at, email", 12.0), ("search optimization", "email", 2.0)]
    assert any("table sizes are unknown statically" in r for r in recs[0].reasons)
    assert any("credits" in r for r in recs[1].reasons)


def test_warehouse_unknown_table_gets_nothing():
    assert recommend(schema_of(table()), [path("widgets", equality=("a",))], "snowflake") == []


def test_expressions_that_cannot_be_index_keys_are_left_out_with_a_note():
    t = table(columns=["id", "created_at", "day"], types={"created_at": "timestamp with time zone"})
    advice = advise(schema_of(t), [
        path(equality=("date_trunc('day', created_at)",), expressions=("date_trunc('day', created_at)",)),
        path(ranges=("now() - created_at",), expressions=("now() - created_at",)),
    ])
    assert advice.recommendations == []
    assert advice.notes == [
        "table orders: date_trunc('day', created_at) cannot be an index key (it depends on the session time "
        "zone (created_at is timestamptz); index an expression with an explicit zone, e.g. date_trunc('day', "
        "created_at AT TIME ZONE 'UTC'))",
        "table orders: now() - created_at cannot be an index key (its value changes between calls; index "
        "expressions must be immutable)",
    ]
    plain = table(columns=["id", "created_at"], types={"created_at": "timestamp"})
    recs = recommend(schema_of(plain), [path(equality=("date_trunc('day', created_at)",),
                                             expressions=("date_trunc('day', created_at)",))])
    assert shapes(recs) == [("date_trunc('day', created_at)", "", ())]


def test_partial_index_on_a_queue_without_limit():
    paths = [path(equality=("status",), constants=(("status", "'pending'"),), order_by=(("created_at", False),))]
    assert shapes(recommend(schema_of(table()), paths)) == [("created_at", "status = 'pending'", ())]


def test_warehouse_keys_already_set_are_not_advised_again():
    t = table()
    t.indexes = [Index("orders", (IndexKey("created_at"),), method="sortkey", name="sortkey"),
                 Index("orders", (), method="search optimization", name="so")]
    paths = [path(ranges=("created_at",)), path(equality=("email",))]
    assert recommend(schema_of(t), paths, "redshift") == []
    assert [r.index.method for r in recommend(schema_of(t), paths, "snowflake")] == ["cluster"]
    t.indexes = [Index("orders", (IndexKey("region"),), method="interleaved sortkey", name="sortkey")]
    recs = recommend(schema_of(t), paths, "redshift")
    assert recs[0].reasons[-1] == "the table's current INTERLEAVED SORTKEY is (region)"


def test_is_null_filter_makes_a_partial_index():
    t = table(columns=["id", "customer_id", "deleted_at"])
    paths = [path(equality=("customer_id", "deleted_at"), constants=(("deleted_at", "NULL"),))]
    recs = recommend(schema_of(t), paths)
    assert shapes(recs) == [("customer_id", "deleted_at IS NULL", ())]
    assert ("partial: every query that filters deleted_at uses deleted_at IS NULL; the index holds only those rows"
            in recs[0].reasons)
    existing = ix("customer_id", where="deleted_at IS NULL", name="live_orders")
    assert recommend(schema_of(table(columns=["id", "customer_id", "deleted_at"], indexes=[existing])), paths) == []
    assert shapes(recommend(schema_of(t), paths, "mysql")) == [("customer_id, deleted_at", "", ())]


def test_join_column_of_a_table_with_its_own_filters_is_not_a_key():
    driving = path(joins=("customer_id",), equality=("status",), ranges=("created_at",))
    assert shapes(recommend(schema_of(table()), [driving], "mysql")) == [("status, created_at", "", ())]


def test_interpolated_value_is_not_a_constant():
    paths = [path(equality=("customer_id", "status"), constants=(("status", "'__audit_hole_1__'"),))]
    assert shapes(recommend(schema_of(table()), paths)) == [("customer_id, status", "", ())]


def test_limit_with_a_parameter():
    recs = recommend(schema_of(table()), [path(equality=("customer_id",), order_by=(("created_at", True),),
                                               limit=0)])
    assert recs[0].reasons[1] == "then created_at DESC: serves ORDER BY created_at DESC LIMIT ? without a sort"


def test_prefix_like_with_order_by_on_the_same_column():
    recs = recommend(schema_of(table()), [path(ranges=("name",), prefix_like=("name",), order_by=(("name", False),))])
    assert [(k.expr, k.opclass) for k in recs[0].index.keys] == [("name", "text_pattern_ops")]
    assert ("ORDER BY name still needs a sort: a text_pattern_ops index does not return rows in the collation's "
            "order") in recs[0].reasons
    mysql = recommend(schema_of(table()), [path(ranges=("name",), prefix_like=("name",),
                                                 order_by=(("name", False),))], "mysql")
    assert mysql[0].reasons[0] == ("then name: serves the range on name and ORDER BY name without a sort")


def test_group_by_on_the_inner_side_of_a_join_is_not_a_key():
    assert shapes(recommend(schema_of(table()), [path(joins=("customer_id",), group_by=("region",))])) == \
        [("customer_id", "", ())]


def test_a_boolean_or_is_null_filter_alone_is_not_indexed():
    t = table(columns=["id", "is_active", "name", "deleted_at"])
    assert recommend(schema_of(t), [path(equality=("is_active",), constants=(("is_active", "TRUE"),))]) == []
    assert recommend(schema_of(t), [path(equality=("is_active",), constants=(("is_active", "TRUE"),),
                                         order_by=(("name", False),))]) == []
    assert shapes(recommend(schema_of(t), [path(equality=("is_active",), constants=(("is_active", "TRUE"),),
                                                order_by=(("name", False),), limit=10)])) == \
        [("name", "is_active = TRUE", ())]
    assert recommend(schema_of(t), [path(equality=("deleted_at",), constants=(("deleted_at", "NULL"),))]) == []


def test_low_cardinality_filter_folded_into_an_index_on_the_selective_column():
    latest = path(equality=("customer_id", "status"), order_by=(("created_at", True),), limit=1)
    between = path(equality=("customer_id",), ranges=("created_at",), request=True)
    recs = recommend(schema_of(table()), [latest, between])
    assert shapes(recs) == [("customer_id, created_at", "", ())]
    assert recs[0].serves == [between, latest]
    assert ("also serves 1 query that filters status too: low-cardinality, checked on the rows the index finds "
            "rather than worth a second index") in recs[0].reasons


def test_no_folding_when_only_low_cardinality_filters_remain_or_the_index_is_partial():
    by_status = path(equality=("status",), order_by=(("created_at", True),), limit=100)
    by_time = path(ranges=("created_at",), request=True)
    assert sorted(shapes(recommend(schema_of(table()), [by_status, by_time]))) == [
        ("created_at", "", ()), ("status, created_at DESC", "", ())]
    pending = path(equality=("customer_id", "status"), constants=(("status", "'pending'"),))
    between = path(equality=("customer_id",), ranges=("created_at",), request=True)
    assert shapes(recommend(schema_of(table()), [pending, between])) == [
        ("customer_id, created_at", "", ()), ("customer_id", "status = 'pending'", ())]


def test_an_existing_index_on_the_equality_columns_serves_a_range_without_top_n():
    schema = Schema(tables={"stock": Table("stock", columns={"id": "", "warehouse_id": "", "quantity": "",
                                                               "lot": ""}, primary_key=("id",),
                                           indexes=[Index("stock", (IndexKey("warehouse_id"), IndexKey("product_id")),
                                                          name="stock_wh_product", origin="ddl")])})
    scan_range = AccessPath("stock", equality=("warehouse_id",), ranges=("quantity",), order_by=(("lot", False),))
    top_n = AccessPath("stock", equality=("warehouse_id",), order_by=(("lot", False),), limit=20)
    assert recommend(schema, [scan_range]) == []
    assert [r.index.columns for r in recommend(schema, [top_n])] == [("warehouse_id", "lot")]


def test_an_index_on_the_selective_column_serves_a_query_that_also_filters_status():
    schema = Schema(tables={"invoices": Table("invoices", columns={c: "" for c in ("id", "customer_id", "status",
                                                                                      "due_at")},
                                              primary_key=("id",),
                                              indexes=[Index("invoices", (IndexKey("customer_id"), IndexKey("issued_at")),
                                                             name="invoices_customer_issued", origin="ddl")])})
    listing = AccessPath("invoices", equality=("customer_id", "status"), constants=(("status", "'open'"),),
                         order_by=(("due_at", False),))
    assert recommend(schema, [listing]) == []


def test_the_primary_key_serves_an_unlimited_scan_in_its_order_with_a_status_filter():
    schema = Schema(tables={"accounts": Table("accounts", columns={"id": "", "status": ""}, primary_key=("id",),
                                              indexes=[Index("accounts", (IndexKey("id"),), name="accounts_pkey",
                                                             primary=True, unique=True, origin="primary key")])})
    active = AccessPath("accounts", equality=("status",), constants=(("status", "'active'"),), order_by=(("id", False),))
    assert recommend(schema, [active]) == []


def test_an_index_leading_with_a_foreign_key_serves_a_lookup_that_adds_another_column():
    schema = Schema(tables={"interfaces": Table("interfaces", columns={c: "" for c in ("id", "device_id", "lag_id")},
                                                primary_key=("id",),
                                                indexes=[Index("interfaces", (IndexKey("device_id"),),
                                                               name="interfaces_device_id", origin="foreign key")])})
    lookup = AccessPath("interfaces", equality=("device_id", "lag_id"))
    top_n = AccessPath("interfaces", equality=("device_id",), order_by=(("lag_id", True),), limit=5)
    assert recommend(schema, [lookup]) == []
    assert [r.index.columns for r in recommend(schema, [top_n])] == [("device_id", "lag_id")]
