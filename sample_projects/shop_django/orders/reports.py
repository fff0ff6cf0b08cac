from datetime import timedelta
from decimal import Decimal

from django.db import connection
from django.db.models import Sum
from django.utils import timezone

from .models import Order

CATEGORY_REVENUE_SQL = """
    SELECT COALESCE(SUM(oi.quantity * oi.unit_price), 0)
    FROM orders_orderitem oi
    JOIN orders_product p ON p.id = oi.product_id
    JOIN orders_order o ON o.id = oi.order_id
    WHERE p.category_id = %s AND o.status IN ('paid', 'shipped')
"""

TOP_CUSTOMERS_SQL = """
    SELECT c.id, c.email, SUM(o.total) AS spent
    FROM orders_customer c
    JOIN orders_order o ON o.customer_id = c.id
    WHERE o.status IN ('paid', 'shipped')
    GROUP BY c.id, c.email
    ORDER BY spent DESC
    LIMIT %s
"""


def order_status_counts():
    counts = {}
    for status in ("new", "paid", "shipped"):
        counts[status] = Order.objects.filter(status=status).count()
    return counts


def revenue_last_three_months():
    now = timezone.now()
    buckets = []
    for months_back in range(3):
        end = now - timedelta(days=30 * months_back)
        start = end - timedelta(days=30)
        revenue = Order.objects.filter(
            created_at__gte=start,
            created_at__lt=end,
            status__in=[Order.Status.PAID, Order.Status.SHIPPED],
        ).aggregate(total=Sum("total"))["total"]
        buckets.append({"start": start.date().isoformat(), "revenue": revenue or Decimal("0")})
    return buckets


def category_revenue(category_ids):
    totals = {}
    with connection.cursor() as cursor:
        for category_id in category_ids:
            cursor.execute(CATEGORY_REVENUE_SQL, [category_id])
            (amount,) = cursor.fetchone()
            totals[category_id] = amount
    return totals


def top_customers(limit=10):
    with connection.cursor() as cursor:
        cursor.execute(TOP_CUSTOMERS_SQL, [limit])
        rows = cursor.fetchall()

    result = []
    for customer_id, email, spent in rows:
        result.append({"customer_id": customer_id, "email": email, "spent": str(spent)})
    return result
