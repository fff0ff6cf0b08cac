-- Data for the billing_postgres benchmark workload (sample_projects/billing_postgres/schema.sql).
--
-- About 1.2 million rows, deterministic (setseed), with the skew a real billing database has:
--   * customers 1..10 are "hot" (large accounts): 15% of all orders and events;
--   * orders, invoices, payments and events span two years, ids grow with time;
--   * almost every order older than two days is 'done'; 'pending' is rare (recent orders, plus a
--     few stuck ones), 'open' invoices are the recent ones plus a few overdue;
--   * SKUs follow a popularity curve, 2% are pre-2023 'LEGACY-' SKUs.
-- Foreign keys are not checked during the load (session_replication_role = replica): the data
-- is generated consistent.

SELECT setseed(0.42);
SET session_replication_role = replica;
SET synchronous_commit = off;

-- customers: 20,000
INSERT INTO customers (id, email, name, country, plan, created_at)
SELECT g,
       'User' || g || '@' || (ARRAY['Example.com', 'Mail.net', 'Corp.io', 'Shop.org'])[1 + g % 4],
       (ARRAY['Northwind', 'Globex', 'Initech', 'Umbrella', 'Stark', 'Wayne', 'Acme', 'Hooli',
              'Vandelay', 'Soylent', 'Tyrell', 'Cyberdyne', 'Wonka', 'Gringotts', 'Oceanic',
              'Massive', 'Dunder', 'Pied', 'Prestige', 'Monarch', 'Aperture', 'Black Mesa',
              'Blue Sun', 'Bluth', 'Cogswell', 'Duff', 'Ewing', 'Gekko', 'Krusty', 'Lacuna',
              'Nakatomi', 'Ollivander', 'Paper Street', 'Quark', 'Rekall', 'Sirius', 'Spacely',
              'Virtucon', 'Weyland', 'Zorg'])[1 + floor(random() * 40)::int]
         || ' ' || (ARRAY['Labs', 'Logistics', 'Foods', 'Systems', 'Consulting', 'Media',
                          'Holdings', 'Retail', 'Energy', 'Health', 'Software', 'Travel'])[1 + floor(random() * 12)::int]
         || ' ' || g,
       CASE WHEN r < 0.35 THEN 'US' WHEN r < 0.45 THEN 'GB' WHEN r < 0.55 THEN 'DE' WHEN r < 0.63 THEN 'FR'
            ELSE (ARRAY['NL', 'SE', 'ES', 'IT', 'PL', 'CA', 'AU', 'BR', 'IN', 'JP', 'MX', 'CH'])[1 + floor(random() * 12)::int]
       END,
       CASE WHEN g <= 10 THEN 'enterprise' WHEN r2 < 0.6 THEN 'free' WHEN r2 < 0.9 THEN 'pro' ELSE 'enterprise' END,
       now() - interval '1095 days' * (1 - g / 20000.0) + interval '1 hour' * random()
FROM (SELECT g, random() AS r, random() AS r2 FROM generate_series(1, 20000) AS g) AS s;

-- accounts: a USD account per customer (id = customer id), EUR for every fifth customer
INSERT INTO accounts (id, customer_id, currency, balance_cents, status, created_at)
SELECT c.id, c.id, 'USD', floor(random() * 100000)::bigint,
       CASE WHEN random() < 0.02 THEN 'suspended' ELSE 'active' END, c.created_at
FROM customers c;
INSERT INTO accounts (id, customer_id, currency, balance_cents, status, created_at)
SELECT 20000 + c.id / 5, c.id, 'EUR', floor(random() * 100000)::bigint, 'active', c.created_at + interval '1 day'
FROM customers c WHERE c.id % 5 = 0;

-- orders: 200,000 over two years
INSERT INTO orders (id, customer_id, account_id, status, total_cents, currency, created_at, updated_at)
SELECT g, cust,
       CASE WHEN cust % 5 = 0 AND eur THEN 20000 + cust / 5 ELSE cust END,
       CASE
         WHEN age < interval '2 days' THEN
           CASE WHEN r < 0.3 THEN 'pending' WHEN r < 0.6 THEN 'paid' WHEN r < 0.9 THEN 'shipped' ELSE 'done' END
         WHEN age < interval '7 days' THEN
           CASE WHEN r < 0.02 THEN 'pending' WHEN r < 0.3 THEN 'shipped' WHEN r < 0.95 THEN 'done' ELSE 'cancelled' END
         ELSE
           CASE WHEN r < 0.003 THEN 'pending' WHEN r < 0.9 THEN 'done' WHEN r < 0.96 THEN 'cancelled'
                WHEN r < 0.99 THEN 'failed' ELSE 'shipped' END
       END,
       500 + floor(random() * 50000)::bigint,
       CASE WHEN cust % 5 = 0 AND eur THEN 'EUR' ELSE 'USD' END,
       now() - age, now() - age + interval '1 hour'
