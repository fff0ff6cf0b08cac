"""The schema catalog from ORM models: Django models and SQLAlchemy declarative classes and Core."""

from __future__ import annotations

import textwrap

from auditor.catalog import load_catalog
from auditor.extract import extract_facts
from auditor.orm_models import ModelCatalog
from auditor.repo_index import RepoIndex
from auditor.sql.model import ForeignKey, IndexKey
from auditor.sql.schema_build import build_schema
from auditor.sql.schema_django import django_index_name


def facts_of(files: dict) -> list:
    facts = [extract_facts(path, textwrap.dedent(source).lstrip("\n")) for path, source in files.items()]
    assert [f.error for f in facts if f.error] == []
    return facts


def schema_of(files: dict, dialect: str = "postgres", sql_texts: list | None = None):
    facts = facts_of(files)
    models = ModelCatalog(RepoIndex.build(facts), load_catalog([], []))
    return build_schema(facts, sql_texts or [], dialect, models)


def summary(table) -> list:
    """(name, keys with direction/opclass, unique, primary, where, origin, line) of each index."""
    out = []
    for ix in table.indexes:
        keys = tuple(k.expr + (" DESC" if k.desc else "") + (f" {k.opclass}" if k.opclass else "")
                     for k in ix.keys)
        out.append((ix.name, keys, ix.unique, ix.primary, ix.where, ix.origin, ix.line))
    return out


# ---------------------------------------------------------------------------- Django
DJANGO_SHOP = {
    "shop/orders/models.py": """
        from django.db import models
        from django.db.models.functions import Lower


        class Timestamped(models.Model):
            created = models.DateTimeField(auto_now_add=True, db_index=True)

            class Meta:
                abstract = True


        class Customer(Timestamped):
            email = models.EmailField(unique=True)
            name = models.CharField(max_length=80)

            class Meta:
                indexes = [models.Index(Lower("email"), name="customer_lower_email")]


        class Tag(models.Model):
            label = models.CharField(max_length=30, primary_key=True)


        class Order(Timestamped):
            customer = models.ForeignKey(Customer, on_delete=models.CASCADE)
            referrer = models.ForeignKey("Customer", on_delete=models.SET_NULL, null=True, db_index=False,
                                         related_name="+")
            status = models.CharField(max_length=10)
            code = models.CharField(max_length=12, db_column="order_code")
            tags = models.ManyToManyField(Tag)

            class Meta:
                db_table = "shop_order"
                indexes = [
                    models.Index(fields=["customer", "-created"], name="order_customer_recent",
                                 condition=models.Q(status="pending")),
                ]
                unique_together = ("customer", "code")
                constraints = [
                    models.UniqueConstraint(fields=["customer"], condition=models.Q(status="open"),
                                            name="one_open_order"),
                    models.CheckConstraint(check=models.Q(code__gt=""), name="code_set"),
                ]
    """,
}


def test_django_tables_columns_and_names():
    schema = schema_of(DJANGO_SHOP)
    assert list(schema.tables) == ["orders_customer", "orders_tag", "shop_order", "shop_order_tags"]
    customer = schema.tables["orders_customer"]
    assert (customer.model, customer.origin, customer.path, customer.line) == (
        "shop.orders.models.Customer", "django", "shop/orders/models.py", 12)
    # the implicit id first, then the abstract base's fields, then the model's own
    assert customer.columns == {"id": "", "created": "timestamp with time zone", "email": "varchar(254)",
                                "name": "varchar(80)"}
    assert customer.primary_key == ("id",)
    order = schema.tables["shop_order"]
    assert order.model == "shop.orders.models.Order"
    assert list(order.columns) == ["id", "created", "customer_id", "referrer_id", "status", "order_code"]
    assert order.foreign_keys == [ForeignKey(("customer_id",), "orders_customer", ("id",)),
                                  ForeignKey(("referrer_id",), "orders_customer", ("id",))]
    tag = schema.tables["orders_tag"]
    assert (tag.columns, tag.primary_key) == ({"label": "varchar(30)"}, ("label",))


