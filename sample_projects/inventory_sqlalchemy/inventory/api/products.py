"""Product catalogue endpoints."""

from __future__ import annotations

from decimal import Decimal

from fastapi import APIRouter, Depends, HTTPException
from pydantic import BaseModel, ConfigDict
from sqlalchemy.orm import Session

from inventory import legacy_export, repositories
from inventory.db import get_session
from inventory.models import Product

router = APIRouter(prefix="/products", tags=["products"])


class ProductIn(BaseModel):
    sku: str
    name: str
    unit_price: Decimal
    supplier_id: int


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    sku: str
    name: str
    unit_price: Decimal
    active: bool


class PriceRow(BaseModel):
    sku: str
    unit_price: Decimal


class PriceImport(BaseModel):
    rows: list[PriceRow]


@router.post("", response_model=list[ProductOut], status_code=201)
def create_products(
    payload: list[ProductIn], session: Session = Depends(get_session)
) -> list[Product]:
    created = []
    for body in payload:
        product = Product(**body.model_dump())
        session.add(product)
        created.append(product)
    session.commit()
    return created


@router.get("/by-sku/{sku}", response_model=ProductOut)
def get_product(sku: str, session: Session = Depends(get_session)) -> Product:
    product = repositories.find_product_by_sku(session, sku)
    if product is None:
        raise HTTPException(status_code=404, detail="unknown sku")
    return product


@router.post("/prices/import")
def import_prices(
    payload: PriceImport, session: Session = Depends(get_session)
) -> dict[str, object]:
    updated = 0
    unknown: list[str] = []
    for row in payload.rows:
        product = repositories.find_product_by_sku(session, row.sku)
        if product is None:
            unknown.append(row.sku)
            continue
        product.unit_price = row.unit_price
        updated += 1
    session.commit()
    return {"updated": updated, "unknown": unknown}


@router.get("/by-sku/{sku}/legacy-price")
def get_legacy_price(sku: str) -> dict[str, object]:
    price = legacy_export.lookup_legacy_price(sku)
    if price is None:
        raise HTTPException(status_code=404, detail="not in ERP")
    return {"sku": sku, "list_price": price}
