"""Inventory service: warehouses, stock lots, products and suppliers."""

__version__ = "0.4.2"