def test_django_indexes():
    schema = schema_of(DJANGO_SHOP)
    assert summary(schema.tables["orders_customer"]) == [
        ("orders_customer_pkey", ("id",), True, True, "", "primary key", 12),
        ("orders_customer_created_549f9f6f", ("created",), False, False, "", "django", 6),
        ("orders_customer_email_key", ("email",), True, False, "", "unique", 13),
        # PostgreSQL: Django adds a pattern-ops twin for indexed and unique text columns
        ("orders_customer_email_b220de3f_like", ("email varchar_pattern_ops",), False, False, "", "django", 13),
        ("customer_lower_email", ("lower(email)",), False, False, "", "django", 12),
    ]
    assert schema.tables["orders_customer"].indexes[-1].keys == (IndexKey("lower(email)", is_expression=True),)
    assert summary(schema.tables["shop_order"]) == [
        ("shop_order_pkey", ("id",), True, True, "", "primary key", 24),
        ("shop_order_created_08bc3422", ("created",), False, False, "", "django", 6),
        # the ForeignKey's automatic index; db_index=False on referrer: none
        ("shop_order_customer_id_f638df20", ("customer_id",), False, False, "", "foreign key", 25),
        ("shop_order_customer_id_order_code_6a4abaf1_uniq", ("customer_id", "order_code"), True, False, "",
         "unique", 24),
        ("order_customer_recent", ("customer_id", "created DESC"), False, False, "status = 'pending'", "django", 24),
        ("one_open_order", ("customer_id",), True, False, "status = 'open'", "unique", 24),
    ]


def test_django_many_to_many_through_table():
    schema = schema_of(DJANGO_SHOP)
    through = schema.tables["shop_order_tags"]
    assert through.columns == {"id": "", "order_id": "", "tag_id": ""}
    assert through.primary_key == ("id",)
    assert through.foreign_keys == [ForeignKey(("order_id",), "shop_order", ("id",)),
                                    ForeignKey(("tag_id",), "orders_tag", ("label",))]
    assert summary(through) == [
        ("shop_order_tags_pkey", ("id",), True, True, "", "primary key", 30),
        ("shop_order_tags_order_id_5bb25cfa", ("order_id",), False, False, "", "foreign key", 30),
        ("shop_order_tags_tag_id_9a3f0a99", ("tag_id",), False, False, "", "foreign key", 30),
        ("shop_order_tags_order_id_tag_id_2fbdacc8_uniq", ("order_id", "tag_id"), True, False, "", "unique", 30),
    ]


def test_django_index_names_are_the_ones_django_generates():
    # names as Django's schema editor creates them (the tutorial's and django.contrib.auth's)
    assert django_index_name("polls_choice", ["question_id"]) == "polls_choice_question_id_c5b4b260"
    assert django_index_name("auth_user", ["username"], "_like") == "auth_user_username_6821ab7c_like"
    assert django_index_name("auth_group_permissions", ["group_id", "permission_id"], "_uniq") == \
        "auth_group_permissions_group_id_permission_id_0cd325b0_uniq"
    # too long for PostgreSQL's 63 bytes: both halves are cut to 26 characters
    assert django_index_name("inventory_warehouse_stock_movement", ["destination_location_id"]) == \
        "inventory_warehouse_stock__destination_location_id_d6620a8f"


def test_django_app_label_from_the_package_and_meta():
    schema = schema_of({
        "billing/models/invoice.py": """
            from django.db import models

            class Invoice(models.Model):
                number = models.SlugField()
                account = models.OneToOneField("accounts.Account", on_delete=models.CASCADE)
                owner = models.ForeignKey("auth.User", on_delete=models.CASCADE)
        """,
        "legacy/models.py": """
            from django.db import models

            class Thing(models.Model):
                id = models.BigAutoField(primary_key=True)
                parent = models.ForeignKey("self", on_delete=models.CASCADE, db_index=False)

                class Meta:
                    app_label = "core"
                    index_together = [["parent", "id"]]
        """,
    }, dialect="mysql")
    assert list(schema.tables) == ["billing_invoice", "core_thing"]
    invoice = schema.tables["billing_invoice"]
    assert invoice.columns == {"id": "", "number": "varchar(50)", "account_id": "", "owner_id": ""}
    assert invoice.foreign_keys == [ForeignKey(("account_id",), "accounts_account", ("id",)),
                                    ForeignKey(("owner_id",), "auth_user", ("id",))]
    # SlugField is indexed by default; OneToOne is unique; MySQL has no pattern-ops twin
    assert [(ix.columns, ix.unique, ix.origin) for ix in invoice.indexes] == [
        (("id",), True, "primary key"), (("number",), False, "django"), (("account_id",), True, "unique"),
        (("owner_id",), False, "foreign key")]
    thing = schema.tables["core_thing"]
    # a foreign key takes the type of the primary key it references
    assert (thing.primary_key, thing.columns) == (("id",), {"id": "bigint", "parent_id": "bigint"})
    # db_index=False, but InnoDB indexes the foreign key unless an index leads with it: here one does
    assert [(ix.columns, ix.origin) for ix in thing.indexes] == [
        (("id",), "primary key"), (("parent_id", "id"), "django")]


