"""Batch jobs run from cron: ``python -m inventory.jobs <command>``."""

from __future__ import annotations

import csv
import logging
import os
import sys
from datetime import datetime, timezone

import psycopg
from sqlalchemy import update

from inventory import legacy_export
from inventory.db import SessionLocal
from inventory.models import StockItem

log = logging.getLogger("inventory.jobs")

REPLICA_DSNS = [
    dsn.strip()
    for dsn in os.environ.get("INVENTORY_REPLICA_DSNS", "").split(",")
    if dsn.strip()
]


def nightly_reconcile() -> int:
    legacy_rows = legacy_export.load_legacy_stock()
    with SessionLocal() as session:
        mismatches = legacy_export.reconcile_with_legacy(session, legacy_rows)
    for mismatch in mismatches:
        log.warning("stock mismatch %(sku)s ours=%(ours)s legacy=%(legacy)s", mismatch)
    return len(mismatches)


def apply_cycle_count(path: str) -> int:
    """Overwrite lot quantities with the figures from a cycle-count sheet."""
    counted_at = datetime.now(timezone.utc)
    applied = 0
    with open(path, newline="", encoding="utf-8") as fh, SessionLocal() as session:
        for record in csv.DictReader(fh):
            session.execute(
                update(StockItem)
                .where(StockItem.id == int(record["stock_item_id"]))
                .values(quantity=int(record["counted"]), updated_at=counted_at)
            )
            applied += 1
        session.commit()
    return applied


def check_replicas() -> dict[str, str]:
    status: dict[str, str] = {}
    for dsn in REPLICA_DSNS:
        try:
            with psycopg.connect(dsn, connect_timeout=3) as conn:
                status[dsn] = f"ok (server {conn.info.server_version})"
        except psycopg.OperationalError as exc:
            status[dsn] = f"unreachable: {exc}"
    return status


def export_suppliers(path: str) -> int:
    count = legacy_export.dump_supplier_table(path)
    log.info("exported %d ERP vendors to %s", count, path)
    return count


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO)
    command, args = (argv[0], argv[1:]) if argv else ("", [])
    if command == "reconcile":
        return 1 if nightly_reconcile() else 0
    if command == "cycle-count" and args:
        log.info("applied %d counts", apply_cycle_count(args[0]))
        return 0
    if command == "check-replicas":
        status = check_replicas()
        return 0 if all(s.startswith("ok") for s in status.values()) else 2
    if command == "export-suppliers" and args:
        export_suppliers(args[0])
        return 0
    print("usage: python -m inventory.jobs reconcile|cycle-count SHEET|check-replicas|export-suppliers PATH")
    return 64


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
