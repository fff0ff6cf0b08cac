"""The API catalog: which calls are queries, connection factories and pools (``rules/catalog``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

import yaml

from auditor.resources import rules_dir

CONNECTION_ROOTS = ("dbapi.Connection", "asyncpg.Connection")


@dataclass
class Catalog:
    """The database API catalog, with user extensions merged in."""

    factories: dict
    types: dict
    sqlalchemy: dict
    django: dict
    parameter_names: dict
    annotations: dict
    custom_queries: set = field(default_factory=set)
    custom_connections: set = field(default_factory=set)

    def type_info(self, name: str) -> dict:
        """The catalog entry of a type, or an empty dict."""
        return self.types.get(name) or {}

    def lineage(self, name: str) -> list:
        """The type and the types it extends, nearest first."""
        chain: list = []
        current: Optional[str] = name
        while current and current not in chain:
            chain.append(current)
            current = self.type_info(current).get("extends")
        return chain

    def method(self, type_name: str, method: str) -> Optional[dict]:
        """The catalog entry of ``type.method`` (inherited through ``extends``), or None."""
        for name in self.lineage(type_name):
            methods = self.type_info(name).get("methods") or {}
            if method in methods:
                return methods[method] or {}
        return None

    def attribute(self, type_name: str, name: str) -> Optional[str]:
        """The type of a data attribute (``db.session``), inherited through ``extends``."""
        for lineage_name in self.lineage(type_name):
            attributes = self.type_info(lineage_name).get("attributes") or {}
            if name in attributes:
                return attributes[name]
        return None

    def flag(self, type_name: str, key: str, default: bool = False) -> bool:
        """A boolean attribute of a type, inherited through ``extends``."""
        for name in self.lineage(type_name):
            info = self.type_info(name)
            if key in info:
                return bool(info[key])
        return default

    def is_connection(self, type_name: str) -> bool:
        """True for connection types (pooled or not)."""
        return any(root in self.lineage(type_name) for root in CONNECTION_ROOTS)


def load_catalog(extra_queries: Optional[list] = None, extra_connections: Optional[list] = None) -> Catalog:
    """Load ``rules/catalog/db.yaml`` and add the user's declared query/connection functions."""
    with open(rules_dir() / "catalog" / "db.yaml", encoding="utf-8") as handle:
        data = yaml.safe_load(handle)
    catalog = Catalog(
        factories=dict(data.get("factories") or {}),
        types=dict(data.get("types") or {}),
        sqlalchemy=dict(data.get("sqlalchemy_query") or {}),
        django=dict(data.get("django") or {}),
        parameter_names=dict(data.get("parameter_names") or {}),
        annotations=dict(data.get("annotations") or {}),
    )
    for name in extra_queries or []:
        catalog.custom_queries.add(name)
    for name in extra_connections or []:
        catalog.custom_connections.add(name)
        catalog.factories.setdefault(name, {"returns": "dbapi.Connection", "effect": "connect"})
    return catalog
