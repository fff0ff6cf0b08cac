"""The schema catalog from SQL DDL: tables, keys, indexes, dialect quirks, unreadable input."""

from __future__ import annotations

import textwrap

from auditor.sql.model import ForeignKey, IndexKey
from auditor.sql.schema_build import build_schema
from auditor.sql.schema_ddl import expression_text, normalize_predicate, split_statements


def ddl(sql: str, dialect: str = "postgres", path: str = "db/schema.sql", line: int = 1):
    return build_schema([], [(path, line, textwrap.dedent(sql).lstrip("\n"))], dialect)


def summary(table) -> list:
    """(name, keys with direction/opclass, unique, primary, where, include, method, origin, line)."""
    out = []
    for ix in table.indexes:
        keys = tuple(k.expr + (" DESC" if k.desc else "") + (f" {k.opclass}" if k.opclass else "")
                     for k in ix.keys)
        out.append((ix.name, keys, ix.unique, ix.primary, ix.where, ix.include, ix.method, ix.origin, ix.line))
    return out


SCHEMA_SQL = """
-- the shop schema
CREATE TABLE public.customers (
    id bigserial PRIMARY KEY,
    email varchar(200) NOT NULL UNIQUE,
    "Name" text
);

CREATE TABLE orders (
    id bigint GENERATED ALWAYS AS IDENTITY,
    customer_id bigint NOT NULL REFERENCES customers (id),
    status text NOT NULL DEFAULT 'new',
    created_at timestamptz NOT NULL,
    total numeric(12, 2),
    CONSTRAINT orders_pk PRIMARY KEY (id),
    UNIQUE (customer_id, created_at),
    FOREIGN KEY (customer_id) REFERENCES public.customers (id)
);

CREATE INDEX orders_status_created ON orders (status, created_at DESC) INCLUDE (total);
CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS customers_lower_email
    ON public.customers USING btree (lower(email) text_pattern_ops);
CREATE INDEX orders_pending ON orders (created_at) WHERE status = 'pending';
CREATE INDEX orders_old ON orders (total);
DROP INDEX IF EXISTS orders_old;
"""


def test_tables_keys_and_indexes_from_a_sql_file():
    schema = ddl(SCHEMA_SQL)
    assert list(schema.tables) == ["customers", "orders"]
    customers, orders = schema.tables["customers"], schema.tables["orders"]
    assert (customers.schema, customers.origin, customers.path, customers.line) == ("public", "ddl", "db/schema.sql", 2)
    assert customers.columns == {"id": "bigserial", "email": "varchar(200)", "Name": "text"}
    assert customers.primary_key == ("id",)
    assert summary(customers) == [
        ("customers_pkey", ("id",), True, True, "", (), "btree", "primary key", 2),
        ("customers_email_key", ("email",), True, False, "", (), "btree", "unique", 2),
        ("customers_lower_email", ("lower(email) text_pattern_ops",), True, False, "", (), "btree", "ddl", 20),
    ]
    assert customers.indexes[2].keys == (IndexKey("lower(email)", opclass="text_pattern_ops", is_expression=True),)
    assert list(orders.columns) == ["id", "customer_id", "status", "created_at", "total"]
    assert orders.columns["total"] == "decimal(12, 2)"
    assert orders.primary_key == ("id",)
    assert summary(orders) == [
        ("orders_pk", ("id",), True, True, "", (), "btree", "primary key", 8),
        ("orders_customer_id_created_at_key", ("customer_id", "created_at"), True, False, "", (), "btree", "unique", 8),
        ("orders_status_created", ("status", "created_at DESC"), False, False, "", ("total",), "btree", "ddl", 19),
        ("orders_pending", ("created_at",), False, False, "status = 'pending'", (), "btree", "ddl", 22),
    ]
    # PostgreSQL does not index foreign keys: the references are recorded, no index is added
    assert orders.foreign_keys == [ForeignKey(("customer_id",), "customers", ("id",))]
    assert schema.notes == []


