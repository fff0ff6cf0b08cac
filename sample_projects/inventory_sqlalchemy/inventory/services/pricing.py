"""Price lookups backed by the price_history table."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy.orm import Session

from inventory import repositories

ZERO = Decimal("0.00")


def current_price(session: Session, product_id: int) -> Decimal:
    row = repositories.latest_price_row(session, product_id)
    if row is None:
        return ZERO
    return Decimal(row.price).quantize(ZERO)
