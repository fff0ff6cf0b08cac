"""Bridge to the legacy ERP database (plain PostgreSQL, read mostly).

The ERP still owns list prices for a handful of discontinued SKUs and keeps
its own copy of the stock table, which we reconcile against every night.
"""

from __future__ import annotations

import csv
import os
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

import psycopg
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.orm import Session

LEGACY_DSN = os.environ.get(
    "LEGACY_ERP_DSN", "host=erp-db.internal dbname=erp user=inventory_ro"
)
LEGACY_URL = os.environ.get(
    "LEGACY_ERP_URL", "postgresql+psycopg://inventory_ro@erp-db.internal/erp"
)


@lru_cache(maxsize=1)
def legacy_engine() -> Engine:
    return create_engine(LEGACY_URL, pool_size=2, max_overflow=0, pool_pre_ping=True)


def legacy_snapshot_age() -> datetime | None:
    with legacy_engine().connect() as conn:
        return conn.execute(text("SELECT max(exported_at) FROM stock_export")).scalar()


def lookup_legacy_price(sku: str) -> Decimal | None:
    with psycopg.connect(LEGACY_DSN, connect_timeout=5) as conn:
        row = conn.execute(
            "SELECT list_price FROM erp_items WHERE item_code = %s", (sku,)
        ).fetchone()
    return row[0] if row else None


def load_legacy_stock() -> list[tuple[str, int]]:
    with psycopg.connect(LEGACY_DSN) as conn:
        with conn.cursor() as cur:
            cur.execute(
                "SELECT item_code, sum(qty_on_hand) FROM erp_stock "
                "WHERE qty_on_hand IS NOT NULL GROUP BY item_code"
            )
            return [(code, int(qty)) for code, qty in cur.fetchall()]


def reconcile_with_legacy(
    session: Session, legacy_rows: list[tuple[str, int]]
) -> list[dict]:
    """Compare ERP quantities with ours and return the SKUs that disagree."""
    mismatches = []
    for sku, legacy_qty in legacy_rows:
        ours = session.execute(
            text(
                "SELECT coalesce(sum(s.quantity), 0) FROM stock_items s "
                "JOIN products p ON p.id = s.product_id WHERE p.sku = :sku"
            ),
            {"sku": sku},
        ).scalar_one()
        if ours != legacy_qty:
            mismatches.append({"sku": sku, "ours": ours, "legacy": legacy_qty})
    return mismatches


def dump_supplier_table(path: str) -> int:
    conn = psycopg.connect(LEGACY_DSN)
    cur = conn.cursor()
    cur.execute("SELECT vendor_no, vendor_name, email FROM erp_vendors ORDER BY vendor_no")
    count = 0
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(["vendor_no", "vendor_name", "email"])
        for row in cur:
            writer.writerow(row)
            count += 1
    conn.close()
    return count
