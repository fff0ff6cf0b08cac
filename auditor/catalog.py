"""The API catalog: which calls are queries, connection factories and pools, LLM clients and
billable LLM methods (``rules/catalog/db.yaml`` and ``rules/catalog/llm.yaml``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional

from auditor.resources import load_yaml, rules_dir

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
    llm: dict = field(default_factory=dict)  # llm.yaml's providers, arguments, http endpoints
    llm_prices: dict = field(default_factory=dict)  # the user's ``llm-prices`` rows (model -> row)
    llm_traffic: dict = field(default_factory=dict)  # the user's ``llm-traffic`` assumptions
    blocking: dict = field(default_factory=dict)  # blocking.yaml's ``db`` section (sync and async drivers)

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

    def factory(self, name: str, args: tuple = ()) -> dict:
        """The entry of factory ``name``; ``by_arg`` entries pick a variant by the first string
        argument (``boto3.client("bedrock-runtime")``), and are empty for any other argument."""
        entry = self.factories.get(name) or {}
        variants = entry.get("by_arg")
        if variants is None:
            return entry
        origin = args[0][0] if args else ""
        if not origin.startswith("s:"):
            return {}
        return variants.get(origin[2:]) or {}

    def type_value(self, type_name: str, key: str, default: object = None) -> object:
        """Any attribute of a type's entry, inherited through ``extends``."""
        for name in self.lineage(type_name):
            info = self.type_info(name)
            if key in info:
                return info[key]
        return default

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


def load_catalog(extra_queries: Optional[list] = None, extra_connections: Optional[list] = None,
                 llm_functions: Optional[list] = None, llm_prices: Optional[dict] = None,
                 llm_traffic: Optional[dict] = None) -> Catalog:
    """Load ``rules/catalog/db.yaml`` and ``llm.yaml`` and add the user's declared query,
    connection and LLM functions, price rows and traffic assumptions."""
    with open(rules_dir() / "catalog" / "db.yaml", encoding="utf-8") as handle:
        data = load_yaml(handle)
    catalog = Catalog(
        factories=dict(data.get("factories") or {}),
        types=dict(data.get("types") or {}),
        sqlalchemy=dict(data.get("sqlalchemy_query") or {}),
        django=dict(data.get("django") or {}),
        parameter_names=dict(data.get("parameter_names") or {}),
        annotations=dict(data.get("annotations") or {}),
    )
    _merge_llm(catalog)
    _merge_blocking(catalog)
    for name in llm_functions or []:
        catalog.factories[name] = {"effect": "llm", "kind": "chat", "provider": "custom"}
    catalog.llm_prices = dict(llm_prices or {})
    catalog.llm_traffic = dict(llm_traffic or {})
    for name in extra_queries or []:
        catalog.custom_queries.add(name)
    for name in extra_connections or []:
        catalog.custom_connections.add(name)
        catalog.factories.setdefault(name, {"returns": "dbapi.Connection", "effect": "connect"})
    return catalog


def _merge_llm(catalog: Catalog) -> None:
    """Add ``llm.yaml``'s factories, types and annotations (the database catalog wins a clash)."""
    with open(rules_dir() / "catalog" / "llm.yaml", encoding="utf-8") as handle:
        data = load_yaml(handle)
    for key in ("factories", "types", "annotations"):
        target = getattr(catalog, key)
        for name, entry in (data.get(key) or {}).items():
            target.setdefault(name, entry)
    catalog.llm = {key: data.get(key) or {} for key in ("providers", "arguments", "http")}


def _merge_blocking(catalog: Catalog) -> None:
    """Add ``blocking.yaml``'s I/O clients and calls (the database and LLM catalogs win a clash)."""
    with open(rules_dir() / "catalog" / "blocking.yaml", encoding="utf-8") as handle:
        data = load_yaml(handle)
    for key in ("factories", "types"):
        target = getattr(catalog, key)
        for name, entry in (data.get(key) or {}).items():
            target.setdefault(name, entry)
    catalog.blocking = {"db": data.get("db") or {}}
