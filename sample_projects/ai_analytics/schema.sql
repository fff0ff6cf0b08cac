-- PostgreSQL tables behind the dashboard (the warehouse tables live in Snowflake).
CREATE TABLE accounts (
    id bigint PRIMARY KEY,
    name text NOT NULL,
    plan text NOT NULL
);

CREATE TABLE usage_daily (
    account_id bigint NOT NULL REFERENCES accounts (id),
    day date NOT NULL,
    active_users integer NOT NULL,
    PRIMARY KEY (account_id, day)
);

CREATE TABLE revenue_monthly (
    account_id bigint NOT NULL REFERENCES accounts (id),
    month date NOT NULL,
    net_revenue numeric(12, 2) NOT NULL,
    PRIMARY KEY (account_id, month)
);