FROM (
  SELECT g,
         CASE WHEN random() < 0.15 THEN 1 + floor(random() * 10)::int
              ELSE 11 + floor(random() * 19990)::int END AS cust,
         random() < 0.3 AS eur,
         random() AS r,
         interval '730 days' * (1 - g / 200000.0) + interval '1 second' * floor(random() * 600) AS age
  FROM generate_series(1, 200000) AS g
) AS s;

-- order_items: 1-3 lines per order (about 400,000)
INSERT INTO order_items (order_id, sku, quantity, unit_cents)
SELECT o.id,
       CASE WHEN random() < 0.02 THEN 'LEGACY-' || lpad((1 + floor(random() * 300))::text, 4, '0')
            ELSE 'SKU-' || lpad((1 + floor(power(random(), 2) * 2000))::text, 5, '0') END,
       1 + floor(power(random(), 3) * 10)::int,
       100 + floor(random() * 20000)::bigint
FROM orders o, generate_series(1, 1 + (o.id % 3)::int) AS line
ORDER BY o.id, line;

-- invoices: one per billed order (paid / shipped / done), about 180,000
INSERT INTO invoices (order_id, customer_id, number, status, amount_cents, issued_at, due_at, paid_at)
SELECT o.id, o.customer_id,
       'INV-' || to_char(o.created_at, 'YYYY') || '-' || lpad(o.id::text, 7, '0'),
       st, o.total_cents,
       o.created_at + interval '10 minutes', o.created_at + interval '10 minutes' + interval '14 days',
       CASE WHEN st = 'paid' THEN least(o.created_at + interval '10 minutes' + interval '1 hour' * floor(random() * 200),
                                        now() - interval '1 minute') END
FROM (
  SELECT o.*,
         CASE WHEN o.created_at + interval '14 days' > now() THEN
                CASE WHEN random() < 0.6 THEN 'open' ELSE 'paid' END
              ELSE
                CASE WHEN random() < 0.006 THEN 'open' WHEN random() < 0.02 THEN 'void' ELSE 'paid' END
         END AS st
  FROM orders o
  WHERE o.status IN ('paid', 'shipped', 'done')
) AS o
ORDER BY o.id;

-- payments: a succeeded payment per paid invoice, a failed attempt before every 25th invoice
INSERT INTO payments (invoice_id, account_id, amount_cents, method, status, provider_ref, created_at)
SELECT invoice_id, account_id, amount_cents,
       CASE WHEN m < 0.8 THEN 'card' WHEN m < 0.95 THEN 'sepa' ELSE 'wire' END,
       kind, 'ch_' || substr(md5(invoice_id::text || kind), 1, 24), created_at
FROM (
  SELECT i.id AS invoice_id, o.account_id, i.amount_cents, k.kind, random() AS m,
         CASE WHEN k.kind = 'succeeded' THEN i.paid_at
              ELSE coalesce(i.paid_at, i.issued_at + interval '3 hours') - interval '1 hour' END AS created_at
  FROM invoices i
  JOIN orders o ON o.id = i.order_id
  CROSS JOIN LATERAL (
    SELECT 'succeeded' AS kind WHERE i.status = 'paid'
    UNION ALL
    SELECT 'failed' WHERE i.id % 25 = 0
  ) AS k
  WHERE i.status <> 'void'
) AS s
ORDER BY created_at, kind;

-- events: 250,000 over two years
INSERT INTO events (customer_id, type, payload, created_at)
SELECT cust,
       CASE WHEN t < 0.5 THEN 'login' WHEN t < 0.7 THEN 'order.created' WHEN t < 0.85 THEN 'invoice.paid'
            WHEN t < 0.9 THEN 'payment.failed' WHEN t < 0.95 THEN 'api_key.rotated' ELSE 'settings.changed' END,
       jsonb_build_object('ip', '10.0.' || (g % 256) || '.' || (g % 7), 'agent', 'web'),
       now() - interval '730 days' * (1 - g / 250000.0)
FROM (
  SELECT g, random() AS t,
         CASE WHEN random() < 0.15 THEN 1 + floor(random() * 10)::int
              ELSE 11 + floor(random() * 19990)::int END AS cust
  FROM generate_series(1, 250000) AS g
) AS s;

SET session_replication_role = DEFAULT;

SELECT setval(pg_get_serial_sequence('customers', 'id'), (SELECT max(id) FROM customers));
SELECT setval(pg_get_serial_sequence('accounts', 'id'), (SELECT max(id) FROM accounts));
SELECT setval(pg_get_serial_sequence('orders', 'id'), (SELECT max(id) FROM orders));
SELECT setval(pg_get_serial_sequence('order_items', 'id'), (SELECT max(id) FROM order_items));
SELECT setval(pg_get_serial_sequence('invoices', 'id'), (SELECT max(id) FROM invoices));
SELECT setval(pg_get_serial_sequence('payments', 'id'), (SELECT max(id) FROM payments));
SELECT setval(pg_get_serial_sequence('events', 'id'), (SELECT max(id) FROM events));