def test_django_multi_table_inheritance_and_proxy_models():
    schema = schema_of({
        "places/models.py": """
            from django.db import models

            class Place(models.Model):
                name = models.CharField(max_length=50)

            class Restaurant(Place):
                serves_pizza = models.BooleanField(default=False)

            class PlaceProxy(Place):
                class Meta:
                    proxy = True
        """,
    })
    assert list(schema.tables) == ["places_place", "places_restaurant"]
    restaurant = schema.tables["places_restaurant"]
    assert restaurant.columns == {"place_ptr_id": "", "serves_pizza": "boolean"}
    assert restaurant.primary_key == ("place_ptr_id",)
    assert restaurant.foreign_keys == [ForeignKey(("place_ptr_id",), "places_place", ("id",))]


def test_django_model_and_ddl_declaring_the_same_index_are_merged():
    sql = "CREATE INDEX shop_order_customer ON shop_order (customer_id);\nCREATE INDEX extra ON shop_order (status);"
    schema = schema_of(DJANGO_SHOP, sql_texts=[("db/extra.sql", 1, sql)])
    order = schema.tables["shop_order"]
    assert (order.origin, order.path) == ("django", "shop/orders/models.py")
    fk_indexes = [ix for ix in order.indexes if ix.columns == ("customer_id",) and not ix.unique]
    assert [(ix.origin, ix.path) for ix in fk_indexes] == [("foreign key", "shop/orders/models.py")]
    assert [(ix.name, ix.origin, ix.path, ix.line) for ix in order.indexes if ix.columns == ("status",)] == [
        ("extra", "ddl", "db/extra.sql", 2)]


def test_django_runsql_in_migrations():
    schema = schema_of({
        **DJANGO_SHOP,
        "shop/orders/migrations/0002_trgm.py": """
            from django.db import migrations

            class Migration(migrations.Migration):
                dependencies = [("orders", "0001_initial")]
                operations = [
                    migrations.RunSQL(
                        "CREATE INDEX CONCURRENTLY order_status_trgm ON shop_order USING gin (status gin_trgm_ops);",
                        reverse_sql="DROP INDEX order_status_trgm;",
                    ),
                ]
        """,
    })
    added = [ix for ix in schema.tables["shop_order"].indexes if ix.name == "order_status_trgm"]
    assert [(ix.method, ix.keys, ix.origin, ix.path, ix.line) for ix in added] == [
        ("gin", (IndexKey("status", opclass="gin_trgm_ops"),), "django", "shop/orders/migrations/0002_trgm.py", 5)]


# ---------------------------------------------------------------------------- SQLAlchemy
SQLALCHEMY_APP = {
    "app/db.py": """
        from sqlalchemy.orm import DeclarativeBase

        class Base(DeclarativeBase):
            pass
    """,
    "app/models.py": """
        from datetime import datetime
        from typing import Optional

        from sqlalchemy import Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint, text
        from sqlalchemy.orm import Mapped, mapped_column, relationship

        from app.db import Base


        class TimestampMixin:
            created_at = Column("created", Integer, index=True)


        class User(TimestampMixin, Base):
            __tablename__ = "users"
            __table_args__ = (
                Index("ix_users_lower_email", text("lower(email)"), unique=True),
                UniqueConstraint("org_id", "handle", name="uq_users_org_handle"),
                {"schema": "auth"},
            )

            id: Mapped[int] = mapped_column(primary_key=True)
            email: Mapped[str] = mapped_column(String(200))
            handle: Mapped[Optional[str]]
            org_id: Mapped[int] = mapped_column(ForeignKey("orgs.id"), index=True)
            posts: Mapped[list["Post"]] = relationship(back_populates="author")


        class Post(Base):
            __tablename__ = "posts"
            __table_args__ = {"schema": "blog"}

            id = Column(Integer, primary_key=True)
            author_id = Column(Integer, ForeignKey(User.id), nullable=False)
            slug = Column(String(80), unique=True)
            title: Mapped[str] = mapped_column(String(120), index=True)
            author: Mapped["User"] = relationship(back_populates="posts")


        tags = Table(
            "tags",
            Base.metadata,
            Column("id", Integer, primary_key=True),
            Column("name", String(40), nullable=False),
            Index("ix_tags_name", "name", postgresql_using="hash"),
        )

        Index("ix_posts_author_recent", Post.author_id, Post.id.desc(), postgresql_where=text("title IS NOT NULL"))
        Index("ix_tags_id_name", tags.c.id, tags.c.name)
    """,
}


