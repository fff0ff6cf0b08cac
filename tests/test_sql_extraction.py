"""SQL out of Python (holes, constants, locals), access paths from SQL and ORM chains, notes."""

from __future__ import annotations

from auditor.config import Config
from auditor.extract import extract_facts
from auditor.sql.access import access_paths
from auditor.sql.parse import parse_statement, split_statements
from tests.conftest import scan_files


def _sql_texts(source: str) -> list:
    facts = extract_facts("app/q.py", source)
    return [(c.sql_text.line, c.sql_text.text, c.sql_text.built, c.sql_text.holes)
            for f in facts.functions for c in f.calls if c.sql_text is not None]


def test_fstring_percent_format_and_concat_holes():
    texts = _sql_texts('''
TABLE = "orders"


def f(cur, uid, name, col):
    cur.execute(f"SELECT id FROM {TABLE} WHERE owner = {uid}")
    cur.execute("SELECT id FROM users WHERE id = %s" % uid)
    cur.execute("SELECT id FROM users WHERE name = '{}'".format(name))
    cur.execute("SELECT id FROM users WHERE " + col + " = %s", (uid,))
'''.lstrip())
    assert texts == [
        (5, "SELECT id FROM orders WHERE owner = __audit_hole_1__", "fstring", [["input", "uid"]]),
        (6, "SELECT id FROM users WHERE id = __audit_hole_1__", "percent", [["input", "uid"]]),
        (7, "SELECT id FROM users WHERE name = '__audit_hole_1__'", "format", [["input", "name"]]),
        (8, "SELECT id FROM users WHERE __audit_hole_1__ = %s", "concat", [["input", "col"]]),
    ]


def test_sql_built_over_several_statements_keeps_its_first_line():
    texts = _sql_texts('''
def search(cur, status, owner):
    query = "SELECT id FROM tickets WHERE status = %s"
    if owner:
        query += " AND owner = %s"
    cur.execute(query, (status, owner))
'''.lstrip())
    assert texts == [(2, "SELECT id FROM tickets WHERE status = %s AND owner = %s", "", [])]


def test_placeholder_lists_numbers_and_literal_percent_are_not_input():
    texts = _sql_texts('''
def f(cur, ids, limit):
    marks = ",".join("?" * len(ids))
    cur.execute(f"SELECT id FROM t WHERE id IN ({marks}) LIMIT {int(limit)}", ids)
    cur.execute("SELECT id FROM t WHERE code LIKE 'A%%' AND id = %s" % (int(limit),))
'''.lstrip())
    assert [holes for _, _, _, holes in texts] == [
        [["placeholders", '",".join("?" * len(ids))'], ["number", "int(limit)"]],
        [["number", "int(limit)"]]]
    assert texts[1][1] == "SELECT id FROM t WHERE code LIKE 'A%' AND id = __audit_hole_1__"


def test_access_paths_classify_each_predicate():
    tree = parse_statement(
        "SELECT o.id, o.total FROM orders o JOIN customers c ON c.id = o.customer_id "
        "WHERE c.region = %s AND o.status = 'open' AND o.created_at >= now() - INTERVAL '7 days' "
        "AND lower(c.email) = %s AND c.name LIKE 'Ab%%' ORDER BY o.created_at DESC LIMIT 10", "postgres").tree
    paths = {p.table: p for p in access_paths(tree, None, "postgres")}
    orders, customers = paths["orders"], paths["customers"]
    assert (orders.equality, orders.ranges, orders.joins, orders.order_by, orders.limit, orders.constants) == (
        ("status",), ("created_at",), ("customer_id",), (("created_at", True),), 10, (("status", "'open'"),))
    assert (customers.equality, customers.ranges, customers.prefix_like, customers.joins, customers.expressions) == (
        ("region", "lower(email)"), ("name",), ("name",), ("id",), ("lower(email)",))
    assert orders.selected == ("created_at", "customer_id", "id", "status", "total")


def test_split_statements_reports_first_lines_and_ignores_semicolons_in_strings():
    script = "CREATE TABLE a (x text);\n\n-- a comment; still a comment\nINSERT INTO a VALUES (';');\n"
    assert split_statements(script, "postgres") == [
        (1, "CREATE TABLE a (x text)"), (4, "INSERT INTO a VALUES (';')")]


def test_imported_sql_constant_is_reported_where_it_is_written(tmp_path):
    result = scan_files(tmp_path, {
        "app/queries.py": 'ORDERS_OF = "SELECT * FROM orders WHERE customer_id = %s"\n',
        "app/repo.py": """
            from app import queries


            def orders_of(cur, customer_id):
                cur.execute(queries.ORDERS_OF, (customer_id,))
                return cur.fetchall()
        """,
    })
    assert [(f.rule, f.path, f.line, f.context.get("sent_from")) for f in result.findings] == [
        ("SQL103", "app/queries.py", 1, ["app/repo.py:5"])]


def test_unparsable_and_templated_sql_are_noted_not_fatal(tmp_path):
    result = scan_files(tmp_path, {
        "db/broken.sql": "SELECT id FROM t WHERE;\nSELECT * FROM t WHERE a LIKE '%x';\n",
        "models/dbt.sql": "SELECT * FROM {{ ref('orders') }}\n",
        "app.py": """
            def f(cur):
                cur.execute("SELECT id FROM t WHERE (")
        """,
    }, Config())
    notes = dict(result.notes)
    assert sorted(notes) == ["app.py", "db/broken.sql", "models/dbt.sql"]
    assert notes["app.py"].startswith("1 SQL statement could not be parsed (line 2: ")
    assert notes["db/broken.sql"].startswith("1 SQL statement could not be parsed (line 1: ")
    assert notes["models/dbt.sql"] == "1 templated SQL statement (Jinja/dbt) not analysed (line 1)"
    assert [(f.rule, f.path, f.line) for f in result.findings] == [("SQL102", "db/broken.sql", 2)]
    assert result.metrics["sql_unparsed"] == 2


def test_a_queryset_refined_later_is_one_access_path(tmp_path):
    result = scan_files(tmp_path, {
        "jobs/models.py": """
            from django.db import models


            class Job(models.Model):
                name = models.CharField(max_length=100)
                object_id = models.IntegerField()
        """,
        "jobs/queries.py": """
            from jobs.models import Job


            def jobs_for(name, object_id, **filters):
                jobs = Job.objects.filter(name=name)
                if object_id:
                    jobs = jobs.filter(object_id=object_id)
                unknown = Job.objects.get(**filters)
                return list(jobs), unknown
        """,
    })
    paths = [(p.table, p.equality) for p in result.sql.paths]
    assert paths == [("jobs_job", ("name", "object_id"))]
