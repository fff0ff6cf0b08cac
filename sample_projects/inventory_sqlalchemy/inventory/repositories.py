"""Query helpers shared by the API layer and the services."""

from __future__ import annotations

from sqlalchemy import Row, text
from sqlalchemy.orm import Session

from inventory.models import Product, Warehouse


def find_product_by_sku(session: Session, sku: str) -> Product | None:
    return session.query(Product).filter(Product.sku == sku).first()


def get_warehouse_or_none(session: Session, warehouse_id: int) -> Warehouse | None:
    return session.get(Warehouse, warehouse_id)


def latest_price_row(session: Session, product_id: int) -> Row | None:
    """Most recent row of the price_history table (maintained by the pricing team)."""
    result = session.execute(
        text(
            "SELECT price, effective_at FROM price_history "
            "WHERE product_id = :product_id "
            "ORDER BY effective_at DESC LIMIT 1"
        ),
        {"product_id": product_id},
    )
    return result.one_or_none()
