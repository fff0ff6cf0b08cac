"""ASGI entry point: ``uvicorn inventory.main:app``."""

from __future__ import annotations

from fastapi import FastAPI

from inventory import __version__
from inventory.api import products, reports, warehouses

app = FastAPI(title="Inventory service", version=__version__)
app.include_router(warehouses.router)
app.include_router(products.router)
app.include_router(reports.router)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}
