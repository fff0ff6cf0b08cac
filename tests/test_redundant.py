"""Duplicate and prefix-covered indexes."""

from __future__ import annotations

from auditor.sql.model import Index, IndexKey, Schema, Table
from auditor.sql.redundant import normalize_sql, redundant_indexes


def ix(name, *keys, unique=False, primary=False, where="", method="btree", include=(), table="t"):
    parsed = []
    for key in keys:
        desc = key.endswith(" DESC")
        expr = key[:-5] if desc else key
        parsed.append(IndexKey(expr, desc=desc, is_expression="(" in expr))
    return Index(table, tuple(parsed), name=name, unique=unique, primary=primary, where=where, method=method,
                 include=tuple(include))


def found(*indexes, table="t"):
    schema = Schema(tables={table: Table(name=table, indexes=list(indexes))})
    return [(a.name, b.name, reason) for a, b, reason in redundant_indexes(schema)]


def names(*indexes):
    return [(a, b) for a, b, _ in found(*indexes)]


def test_exact_duplicate():
    assert found(ix("t_a_idx", "a", "b"), ix("t_a_idx1", "a", "b")) == [
        ("t_a_idx1", "t_a_idx", "duplicates t_a_idx: same keys (a, b)")]


def test_leading_prefix_is_covered():
    assert found(ix("t_a", "a"), ix("t_a_b", "a", "b")) == [
        ("t_a", "t_a_b", "its keys lead t_a_b (a, b), which serves the same lookups")]


def test_not_a_prefix():
    assert names(ix("t_b", "b"), ix("t_a_b", "a", "b")) == []
    assert names(ix("t_a_c", "a", "c"), ix("t_a_b_c", "a", "b", "c")) == []


def test_unique_index_is_never_redundant_to_a_wider_one():
    assert names(ix("t_a_key", "a", unique=True), ix("t_a_b", "a", "b")) == []
    assert names(ix("t_a_key", "a", unique=True), ix("t_a_b_key", "a", "b", unique=True)) == []


def test_plain_index_duplicating_a_unique_one_is_redundant():
    assert names(ix("t_a_idx", "a"), ix("t_a_key", "a", unique=True)) == [("t_a_idx", "t_a_key")]


def test_two_unique_indexes_with_the_same_keys():
    result = found(ix("t_a_key", "a", unique=True), ix("t_a_key1", "a", unique=True))
    assert result == [("t_a_key1", "t_a_key", "enforces the same uniqueness as t_a_key (a); "
                                               "drop the constraint, not only the index")]


def test_primary_key_is_never_the_redundant_one():
    assert names(ix("t_id_key", "id", unique=True), ix("t_pkey", "id", unique=True, primary=True)) == [
        ("t_id_key", "t_pkey")]
    assert names(ix("t_pkey", "id", primary=True, unique=True), ix("t_id_a", "id", "a")) == []


def test_primary_key_covers_a_plain_prefix():
    assert names(ix("t_pkey", "a", "b", unique=True, primary=True), ix("t_a", "a")) == [("t_a", "t_pkey")]


def test_partial_predicates_must_match():
    assert names(ix("t_a_p", "a", where="status = 'x'"), ix("t_a_b", "a", "b")) == []
    assert names(ix("t_a", "a"), ix("t_a_b_p", "a", "b", where="status = 'x'")) == []
    assert names(ix("t_a_p", "a", where="(status)::text = 'x'::text"),
                 ix("t_a_b_p", "a", "b", where="status = 'x'")) == [("t_a_p", "t_a_b_p")]


def test_methods_must_match():
    assert names(ix("t_a_hash", "a", method="hash"), ix("t_a", "a")) == []
    assert names(ix("t_a_hash", "a", method="hash"), ix("t_a_hash2", "a", method="hash")) == [
        ("t_a_hash2", "t_a_hash")]
    assert names(ix("t_a_gin", "a", method="gin"), ix("t_a_b_gin", "a", "b", method="gin")) == []


def test_expression_keys_compared_by_text():
    assert names(ix("t_lower", "lower(email)"), ix("t_lower2", "LOWER( email )")) == [("t_lower2", "t_lower")]
    assert names(ix("t_lower", "lower(email)"), ix("t_upper", "upper(email)")) == []


def test_directions():
    assert names(ix("t_a_desc", "a DESC"), ix("t_a_b", "a", "b")) == [("t_a_desc", "t_a_b")]
    assert names(ix("t_a_bd", "a", "b DESC"), ix("t_a_b_c", "a", "b", "c")) == []
    reverse = found(ix("t_ab", "a", "b"), ix("t_ab_desc", "a DESC", "b DESC"))
    assert reverse == [("t_ab_desc", "t_ab", "is t_ab (a, b) in reverse order: a B-tree is scanned in both "
                                              "directions")]


def test_include_columns_must_be_covered():
    assert names(ix("t_a_inc", "a", include=("c",)), ix("t_a_b", "a", "b")) == []
    assert names(ix("t_a_inc", "a", include=("c",)), ix("t_a_c", "a", "c")) == [("t_a_inc", "t_a_c")]
    assert names(ix("t_a", "a"), ix("t_a_inc", "a", include=("c",))) == [("t_a", "t_a_inc")]


def test_chain_points_at_the_index_that_stays():
    assert names(ix("t_a", "a"), ix("t_a_b", "a", "b"), ix("t_a_b_c", "a", "b", "c")) == [
        ("t_a", "t_a_b_c"), ("t_a_b", "t_a_b_c")]


def test_deterministic_order_across_tables():
    schema = Schema(tables={
        "z": Table(name="z", indexes=[ix("z_b", "b", table="z"), ix("z_b_c", "b", "c", table="z")]),
        "a": Table(name="a", indexes=[ix("a_2", "x", table="a"), ix("a_1", "x", table="a"),
                                      ix("a_0", "x", "y", table="a")]),
    })
    result = [(a.name, b.name) for a, b, _ in redundant_indexes(schema)]
    assert result == [("a_1", "a_0"), ("a_2", "a_0"), ("z_b", "z_b_c")]
    assert result == [(a.name, b.name) for a, b, _ in redundant_indexes(schema)]


def test_normalize_sql():
    assert normalize_sql("(status)::text = 'pending'::text") == normalize_sql("status = 'pending'")
    assert normalize_sql("LOWER((email)::text)") == normalize_sql("lower(email)")
    assert normalize_sql("a = 1 AND b = TRUE") == normalize_sql("a=1 and b=true")
    assert normalize_sql("created_at::date") != normalize_sql("created_at")


def test_warehouse_keys_are_not_indexes():
    assert names(ix("sk", "a", method="sortkey"), ix("sk2", "a", "b", method="sortkey"),
                 ix("ck", "a", method="cluster"), ix("ck2", "a", method="cluster")) == []


def test_unnamed_indexes_are_described():
    schema = Schema(tables={"t": Table(name="t", indexes=[ix("", "a"), ix("", "a", "b", unique=True)])})
    [(index, cover, reason)] = redundant_indexes(schema)
    assert reason == "its keys lead an unnamed unique index on t (a, b), which serves the same lookups"