def test_sqlalchemy_declarative_tables_and_columns():
    schema = schema_of(SQLALCHEMY_APP)
    assert list(schema.tables) == ["posts", "tags", "users"]
    users = schema.tables["users"]
    assert (users.schema, users.model, users.origin, users.path, users.line) == (
        "auth", "app.models.User", "sqlalchemy", "app/models.py", 14)
    # mixin columns first; annotation-only ``handle: Mapped[Optional[str]]`` is a column; the
    # relationship is not
    assert users.columns == {"created": "integer", "id": "integer", "email": "varchar(200)", "handle": "varchar",
                             "org_id": "integer"}
    assert users.primary_key == ("id",)
    assert users.foreign_keys == [ForeignKey(("org_id",), "orgs", ("id",))]
    posts = schema.tables["posts"]
    assert (posts.schema, posts.model) == ("blog", "app.models.Post")
    assert posts.columns == {"id": "integer", "author_id": "integer", "slug": "varchar(80)", "title": "varchar(120)"}
    assert posts.foreign_keys == [ForeignKey(("author_id",), "users", ("id",))]


def test_sqlalchemy_indexes():
    schema = schema_of(SQLALCHEMY_APP)
    assert summary(schema.tables["users"]) == [
        ("users_pkey", ("id",), True, True, "", "primary key", 22),
        ("ix_users_created", ("created",), False, False, "", "sqlalchemy", 11),
        ("ix_users_org_id", ("org_id",), False, False, "", "sqlalchemy", 25),
        ("ix_users_lower_email", ("lower(email)",), True, False, "", "sqlalchemy", 14),
        ("uq_users_org_handle", ("org_id", "handle"), True, False, "", "unique", 14),
    ]
    assert schema.tables["users"].indexes[3].keys[0].is_expression
    assert summary(schema.tables["posts"]) == [
        ("posts_pkey", ("id",), True, True, "", "primary key", 33),
        ("posts_slug_key", ("slug",), True, False, "", "unique", 35),
        ("ix_posts_title", ("title",), False, False, "", "sqlalchemy", 36),
        ("ix_posts_author_recent", ("author_id", "id DESC"), False, False, "title IS NOT NULL", "sqlalchemy", 48),
    ]
    tags = schema.tables["tags"]
    assert (tags.model, tags.columns, tags.primary_key) == ("", {"id": "integer", "name": "varchar(40)"}, ("id",))
    assert [(ix.name, ix.columns, ix.method, ix.line) for ix in tags.indexes] == [
        ("tags_pkey", ("id",), "btree", 40), ("ix_tags_name", ("name",), "hash", 40),
        ("ix_tags_id_name", ("id", "name"), "btree", 49)]


def test_flask_sqlalchemy_default_table_names_and_single_table_inheritance():
    schema = schema_of({
        "app/extensions.py": """
            from flask_sqlalchemy import SQLAlchemy

            db = SQLAlchemy()
        """,
        "app/models.py": """
            from app.extensions import db


            class UserProfile(db.Model):
                id = db.Column(db.Integer, primary_key=True)
                kind = db.Column(db.String(20))
                bio = db.Column("biography", db.Text, nullable=True)


            class AdminProfile(UserProfile):
                level = db.Column(db.Integer, index=True)


            class AuditEntry(db.Model):
                __tablename__ = "audit_log"
                __table_args__ = (db.Index("ix_audit_at", "at", postgresql_where=db.text("at IS NOT NULL")),)
                id = db.Column(db.Integer, primary_key=True)
                at = db.Column(db.DateTime(timezone=True))
        """,
    })
    assert list(schema.tables) == ["audit_log", "user_profile"]
    profile = schema.tables["user_profile"]
    # single-table inheritance: the subclass's column lives in its parent's table
    assert profile.columns == {"id": "integer", "kind": "varchar(20)", "biography": "text", "level": "integer"}
    assert profile.model == "app.models.UserProfile"
    assert [(ix.name, ix.columns) for ix in profile.indexes] == [
        ("user_profile_pkey", ("id",)), ("ix_user_profile_level", ("level",))]
    audit = schema.tables["audit_log"]
    assert audit.columns == {"id": "integer", "at": "timestamp with time zone"}
    assert [(ix.name, ix.columns, ix.where) for ix in audit.indexes] == [
        ("audit_log_pkey", ("id",), ""), ("ix_audit_at", ("at",), "at IS NOT NULL")]


