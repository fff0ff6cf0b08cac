-- Schema of the analytics database (PostgreSQL 15). Applied by the ops repository's migrations;
-- kept here so reviewers and `audit indexes` know the tables and their existing indexes.

CREATE TABLE plans (
    id          serial PRIMARY KEY,
    name        text NOT NULL UNIQUE,
    seat_limit  integer NOT NULL
);

CREATE TABLE users (
    id          bigserial PRIMARY KEY,
    email       text NOT NULL UNIQUE,
    full_name   text NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE accounts (
    id          bigserial PRIMARY KEY,
    name        text NOT NULL,
    owner_id    bigint NOT NULL REFERENCES users (id),
    plan_id     integer NOT NULL REFERENCES plans (id),
    currency    char(3) NOT NULL DEFAULT 'EUR',
    status      text NOT NULL DEFAULT 'active',
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX accounts_created_at_idx ON accounts (created_at);

CREATE TABLE account_settings (
    account_id      bigint PRIMARY KEY REFERENCES accounts (id),
    retention_days  integer NOT NULL DEFAULT 90
);

CREATE TABLE events (
    id           bigserial PRIMARY KEY,
    account_id   bigint NOT NULL REFERENCES accounts (id),
    user_id      bigint,
    event_type   text NOT NULL,
    properties   jsonb NOT NULL DEFAULT '{}',
    occurred_at  timestamptz NOT NULL
);
CREATE INDEX events_account_id_idx ON events (account_id);
CREATE INDEX events_account_occurred_idx ON events (account_id, occurred_at);

CREATE TABLE invoices (
    id            bigserial PRIMARY KEY,
    account_id    bigint NOT NULL REFERENCES accounts (id),
    status        text NOT NULL,
    amount_cents  bigint NOT NULL,
    issued_at     timestamptz NOT NULL
);

CREATE TABLE rollups (
    account_id  bigint NOT NULL REFERENCES accounts (id),
    period      text NOT NULL,
    bucket      timestamptz NOT NULL,
    total       bigint NOT NULL,
    PRIMARY KEY (account_id, period, bucket)
);

CREATE TABLE daily_rollups (
    account_id    bigint NOT NULL REFERENCES accounts (id),
    day           date NOT NULL,
    events        bigint NOT NULL,
    active_users  bigint NOT NULL,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE fx_rates (
    currency  char(3) NOT NULL,
    as_of     date NOT NULL,
    rate      numeric(12, 6) NOT NULL,
    PRIMARY KEY (currency, as_of)
);
