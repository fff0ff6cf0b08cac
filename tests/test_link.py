"""Linking across files: chains as evidence, request handlers, nested source roots."""

from __future__ import annotations

from tests.conftest import found

HELPERS = {
    "app/db.py": """
        def run(cur, sql, params):
            cur.execute(sql, params)
            return cur.fetchall()
    """,
    "app/repo.py": """
        from app.db import run


        def fetch_deal(cur, deal_id):
            return run(cur, "SELECT id FROM deals WHERE id = %s", (deal_id,))
    """,
    "app/service.py": """
        from flask import Blueprint

        from app import repo

        bp = Blueprint("deals", __name__)


        @bp.get("/deals")
        def deals(cur, ids):
            return [repo.fetch_deal(cur, i) for i in ids]
    """,
}


def test_chain_through_two_helpers_is_the_evidence(scan):
    result = scan(HELPERS)
    assert found(result) == [("DB101", "app/service.py", 10)]
    finding = result.findings[0]
    assert finding.chain == [
        "app/service.py:10 comprehension over ids",
        "app/service.py:10 repo.fetch_deal()",
        "app/repo.py:5 run()",
        "app/db.py:2 cur.execute()",
    ]
    assert finding.context["request_path"] == ["app/service.py:9 deals() [@bp.get]"]
    assert finding.severity == "critical" and finding.priority == "P0"


def test_same_query_outside_a_request_path_ranks_lower(scan):
    files = dict(HELPERS)
    files["app/service.py"] = """
        from app import repo


        def deals(cur, ids):
            return [repo.fetch_deal(cur, i) for i in ids]
    """
    result = scan(files)
    assert found(result) == [("DB101", "app/service.py", 5)]
    assert result.findings[0].severity == "high"
    assert "request_path" not in result.findings[0].context


def test_imports_resolve_against_a_nested_source_root(scan):
    result = scan({
        "src/shop/models.py": """
            from django.db import models


            class Customer(models.Model):
                email = models.EmailField()


            class Order(models.Model):
                customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
        """,
        "src/shop/views.py": """
            from shop.models import Order


            def order_emails(request):
                return [o.customer.email for o in Order.objects.all()]
        """,
    })
    assert found(result) == [("DB102", "src/shop/views.py", 5)]


def test_django_url_conf_marks_views_as_handlers(scan):
    result = scan({
        "shop/urls.py": """
            from django.urls import path

            from shop import handlers

            urlpatterns = [path("stats/", handlers.stats)]
        """,
        "shop/handlers.py": """
            import psycopg2


            def stats(req):
                conn = psycopg2.connect("dbname=shop")
                try:
                    return conn.cursor().execute("SELECT 1")
                finally:
                    conn.close()
        """,
    })
    assert found(result) == [("DB201", "shop/handlers.py", 5)]
    assert result.findings[0].chain[0] == "shop/handlers.py:4 stats() [URL conf]"


def test_sqlite_query_in_loop_is_rated_low(scan):
    result = scan({
        "index.py": """
            import sqlite3


            def build(path, docs):
                con = sqlite3.connect(path)
                try:
                    for slug, body in docs:
                        con.execute("INSERT INTO docs VALUES (?, ?)", (slug, body))
                finally:
                    con.close()
        """,
    })
    assert found(result) == [("DB105", "index.py", 8)]
    assert result.findings[0].severity == "low"


TEST_CODE = {
    "app/jobs.py": """
        def load(cur, ids):
            for i in ids:
                cur.execute("SELECT id FROM t WHERE id = %s", (i,))
    """,
    "tests/test_jobs.py": """
        def test_many(cur):
            for i in range(50):
                cur.execute("INSERT INTO t VALUES (%s)", (i,))
    """,
}


def test_test_code_is_not_scanned_by_default(scan):
    result = scan(TEST_CODE)
    assert found(result) == [("DB101", "app/jobs.py", 3)]
    assert (result.metrics["files"], result.metrics["test_files_skipped"]) == (1, 1)
    assert result.metrics["test_findings_hidden"] == 0


