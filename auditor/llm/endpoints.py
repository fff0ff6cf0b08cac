"""Raw HTTP calls to known LLM endpoints (``requests.post(".../v1/chat/completions")``)."""

from __future__ import annotations

from typing import Optional

from auditor.facts import Call


def request_url(call: Call) -> str:
    """The URL a ``post(url, ...)`` call sends to, as far as it is written as text ("" if not)."""
    url = call.kwargs.get("url")
    if url is None and call.arg_trees:
        url = call.arg_trees[0]
    if isinstance(url, str):
        return url
    return call.sql or ""


def llm_endpoint(catalog, call: Call) -> Optional[dict]:
    """The catalog's entry for the LLM endpoint ``call`` posts to, or None."""
    url = request_url(call).lower()
    if not url:
        return None
    names = " ".join([call.sql_name] + call.arg_names.get("0", []) + _names(call.kwargs.get("url"))).lower()
    for entry in (catalog.llm.get("http") or {}).get("endpoints", []):
        if entry["pattern"] not in url:
            continue
        hints = entry.get("hint")
        if hints and not any(hint in url or hint.strip(":") in names for hint in hints):
            continue
        return entry
    return None


def _names(tree) -> list:
    return [str(tree["name"])] if isinstance(tree, dict) and "name" in tree else []
