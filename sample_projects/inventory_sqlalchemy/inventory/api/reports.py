"""Reporting endpoints."""

from __future__ import annotations

from fastapi import APIRouter, Depends
from sqlalchemy.orm import Session

from inventory import legacy_export
from inventory.db import get_session
from inventory.services import reporting

router = APIRouter(prefix="/reports", tags=["reports"])


@router.get("/suppliers")
def suppliers(session: Session = Depends(get_session)) -> list[dict]:
    return reporting.supplier_overview(session)


@router.get("/coverage")
def coverage(session: Session = Depends(get_session)) -> dict[int, float]:
    return reporting.warehouse_coverage(session)


@router.get("/regions")
def regions(session: Session = Depends(get_session)) -> dict[str, int]:
    return reporting.regional_totals(session)


@router.get("/legacy-status")
def legacy_status() -> dict[str, object]:
    exported_at = legacy_export.legacy_snapshot_age()
    return {"last_export": exported_at.isoformat() if exported_at else None}
