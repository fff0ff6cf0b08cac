"""Stock movements: receiving, reservations and low-stock alerts."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from inventory.models import Product, StockItem, Warehouse


class UnknownProduct(LookupError):
    pass


class InsufficientStock(RuntimeError):
    pass


@dataclass(frozen=True)
class ReceiptLine:
    product_id: int
    lot_code: str
    quantity: int


@dataclass(frozen=True)
class ReservationLine:
    product_id: int
    quantity: int


def receive_shipment(session: Session, warehouse_id: int, lines: list[ReceiptLine]) -> int:
    received = 0
    for line in lines:
        product = session.get(Product, line.product_id)
        if product is None or not product.active:
            raise UnknownProduct(line.product_id)
        session.add(
            StockItem(
                warehouse_id=warehouse_id,
                product_id=product.id,
                lot_code=line.lot_code,
                quantity=line.quantity,
            )
        )
        received += line.quantity
    session.commit()
    return received


def reserve(session: Session, warehouse_id: int, lines: list[ReservationLine]) -> dict[int, int]:
    """Take stock out of the oldest lots first; returns product_id -> reserved qty."""
    ids = [line.product_id for line in lines]
    products = session.scalars(select(Product).where(Product.id.in_(ids))).all()
    by_id = {product.id: product for product in products}

    lots = session.scalars(
        select(StockItem)
        .where(StockItem.warehouse_id == warehouse_id, StockItem.product_id.in_(ids))
        .order_by(StockItem.updated_at)
    ).all()
    lots_by_product: dict[int, list[StockItem]] = defaultdict(list)
    for lot in lots:
        lots_by_product[lot.product_id].append(lot)

    reserved: dict[int, int] = {}
    for line in lines:
        product = by_id.get(line.product_id)
        if product is None:
            raise UnknownProduct(line.product_id)
        remaining = line.quantity
        for lot in lots_by_product[product.id]:
            take = min(lot.quantity, remaining)
            lot.quantity -= take
            remaining -= take
            if remaining == 0:
                break
        if remaining:
            session.rollback()
            raise InsufficientStock(f"{product.sku}: short by {remaining}")
        reserved[product.id] = line.quantity
    session.commit()
    return reserved


def low_stock_report(session: Session) -> dict[str, list[int]]:
    """Warehouse code -> ids of products at or below their reorder level."""
    stmt = (
        select(Warehouse)
        .options(selectinload(Warehouse.items))
        .order_by(Warehouse.code)
    )
    report: dict[str, list[int]] = {}
    for warehouse in session.scalars(stmt):
        low = [i.product_id for i in warehouse.items if i.quantity <= i.reorder_level]
        if low:
            report[warehouse.code] = sorted(set(low))
    return report
