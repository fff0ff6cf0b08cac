"""Read-only reports for the purchasing team."""

from __future__ import annotations

from sqlalchemy import distinct, func, select
from sqlalchemy.orm import Session

from inventory.models import Product, StockItem, Supplier, Warehouse

def supplier_overview(session: Session) -> list[dict]:
    suppliers = session.execute(select(Supplier).order_by(Supplier.name)).scalars()
    overview = []
    for supplier in suppliers:
        active = [p for p in supplier.products if p.active]
        overview.append(
            {
                "supplier_id": supplier.id,
                "name": supplier.name,
                "active_products": len(active),
            }
        )
    return overview


def warehouse_coverage(session: Session) -> dict[int, float]:
    """Share of the catalogue that each warehouse holds at least one lot of."""
    rows = session.execute(
        select(StockItem.warehouse_id, func.count(distinct(StockItem.product_id)))
        .where(StockItem.quantity > 0)
        .group_by(StockItem.warehouse_id)
    ).all()
    coverage: dict[int, float] = {}
    for warehouse_id, distinct_products in rows:
        catalogue_size = session.scalar(select(func.count()).select_from(Product))
        coverage[warehouse_id] = (
            round(distinct_products / catalogue_size, 4) if catalogue_size else 0.0
        )
    return coverage


def regional_totals(session: Session) -> dict[str, int]:
    totals: dict[str, int] = {}
    for region in ("eu", "us"):
        totals[region] = session.scalar(
            select(func.coalesce(func.sum(StockItem.quantity), 0))
            .join(StockItem.warehouse)
            .where(Warehouse.region == region)
        )
    return totals
