"""The schema catalog from Alembic migrations: upgrade() only, in revision order."""

from __future__ import annotations

import textwrap

from auditor.extract import extract_facts
from auditor.sql.model import ForeignKey, IndexKey
from auditor.sql.schema_alembic import revision_order
from auditor.sql.schema_build import build_schema


def facts_of(files: dict) -> list:
    facts = [extract_facts(path, textwrap.dedent(source).lstrip("\n")) for path, source in files.items()]
    assert [f.error for f in facts if f.error] == []
    return facts


def schema_of(files: dict, dialect: str = "postgres"):
    return build_schema(facts_of(files), [], dialect)


# The file names sort opposite to the revision chain: order must come from down_revision.
MIGRATIONS = {
    "alembic/versions/1f0c_add_indexes.py": """
        \"\"\"add indexes\"\"\"
        import sqlalchemy as sa
        from alembic import op

        revision = "1f0c"
        down_revision = "9ab1"


        def upgrade():
            op.drop_index("ix_users_name", table_name="users")
            op.create_index(op.f("ix_users_lower_email"), "users", [sa.text("lower(email)")], unique=True)
            op.create_index("ix_orders_pending", "orders", ["user_id", sa.text("created_at DESC")],
                            postgresql_where=sa.text("status = 'pending'"), postgresql_include=["total"])
            op.execute("CREATE INDEX CONCURRENTLY orders_total ON orders (total)")
            op.add_column("users", sa.Column("plan", sa.String(length=20), nullable=True))
            op.create_unique_constraint("uq_users_plan_email", "users", ["plan", "email"])


        def downgrade():
            op.drop_index("ix_orders_pending", table_name="orders")
            op.drop_table("users")
    """,
    "alembic/versions/9ab1_initial.py": """
        \"\"\"initial\"\"\"
        import sqlalchemy as sa
        from alembic import op

        revision = "9ab1"
        down_revision = None


        def upgrade():
            op.create_table(
                "users",
                sa.Column("id", sa.Integer(), nullable=False),
                sa.Column("email", sa.String(length=255), nullable=False),
                sa.Column("name", sa.String(length=80), nullable=True),
                sa.PrimaryKeyConstraint("id"),
            )
            op.create_index("ix_users_name", "users", ["name"])
            op.create_table(
                "orders",
                sa.Column("id", sa.BigInteger(), primary_key=True),
                sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id"), nullable=False, index=True),
                sa.Column("status", sa.String(20)),
                sa.Column("created_at", sa.DateTime(timezone=True)),
                sa.Column("total", sa.Numeric(10, 2)),
                schema="sales",
            )


        def downgrade():
            op.drop_table("orders")
            op.drop_table("users")
    """,
}


def test_migrations_apply_in_revision_order():
    schema = schema_of(MIGRATIONS)
    assert list(schema.tables) == ["orders", "users"]
    users = schema.tables["users"]
    assert (users.origin, users.path, users.line) == ("alembic", "alembic/versions/9ab1_initial.py", 10)
    assert users.columns == {"id": "integer", "email": "varchar(255)", "name": "varchar(80)", "plan": "varchar(20)"}
    assert users.primary_key == ("id",)
    # ix_users_name was created by 9ab1 and dropped by 1f0c, which comes after it
    assert [(ix.name, ix.keys, ix.unique, ix.origin, ix.path, ix.line) for ix in users.indexes] == [
        ("users_pkey", (IndexKey("id"),), True, "primary key", "alembic/versions/9ab1_initial.py", 10),
        ("ix_users_lower_email", (IndexKey("lower(email)", is_expression=True),), True, "alembic",
         "alembic/versions/1f0c_add_indexes.py", 11),
        ("uq_users_plan_email", (IndexKey("plan"), IndexKey("email")), True, "unique",
         "alembic/versions/1f0c_add_indexes.py", 16),
    ]


def test_create_table_columns_keys_and_create_index_options():
    orders = schema_of(MIGRATIONS).tables["orders"]
    assert orders.schema == "sales"
    assert orders.columns == {"id": "bigint", "user_id": "integer", "status": "varchar(20)",
                              "created_at": "timestamp with time zone", "total": "numeric(10, 2)"}
    assert orders.foreign_keys == [ForeignKey(("user_id",), "users", ("id",))]
    assert [(ix.name, ix.keys, ix.where, ix.include, ix.origin, ix.line) for ix in orders.indexes] == [
        ("orders_pkey", (IndexKey("id"),), "", (), "primary key", 18),
        ("ix_orders_user_id", (IndexKey("user_id"),), "", (), "alembic", 18),
        ("ix_orders_pending", (IndexKey("user_id"), IndexKey("created_at", desc=True)), "status = 'pending'",
         ("total",), "alembic", 12),
        # op.execute DDL goes through the SQL parser
        ("orders_total", (IndexKey("total"),), "", (), "alembic", 14),
    ]


