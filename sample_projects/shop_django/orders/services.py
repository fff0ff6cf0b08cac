import secrets
from collections import defaultdict

from django.db import transaction

from .models import Order, OrderItem, Product


def _new_order_number():
    return "SO-" + secrets.token_hex(4).upper()


def latest_order_for(customer_id):
    return (
        Order.objects.filter(customer_id=customer_id)
        .order_by("-created_at")
        .first()
    )


@transaction.atomic
def place_order(customer, lines, shipping_address=""):
    order = Order.objects.create(
        number=_new_order_number(),
        customer=customer,
        shipping_address=shipping_address,
    )
    items = [
        OrderItem(
            order=order,
            product=line.product,
            quantity=line.quantity,
            unit_price=line.product.price,
        )
        for line in lines
    ]
    OrderItem.objects.bulk_create(items)
    order.total = sum(item.line_total for item in items)
    order.save(update_fields=["total"])
    return order


def units_sold_by_product(category=None):
    products = Product.objects.filter(is_active=True)
    if category is not None:
        products = products.filter(category=category)

    report = []
    for product in products:
        sold = sum(item.quantity for item in product.orderitem_set.all())
        report.append((product.sku, product.name, sold))
    report.sort(key=lambda row: row[2], reverse=True)
    return report


def order_ids_by_customer(since):
    grouped = defaultdict(list)
    for order in Order.objects.filter(created_at__gte=since).only("id", "customer_id"):
        grouped[order.customer_id].append(order.id)
    return dict(grouped)
