"""billing-service: customers, orders, invoices and payments on PostgreSQL (psycopg2, no ORM)."""