def test_alter_table_statements_apply_in_order():
    schema = ddl("""
        CREATE TABLE accounts (id int, email text, legacy text);
        ALTER TABLE accounts ADD CONSTRAINT accounts_pkey PRIMARY KEY (id);
        ALTER TABLE accounts ADD COLUMN org_id int, ADD COLUMN plan text;
        ALTER TABLE accounts ADD CONSTRAINT accounts_org_fk FOREIGN KEY (org_id) REFERENCES orgs (id);
        ALTER TABLE accounts ADD UNIQUE (email);
        CREATE INDEX accounts_legacy ON accounts (legacy);
        ALTER TABLE accounts DROP COLUMN legacy;
        ALTER TABLE accounts RENAME COLUMN plan TO tier;
        CREATE INDEX accounts_tier ON accounts (tier);
        ALTER TABLE accounts RENAME TO users;
        ALTER INDEX accounts_tier RENAME TO users_tier;
        CREATE TABLE scratch (id int);
        DROP TABLE scratch;
    """)
    assert list(schema.tables) == ["users"]
    users = schema.tables["users"]
    assert users.columns == {"id": "int", "email": "text", "org_id": "int", "tier": "text"}
    assert users.primary_key == ("id",)
    assert summary(users) == [
        ("accounts_pkey", ("id",), True, True, "", (), "btree", "primary key", 2),
        ("accounts_email_key", ("email",), True, False, "", (), "btree", "unique", 5),
        ("users_tier", ("tier",), False, False, "", (), "btree", "ddl", 9),
    ]
    assert all(ix.table == "users" for ix in users.indexes)
    assert users.foreign_keys == [ForeignKey(("org_id",), "orgs", ("id",))]


def test_a_bad_statement_is_skipped_and_noted_the_rest_is_read():
    schema = ddl("""
        CREATE TABLE a (id int PRIMARY KEY);
        CREATE TABLE b (id int PRIMARY KEY oops nonsense (;
        CREATE INDEX a_id_desc ON a (id DESC);
        CREATE TABLE c (id int);
    """)
    assert list(schema.tables) == ["a", "c"]
    assert [ix.name for ix in schema.tables["a"].indexes] == ["a_pkey", "a_id_desc"]
    assert len(schema.notes) == 1
    path, message = schema.notes[0]
    assert path == "db/schema.sql"
    assert message.startswith("1 statement could not be parsed: line 2: ")
    assert "\n" not in message


def test_statement_lines_count_from_the_text_start_line():
    schema = ddl("CREATE TABLE t (id int);\n\n-- note\nCREATE INDEX t_id ON t (id);", path="app/setup.py", line=40)
    table = schema.tables["t"]
    assert (table.path, table.line) == ("app/setup.py", 40)
    assert (table.indexes[0].path, table.indexes[0].line) == ("app/setup.py", 43)


def test_templated_sql_is_noted_not_parsed():
    schema = ddl("CREATE TABLE {{ target }}.events (id int);\nCREATE INDEX e ON events (id);", path="models/events.sql")
    assert schema.tables == {}
    assert schema.notes == [("models/events.sql", "templated SQL (Jinja) not parsed")]


def test_semicolons_inside_strings_and_function_bodies_do_not_split():
    sql = """
        CREATE FUNCTION touch() RETURNS trigger AS $$ BEGIN NEW.at = now(); RETURN NEW; END; $$ LANGUAGE plpgsql;
        CREATE TABLE notes (id int, body text DEFAULT 'a;b');
        CREATE INDEX notes_body ON notes (body);
    """
    assert [stmt for _, stmt in split_statements(textwrap.dedent(sql))][1:] == [
        "CREATE TABLE notes (id int, body text DEFAULT 'a;b')", "CREATE INDEX notes_body ON notes (body)"]
    schema = ddl(sql)
    assert [ix.name for ix in schema.tables["notes"].indexes] == ["notes_body"]
    assert schema.notes == []


def test_drop_index_of_several_names_and_expression_keys():
    schema = ddl("""
        CREATE TABLE docs (id int, data jsonb, title text, body text);
        CREATE INDEX docs_key ON docs ((data ->> 'kind'), (title || body));
        CREATE INDEX docs_gin ON docs USING gin (body gin_trgm_ops);
        CREATE INDEX ON docs (title);
        CREATE INDEX docs_a ON docs (id); CREATE INDEX docs_b ON docs (title DESC);
        DROP INDEX CONCURRENTLY IF EXISTS docs_a, public.docs_b;
    """)
    assert summary(schema.tables["docs"]) == [
        ("docs_key", ("data ->> 'kind'", "title || body"), False, False, "", (), "btree", "ddl", 2),
        ("docs_gin", ("body gin_trgm_ops",), False, False, "", (), "gin", "ddl", 3),
        ("docs_title_idx", ("title",), False, False, "", (), "btree", "ddl", 4),
    ]
    assert [k.is_expression for k in schema.tables["docs"].indexes[0].keys] == [True, True]


