"""Warehouse and stock endpoints."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from inventory import repositories
from inventory.db import get_session
from inventory.models import StockItem, Warehouse
from inventory.services import pricing, stock

router = APIRouter(prefix="/warehouses", tags=["warehouses"])


class WarehouseOut(BaseModel):
    id: int
    code: str
    name: str
    region: str
    lot_count: int


class StockLineOut(BaseModel):
    lot_code: str
    sku: str
    product_name: str
    quantity: int


def _warehouse_or_404(session: Session, warehouse_id: int) -> Warehouse:
    warehouse = repositories.get_warehouse_or_none(session, warehouse_id)
    if warehouse is None:
        raise HTTPException(status_code=404, detail="warehouse not found")
    return warehouse


@router.get("", response_model=list[WarehouseOut])
def list_warehouses(session: Session = Depends(get_session)) -> list[WarehouseOut]:
    warehouses = session.scalars(select(Warehouse).order_by(Warehouse.code))
    out = []
    for w in warehouses:
        out.append(
            WarehouseOut(
                id=w.id,
                code=w.code,
                name=w.name,
                region=w.region,
                lot_count=len(w.items),
            )
        )
    return out


@router.get("/low-stock")
def low_stock(session: Session = Depends(get_session)) -> dict[str, list[int]]:
    return stock.low_stock_report(session)


@router.get("/{warehouse_id}/stock", response_model=list[StockLineOut])
def get_warehouse_stock(
    warehouse_id: int, session: Session = Depends(get_session)
) -> list[StockLineOut]:
    _warehouse_or_404(session, warehouse_id)
    items = session.scalars(
        select(StockItem)
        .where(StockItem.warehouse_id == warehouse_id, StockItem.quantity > 0)
        .order_by(StockItem.lot_code)
    )
    lines = []
    for item in items:
        product = item.product
        lines.append(
            StockLineOut(
                lot_code=item.lot_code,
                sku=product.sku,
                product_name=product.name,
                quantity=item.quantity,
            )
        )
    return lines


@router.get("/{warehouse_id}/valuation")
def get_warehouse_valuation(
    warehouse_id: int, session: Session = Depends(get_session)
) -> dict[str, object]:
    _warehouse_or_404(session, warehouse_id)
    items = session.scalars(
        select(StockItem).where(StockItem.warehouse_id == warehouse_id)
    ).all()
    total = Decimal("0.00")
    for item in items:
        unit_price = pricing.current_price(session, item.product_id)
        total += unit_price * item.quantity
    return {"warehouse_id": warehouse_id, "total_value": total}


@router.post("/{warehouse_id}/receipts", status_code=201)
def post_receipt(
    warehouse_id: int,
    lines: list[stock.ReceiptLine],
    session: Session = Depends(get_session),
) -> dict[str, int]:
    _warehouse_or_404(session, warehouse_id)
    try:
        received = stock.receive_shipment(session, warehouse_id, lines)
    except stock.UnknownProduct as exc:
        raise HTTPException(status_code=422, detail=f"unknown product {exc}") from exc
    return {"received": received}


@router.post("/{warehouse_id}/reservations")
def post_reservation(
    warehouse_id: int,
    lines: list[stock.ReservationLine],
    session: Session = Depends(get_session),
) -> dict[int, int]:
    _warehouse_or_404(session, warehouse_id)
    try:
        return stock.reserve(session, warehouse_id, lines)
    except stock.UnknownProduct as exc:
        raise HTTPException(status_code=422, detail=f"unknown product {exc}") from exc
    except stock.InsufficientStock as exc:
        raise HTTPException(status_code=409, detail=str(exc)) from exc