def test_include_tests_reports_them(scan):
    from auditor.config import Config

    result = scan(TEST_CODE, config=Config(include_tests=True))
    assert found(result) == [("DB101", "app/jobs.py", 3), ("DB105", "tests/test_jobs.py", 3)]
    assert (result.metrics["files"], result.metrics["test_files_skipped"]) == (2, 0)
    assert result.metrics["test_findings_hidden"] == 0


def test_findings_in_migrations_are_hidden_like_tests(scan):
    result = scan({
        "app/alembic/versions/0001_backfill.py": """
            def upgrade(conn, rows):
                for row in rows:
                    conn.execute("UPDATE t SET x = 1 WHERE id = %s", (row.id,))
        """,
        "app/migrations/0002_data.py": """
            def forwards(cur, ids):
                for i in ids:
                    cur.execute("UPDATE t SET y = 2 WHERE id = %s", (i,))
        """,
        "app/utils/migrations/__init__.py": """
            def stamp_all(cur, ids):
                for i in ids:
                    cur.execute("UPDATE t SET z = 3 WHERE id = %s", (i,))
        """,
    })
    assert found(result) == [("DB105", "app/utils/migrations/__init__.py", 3)]
    assert result.metrics["test_findings_hidden"] == 2


def test_a_cached_helper_ends_the_chain(scan):
    result = scan({
        "app/config.py": """
            import functools


            @functools.lru_cache(maxsize=None)
            def get_config(cur, key):
                cur.execute("SELECT value FROM config WHERE key = %s", (key,))
                return cur.fetchone()
        """,
        "app/board.py": """
            from app.config import get_config


            def board(cur, standings):
                return [(s, get_config(cur, "hidden_scores")) for s in standings]
        """,
    })
    assert found(result) == []


def test_a_call_that_returns_out_of_the_loop_runs_once(scan):
    result = scan({
        "app/find.py": """
            def find(cur, keys, wanted):
                for key in keys:
                    if key == wanted:
                        cur.execute("SELECT id FROM t WHERE k = %s", (key,))
                        return cur.fetchone()
                for key in keys:
                    if key == wanted:
                        return fetch(cur, key)
                return [fetch(cur, k) for k in keys]


            def fetch(cur, key):
                cur.execute("SELECT id FROM t WHERE k = %s", (key,))
        """,
    })
    assert found(result) == [("DB101", "app/find.py", 4), ("DB101", "app/find.py", 9)]


def test_models_reexported_from_a_models_package_resolve(scan):
    result = scan({
        "users/models/__init__.py": """
            from .groups import *
            from .accounts import Account
        """,
        "users/models/groups.py": """
            from django.db import models


            class Group(models.Model):
                name = models.CharField(max_length=20)
        """,
        "users/models/accounts.py": """
            from django.db import models


            class Account(models.Model):
                email = models.EmailField()
        """,
        "users/sync.py": """
            from users.models import Account, Group


            def sync(names, emails):
                for name in names:
                    Group.objects.get(name=name)
                for email in emails:
                    Account.objects.filter(email=email).exists()
        """,
    })
    assert found(result, "DB103") == [("DB103", "users/sync.py", 6), ("DB103", "users/sync.py", 8)]


def test_a_materialised_queryset_is_not_queried_again(scan):
    result = scan({
        "app/models.py": """
            from django.db import models


            class Check(models.Model):
                code = models.CharField(max_length=20)
        """,
        "app/views.py": """
            from app.models import Check


            def pick(codes):
                available = list(Check.objects.all())
                return [[c for c in available if c.code == code] for code in codes]
        """,
    })
    assert found(result) == []


def test_code_reached_only_from_admin_pages_is_not_raised(scan):
    result = scan({
        "app/admin.py": """
            from flask import Blueprint

            from app.auth import admins_only

            admin = Blueprint("admin", __name__)


            @admin.route("/admin/reset", methods=["POST"])
            @admins_only
            def reset(cur, ids):
                for i in ids:
                    cur.execute("SELECT id FROM t WHERE id = %s", (i,))
        """,
    })
    assert found(result) == [("DB101", "app/admin.py", 12)]
    finding = result.findings[0]
    assert finding.severity == "high"
    assert finding.context["admin_request_path"] == ["app/admin.py:10 reset() [@admin.route]"]