def test_mysql_indexes_foreign_keys_itself():
    schema = ddl("""
        CREATE TABLE `orders` (
          id int AUTO_INCREMENT PRIMARY KEY,
          customer_id int NOT NULL,
          shop_id int NOT NULL,
          code varchar(40),
          KEY ix_shop_code (shop_id, code),
          UNIQUE KEY uq_code (code),
          CONSTRAINT fk_customer FOREIGN KEY (customer_id) REFERENCES customers (id),
          CONSTRAINT fk_shop FOREIGN KEY (shop_id) REFERENCES shops (id)
        ) ENGINE=InnoDB;
        CREATE INDEX ix_code_prefix ON orders (code(10));
    """, dialect="mysql")
    orders = schema.tables["orders"]
    assert summary(orders) == [
        ("PRIMARY", ("id",), True, True, "", (), "btree", "primary key", 1),
        ("ix_shop_code", ("shop_id", "code"), False, False, "", (), "btree", "ddl", 1),
        ("uq_code", ("code",), True, False, "", (), "btree", "unique", 1),
        # customer_id leads no index: InnoDB creates one, named after the constraint; shop_id
        # leads ix_shop_code: none
        ("fk_customer", ("customer_id",), False, False, "", (), "btree", "foreign key", 1),
        ("ix_code_prefix", ("code",), False, False, "", (), "btree", "ddl", 11),
    ]
    assert [fk.columns for fk in orders.foreign_keys] == [("customer_id",), ("shop_id",)]


def test_mysql_foreign_key_index_goes_when_a_later_index_leads_with_it():
    schema = ddl("""
        CREATE TABLE items (id int PRIMARY KEY, order_id int, FOREIGN KEY (order_id) REFERENCES orders (id));
        CREATE INDEX ix_order_pos ON items (order_id, id);
    """, dialect="mysql")
    assert [(ix.name, ix.columns, ix.origin) for ix in schema.tables["items"].indexes] == [
        ("PRIMARY", ("id",), "primary key"), ("ix_order_pos", ("order_id", "id"), "ddl")]


def test_mysql_names_unnamed_indexes_after_their_first_column():
    schema = ddl("CREATE TABLE t (a int, b int, UNIQUE (a), KEY (a, b), KEY (b));", dialect="mysql")
    assert [(ix.name, ix.columns) for ix in schema.tables["t"].indexes] == [
        ("a", ("a",)), ("a_2", ("a", "b")), ("b", ("b",))]


def test_mysql_names_follow_the_indexes_that_remain():
    # the unique key leads with c, so InnoDB makes no index of its own for the foreign key on c,
    # and the unique key takes the name "c"
    schema = ddl("CREATE TABLE s (id int PRIMARY KEY, c int, u int, FOREIGN KEY (c) REFERENCES x (id), "
                 "UNIQUE (c, u));", dialect="mysql")
    assert [(ix.name, ix.columns, ix.origin) for ix in schema.tables["s"].indexes] == [
        ("PRIMARY", ("id",), "primary key"), ("c", ("c", "u"), "unique")]


def test_pg_dump_output():
    schema = ddl("""
        SET statement_timeout = 0;
        CREATE FUNCTION public.touch() RETURNS trigger LANGUAGE plpgsql
            AS $$ BEGIN NEW.updated_at := now(); RETURN NEW; END; $$;
        CREATE TABLE public.users (
            id integer NOT NULL,
            email character varying(254) NOT NULL,
            meta jsonb DEFAULT '{}'::jsonb
        );
        ALTER TABLE public.users OWNER TO app;
        COPY public.users (id, email) FROM stdin;
        1	create table; drop index x
        \\.
        ALTER TABLE ONLY public.users
            ADD CONSTRAINT users_pkey PRIMARY KEY (id);
        CREATE UNIQUE INDEX users_lower_email ON public.users USING btree (lower((email)::text));
        CREATE INDEX users_email_trgm ON public.users USING gin (email public.gin_trgm_ops);
        CREATE INDEX users_meta ON public.users USING gin (meta jsonb_path_ops) WHERE (meta IS NOT NULL);
    """)
    users = schema.tables["users"]
    assert users.columns == {"id": "int", "email": "varchar(254)", "meta": "jsonb"}
    assert [(ix.name, ix.keys, ix.where, ix.method) for ix in users.indexes] == [
        ("users_pkey", (IndexKey("id"),), "", "btree"),
        # pg_dump spells lower(email) on a varchar column as lower((email)::text)
        ("users_lower_email", (IndexKey("lower(email)", is_expression=True),), "", "btree"),
        ("users_email_trgm", (IndexKey("email", opclass="gin_trgm_ops"),), "", "gin"),
        ("users_meta", (IndexKey("meta", opclass="jsonb_path_ops"),), "meta IS NOT NULL", "gin"),
    ]
    assert schema.notes == []


def test_a_reference_without_columns_means_the_primary_key():
    schema = ddl("CREATE TABLE orgs (code text PRIMARY KEY);\nCREATE TABLE teams (id int, org text REFERENCES orgs);")
    assert schema.tables["teams"].foreign_keys == [ForeignKey(("org",), "orgs", ("code",))]