def test_revision_order_follows_down_revision_not_paths():
    facts = facts_of(MIGRATIONS)
    assert [f.constants["revision"] for f in revision_order(facts)] == ["9ab1", "1f0c"]


def test_merge_revision_goes_after_its_branches():
    files = {
        f"migrations/versions/{name}.py": f"""
            from alembic import op
            revision = "{name}"
            down_revision = {down}
            def upgrade():
                op.create_index("ix_{name}", "t", ["c_{name}"])
        """
        for name, down in [("a", "None"), ("b", '"a"'), ("c", '"a"'), ("0merge", '("b", "c")')]
    }
    facts = facts_of(files)
    assert [f.constants["revision"] for f in revision_order(facts)] == ["a", "b", "c", "0merge"]


def test_batch_operations_and_other_ops():
    schema = schema_of({
        "migrations/versions/0001.py": """
            import sqlalchemy as sa
            from alembic import op

            revision = "0001"
            down_revision = None


            def upgrade():
                op.create_table("accounts", sa.Column("id", sa.Integer(), primary_key=True),
                                sa.Column("email", sa.String(100)), sa.Column("old", sa.Text()))
                with op.batch_alter_table("accounts", schema=None) as batch_op:
                    batch_op.create_index(batch_op.f("ix_accounts_email"), ["email"], unique=False)
                    batch_op.alter_column("email", new_column_name="login")
                    batch_op.drop_column("old")
                op.create_foreign_key("fk_accounts_org", "accounts", "orgs", ["org_id"], ["id"])
                op.add_column("accounts", sa.Column("org_id", sa.Integer(), nullable=True))
                op.rename_table("accounts", "members")
                op.create_index("ix_members_gone", "members", ["login"], postgresql_using="hash")
                op.drop_constraint("ix_members_gone", "members")
        """,
    })
    members = schema.tables["members"]
    assert members.columns == {"id": "integer", "login": "varchar(100)", "org_id": "integer"}
    assert [(ix.name, ix.columns, ix.table) for ix in members.indexes] == [
        ("accounts_pkey", ("id",), "members"),  # a renamed table keeps its constraint names
        ("ix_accounts_email", ("login",), "members"),
    ]
    assert members.foreign_keys == [ForeignKey(("org_id",), "orgs", ("id",))]


def test_only_upgrade_counts():
    schema = schema_of({
        "db/migrations/versions/0002.py": """
            from alembic import op

            revision = "0002"
            down_revision = None


            def upgrade():
                op.create_index("ix_t_a", "t", ["a"])


            def downgrade():
                op.drop_index("ix_t_a", table_name="t")
                op.create_index("ix_t_b", "t", ["b"])
        """,
    })
    assert [ix.name for ix in schema.tables["t"].indexes] == ["ix_t_a"]


def test_mysql_alembic_foreign_key_gets_an_index():
    schema = schema_of({
        "alembic/versions/0003.py": """
            import sqlalchemy as sa
            from alembic import op

            revision = "0003"
            down_revision = None


            def upgrade():
                op.create_table("items", sa.Column("id", sa.Integer(), primary_key=True),
                                sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id")))
        """,
    }, dialect="mysql")
    assert [(ix.columns, ix.origin) for ix in schema.tables["items"].indexes] == [
        (("id",), "primary key"), (("order_id",), "foreign key")]


def test_operations_called_with_keywords():
    schema = schema_of({
        "alembic/versions/0004.py": """
            import sqlalchemy as sa
            from alembic import op

            revision = "0004"
            down_revision = None


            def upgrade():
                op.create_table("events", sa.Column("id", sa.Integer(), primary_key=True),
                                sa.Column("at", sa.DateTime()))
                op.alter_column(table_name="events", column_name="at", type_=sa.DateTime(timezone=True))
                op.create_index(index_name="ix_events_at", table_name="events", columns=["at"], unique=False)
                op.add_column(table_name="events", column=sa.Column("kind", sa.String(20), index=True))
        """,
    })
    events = schema.tables["events"]
    assert events.columns == {"id": "integer", "at": "timestamp with time zone", "kind": "varchar(20)"}
    assert [(ix.name, ix.columns) for ix in events.indexes] == [
        ("events_pkey", ("id",)), ("ix_events_at", ("at",)), ("ix_events_kind", ("kind",))]
