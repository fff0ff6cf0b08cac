"""Which classified calls do I/O (or wait), and whether their client is asynchronous.

The knowledge is in ``rules/catalog/blocking.yaml`` (HTTP, Redis, caches, sleeping, child
processes, pool futures), ``db.yaml`` (database effects) and ``llm.yaml`` (LLM calls); this
module only reads it. A call does I/O of one *kind*; it *blocks* when its client is synchronous
and nothing hands it to a thread.
"""

from __future__ import annotations

from typing import Optional

from auditor.catalog import Catalog

# Kinds of I/O whose calls take a network round trip (what ASY102/ASY103 can run concurrently).
NETWORK_KINDS = ("db", "http", "redis", "cache", "llm")


def io_of(catalog: Catalog, effect: str, detail: str) -> tuple:
    """``(kind, is_async)`` of a call classified with ``effect`` and ``detail``, or ``("", False)``.

    ``detail`` is the catalog factory a call resolved to, or ``type.method`` for a method.
    """
    if not detail:
        return "", False
    db = catalog.blocking.get("db") or {}
    if effect in (db.get("effects") or []):
        if detail in catalog.factories:
            return "db", detail in (db.get("async_factories") or [])
        type_name = detail.rpartition(".")[0]
        async_types = set(db.get("async_types") or [])
        return "db", any(name in async_types for name in catalog.lineage(type_name))
    if effect == "llm":
        return "llm", _llm_call_is_async(catalog, detail)
    if detail in catalog.factories:
        entry = catalog.factories.get(detail) or {}
        return entry.get("io", ""), bool(entry.get("async"))
    type_name, _, method = detail.rpartition(".")
    entry = catalog.method(type_name, method) if type_name else None
    if not entry or not entry.get("io"):
        return "", False
    return entry["io"], catalog.flag(type_name, "async")


def _llm_call_is_async(catalog: Catalog, detail: str) -> bool:
    """An LLM call returns an awaitable: ``async: true`` on its factory, method, type or HTTP function."""
    entry: Optional[dict] = catalog.factories.get(detail)
    if entry is None:
        type_name, _, method = detail.rpartition(".")
        if type_name in catalog.types:
            if catalog.flag(type_name, "async"):
                return True
            entry = catalog.method(type_name, method)
    if entry is None:
        entry = ((catalog.llm.get("http") or {}).get("functions") or {}).get(detail)
    return bool((entry or {}).get("async"))