def test_postgres_and_sqlite_do_not_index_foreign_keys():
    for dialect in ("postgres", "sqlite"):
        schema = ddl("CREATE TABLE items (id int PRIMARY KEY, order_id int REFERENCES orders (id));", dialect=dialect)
        assert [ix.origin for ix in schema.tables["items"].indexes] == ["primary key"]


def test_redshift_sort_and_dist_keys_are_recorded_and_there_are_no_indexes():
    schema = ddl("""
        CREATE TABLE events (
            id bigint PRIMARY KEY,
            user_id int DISTKEY,
            ts timestamp SORTKEY,
            kind varchar(20) ENCODE zstd
        );
        CREATE TABLE sales (id int, day date, region varchar(8)) DISTSTYLE KEY DISTKEY (id) COMPOUND SORTKEY (day, region);
        CREATE TABLE clicks (id int, day date, page int) INTERLEAVED SORTKEY (day, page);
        CREATE INDEX events_kind ON events (kind);
        ALTER TABLE sales ALTER SORTKEY (region);
    """, dialect="redshift")
    events, sales, clicks = schema.tables["events"], schema.tables["sales"], schema.tables["clicks"]
    assert events.columns == {"id": "bigint", "user_id": "integer", "ts": "timestamp", "kind": "varchar(20)"}
    assert events.primary_key == ("id",)  # informational on Redshift: no index
    assert summary(events) == [
        ("", ("ts",), False, False, "", (), "sortkey", "ddl", 1),
        ("", ("user_id",), False, False, "", (), "distkey", "ddl", 1),
    ]
    assert [(ix.method, ix.columns) for ix in sales.indexes] == [("distkey", ("id",)), ("sortkey", ("region",))]
    assert [(ix.method, ix.columns) for ix in clicks.indexes] == [("interleaved_sortkey", ("day", "page"))]
    assert schema.notes == [("db/schema.sql", "1 index ignored: redshift has no indexes (sort, dist and clustering keys instead)")]


def test_snowflake_clustering_keys_and_search_optimization():
    schema = ddl("""
        CREATE OR REPLACE TABLE analytics.public.events (id number, ts timestamp_ntz, kind string)
            CLUSTER BY (to_date(ts), kind);
        CREATE TABLE sessions (id number PRIMARY KEY, user_id number);
        ALTER TABLE sessions CLUSTER BY (user_id);
        ALTER TABLE sessions ADD SEARCH OPTIMIZATION ON EQUALITY(id, user_id);
    """, dialect="snowflake")
    events, sessions = schema.tables["events"], schema.tables["sessions"]
    assert events.schema == "public"
    assert [(ix.method, ix.columns, [k.is_expression for k in ix.keys]) for ix in events.indexes] == [
        ("cluster", ("to_date(ts)", "kind"), [True, False])]
    assert sessions.primary_key == ("id",)
    assert [(ix.method, ix.columns) for ix in sessions.indexes] == [
        ("cluster", ("user_id",)), ("search_optimization", ("id", "user_id"))]


def test_snowflake_drop_clustering_key():
    schema = ddl("CREATE TABLE t (a int) CLUSTER BY (a);\nALTER TABLE t DROP CLUSTERING KEY;", dialect="snowflake")
    assert schema.tables["t"].indexes == []


def test_normalisation_helpers_agree_with_what_the_catalog_stores():
    import sqlglot

    node = sqlglot.parse_one("SELECT LOWER(u.Email) FROM u", read="postgres").expressions[0]
    assert expression_text(node, "postgres") == "lower(email)"
    assert normalize_predicate("(status = 'a') or (deleted_at is null)", "postgres") == \
        "status = 'a' OR deleted_at IS NULL"


def test_same_input_gives_the_same_schema():
    texts = [("b.sql", 1, "CREATE TABLE b (id int PRIMARY KEY);"),
             ("a.sql", 1, "CREATE TABLE a (id int PRIMARY KEY); CREATE INDEX a_x ON a (id DESC);")]
    first = build_schema([], texts, "postgres")
    second = build_schema([], list(reversed(texts)), "postgres")
    assert first == second
    assert list(first.tables) == ["a", "b"]


def test_files_apply_in_natural_path_order():
    texts = [("migrations/V10__drop.sql", 1, "DROP INDEX t_a;"),
             ("migrations/V2__index.sql", 1, "CREATE INDEX t_a ON t (a);"),
             ("migrations/V1__init.sql", 1, "CREATE TABLE t (a int);")]
    schema = build_schema([], texts, "postgres")
    assert schema.tables["t"].indexes == []