def test_declarative_base_function_and_abstract_classes():
    schema = schema_of({
        "app/models.py": """
            import sqlalchemy as sa
            from sqlalchemy.orm import declarative_base

            Base = declarative_base()


            class Model(Base):
                __abstract__ = True
                id = sa.Column(sa.BigInteger, primary_key=True)


            class Event(Model):
                __tablename__ = "events"
                kind = sa.Column(sa.String(30), nullable=False)
                payload = sa.orm.deferred(sa.Column(sa.JSON))
                __table_args__ = (sa.Index("ix_events_kind", "kind", postgresql_ops={"kind": "text_pattern_ops"}),)
        """,
    })
    assert list(schema.tables) == ["events"]
    events = schema.tables["events"]
    assert events.columns == {"id": "bigint", "kind": "varchar(30)", "payload": "json"}
    assert [(ix.name, ix.keys) for ix in events.indexes] == [
        ("events_pkey", (IndexKey("id"),)), ("ix_events_kind", (IndexKey("kind", opclass="text_pattern_ops"),))]


def test_sqlalchemy_function_keys_and_python_conditions():
    schema = schema_of({
        "app/models.py": """
            from sqlalchemy import Boolean, Column, DateTime, Index, Integer, String, func
            from sqlalchemy.orm import declarative_base

            Base = declarative_base()


            class Account(Base):
                __tablename__ = "accounts"
                id = Column(Integer, primary_key=True)
                email = Column(String(200))
                active = Column(Boolean)
                deleted_at = Column(DateTime)


            Index("ix_accounts_live_email", func.lower(Account.email), postgresql_where=Account.deleted_at.is_(None))
            Index("ix_accounts_active", Account.id, postgresql_where=(Account.active == True) & (Account.id > 10))
        """,
    })
    accounts = schema.tables["accounts"]
    assert [(ix.name, ix.keys, ix.where, ix.line) for ix in accounts.indexes] == [
        ("accounts_pkey", (IndexKey("id"),), "", 9),
        ("ix_accounts_live_email", (IndexKey("lower(email)", is_expression=True),), "deleted_at IS NULL", 15),
        ("ix_accounts_active", (IndexKey("id"),), "active = TRUE AND id > 10", 16),
    ]


def test_models_only_in_an_unparsed_module_are_skipped():
    facts = facts_of(SQLALCHEMY_APP)
    broken = extract_facts("app/broken.py", "class (:\n")
    assert broken.error
    schema = build_schema(facts + [broken], [], "postgres")  # no ModelCatalog given: built here
    assert list(schema.tables) == ["posts", "tags", "users"]


def test_same_models_in_any_order_give_the_same_schema():
    facts = facts_of({**DJANGO_SHOP, **SQLALCHEMY_APP})
    first = build_schema(facts, [], "postgres")
    second = build_schema(list(reversed(facts)), [], "postgres")
    assert first == second
    assert list(first.tables) == sorted(first.tables)


def test_sqlalchemy_redshift_and_snowflake_table_options():
    files = {
        "app/models.py": """
            from sqlalchemy import Column, Integer, MetaData, String, Table
            from sqlalchemy.orm import declarative_base

            Base = declarative_base()


            class Event(Base):
                __tablename__ = "events"
                __table_args__ = {"redshift_distkey": "user_id", "redshift_sortkey": ("day", "kind")}
                id = Column(Integer, primary_key=True)
                user_id = Column(Integer, index=True)
                day = Column(Integer)
                kind = Column(String(20))


            clicks = Table("clicks", MetaData(), Column("id", Integer), Column("at", Integer),
                           snowflake_clusterby=["at"])
        """,
    }
    events = schema_of(files, dialect="redshift").tables["events"]
    assert events.primary_key == ("id",)
    assert [(ix.method, ix.columns) for ix in events.indexes] == [("sortkey", ("day", "kind")), ("distkey", ("user_id",))]
    clicks = schema_of(files, dialect="snowflake").tables["clicks"]
    assert [(ix.method, ix.columns) for ix in clicks.indexes] == [("cluster", ("at",))]
