-- billing-service schema (PostgreSQL 13+).
-- Applied by hand / by the deploy pipeline: psql "$DATABASE_URL" -f schema.sql

CREATE TABLE customers (
    id          bigserial PRIMARY KEY,
    email       text        NOT NULL,
    name        text        NOT NULL,
    country     char(2)     NOT NULL,
    plan        text        NOT NULL DEFAULT 'free',
    created_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT customers_email_key UNIQUE (email)
);

-- One account per customer and currency; orders and payments are booked on an account.
CREATE TABLE accounts (
    id             bigserial PRIMARY KEY,
    customer_id    bigint      NOT NULL REFERENCES customers (id),
    currency       char(3)     NOT NULL,
    balance_cents  bigint      NOT NULL DEFAULT 0,
    status         text        NOT NULL DEFAULT 'active',
    created_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT accounts_customer_currency_key UNIQUE (customer_id, currency)
);

-- status: pending -> paid -> shipped -> done, or cancelled / failed
CREATE TABLE orders (
    id           bigserial PRIMARY KEY,
    customer_id  bigint      NOT NULL REFERENCES customers (id),
    account_id   bigint      NOT NULL REFERENCES accounts (id),
    status       text        NOT NULL DEFAULT 'pending',
    total_cents  bigint      NOT NULL,
    currency     char(3)     NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE order_items (
    id          bigserial PRIMARY KEY,
    order_id    bigint  NOT NULL REFERENCES orders (id),
    sku         text    NOT NULL,
    quantity    integer NOT NULL CHECK (quantity > 0),
    unit_cents  bigint  NOT NULL
);

-- One invoice per billed order. status: open -> paid, or void
CREATE TABLE invoices (
    id            bigserial PRIMARY KEY,
    order_id      bigint      NOT NULL REFERENCES orders (id),
    customer_id   bigint      NOT NULL REFERENCES customers (id),
    number        text        NOT NULL,
    status        text        NOT NULL DEFAULT 'open',
    amount_cents  bigint      NOT NULL,
    issued_at     timestamptz NOT NULL,
    due_at        timestamptz NOT NULL,
    paid_at       timestamptz
);

-- Customer statements list a customer's invoices by issue date.
CREATE INDEX invoices_customer_id_idx ON invoices (customer_id);
CREATE INDEX invoices_customer_id_issued_at_idx ON invoices (customer_id, issued_at);

-- Payment attempts reported by the payment provider. status: succeeded | failed | refunded
CREATE TABLE payments (
    id            bigserial PRIMARY KEY,
    invoice_id    bigint      NOT NULL REFERENCES invoices (id),
    account_id    bigint      NOT NULL REFERENCES accounts (id),
    amount_cents  bigint      NOT NULL,
    method        text        NOT NULL,
    status        text        NOT NULL,
    provider_ref  text        NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);

-- Audit trail / activity feed.
CREATE TABLE events (
    id           bigserial PRIMARY KEY,
    customer_id  bigint      REFERENCES customers (id),
    type         text        NOT NULL,
    payload      jsonb       NOT NULL DEFAULT '{}',
    created_at   timestamptz NOT NULL DEFAULT now()
);
