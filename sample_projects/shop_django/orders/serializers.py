from dataclasses import dataclass
from decimal import Decimal

from .models import Product


class ValidationError(Exception):
    pass


@dataclass
class CartLine:
    product: Product
    quantity: int

    @property
    def subtotal(self) -> Decimal:
        return self.product.price * self.quantity


def parse_order_lines(payload):
    raw_items = payload.get("items") or []
    if not raw_items:
        raise ValidationError("order must contain at least one item")

    lines = []
    for raw in raw_items:
        quantity = int(raw.get("quantity", 1))
        if quantity < 1:
            raise ValidationError(f"invalid quantity for {raw.get('sku')}")
        try:
            product = Product.objects.get(sku=raw["sku"], is_active=True)
        except Product.DoesNotExist:
            raise ValidationError(f"unknown product {raw['sku']}")
        lines.append(CartLine(product=product, quantity=quantity))
    return lines


def serialize_order(order):
    items = order.items.select_related("product")
    return {
        "number": order.number,
        "status": order.status,
        "customer": {"name": order.customer.name, "email": order.customer.email},
        "total": str(order.total),
        "created_at": order.created_at.isoformat(),
        "items": [
            {
                "sku": item.product.sku,
                "name": item.product.name,
                "quantity": item.quantity,
                "unit_price": str(item.unit_price),
            }
            for item in items
        ],
    }
