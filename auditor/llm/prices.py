"""The LLM price table (``rules/llm-prices.yaml`` plus the user's ``llm-prices``) and the cost
data a finding carries in ``context["cost"]``.

Dollars appear only with the user's ``llm-traffic`` assumptions: call volume cannot be known
from code. Without them the cost data holds the model, the token cap and the unit prices.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Optional

import yaml

from auditor.resources import rules_dir

DEFAULT_INPUT_TOKENS = 1000
DEFAULT_OUTPUT_TOKENS = 500
_PROVIDER_PREFIX = re.compile(r"^(?:[a-z_]+/)+")


@dataclass
class PriceTable:
    """Prices per million tokens by model name."""

    rows: dict  # normalised model name -> row (input, output, as_of, source, ...)
    as_of: str

    def lookup(self, model: Optional[str]) -> Optional[dict]:
        """The row for ``model`` (exact, or the longest row name that prefixes it), or None."""
        if not model:
            return None
        name = _normalise(model)
        if name in self.rows:
            return self.rows[name]
        best = ""
        for row_name in self.rows:
            if name.startswith(row_name) and name[len(row_name)] in "-@:" and len(row_name) > len(best):
                best = row_name
        return self.rows.get(best) if best else None


@lru_cache(maxsize=1)
def _shipped() -> dict:
    with open(rules_dir() / "llm-prices.yaml", encoding="utf-8") as handle:
        return yaml.safe_load(handle)


def load_prices(overrides: Optional[dict] = None) -> PriceTable:
    """The shipped price table with the user's rows merged over it (a row may set only some fields)."""
    data = _shipped()
    rows: dict = {}
    for model, row in (data.get("models") or {}).items():
        rows[_normalise(model)] = {"model": model, **row}
    for model, row in (overrides or {}).items():
        key = _normalise(model)
        merged = dict(rows.get(key) or {"model": model})
        merged.update(row)
        merged["source"] = "project configuration (llm-prices)"
        merged.pop("as_of", None)
        rows[key] = merged
    return PriceTable(rows=rows, as_of=str(data.get("as_of", "")))


def _normalise(model: str) -> str:
    return _PROVIDER_PREFIX.sub("", model.strip().lower()).replace(".", "-")


def calls_per_day(traffic: dict, qualname: str) -> Optional[float]:
    """The calls per day the user assumes for an LLM call in ``qualname`` (or their default)."""
    volume = traffic.get("calls-per-day")
    if isinstance(volume, dict):
        volume = volume.get(qualname, volume.get("default"))
    return float(volume) if isinstance(volume, (int, float)) and not isinstance(volume, bool) else None


def cost_data(llm_call, table: PriceTable, traffic: dict, unpriced: str = "", multiplier: int = 1) -> dict:
    """``context["cost"]`` for a finding about ``llm_call``.

    Holds the model and its output cap, the unit prices when the model is priced and billed, and
    with ``llm-traffic``: calls per day, the token assumptions and ``usd_per_day``.
    ``unpriced`` says why the call has no per-token price (a local model, an Azure deployment).
    ``multiplier`` is the number of LLM calls one execution makes (items of a literal loop).
    """
    cap = llm_call.max_tokens.number() if llm_call.max_tokens is not None else None
    cost: dict = {"model": llm_call.model, "max_tokens": int(cap) if cap is not None else None,
                  "provider": llm_call.provider}
    if unpriced:
        cost["priced"] = False
        cost["reason"] = unpriced
        return cost
    row = table.lookup(llm_call.model)
    if row is None:
        cost["priced"] = False
        cost["reason"] = "model unknown to the price table" if llm_call.model else "model not written as text"
        return cost
    cost["priced"] = True
    cost["price_per_million"] = {"input": row.get("input"), "output": row.get("output")}
    cost["price_as_of"] = row.get("as_of") or table.as_of
    cost["price_source"] = row.get("source", "")
    per_day = calls_per_day(traffic, llm_call.function.qualname)
    if per_day is None:
        return cost
    input_tokens = traffic.get("input-tokens", DEFAULT_INPUT_TOKENS)
    output_tokens = traffic.get("output-tokens", cap if cap is not None else DEFAULT_OUTPUT_TOKENS)
    calls = per_day * multiplier
    usd = calls * (input_tokens * float(row.get("input") or 0) + output_tokens * float(row.get("output") or 0)) / 1e6
    cost.update({"calls_per_day": calls, "input_tokens": input_tokens, "output_tokens": output_tokens,
                 "usd_per_day": round(usd, 2),
                 "assumptions": f"{calls:g} calls/day x ({input_tokens:g} input + {output_tokens:g} output tokens)"})
    return cost
