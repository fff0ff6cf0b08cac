"""Customer lookups."""
from billing.db import get_cursor


def get_customer(customer_id):
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, email, name, country, plan, created_at FROM customers WHERE id = %s",
            (customer_id,),
        )
        return cur.fetchone()


def find_customer_by_email(email):
    """Login and webhook matching: e-mail addresses are compared case-insensitively."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, name, plan FROM customers WHERE lower(email) = lower(%s)",
            (email,),
        )
        return cur.fetchone()


def autocomplete_customers(prefix, limit=20):
    """Type-ahead in the support console: names starting with what was typed."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, name, email FROM customers WHERE name LIKE %s ORDER BY name LIMIT %s",
            (prefix + "%", limit),
        )
        return cur.fetchall()


def search_customers(term):
    """Free-text search in the support console (name contains the term, any case)."""
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, name, email, country FROM customers "
            "WHERE name ILIKE '%%' || %s || '%%' ORDER BY name LIMIT 50",
            (term,),
        )
        return cur.fetchall()


def new_signups(country, since):
    with get_cursor() as cur:
        cur.execute(
            "SELECT id, name, plan, created_at FROM customers "
            "WHERE country = %s AND created_at >= %s ORDER BY created_at DESC",
            (country, since),
        )
        return cur.fetchall()
